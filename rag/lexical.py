"""BM25 over passages (bm25s), saved beside the Chroma collection."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import bm25s
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH, STOPWORDS_GERMAN

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG

STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_GERMAN) | frozenset(STOPWORDS_FRENCH)


def tokenize(text: str) -> list[str]:
    """Lower-cased words without stopwords; no stemming (it varies by language)."""
    return [w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS]


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25 | None, ids: list[str]):
        self.retriever = retriever
        self.ids = ids

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> LexicalIndex:
        if not ids:
            return cls(None, [])
        retriever = bm25s.BM25()
        retriever.index([tokenize(t) for t in texts], show_progress=False)
        return cls(retriever, ids)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        if self.retriever is not None:
            self.retriever.save(str(folder), show_progress=False)
        (folder / "ids.json").write_text(json.dumps(self.ids))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        ids = json.loads((folder / "ids.json").read_text())
        retriever = bm25s.BM25.load(str(folder), show_progress=False) if ids else None
        return cls(retriever, ids)

    def search(self, query: str, k: int) -> dict[str, float]:
        """Passage id -> BM25 score for the best k passages with a positive score."""
        if self.retriever is None:
            return {}
        known = [t for t in tokenize(query) if t in self.retriever.vocab_dict]
        if not known:
            return {}
        docs, scores = self.retriever.retrieve(
            [known], k=min(k, len(self.ids)), show_progress=False
        )
        return {
            self.ids[int(d)]: float(s) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        }
