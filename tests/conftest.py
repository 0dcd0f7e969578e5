"""Shared fixtures. Integration tests (marker `real`) use the real models from `rag models`."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


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


@pytest.fixture
def hashing_embedder():
    return HashingEmbedder()


def copy_of_seeds(tmp_path_factory, name: str) -> Path:
    """A fresh folder holding the seed articles, for a module's or session's fixtures."""
    folder = tmp_path_factory.mktemp(name)
    for path in SEEDS.iterdir():
        shutil.copy(path, folder)
    return folder


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the seed articles."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


def serve_or_fail(command: list[str], probe_url: str, log: Path, timeout: float, **options):
    """A server process for a test, up and answering; the test fails with its log if not."""
    from stress.serve import start_process

    try:
        return start_process(command, probe_url, log, timeout, **options)
    except RuntimeError as exc:
        pytest.fail(str(exc))
