"""Sentence embeddings with explicit query and document prompts."""

from __future__ import annotations

import os

os.environ.setdefault(
    "HF_HUB_OFFLINE", "1"
)  # local folders only; a hub id needs the user to unset this
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from rag.vector_cache import VectorCache


class SentenceEmbedder:
    """Encode questions and passages into normalised vectors.

    >>> embedder = SentenceEmbedder("path/to/embeddinggemma-300m", threads=2)  # doctest: +SKIP
    >>> embedder.encode_query("Wie viel hat Microsoft investiert?").shape  # doctest: +SKIP
    (768,)
    """

    def __init__(self, source: str, threads: int, cache: VectorCache | None = None):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self.source = source
        self.model = SentenceTransformer(source, device="cpu")
        self.identity = f"{source}|dim={self.model.get_embedding_dimension()}"
        self.cache = cache

    def encode_query(self, question: str) -> np.ndarray:
        prompt_name = "query" if "query" in self.model.prompts else None
        return self.model.encode(
            question, prompt_name=prompt_name, normalize_embeddings=True, convert_to_numpy=True
        )

    def document_prompt(self, title: str) -> str:
        # EmbeddingGemma's document prompt has a title slot ("title: none | text: "): fill it in.
        return (self.model.prompts.get("document") or "").replace("title: none", f"title: {title}")

    def encode_documents(
        self, texts: list[str], title: str, batch_size: int = 8, pool: dict | None = None
    ) -> np.ndarray:
        """`pool`: a sentence-transformers multi-process pool to spread the work over."""
        return self._encode(texts, self.document_prompt(title), batch_size, pool)

    def encode_sentences(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Vectors for classifying sentences (EmbeddingGemma's classification prompt)."""
        return self._encode(texts, self.model.prompts.get("Classification"), batch_size)

    def _encode(
        self, texts: list[str], prompt: str | None, batch_size: int, pool: dict | None = None
    ) -> np.ndarray:
        def compute(missing: list[str]) -> np.ndarray:
            return self.model.encode(
                missing,
                prompt=prompt,
                pool=pool,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
            )

        if self.cache is None:
            return compute(texts)
        return self.cache.encode(texts, self.identity, prompt or "", compute)
