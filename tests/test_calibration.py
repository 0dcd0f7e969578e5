import json
import random

from rag.abstention import AbstentionModel
from rag.calibration import expected_calibration_error, fit, passages_state_answer, reliability, signals_of
from tests.test_cli import rag


def synthetic_rows(n: int = 400, seed: int = 7) -> list[dict]:
    """Questions whose passages answer more often the surer the model's "yes" is."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        margin = rng.uniform(-6, 6)
        label = rng.random() < 1 / (1 + 2.718 ** (-(1.2 * margin - 0.5)))
        rows.append({"id": f"q{i}", "group": "synthetic", "label": label, "dense": rng.uniform(0.2, 0.6),
                     "lexical": rng.uniform(0, 8), "cross_lingual": bool(i % 2), "margin": margin})
    return rows


def probabilities(model: AbstentionModel, rows: list[dict]) -> list[float]:
    return [model.probability(signals_of(r).features()) for r in rows]


def test_the_fit_learns_that_a_surer_yes_means_an_answer_and_is_calibrated():
    rows = synthetic_rows()
    model = fit(rows)
    assert model.names[0] == "margin" and model.weights[0] > 1.0
    assert abs(model.weights[1]) < abs(model.weights[0]) / 3  # dense carries no signal here
    table = reliability(probabilities(model, rows), [r["label"] for r in rows])
    assert expected_calibration_error(table) < 0.08


def test_the_threshold_answers_nearly_every_question_whose_passages_hold_the_answer():
    rows = synthetic_rows()
    model = fit(rows)
    positives = [p for p, r in zip(probabilities(model, rows), rows) if r["label"]]
    refused = sum(p < model.threshold for p in positives) / len(positives)
    assert refused <= 0.04 and 0 < model.threshold <= 0.5


def test_the_label_is_whether_a_passage_holds_an_accepted_answer():
    assert passages_state_answer(True, [r"13\s*Milliarden"], ["Microsoft hat 13 Milliarden investiert."])
    assert not passages_state_answer(True, [r"13\s*Milliarden"], ["Microsoft hat eine Milliarde investiert."])


def test_rag_calibrate_refits_from_saved_signals(tmp_path):
    signals = tmp_path / "signals.jsonl"
    signals.write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows()))
    out = tmp_path / "model.json"
    result = rag("calibrate", "--signals", str(signals), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "expected calibration error" in result.stdout and "cross-lingual" in result.stdout
    assert AbstentionModel.load(out).weights[0] > 1.0


class FakeAssistant:
    """Judges over two fixed passages, leaving out the ones `withhold` marks."""

    passages = ["Kevin Scott ist CTO.", "Amy Hood ist CFO."]

    def judge(self, question, withhold=None):
        from types import SimpleNamespace

        from rag.abstention import Signals

        kept = [SimpleNamespace(text=t) for t in self.passages if not (withhold and withhold(t))]
        return Signals(0.5, 1.0, False, 2.0 if len(kept) == 2 else 0.5), kept


def test_collect_adds_a_near_miss_with_the_answer_withheld():
    from rag.calibration import NEAR_MISS_EVERY, collect
    from rag.evaluation import GoldQuestion

    questions = [GoldQuestion(f"q{i}", "de", "Wer ist CFO?", [r"Amy Hood"], ["a.txt"], True) for i in range(NEAR_MISS_EVERY + 1)]
    questions.append(GoldQuestion("u", "de", "Wer ist CEO?", [], [], False))
    rows = collect(FakeAssistant(), questions, "fake")
    plain = [r for r in rows if r["group"] == "fake"]
    withheld = [r for r in rows if r["group"] == "fake:withheld"]
    assert [r["label"] for r in plain] == [True] * (NEAR_MISS_EVERY + 1) + [False]
    assert len(withheld) == 2 and not any(r["label"] for r in withheld) and all(r["margin"] == 0.5 for r in withheld)
