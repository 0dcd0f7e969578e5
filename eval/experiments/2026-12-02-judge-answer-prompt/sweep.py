"""Outcomes at each threshold on margin + w x best cosine (+ c when the question's language is
not the article's), from `signals.jsonl` (two `rag eval` runs with `--set judge_passages=0 --set
min_yes_margin=-1000`, which answer every question retrieval lets through). Exact: the answer
text does not depend on the threshold.

Run from the project root: python eval/experiments/2026-12-02-judge-answer-prompt/sweep.py
[signals-examples-first.jsonl] (the worked examples asked question-first too).
"""

import json
import sys
from pathlib import Path

SIGNALS = Path(__file__).parent / (sys.argv[1] if len(sys.argv) > 1 else "signals.jsonl")
ROWS = [json.loads(line) for line in SIGNALS.open()]


def answered(row: dict, w: float, threshold: float, c: float = 0.0) -> bool:
    reason = row["abstain_reason"] or ""
    if reason == "retrieval" or reason.startswith("answer_"):
        return False
    cross_lingual = "cross-lingual" in row["category"]
    return row["yes_no_margin"] + w * row["best_dense"] + c * cross_lingual >= threshold


def figures(rows: list[dict], w: float, threshold: float, c: float = 0.0) -> str:
    """Answer accuracy and refusals over the answerable questions, abstentions over the rest."""
    outcomes = [(r["answerable"], r["right"], answered(r, w, threshold, c)) for r in rows]
    answerable = [(right, said) for asked, right, said in outcomes if asked]
    others = [said for asked, _, said in outcomes if not asked]
    accuracy = sum(right and said for right, said in answerable) / len(answerable)
    refused = sum(not said for _, said in answerable) / len(answerable)
    abstained = sum(not said for said in others) / len(others)
    return f"{accuracy:.3f} {refused:.3f} {abstained:.3f}"


if __name__ == "__main__":
    sets = {name: [r for r in ROWS if r["set"] == name] for name in ("gold", "dev-small")}
    print("w  c threshold | gold: accuracy refused abstained | dev-small: the same")
    points = [(w, 0, t / 2) for w in (0, 4, 8, 9, 10, 12) for t in range(0, 17)]
    points += [(12, 3, t) for t in (7.0, 7.5, 8.0)]  # the cross-lingual lead, chosen in-sample
    for w, c, threshold in points:
        cells = [figures(rows, w, threshold, c) for rows in sets.values()]
        print(f"{w:<2} {c} {threshold:>4}      | {cells[0]}          | {cells[1]}")
