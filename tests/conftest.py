"""Fixtures. Integration tests (marker `real`) use the real models from `rag models`; shared
helpers are in tests/helpers.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import SEEDS, HashingEmbedder


@pytest.fixture(autouse=True, scope="session")
def passages_kept_in_a_folder_of_this_run(tmp_path_factory):
    """Passages read ahead are kept on disk in a folder of the run, not the user's cache:
    every run starts as on a new machine (servers started by tests inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_PASSAGE_STATES_DIR", str(tmp_path_factory.mktemp("passage-states")))
        yield


@pytest.fixture
def hashing_embedder():
    return HashingEmbedder()


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the seed articles."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder
