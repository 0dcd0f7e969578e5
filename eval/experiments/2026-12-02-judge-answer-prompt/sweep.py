"""Outcomes at each threshold on margin + w x best cosine, from `signals.jsonl` (two `rag eval`
runs with `--set judge_passages=0 --set min_yes_margin=-1000`, which answer every question
retrieval lets through). Exact: the answer text does not depend on the threshold.

Run from the project root: python eval/experiments/2026-12-02-judge-answer-prompt/sweep.py
[signals-examples-first.jsonl] (the worked examples asked question-first too).
"""

import json
import sys
from pathlib import Path

SIGNALS = Path(__file__).parent / (sys.argv[1] if len(sys.argv) > 1 else "signals.jsonl")
ROWS = [json.loads(line) for line in SIGNALS.open()]


def answered(row: dict, w: float, threshold: float) -> bool:
    reason = row["abstain_reason"] or ""
    if reason == "retrieval" or reason.startswith("answer_"):
        return False
    return row["yes_no_margin"] + w * row["best_dense"] >= threshold


def figures(rows: list[dict], w: float, threshold: float) -> tuple[float, float, float]:
    """Answer accuracy and refusals over the answerable questions, abstentions over the rest."""
    answerable = [r for r in rows if r["answerable"]]
    others = [r for r in rows if not r["answerable"]]
    accuracy = sum(r["right"] and answered(r, w, threshold) for r in answerable) / len(answerable)
    refused = sum(not answered(r, w, threshold) for r in answerable) / len(answerable)
    abstained = sum(not answered(r, w, threshold) for r in others) / len(others)
    return accuracy, refused, abstained


if __name__ == "__main__":
    sets = {name: [r for r in ROWS if r["set"] == name] for name in ("gold", "dev-small")}
    print("w  threshold | gold: accuracy refused abstained | dev-small: accuracy refused abstained")
    for w in (0, 4, 8, 9, 10, 12):
        for threshold in [t / 2 for t in range(0, 17)]:
            cells = [
                " ".join(f"{x:.3f}" for x in figures(rows, w, threshold)) for rows in sets.values()
            ]
            print(f"{w:<2} {threshold:>4}      | {cells[0]}          | {cells[1]}")
