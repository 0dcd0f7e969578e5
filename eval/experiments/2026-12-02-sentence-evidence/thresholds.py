"""Outcomes of raising the yes/no margin threshold (RAG_MIN_YES_MARGIN), from recorded runs.

Exact for thresholds at or above the one the runs used: a higher threshold only turns an
answer whose margin falls below it into an abstention. Cost: a wrong answer (or an answered
unanswerable question) 1.5, a refusal 1, per question of each file; the mean over the files
weighs each file the same.

    python3 thresholds.py defaults-gold.jsonl defaults-dev-fit.jsonl
    python3 thresholds.py --from=0.7 english-margin-0.7-dev-fit.jsonl  # runs made at 0.7
"""

import json
import sys
from pathlib import Path


def outcomes(records: list[dict], threshold: float) -> dict[str, int]:
    counts = dict(right=0, wrong=0, refused=0, answered_unanswerable=0, abstained_unanswerable=0)
    for r in records:
        abstained = r["abstained"] or (r["margin"] is not None and r["margin"] < threshold)
        if not r["answerable"]:
            counts["abstained_unanswerable" if abstained else "answered_unanswerable"] += 1
        elif abstained:
            counts["refused"] += 1
        else:
            counts["right" if r["correct"] else "wrong"] += 1
    return counts


names = [a for a in sys.argv[1:] if not a.startswith("--from=")]
lowest = float(next((a[7:] for a in sys.argv[1:] if a.startswith("--from=")), "1.1"))
files = {
    Path(name).stem: [json.loads(line) for line in Path(name).read_text("utf-8").splitlines()]
    for name in names
}
steps = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0)
for threshold in [t for t in steps if t >= lowest - 1e-9]:
    cells, costs = [], []
    for name, records in files.items():
        c = outcomes(records, threshold)
        answerable = c["right"] + c["wrong"] + c["refused"]
        unanswerable = c["answered_unanswerable"] + c["abstained_unanswerable"]
        wrong = c["wrong"] + c["answered_unanswerable"]
        costs.append((1.5 * wrong + c["refused"]) / (answerable + unanswerable))
        cells.append(
            f"{name}: right {c['right'] / answerable:.1%}, refused {c['refused'] / answerable:.1%}"
            f", abstained {c['abstained_unanswerable'] / max(unanswerable, 1):.0%}"
            f", cost {costs[-1]:.3f}"
        )
    print(f"{threshold:.1f}  " + " | ".join(cells) + f" | mean cost {sum(costs) / len(costs):.3f}")
