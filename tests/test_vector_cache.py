"""The vector cache: a text is embedded once per model and prompt, across processes; a cache
that cannot be used never stops the embedding."""

import logging
import subprocess
import sys

import numpy as np

from rag.vector_cache import VectorCache
from tests.helpers import REPO, HashingEmbedder


def counting_encoder(calls: list[str]):
    embedder = HashingEmbedder()

    def encode(texts: list[str]) -> np.ndarray:
        calls.extend(texts)
        return embedder.encode_documents(texts, title="")

    return encode


def test_vectors_are_reused_by_another_process_and_kept_apart_by_model(tmp_path):
    path = tmp_path / "vectors.sqlite"
    texts = ["Der Hafen wächst.", "Le port grandit.", "The port grows."]
    script = (
        "import sys; from pathlib import Path; from rag.vector_cache import VectorCache; "
        "from tests.test_vector_cache import counting_encoder; calls = []; "
        "VectorCache(Path(sys.argv[1])).encode(sys.argv[2:], 'm|dim=64', 'doc: ', "
        "counting_encoder(calls)); print(len(calls))"
    )
    other = subprocess.run(
        [sys.executable, "-c", script, str(path), *texts[:2]],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip() == "2"

    calls: list[str] = []
    cache = VectorCache(path)
    vectors = cache.encode(texts, "m|dim=64", "doc: ", counting_encoder(calls))
    assert calls == ["The port grows."]  # the other two came from the other process
    assert np.allclose(vectors, HashingEmbedder().encode_documents(texts, title=""))

    cache.encode(texts[:1], "other-model|dim=64", "doc: ", counting_encoder(calls))
    assert calls[-1] == "Der Hafen wächst."


def test_an_unusable_cache_warns_and_embedding_goes_on(tmp_path, caplog):
    blocked = tmp_path / "vectors.sqlite"
    blocked.mkdir()  # a folder where the file should be
    calls: list[str] = []
    with caplog.at_level(logging.WARNING):
        vectors = VectorCache(blocked).encode(["a", "b"], "m|dim=64", "", counting_encoder(calls))
    assert vectors.shape == (2, 64) and calls == ["a", "b"]
    assert "embedding without it" in caplog.text
