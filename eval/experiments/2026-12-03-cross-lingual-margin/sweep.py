"""Outcomes of a separate margin threshold for cross-lingual questions, from recorded runs.

Each argument is one question set: record files (from records.py) joined by "+", the
records of a question in a later file replacing the earlier. Exact for thresholds at or
above the one each run used (a higher threshold only turns answers into abstentions).
Same-language questions keep --same (default 1.1). Cost as in thresholds.py: a wrong answer
(or an answered unanswerable question) 1.5, a refusal 1, per question; the mean weighs each
set the same.

    python3 sweep.py gold-0.7.jsonl defaults-dev-fit.jsonl+english-margin-0.7-dev-fit.jsonl
"""

import json
import sys
from pathlib import Path


def load(spec: str) -> list[dict]:
    by_question: dict[tuple[str, str], dict] = {}
    for name in spec.split("+"):
        for line in Path(name).read_text("utf-8").splitlines():
            record = json.loads(line)
            by_question[record["id"], record["question"]] = record
    return list(by_question.values())


def abstains(record: dict, same: float, cross: float) -> bool:
    threshold = cross if record["cross_lingual"] else same
    margin = record["margin"]
    return record["abstained"] or (margin is not None and margin < threshold)


def figures(records: list[dict], same: float, cross: float) -> tuple[float, str]:
    wrong = refused = 0
    refusals = {True: [0, 0], False: [0, 0]}  # pair → [refused, answerable]
    right = {True: 0, False: 0}
    abstained_unanswerable = unanswerable = 0
    for r in records:
        out = abstains(r, same, cross)
        if not r["answerable"]:
            unanswerable += 1
            abstained_unanswerable += out
            wrong += not out
            continue
        refusals[r["cross_lingual"]][1] += 1
        if out:
            refused += 1
            refusals[r["cross_lingual"]][0] += 1
        elif r["correct"]:
            right[r["cross_lingual"]] += 1
        else:
            wrong += 1
    cost = (1.5 * wrong + refused) / len(records)

    def rate(n: int, d: int) -> str:
        return f"{n / d:.1%}" if d else "-"

    cell = (
        f"right same {rate(right[False], refusals[False][1])}"
        f" cross {rate(right[True], refusals[True][1])}"
        f", refused same {rate(*refusals[False])} cross {rate(*refusals[True])}"
        f", abstained {rate(abstained_unanswerable, unanswerable)}, cost {cost:.3f}"
    )
    return cost, cell


args = [a for a in sys.argv[1:] if not a.startswith("--same=")]
same = float(next((a[7:] for a in sys.argv[1:] if a.startswith("--same=")), "1.1"))
sets = {spec: load(spec) for spec in args}
for cross in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3):
    results = [figures(records, same, cross) for records in sets.values()]
    mean = sum(cost for cost, _ in results) / len(results)
    print(
        f"cross {cross:.1f}: "
        + " | ".join(cell for _, cell in results)
        + f" | mean cost {mean:.3f}"
    )
