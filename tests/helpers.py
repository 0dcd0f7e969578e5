"""What several test modules share: paths, a fake embedder and generator, server processes."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from rag.errors import Stopped
from rag.generation import Generation, GenerationStats, Judgement, Reply
from rag.indexing import update_index
from stress.serve import free_port, start_app, start_process, stop

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"

__all__ = ["REPO", "SEEDS", "free_port", "start_app", "stop"]


class HashingEmbedder:
    """A deterministic bag-of-words embedder, for unit tests of the store alone."""

    identity = "hashing-test-embedder|dim=64"

    def __init__(self):
        self.calls = 0

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(64, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector + 1 / 8

    def encode_documents(self, texts, title):
        self.calls += len(texts)
        return np.stack([self._vector(t) for t in texts])

    def encode_query(self, question):
        return self._vector(question)


class FakeGenerator:
    """A generator that says yes or no with a set margin and writes the readings it is given,
    one per answer it is asked for, for unit tests of the assistant's flow."""

    identity = "fake-generator"
    busy = False

    def __init__(self, margin: float | list[float], readings: list[str]):
        """`margin`: the same for every judgement, or one per judgement in turn."""
        self.margins = margin if isinstance(margin, list) else None
        self.margin, self.readings = margin, list(readings)
        self.judged: list[list[dict]] = []  # the judgement prompts of `start`
        self.started: list[list[dict]] = []  # the answer prompts of `start`
        self.answered: list[list[dict]] = []  # the prompts of second readings
        self.written: list[list[dict]] = []  # the prompts of `write` (translations)
        self.read: list[list[dict]] = []  # the prompts read ahead
        self.read_outcome = "read"  # what reading ahead comes to
        self.closed = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def warm(self) -> None:
        pass

    def read_ahead(self, messages) -> str:
        self.read.append(messages)
        return self.read_outcome

    def start(self, messages, max_tokens, judge_messages=None, cancel=None) -> Reply:
        self.started.append(messages)
        self.judged.append(judge_messages or messages)
        margin = self.margins.pop(0) if self.margins is not None else self.margin
        judgement = Judgement(float(margin), 100, 60, 5.0, 140)  # type: ignore[arg-type]
        return Reply(judgement, partial(self._next_reading, cancel), self._close)

    def answer(self, messages, max_tokens, cancel=None) -> Generation:
        self.answered.append(messages)
        return self._next_reading(cancel)

    def write(self, messages, max_tokens, cancel=None) -> Generation:
        self.written.append(messages)
        return self._next_reading(cancel)

    def _close(self) -> None:
        self.closed += 1

    def _next_reading(self, cancel) -> Generation:
        text = self.readings.pop(0)
        pieces = re.findall(r"\S+\s*", text)
        stats = GenerationStats(len(pieces), 1.0, 2.0 + len(pieces), "stop")
        return Generation(self._written(pieces, cancel), stats)

    @staticmethod
    def _written(pieces: list[str], cancel) -> Iterator[str]:
        for piece in pieces:
            if cancel is not None and cancel.is_set():
                raise Stopped("stopped")
            yield piece


def copy_of_seeds(tmp_path_factory, name: str) -> Path:
    """A fresh folder holding the seed articles, for a module's or session's fixtures."""
    folder = tmp_path_factory.mktemp(name)
    for path in SEEDS.iterdir():
        shutil.copy(path, folder)
    return folder


def serve_or_fail(command: list[str], probe_url: str, log: Path, timeout: float, **options):
    """A server process for a test, up and answering; the test fails with its log if not."""
    try:
        return start_process(command, probe_url, log, timeout, **options)
    except RuntimeError as exc:
        pytest.fail(str(exc))


def build(store, corpus: Path, embedder):
    """Index `corpus` into `store` quietly; the IndexReport."""
    return update_index(store, corpus, embedder, show_progress=False)


_WRITER = """
import sys
from pathlib import Path

from rag.store import PassageStore
from tests.helpers import HashingEmbedder, build

index, corpus, chunk_chars = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
embedder = HashingEmbedder()
store = PassageStore(index, embedder.identity, chunk_chars)
print("opened", flush=True)
report = build(store, corpus, embedder)
print("added", report.added, "removed", report.removed, flush=True)
"""


def start_index_writer(index: Path, corpus: Path, chunk_chars: int) -> subprocess.Popen:
    """Another process that opens the index and brings it in line with `corpus`; it prints
    "opened" once its store is open."""
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(index), str(corpus), str(chunk_chars)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
