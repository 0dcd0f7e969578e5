"""Fit the abstention model: gather signals on development questions, fit a logistic
regression, choose its threshold, and check its calibration.

The label is whether the retrieved passages state the answer (an accepted answer pattern
occurs in one of them): the event the probability is about. An answerable question whose
answer was not retrieved is a negative, because answering it would mean inventing.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from functools import partial

import numpy as np

from rag.abstention import AbstentionModel, Signals

FEATURES = ["margin", "dense", "lexical", "cross_lingual"]
L2 = 1.0  # ridge penalty on standardised weights: a few hundred rows, four features
MAX_FALSE_ABSTENTION = 0.03  # the threshold keeps at least 97% of the fit's positives answered
NEAR_MISS_EVERY = 3  # every third answerable question is judged again with its answer withheld


def passages_state_answer(answerable: bool, answers: list[str], passages: list[str]) -> bool:
    """
    >>> passages_state_answer(True, [r"Kevin\\s+Scott"], ["CTO Kevin Scott schrieb."])
    True
    >>> passages_state_answer(False, [], ["CTO Kevin Scott schrieb."])
    False
    """
    return answerable and any(re.search(p, text, re.IGNORECASE) for p in answers for text in passages)


def holds_answer(answers: list[str], passage: str) -> bool:
    return passages_state_answer(True, answers, [passage])


def stratified_sample(questions: list, size: int) -> list:
    """Every unanswerable question, and every n-th answerable one, `size` in all (in file order).

    >>> from types import SimpleNamespace as Q
    >>> [q.id for q in stratified_sample([Q(id=i, answerable=i < 8) for i in range(10)], 6)]
    [0, 2, 4, 6, 8, 9]
    """
    unanswerable = [q for q in questions if not q.answerable]
    answerable = [q for q in questions if q.answerable]
    wanted = max(size - len(unanswerable), 0)
    picked = answerable[:: max(1, len(answerable) // wanted)][:wanted] if wanted else []
    keep = {id(q) for q in picked + unanswerable}
    return [q for q in questions if id(q) in keep]


def signal_row(question_id: str, signals: Signals, label: bool, group: str) -> dict:
    return {"id": question_id, "group": group, "label": label, **asdict(signals)}


def signals_of(row: dict) -> Signals:
    return Signals(row["dense"], row["lexical"], row["cross_lingual"], row["margin"])


def collect(assistant, questions: list, group: str, progress=lambda items, label: items) -> list[dict]:
    """Judge each question (no answer written), and every NEAR_MISS_EVERY-th answerable one
    again with the passages that hold its answer withheld: a near miss on the same topic."""
    rows = []
    for q in progress(questions, group):
        judged, sources = assistant.judge(q.question)
        rows.append(signal_row(q.id, judged, passages_state_answer(q.answerable, q.answers, [c.text for c in sources]), group))
    for q in progress([q for q in questions if q.answerable][::NEAR_MISS_EVERY], f"{group}, answer withheld"):
        judged, sources = assistant.judge(q.question, withhold=partial(holds_answer, q.answers))
        rows.append(signal_row(q.id, judged, passages_state_answer(True, q.answers, [c.text for c in sources]), f"{group}:withheld"))
    return rows


def summary(model: AbstentionModel, rows: list[dict]) -> list[str]:
    """The fit in lines of text: weights, reliability per bin, and what the threshold does to
    same-language and cross-lingual questions."""
    probabilities = [model.probability(signals_of(r).features()) for r in rows]
    table = reliability(probabilities, [r["label"] for r in rows])
    lines = [
        f"{len(rows)} questions, {sum(r['label'] for r in rows)} whose passages state the answer",
        "weights (standardised): " + ", ".join(f"{n} {w:+.3f}" for n, w in zip(model.names, model.weights, strict=True)) + f"; bias {model.bias:+.3f}; threshold {model.threshold}",
        *(f"  p in [{low:.1f}, {low + 0.1:.1f}): predicted {predicted:.2f}, observed {observed:.2f}, n={n}" for low, predicted, observed, n in table),
        f"expected calibration error {expected_calibration_error(table)}",
    ]
    for name, keep in (("all", lambda r: True), ("same language", lambda r: not r["cross_lingual"]), ("cross-lingual", lambda r: r["cross_lingual"])):
        group = [(p, r["label"]) for p, r in zip(probabilities, rows, strict=True) if keep(r)]
        positives = [p for p, label in group if label]
        negatives = [p for p, label in group if not label]
        refused = sum(p < model.threshold for p in positives) / len(positives) if positives else float("nan")
        abstained = sum(p < model.threshold for p in negatives) / len(negatives) if negatives else float("nan")
        lines.append(f"  {name}: answer-bearing refused {refused:.1%} of {len(positives)}, others abstained {abstained:.1%} of {len(negatives)}")
    return lines


def _design(rows: list[dict]) -> np.ndarray:
    return np.array([[signals_of(r).features()[n] for n in FEATURES] for r in rows])


def fit(rows: list[dict], fitted_on: str = "", threshold: float | None = None) -> AbstentionModel:
    """Logistic regression by Newton's method with an L2 penalty, on standardised features;
    the threshold is `threshold`, or else the highest that still answers
    (1 - MAX_FALSE_ABSTENTION) of the positives."""
    x = _design(rows)
    y = np.array([float(r["label"]) for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.diag([0.0] + [L2] * (z.shape[1] - 1))
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    model = AbstentionModel(FEATURES, mean.round(6).tolist(), scale.round(6).tolist(), w[1:].round(6).tolist(), round(float(w[0]), 6), 0.5, fitted_on)
    positives = sorted(model.probability(dict(zip(FEATURES, row, strict=True))) for row, label in zip(x, y, strict=True) if label)
    if threshold is None and positives:
        threshold = min(positives[int(MAX_FALSE_ABSTENTION * len(positives))], 0.5)
    return AbstentionModel(**{**asdict(model), "threshold": round(threshold if threshold is not None else 0.5, 4)})


def reliability(probabilities: list[float], labels: list[bool], bins: int = 10) -> list[tuple[float, float, float, int]]:
    """Per probability bin: its lower edge, the mean predicted probability, the observed rate, the count.

    >>> reliability([0.05, 0.15, 0.95, 0.97], [False, False, True, False], bins=2)
    [(0.0, 0.1, 0.0, 2), (0.5, 0.96, 0.5, 2)]
    """
    table = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(p, l) for p, l in zip(probabilities, labels, strict=True) if low <= p < high or (b == bins - 1 and p == 1.0)]
        if inside:
            table.append((low, round(sum(p for p, _ in inside) / len(inside), 4), round(sum(l for _, l in inside) / len(inside), 4), len(inside)))
    return table


def expected_calibration_error(table: list[tuple[float, float, float, int]]) -> float:
    total = sum(n for *_, n in table)
    return round(sum(n * abs(predicted - observed) for _, predicted, observed, n in table) / total, 4) if total else 0.0
