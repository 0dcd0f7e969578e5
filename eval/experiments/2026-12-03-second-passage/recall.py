"""Where the answer is: the share of answerable questions whose k best passages hold a gold
answer (its pattern), by language, without the generator.

    .venv/bin/python recall.py QUESTIONS.jsonl
"""

import json
import re
import sys
from pathlib import Path

from rag import Assistant, Settings

settings = Settings(corpus="eval/xquad-dev/corpus", index="index-xquad")
assistant = Assistant(settings, show_progress=False, load_generator=False)
questions = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines()]
first_holding: dict[str, list[int | None]] = {"de": [], "en": []}
for g in questions:
    if not g["answerable"]:
        continue
    passages = assistant.search(g["question"], top_k=10)
    patterns = [re.compile(p, re.IGNORECASE) for p in g["answers"]]
    ranks = [i for i, c in enumerate(passages) if any(p.search(c.text) for p in patterns)]
    first_holding[g["lang"]].append(ranks[0] if ranks else None)
for lang, ranks in first_holding.items():
    shares = [sum(r is not None and r < k for r in ranks) / len(ranks) for k in (1, 2, 3, 5)]
    print(
        lang,
        len(ranks),
        " ".join(f"@{k}: {s:.2f}" for k, s in zip((1, 2, 3, 5), shares, strict=True)),
    )
