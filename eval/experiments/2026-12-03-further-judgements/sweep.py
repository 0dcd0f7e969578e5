"""Outcomes of judging further passages alone (`judge_further`) when the best one gets a "no",
from recorded runs: the defaults' records of a whole set, and a run at judge_further=2 of its
questions the defaults abstained on by the model's judgement (the only ones it changes).

    python3 sweep.py BASE FURTHER [BASE FURTHER ...]

A further passage is answered from when its margin reaches THRESHOLD (same-language; a
cross-lingual passage uses THRESHOLD - 0.3, the defaults' gap), or the defaults' 1.1 / 0.8
for "default". Exact for judge_further=1 at every threshold; for 2 a question whose second
passage passed the run's threshold but not a higher one had no third judgement, and counts as
an abstention (`unknown` says how many). Cost as in ../2026-12-03-cross-lingual-margin/sweep.py.
"""

import json
import sys
from pathlib import Path

DEFAULT_SAME, DEFAULT_CROSS = 1.1, 0.8


def load(name: str) -> dict[tuple[str, str], dict]:
    records = (json.loads(line) for line in Path(name).read_text("utf-8").splitlines())
    return {(r["id"], r["question"]): r for r in records}


def outcome(base: dict, further: dict | None, judged: int, threshold: float | None):
    """(answered, correct, unknown) of one question."""
    if further is None:
        return not base["abstained"], base["correct"], False
    for k, (margin, cross) in enumerate(further["further"][:judged]):
        if threshold is None:
            needed = DEFAULT_CROSS if cross else DEFAULT_SAME
        else:
            needed = threshold - 0.3 if cross else threshold
        run_needed = DEFAULT_CROSS if cross else DEFAULT_SAME
        if margin >= needed:
            return True, further["correct"], False
        if margin >= run_needed:  # the run answered here; it never judged the next passage
            return False, False, k + 1 < judged
    return False, False, False


def figures(bases: dict, furthers: dict, judged: int, threshold: float | None):
    right = refused = answerable = answered_unanswerable = unanswerable = unknown = 0
    cost = 0.0
    for key, base in bases.items():
        answered, correct, unsure = outcome(base, furthers.get(key), judged, threshold)
        unknown += unsure
        if base["answerable"]:
            answerable += 1
            right += answered and correct
            refused += not answered
            cost += 1.0 if not answered else (0.0 if correct else 1.5)
        else:
            unanswerable += 1
            answered_unanswerable += answered
            cost += 1.5 if answered else 0.0
    return (
        cost / len(bases),
        right,
        refused,
        answerable,
        answered_unanswerable,
        unanswerable,
        unknown,
    )


pairs = list(zip(sys.argv[1::2], sys.argv[2::2], strict=True))
print(
    "judge_further threshold | mean cost | per set: right / refused of answerable, "
    "answered of unanswerable (unknown)"
)
for judged in (0, 1, 2):
    for threshold in [None] if judged == 0 else [None, 1.2, 1.5, 2.0, 2.5]:
        costs, cells = [], []
        for base_name, further_name in pairs:
            f = figures(load(base_name), load(further_name), judged, threshold)
            costs.append(f[0])
            cells.append(
                f"{f[1]}/{f[2]} of {f[3]}, {f[4]} of {f[5]}" + (f" ({f[6]})" if f[6] else "")
            )
        label = "default" if threshold is None else f"{threshold:.1f}"
        print(f"{judged} {label:>7} | {sum(costs) / len(costs):.4f} | " + " | ".join(cells))
