"""Per-question records of a `rag eval` report.json for eval/calibrate.py: the first decision's
margin, language pair and cosine (of the passage it chose, when two were judged).

    python3 records.py REPORT OUT
"""

import json
import sys
from pathlib import Path

report_path, out = Path(sys.argv[1]), Path(sys.argv[2])
report = json.loads(report_path.read_text(encoding="utf-8"))
lines = []
for q in report["questions"]:
    trace = q.get("trace") or {}
    judgements = trace.get("judgements") or []
    chosen = next(
        (j for j in judgements if j["probability"] == trace.get("answer_probability")), None
    )
    record = {
        "id": q["gold"]["id"],
        "question": q["gold"]["question"],  # XQuAD's ids name a paragraph, not a question
        "lang": q["gold"]["lang"],
        "cross_lingual": trace.get("cross_lingual"),
        "answerable": q["gold"]["answerable"],
        "correct": q["correct"],
        "abstained": q["abstained"],
        "margin": trace.get("yes_no_margin"),
        "dense": chosen["dense"] if chosen else trace.get("best_dense"),
        "judgements": judgements,
        "abstain_reason": trace.get("abstain_reason"),
        "text": q["text"],
    }
    lines.append(json.dumps(record, ensure_ascii=False) + "\n")
out.write_text("".join(lines), encoding="utf-8")
