import json
import sys
from pathlib import Path

from rag.abstention import ANSWER_MODEL_FILE, AnswerModel

m = AnswerModel.load(ANSWER_MODEL_FILE)
rows = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines()]
thr = m.threshold


def prob(p):
    return m.probability(p["margin"], p["cross"], p["dense"])


print(len(rows), "questions; threshold", thr)
for delta in (0, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 1.0):
    c = dict(judged2=0, ans_holds=0, ans_not=0, refused=0, un_answered=0, un=0, A=0)
    for r in rows:
        ps = r["passages"]
        chosen = ps[0]
        if len(ps) > 1 and ps[0]["dense"] - ps[1]["dense"] <= delta:
            c["judged2"] += 1
            if prob(ps[1]) > prob(ps[0]):
                chosen = ps[1]
        answered = prob(chosen) >= thr
        if r["answerable"]:
            c["A"] += 1
            if not answered:
                c["refused"] += 1
            elif chosen["holds"]:
                c["ans_holds"] += 1
            else:
                c["ans_not"] += 1
        else:
            c["un"] += 1
            c["un_answered"] += answered
    n = len(rows)
    print(
        f"delta {delta:4}: judged2 {c['judged2'] / n:.0%}  answerable {c['A']}: answered "
        f"from the holding passage {c['ans_holds']}, from another {c['ans_not']}, refused "
        f"{c['refused']};  unanswerable {c['un']}: answered {c['un_answered']}"
    )
