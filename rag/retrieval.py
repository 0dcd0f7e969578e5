"""Hybrid retrieval: dense (query prompt) and BM25 results, fused by min-max normalised scores.

Min-max fusion ranked better than reciprocal rank fusion on the seed articles; dense alone
is the default (RAG_BM25_WEIGHT=0). The measurements: docs/decisions.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.store import Passage, PassageStore


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # fused, 0..1
    dense: float  # cosine similarity to the question
    lexical: float  # raw BM25 score (0 when not among the BM25 candidates)


def _min_max(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    return {k: (v - low) / (high - low) if high > low else 1.0 for k, v in scores.items()}


def fuse(
    dense: dict[str, float], lexical: dict[str, float], bm25_weight: float
) -> list[tuple[str, float]]:
    """Passage ids by fused score, best first; a passage missing from one list scores 0 there.

    >>> fuse({"a": 0.9, "b": 0.5}, {"b": 3.0, "c": 1.0}, bm25_weight=0.2)
    [('a', 0.8), ('b', 0.2)]
    """
    dense_n, lexical_n = _min_max(dense), _min_max(lexical)
    fused = {
        pid: (1 - bm25_weight) * dense_n.get(pid, 0.0) + bm25_weight * lexical_n.get(pid, 0.0)
        for pid in dense_n.keys() | lexical_n.keys()
    }
    ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return [(pid, round(score, 6)) for pid, score in ranked if score > 0]


class Retriever:
    def __init__(self, store: PassageStore, embedder, bm25_weight: float):
        self.store, self.embedder, self.bm25_weight = store, embedder, bm25_weight

    def search(self, query: str, k: int, sources: frozenset[str] | None = None) -> list[Hit]:
        """The k best passages for `query`; only those of the articles `sources` names, if given."""
        self.store.refresh()
        candidates = max(4 * k, 20)
        vector = self.embedder.encode_query(query)
        passages = self.store.passages()
        dense = self.store.dense_search(vector, candidates, sources) if self.bm25_weight < 1 else {}
        lexical = {}
        if self.bm25_weight > 0:
            # Restricted to a few articles, BM25's best overall may all lie outside them.
            reach = candidates if sources is None else len(passages)
            found = self.store.lexical().search(query, reach)
            lexical = {
                pid: score
                for pid, score in found.items()
                if sources is None or (pid in passages and passages[pid].source in sources)
            }
        # Passages that only BM25 found get their exact cosine too: the approximate (HNSW)
        # dense search may miss them, and abstention reads the dense similarity.
        exact = self.store.similarity(vector, [pid for pid in lexical if pid not in dense])
        return [
            Hit(passages[pid], score, dense.get(pid, exact.get(pid, 0.0)), lexical.get(pid, 0.0))
            for pid, score in fuse(dense, lexical, self.bm25_weight)[:k]
            if pid in passages
        ]
