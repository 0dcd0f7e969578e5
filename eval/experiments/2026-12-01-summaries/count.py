"""Count what reading the summaries showed: wrong language, runs of markers, a repeated
sentence, and the time (`.venv/bin/python eval/experiments/2026-12-01-summaries/count.py`)."""

import json
import re
from pathlib import Path

from rag.language import detect_language

for name in ("before", "after"):
    lines = Path(__file__).with_name(f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    wrong = sum(detect_language(r["text"]) != r["lang"] for r in rows)
    runs = sum(bool(re.search(r"\[\d\]\s*\[\d\]", r["text"])) for r in rows)
    repeated = sum(
        any(r["text"].count(s) > 1 for s in re.split(r"(?<=[.!?])\s+", r["text"]) if len(s) > 30)
        for r in rows
    )
    total = sorted(r["ms"] for r in rows)
    print(
        f"{name}: {len(rows)} summaries, wrong language {wrong}, marker runs {runs}, "
        f"repeated sentence {repeated}, total p50 {total[len(total) // 2] / 1000:.1f} s"
    )
