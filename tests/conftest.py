"""Fixtures. Integration tests (marker `real`) use the real models from `rag models`; shared
helpers are in tests/helpers.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import SEEDS, HashingEmbedder


@pytest.fixture
def hashing_embedder():
    return HashingEmbedder()


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the seed articles."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder
