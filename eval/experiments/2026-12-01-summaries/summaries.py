"""Write a summary of each seed article in German, French and English to summaries.jsonl
(run from the project root: `.venv/bin/python eval/experiments/2026-12-01-summaries/summaries.py`).
before.jsonl is the model's own summaries (main at e29b890, stopped after 11), after.jsonl the
lead sentences translated one by one (6384252)."""

import json
from pathlib import Path

from rag import Answer, Assistant, Settings

assistant = Assistant(Settings(), show_progress=False)
with open(Path(__file__).with_name("summaries.jsonl"), "w", encoding="utf-8") as out:
    for article in assistant.articles():
        for language in ("de", "fr", "en"):
            answer = next(
                e for e in assistant.summarise(article["source"], language) if isinstance(e, Answer)
            )
            record = {
                "source": article["source"],
                "lang": language,
                "text": answer.text,
                "ms": answer.timings.get("total_ms"),
                "first": answer.timings.get("first_token_ms"),
                "rejected": [r.text for r in answer.trace.rejected_readings],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            print(article["source"], language, answer.text, flush=True)
