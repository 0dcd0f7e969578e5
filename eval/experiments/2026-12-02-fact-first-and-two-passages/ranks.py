"""Where the first retrieved passage holding a gold answer ranks, no generator: for BM25 fusion
weights and for EmbeddingGemma's query prompts.

    .venv/bin/python eval/experiments/2026-12-02-fact-first-and-two-passages/ranks.py \\
        eval/xquad-dev/dev.jsonl eval/xquad-dev/corpus index-xquad
"""

import collections
import json
import re
import sys
from pathlib import Path

from rag.assistant import Assistant
from rag.retrieval import Retriever
from rag.settings import Settings

gold, corpus, index = sys.argv[1:4]
assistant = Assistant(
    Settings(corpus=corpus, index=index), load_generator=False, show_progress=False
)
questions = [json.loads(line) for line in Path(gold).read_text(encoding="utf-8").splitlines()]
questions = [q for q in questions if q["answerable"]]


class QueryPrompt:
    def __init__(self, prompt: str):
        self.prompt = prompt

    def encode_query(self, question: str):
        return assistant.embedder.model.encode(
            question, prompt=self.prompt, normalize_embeddings=True, convert_to_numpy=True
        )


def report(name: str, retriever: Retriever) -> None:
    ranks = collections.Counter()
    for q in questions:
        hits = retriever.search(q["question"], 5)
        ranks[
            next(
                (
                    i
                    for i, hit in enumerate(hits)
                    if any(re.search(p, hit.passage.text, re.I) for p in q["answers"])
                ),
                None,
            )
        ] += 1
    n = len(questions)
    print(
        f"{name}: @1 {ranks[0] / n:.3f} @2 {(ranks[0] + ranks[1]) / n:.3f} "
        f"@3 {(ranks[0] + ranks[1] + ranks[2]) / n:.3f} (of {n})"
    )


for weight in (0.0, 0.1, 0.2, 0.3, 0.5):
    report(f"BM25 weight {weight}", Retriever(assistant.store, assistant.embedder, weight))
for prompt in ("task: question answering | query: ", "task: fact checking | query: "):
    report(repr(prompt), Retriever(assistant.store, QueryPrompt(prompt), 0.0))
