"""Refit the abstention model with other features and wrong-answer costs; apply each fit to the
signals recorded in eval reports. Needs a worktree with calibrated-best.patch applied.

    python variants.py DEV_SMALL.json GOLD.json HELDOUT2.json HELDOUT.json   (report.json of each `rag eval`)
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
import rag.calibration as C  # noqa: E402

rows = [json.loads(line) for line in open(Path(__file__).with_name("signals.jsonl"))]
reports = dict(zip(["dev-small", "gold", "heldout2", "heldout"], sys.argv[1:5]))


def evalset(name):
    out = []
    for o in json.load(open(reports[name]))["questions"]:
        tr = o.get("trace") or {}
        s = tr.get("signals"); byans = str(tr.get("abstain_reason", "")).startswith("answer_")
        out.append((o["gold"]["answerable"], s, byans))
    return out
sets = {k: evalset(k) for k in reports}
for feats in (["margin", "dense", "lexical", "cross_lingual"], ["margin", "dense", "lexical"], ["margin", "dense"], ["margin", "dense", "cross_lingual"]):
    for cost in (1.5, 2.0, 3.0):
        C.FEATURES = feats; C.WRONG_ANSWER_COST = cost
        m = C.fit(rows)
        line = [f"{'+'.join(f[:3] for f in feats):16s} cost {cost}: thr {m.threshold:.2f} w " + " ".join(f"{w:+.2f}" for w in m.weights)]
        for k, qs in sets.items():
            P = N = ref = ab = 0
            for ans, s, byans in qs:
                abst = s is None or m.probability(s) < m.threshold or byans
                if ans: P += 1; ref += abst
                else: N += 1; ab += abst
            line.append(f"{k} ref {ref}/{P} abst {ab}/{N}")
        print(" | ".join(line))
