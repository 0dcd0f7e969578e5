import json
from pathlib import Path
rows = [json.loads(l) for l in open(Path(__file__).with_name("margins.jsonl"))]
def stats(L, t, s=None):
    R = [r for r in rows if s is None or r["set"] == s]
    pos = [r for r in R if r["answerable"]]; neg = [r for r in R if not r["answerable"]]
    fa = sum(r["far"] or r[L] < t for r in pos); ab = sum(r["far"] or r[L] < t for r in neg)
    return fa, len(pos), ab, len(neg)
for s in ["gold", "dev", None]:
    print("==", s or "all")
    fa, P, ab, N = stats("A_best_after", 1.1, s); print(f"  A t=1.10: refused {fa}/{P}  abstained {ab}/{N}")
    for t in [0.8, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8]:
        fa, P, ab, N = stats("D_all_after", t, s); print(f"  D t={t:.2f}: refused {fa}/{P} ({fa/P:.3f})  abstained {ab}/{N} ({ab/N:.2f})  wrong-outcomes {fa + N - ab}")
