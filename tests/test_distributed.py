"""Embedding spread over a Ray cluster (a local head node, two workers) and over local
processes: the same passages, ids and vectors as the local path."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.embedding import SentenceEmbedder
from rag.models import embedder_source
from rag.screening import Probe
from rag.settings import Settings
from rag.store import PassageStore
from tests.helpers import REPO, build, copy_of_seeds

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def embedder():
    return SentenceEmbedder(embedder_source(Settings()), 2)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = copy_of_seeds(tmp_path_factory, "distributed-corpus")
    return folder


@pytest.fixture(scope="module")
def local_index(tmp_path_factory, corpus, embedder):
    folder = tmp_path_factory.mktemp("local-index")
    build(PassageStore(folder, embedder.identity, Settings().chunk_chars), corpus, embedder)
    return folder


def stored(folder: Path, embedder, screen_identity: str = "") -> dict[str, np.ndarray]:
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    store = PassageStore(folder, embedder.identity, Settings().chunk_chars, "", screen_identity)
    vectors = store._vectors()
    return dict(zip(vectors.ids, vectors.matrix, strict=True))


def index_with(corpus: Path, folder: Path, *options: str) -> None:
    command = [
        sys.executable,
        "-c",
        "from rag.cli import main; main()",
        "index",
        str(corpus),
        "--index",
        str(folder),
        *options,
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "5 added" in result.stdout


def assert_same_index(folder: Path, local_index: Path, embedder) -> None:
    # `rag index` screens sentences (rag.screening); the index's config says with which probe.
    expected, got = stored(local_index, embedder), stored(folder, embedder, Probe.load().identity)
    assert sorted(got) == sorted(expected) and len(got) > 100
    assert max(float(np.abs(got[i] - expected[i]).max()) for i in expected) < 1e-4


def test_a_ray_head_node_with_two_workers_builds_the_same_index(
    tmp_path, corpus, local_index, embedder
):
    # A head node started in the indexing process: `ray start --head` here hands out an
    # address (the container's 192.0.2.2) that its own clients then fail to join.
    index_with(corpus, tmp_path / "ray-index", "--ray", "local", "--workers", "2")
    assert_same_index(tmp_path / "ray-index", local_index, embedder)


def test_local_processes_build_the_same_index(tmp_path, corpus, local_index, embedder):
    index_with(corpus, tmp_path / "pool-index", "--processes", "2")
    assert_same_index(tmp_path / "pool-index", local_index, embedder)
