"""Per-question records of a `rag eval` report.json, as in this folder: records.py IN OUT."""

import json
import sys
from pathlib import Path

report = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
lines = []
for q in report["questions"]:
    timings = q["timings"]
    rejected = (q.get("trace") or {}).get("rejected_readings", [])
    record = {
        "id": q["gold"]["id"],
        "answerable": q["gold"]["answerable"],
        "correct": q["correct"],
        "abstained": q["abstained"],
        "text": q["text"],
        "read": timings.get("prompt_tokens_read"),
        "first_token_ms": timings.get("first_token_ms"),
        "rejected": [r["verdict"] for r in rejected],
    }
    lines.append(json.dumps(record, ensure_ascii=False) + "\n")
Path(sys.argv[2]).write_text("".join(lines), encoding="utf-8")
