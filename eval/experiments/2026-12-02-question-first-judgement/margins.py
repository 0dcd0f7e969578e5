"""The yes/no margin of the best passage in two layouts, per question, in one run:
`after` (today: the passage, then the question) and `both` (the question before the passage
too, as the answer's prompt asks, so that the answer can go on from the judgement's KV cache).

    .venv/bin/python eval/experiments/2026-12-02-question-first-judgement/margins.py \
        GOLD [--corpus C --index I] > out.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from rag.assistant import Assistant
from rag.generation import _common_prefix
from rag.prompt import ANSWER_PREFILL, JUDGEMENT_PREFILL
from rag.settings import Settings

parser = argparse.ArgumentParser()
parser.add_argument("gold")
parser.add_argument("--corpus")
parser.add_argument("--index")
args = parser.parse_args()
overrides = {k: v for k, v in (("corpus", args.corpus), ("index", args.index)) if v}
assistant = Assistant(Settings(**overrides), show_progress=False)
generator = assistant.generator
generator.warm()
with open(args.gold, encoding="utf-8") as gold:
    lines = gold.readlines()
for line in lines:
    row = json.loads(line)
    turn = assistant._prepare(row["question"], None, None)
    record = {"id": row["id"], "answerable": bool(row.get("answers")), "lang": row.get("lang")}
    best = max((h.dense for h in turn.hits), default=None)
    record["best_dense"] = best
    if not turn.sources:
        print(json.dumps(record), flush=True)
        continue
    judged = turn.sources[:1]
    answer_tokens = generator._tokens(
        turn.messages(turn.sources, question_first=True), ANSWER_PREFILL
    )
    for layout, first in (("after", False), ("both", True)):
        tokens = generator._tokens(turn.messages(judged, question_first=first), JUDGEMENT_PREFILL)
        started = time.perf_counter()
        judgement = generator.judge(tokens)
        record[layout] = round(judgement.yes_no_margin, 3)
        record[f"{layout}_read"] = (
            len(tokens)
            - judgement.reused_tokens
            + len(answer_tokens)
            - _common_prefix(answer_tokens, tokens)
        )
        record[f"{layout}_ms"] = round((time.perf_counter() - started) * 1000)
    print(json.dumps(record), flush=True)
print("done", file=sys.stderr)
