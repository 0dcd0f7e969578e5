"""The interfaces the assistant's parts meet; mypy checks each implementation against them.

A generator: `LlamaGenerator` (llama.cpp in-process), `RemoteGenerator` (an OpenAI-compatible
server), or a fake in unit tests. An embedder: `Embedder` (sentence-transformers). A batch
embedder embeds a whole build at once: `ProcessPoolEmbedder`, `RayEmbedder`.
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from rag.generation import Generation, ReadAhead, Reply

# An article's passage texts and its title.
ArticlePassages = tuple[list[str], str]


class Generator(Protocol):
    """Judges whether passages answer a question, then streams the answer."""

    identity: str

    @property
    def busy(self) -> bool:
        """True while an answer is being written and other questions wait for it."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def warm(self) -> None:
        """Get ready for the first question (load, evaluate the fixed prompt prefix)."""
        ...

    def read_ahead(self, messages: list[dict]) -> ReadAhead:
        """Read the passages of `messages`' judgement before a question about them comes, if the
        model is idle and has room for them (rag.kv_states)."""
        ...

    def start(
        self,
        messages: list[dict],
        max_tokens: int,
        judge_messages: list[dict] | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        """The yes/no judgement on `judge_messages` (default `messages`), then the answer.
        Once `cancel` is set, the judgement or the answer being written raises `Stopped`."""
        ...

    def answer(
        self, messages: list[dict], max_tokens: int, cancel: threading.Event | None = None
    ) -> Generation:
        """An answer with no judgement before it (a second reading); `cancel` as in `start`."""
        ...

    def write(
        self, messages: list[dict], max_tokens: int, cancel: threading.Event | None = None
    ) -> Generation:
        """The reply to `messages` of other instructions (a translation), nothing pre-filled."""
        ...


class Embedder(Protocol):
    """Encodes questions and passages into unit vectors of one model (`identity`)."""

    identity: str

    def encode_query(self, question: str) -> np.ndarray: ...

    def encode_documents(self, texts: list[str], title: str) -> np.ndarray: ...


class BatchEmbedder(Protocol):
    """Embeds every new passage of an index build at once (on several processes or machines)."""

    identity: str

    def encode_articles(self, items: list[ArticlePassages]) -> list[np.ndarray]: ...
