"""Per-question records of a `rag eval` report.json, with the yes/no margin and the language pair.

    python3 records.py REPORT CORPUS OUT

Cross-lingual: the question's language is not the best passage's. Reports from before the
trace recorded it get it from the gold language and the first retrieved article's language.
"""

import json
import sys
from pathlib import Path

from rag.corpus import load_article

report_path, corpus, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
report = json.loads(report_path.read_text(encoding="utf-8"))
languages: dict[str, str] = {}


def article_language(source: str) -> str:
    if source not in languages:
        languages[source] = load_article(corpus / source, corpus).language
    return languages[source]


lines = []
for q in report["questions"]:
    trace = q.get("trace") or {}
    cross = trace.get("cross_lingual")
    if cross is None and q["retrieved_sources"]:
        cross = q["gold"]["lang"] != article_language(q["retrieved_sources"][0])
    record = {
        "id": q["gold"]["id"],
        "question": q["gold"]["question"],  # XQuAD's ids name a paragraph, not a question
        "lang": q["gold"]["lang"],
        "cross_lingual": cross,
        "answerable": q["gold"]["answerable"],
        "correct": q["correct"],
        "abstained": q["abstained"],
        "margin": trace.get("yes_no_margin"),
        "dense": trace.get("best_dense"),  # the best passage's cosine, when the trace has it
        "further": [
            [margin, q["gold"]["lang"] != article_language(source)]
            for margin, source in zip(
                trace.get("further_margins") or [], q["retrieved_sources"][1:], strict=False
            )
        ],
        "abstain_reason": trace.get("abstain_reason"),
        "text": q["text"],
    }
    lines.append(json.dumps(record, ensure_ascii=False) + "\n")
out.write_text("".join(lines), encoding="utf-8")
