"""Offline, no model: how often an answer's fact stands in another item of a list sentence
than the question's words, and whether that answer was right.

    .venv/bin/python eval/experiments/2026-12-03-retrieval-floor/list-items.py dev-fit
    .venv/bin/python eval/experiments/2026-12-03-retrieval-floor/list-items.py REPORT_DIR

`dev-fit`: the answers in eval/calibration/dev-fit.jsonl, their best passage retrieved again;
REPORT_DIR: a `rag eval --reports` folder (its answers and recorded passages).
"""

import glob
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, ".")
from rag.answer import FILLER_WORDS, TOKEN, PassageTerms, check_facts, inflected
from rag.chunking import sentence_spans


def segments_check(answer, question, passage, translated):
    check = check_facts(answer, question, PassageTerms([passage], translated))
    facts = [t for t in check.supported if not t[0].isdigit()] or check.supported
    if not facts:
        return None
    qwords = [
        w.lower()
        for w in TOKEN.findall(question)
        if len(w) >= 4 and w.lower() not in FILLER_WORDS and not w[0].isdigit()
    ]
    for s, e in sentence_spans(passage, "de"):
        sent = passage[s:e]
        segs = [x for x in re.split(r"[,;]", sent) if x.strip()]
        if len(segs) < 3:
            continue

        def holds(seg, tok):
            words = {w.lower() for w in TOKEN.findall(seg)}
            return any(inflected(tok.lower(), w, 5) for w in words)

        fact_segs = {i for i, g in enumerate(segs) for f in facts if holds(g, f)}
        if not fact_segs:
            continue
        term_segs = {i for i, g in enumerate(segs) for q in qwords if holds(g, q)}
        # A question word in every item it appears with ("Gründer") does not place the answer.
        term_segs -= {
            i
            for i in term_segs
            if all(holds(g, q) for g in segs for q in qwords if holds(segs[i], q))
        }
        if term_segs and not (fact_segs & term_segs):
            return (sent[:200], facts, sorted(fact_segs), sorted(term_segs))
        return False
    return False


def main():
    from rag import Assistant, Settings

    which = sys.argv[1]
    if which == "dev-fit":
        lines = Path("eval/calibration/dev-fit.jsonl").read_text("utf-8").splitlines()
        recs = [json.loads(line) for line in lines]
        a = Assistant(
            Settings(corpus="eval/xquad-dev/corpus", index="index-xquad"),
            load_generator=False,
            show_progress=False,
        )
        rows = []
        for r in recs:
            if r["abstained"] or not r["answerable"] or r["margin"] is None or r["margin"] < 0.3:
                continue
            hit = a.search(r["question"])[0]
            rows.append((r["question"], r["text"], hit.text, r["cross_lingual"], r["correct"]))
    else:
        rep = json.loads(Path(glob.glob(which + "/*/report.json")[0]).read_text("utf-8"))
        rows = [
            (
                q["gold"]["question"],
                q["text"],
                q["retrieved_passages"][0].split("): ", 1)[1],
                q["trace"].get("cross_lingual"),
                q.get("correct"),
            )
            for q in rep["questions"]
            if not q["abstained"] and q["gold"]["answerable"]
        ]
    c = Counter()
    for question, text, passage, x, correct in rows:
        res = segments_check(text, question, passage, bool(x))
        c[(bool(res), bool(correct))] += 1
        if res:
            print(
                "FLAG",
                correct,
                question[:70],
                "|",
                text[:70],
                "|",
                res[1],
                res[2],
                res[3],
                "|",
                res[0][:120],
            )
    print(which, "flagged/correct:", sorted(c.items()))


main()
