"""How often the text the judgement reads holds a gold answer, no generator: the best passage
against the sentences of the best three passages closest to the question, within a budget of
characters (score = dense_weight × the passage's cosine + (1 − dense_weight) × the sentence's).

    .venv/bin/python eval/experiments/2026-12-02-sentence-evidence/sentence_ranks.py \\
        eval/xquad-dev/dev.jsonl eval/xquad-dev/dev-small.jsonl eval/xquad-dev/corpus index-xquad

Sentence vectors use the document prompt with the article's title, through the vector cache.
"""

import json
import re
import sys
from pathlib import Path

from rag.assistant import Assistant
from rag.chunking import sentence_spans
from rag.settings import Settings

dev, small, corpus, index = sys.argv[1:5]
assistant = Assistant(
    Settings(corpus=corpus, index=index), load_generator=False, show_progress=False
)


def lines(path: str) -> list[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()


held_apart = set(lines(small))
questions = [(json.loads(line), line in held_apart) for line in lines(dev)]
questions = [(q, in_small) for q, in_small in questions if q["answerable"]]


def holds(text: str, question: dict) -> bool:
    return any(re.search(p, text, re.I) for p in question["answers"])


def candidates(question: str) -> tuple[str, list[tuple[float, float, str, str]]]:
    """The best passage, and (passage cosine, sentence cosine, sentence, passage) for each
    sentence of the best 3 passages."""
    vector = assistant.embedder.encode_query(question)
    hits = assistant.retriever.search(question, 3)
    found = []
    for hit in hits:
        passage = hit.passage
        spans = sentence_spans(passage.text, passage.language) or [(0, len(passage.text))]
        sentences = [passage.text[s:e] for s, e in spans]
        similarities = assistant.embedder.encode_documents(sentences, passage.title) @ vector
        found += [
            (hit.dense, float(s), t, passage.text)
            for s, t in zip(similarities, sentences, strict=True)
        ]
    return hits[0].passage.text, found


def ranked(found, dense_weight: float):
    return sorted(found, key=lambda c: -(dense_weight * c[0] + (1 - dense_weight) * c[1]))


def selected(found, budget: int, dense_weight: float) -> str:
    """The best sentences within `budget` characters (budget 0: the best one's passage)."""
    if budget == 0:
        return ranked(found, dense_weight)[0][3]
    chosen: list[str] = []
    used = 0
    for _, _, sentence, _ in ranked(found, dense_weight):
        if not chosen or used + len(sentence) <= budget:
            chosen.append(sentence)
            used += len(sentence)
    return " ".join(chosen)


rows = [(q, in_small, *candidates(q["question"])) for q, in_small in questions]
for name, part in (("dev minus dev-small", False), ("dev-small", True)):
    subset = [row for row in rows if row[1] is part]
    n = len(subset)
    best = sum(holds(first, q) for q, _, first, _ in subset) / n
    print(f"{name} ({n} answerable): the best passage holds the answer {best:.3f}")
    for budget in (0, 350, 400, 450, 550):
        for dense_weight in (0.0, 0.3):
            texts = [(q, selected(found, budget, dense_weight)) for q, _, _, found in subset]
            share = sum(holds(text, q) for q, text in texts) / n
            length = sum(len(text) for _, text in texts) / n
            print(f"  {budget} characters, dense weight {dense_weight}: {share:.3f} ({length:.0f})")
