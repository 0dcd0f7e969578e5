"""Abstention outcomes of the two judgement layouts from `margins.py`'s records: AUC of the
margin (answerable vs not, over the questions retrieval lets through) and, per threshold,
unanswerable abstained / answerable refused, on each set and on both.

    python eval/experiments/2026-12-02-question-first-judgement/sweep.py gold.jsonl dev-small.jsonl
"""

import json
import sys

MIN_DENSE = 0.20  # Settings.min_dense_score


def auc(pos, neg):
    pairs = [(p > n) + 0.5 * (p == n) for p in pos for n in neg]
    return sum(pairs) / len(pairs) if pairs else float("nan")


sets = {}
for path in sys.argv[1:]:
    with open(path) as records:
        sets[path] = [json.loads(line) for line in records]
if len(sets) > 1:
    sets["both"] = [r for rows in list(sets.values()) for r in rows]
for layout in ("after", "both"):
    print(f"## judgement layout: {layout}")
    for name, rows in sets.items():
        passed = [r for r in rows if layout in r and (r["best_dense"] or 0) >= MIN_DENSE]
        pos = [r[layout] for r in passed if r["answerable"]]
        neg = [r[layout] for r in passed if not r["answerable"]]
        reads = sorted(r[f"{layout}_read"] for r in passed)
        print(f"{name}: AUC {auc(pos, neg):.3f}  read p50 {reads[len(reads) // 2]}")
        for threshold in (0.5, 0.8, 1.0, 1.1, 1.2, 1.4, 1.6, 1.8, 2.0):
            answerable = [r for r in rows if r["answerable"]]
            unanswerable = [r for r in rows if not r["answerable"]]

            def abstains(r, t=threshold, layout=layout):
                return (r["best_dense"] or 0) < MIN_DENSE or layout not in r or r[layout] < t

            refused = sum(map(abstains, answerable)) / len(answerable)
            recall = sum(map(abstains, unanswerable)) / max(1, len(unanswerable))
            print(f"  t={threshold:.1f}: abstained {recall:.3f}  refused {refused:.3f}")
