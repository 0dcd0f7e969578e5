"""Embedding the passages of a large build on many cores: several local processes, or the
actors of a Ray cluster. Either stands in for the embedder during `rag index`: the store
asks it for all the new passages' vectors at once (`encode_articles`), then writes them
file by file exactly as a local build does — same ids, same passages, same crash safety.
Questions are still embedded by the local embedder.
"""

from __future__ import annotations

import numpy as np

from rag.embedding import SentenceEmbedder
from rag.protocols import ArticlePassages


class ProcessPoolEmbedder:
    """Local processes, each with its own copy of the model (sentence-transformers' pool)."""

    def __init__(self, embedder: SentenceEmbedder, processes: int):
        self.embedder, self.processes = embedder, processes
        self.identity = embedder.identity

    def encode_articles(self, items: list[ArticlePassages]) -> list[np.ndarray]:
        pool = self.embedder.model.start_multi_process_pool(["cpu"] * self.processes)
        try:
            return [
                self.embedder.encode_documents(texts, title, pool=pool) for texts, title in items
            ]
        finally:
            self.embedder.model.stop_multi_process_pool(pool)


class _EmbedActor:
    """One model per Ray actor, loaded once; embeds the rows of a batch under their titles."""

    def __init__(self, source: str, threads: int):
        self.embedder = SentenceEmbedder(source, threads)

    def __call__(self, batch: dict) -> dict:
        rows = []
        for title in dict.fromkeys(batch["title"]):
            positions = [i for i, t in enumerate(batch["title"]) if t == title]
            encoded = self.embedder.encode_documents([batch["text"][i] for i in positions], title)
            rows += list(zip(positions, encoded, strict=True))
        vectors = np.stack([vector for _, vector in sorted(rows, key=lambda row: row[0])])
        return {"article": batch["article"], "position": batch["position"], "vector": vectors}


class RayEmbedder:
    """Ray Data `map_batches` over an actor pool on the cluster at `address`."""

    def __init__(self, embedder: SentenceEmbedder, address: str, workers: int, threads: int = 1):
        import ray

        self.embedder, self.workers, self.threads = embedder, workers, threads
        self.identity = embedder.identity
        if not ray.is_initialized():
            # "local" starts a head node in this process with one CPU per worker; any other
            # address joins that cluster (e.g. "ray://host:10001" or "auto").
            cpus = workers if address == "local" else None
            ray.init(address=address, log_to_driver=False, include_dashboard=False, num_cpus=cpus)

    def encode_articles(self, items: list[ArticlePassages]) -> list[np.ndarray]:
        import ray

        rows = [
            {"article": a, "position": p, "text": text, "title": title}
            for a, (texts, title) in enumerate(items)
            for p, text in enumerate(texts)
        ]
        embedded = (
            ray.data.from_items(rows)
            .map_batches(
                _EmbedActor,
                fn_constructor_args=(self.embedder.source, self.threads),
                batch_size=8,
                batch_format="numpy",
                concurrency=self.workers,
                num_cpus=1,
            )
            .take_all()
        )
        vectors = [np.zeros((len(texts), 0), dtype=np.float32) for texts, _ in items]
        by_article: dict[int, dict[int, np.ndarray]] = {}
        for row in embedded:
            by_article.setdefault(int(row["article"]), {})[int(row["position"])] = np.asarray(
                row["vector"], dtype=np.float32
            )
        for a, (texts, _) in enumerate(items):
            if texts:
                vectors[a] = np.stack([by_article[a][p] for p in range(len(texts))])
        return vectors
