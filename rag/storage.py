"""Where an index lives: a folder on this machine or a Chroma server, behind one interface.

A `PassageStore` keeps its logic (manifest, reading, writing passages) in one place and asks
its storage only what differs between the two: how to reach Chroma, where the manifest and
the BM25 index are kept, how writers take turns, and what a failure means.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import chromadb
from chromadb.config import Settings as ChromaSettings

from rag.errors import IndexDamaged, IndexDiskFull, IndexProblem
from rag.lexical import LexicalIndex

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
WRITE_LOCK = "write.lock"
COLLECTION_PREFIX = "passages-"  # the collections a PassageStore owns (a server may hold others)
MANIFEST_COLLECTION = "rag-manifest"
LOW_DISK_BYTES = 64 * 1024 * 1024


class Storage(Protocol):
    """What a PassageStore needs from the place its index is kept."""

    where: str  # for messages
    shared: bool  # other clients use it too: never thrown away when settings differ

    def connect(self) -> Any:
        """The Chroma client (may raise anything Chroma raises: see `open_failure`)."""

    def reconnect(self, client: Any) -> Any:
        """A client that sees what another process wrote since `client` was made."""

    def read_manifest(self, known: object = None) -> tuple[object, str | None]:
        """(version, text): the text is None when the manifest is missing or, given the
        version read last time as `known`, unchanged since."""

    def write_manifest(self, data: dict) -> object:
        """Replace the manifest atomically; its version, as `read_manifest` gives it."""

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """Held by a writer for a whole index update: one writer at a time."""

    def load_lexical(self, name: str | None, ids: list[str], texts: list[str]) -> LexicalIndex:
        """The BM25 index the manifest names (`ids`/`texts` are the current passages)."""

    def save_lexical(self, ids: list[str], texts: list[str]) -> str | None:
        """Build and keep a BM25 index of these passages; the name for the manifest."""

    def drop_lexical_except(self, name: str | None) -> None:
        """Remove BM25 indexes other than `name` (called under the write lock)."""

    def lexical_missing(self, name: str | None) -> bool: ...

    def write_failure(self, exc: BaseException) -> IndexProblem | None:
        """What an error during an update means for the user; None if not the storage's doing."""

    def open_failure(self, exc: BaseException) -> IndexProblem:
        """What an error while opening the index means for the user."""

    def wipe(self) -> None:
        """Remove everything a PassageStore wrote here, and nothing else."""


def _our_collection(name: str) -> bool:
    return name.startswith(COLLECTION_PREFIX) or name == MANIFEST_COLLECTION


def _version(stat: os.stat_result) -> object:
    # Every write is a rename onto the path: a new inode means a new manifest.
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class LocalStorage:
    """An index folder: Chroma's database in `chroma/`, the manifest as a JSON file replaced
    atomically, BM25 in `bm25-<hash>/` folders, and a lock file that writers hold."""

    shared = False

    def __init__(self, folder: Path):
        self.folder = folder
        self.where = str(folder)
        self.manifest_path = folder / MANIFEST

    def connect(self) -> Any:
        self.folder.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(
            path=str(self.folder / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
        )

    def reconnect(self, client: Any) -> Any:
        # Chroma's local engine keeps the vectors it loaded in memory: another process's
        # writes are seen only by a client opened after them.
        client.close()
        return self.connect()

    def read_manifest(self, known: object = None) -> tuple[object, str | None]:
        try:
            stat = self.manifest_path.stat()
        except FileNotFoundError:
            return None, None
        version = _version(stat)
        if version == known:
            return version, None
        try:
            return version, self.manifest_path.read_text()
        except FileNotFoundError:  # replaced between the stat and the read: read again
            return self.read_manifest(known)

    def write_manifest(self, data: dict) -> object:
        # A name of this process's own: two processes never write into each other's file.
        tmp = self.folder / f"manifest.{os.getpid()}.tmp"
        with tmp.open("w") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.manifest_path)
        return _version(self.manifest_path.stat())

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / WRITE_LOCK).open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.warning("another process is updating %s: waiting for it", self.folder)
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load_lexical(self, name: str | None, ids: list[str], texts: list[str]) -> LexicalIndex:
        return LexicalIndex.load(self.folder / name) if name else LexicalIndex.build([], [])

    def save_lexical(self, ids: list[str], texts: list[str]) -> str | None:
        name = "bm25-" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
        target = self.folder / name
        if target.exists():
            shutil.rmtree(target)  # left by a killed build
        LexicalIndex.build(ids, texts).save(target)
        return name

    def drop_lexical_except(self, name: str | None) -> None:
        for folder in self.folder.glob("bm25-*"):
            if folder.name != name:
                shutil.rmtree(folder, ignore_errors=True)

    def lexical_missing(self, name: str | None) -> bool:
        return bool(name) and not (self.folder / str(name)).is_dir()

    def write_failure(self, exc: BaseException) -> IndexProblem | None:
        chain = [exc, exc.__cause__, exc.__context__]
        if any(isinstance(e, OSError) and e.errno == errno.ENOSPC for e in chain):
            return IndexDiskFull(self.folder)
        # Chroma reports a full disk in its own words: judge by the free space.
        if self.folder.exists() and shutil.disk_usage(self.folder).free < LOW_DISK_BYTES:
            return IndexDiskFull(self.folder)
        return None

    def open_failure(self, exc: BaseException) -> IndexProblem:
        return self.write_failure(exc) or IndexDamaged(
            self.folder, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        )

    def wipe(self) -> None:
        if not self.folder.is_dir():
            return
        with self.writing():  # the lock file stays: a waiting writer holds it open
            entries = [
                self.manifest_path,
                *self.folder.glob("manifest*.tmp"),
                self.folder / "chroma",
                *self.folder.glob("bm25-*"),
            ]
            for entry in entries:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink(missing_ok=True)


def chroma_server(url: str) -> Any:
    """An HTTP client for the Chroma server at `url` (e.g. http://127.0.0.1:8001)."""
    parts = urllib.parse.urlsplit(url)
    return chromadb.HttpClient(
        host=parts.hostname or "localhost",
        port=parts.port or (443 if parts.scheme == "https" else 8000),
        ssl=parts.scheme == "https",
        settings=ChromaSettings(anonymized_telemetry=False),
    )


class ServerStorage:
    """An index on a Chroma server shared by any number of clients: the manifest is one record
    of its own collection (an upsert is atomic, as a rename is locally), and BM25 is built in
    each client's memory, so that a client's disk holds nothing."""

    shared = True

    def __init__(self, url: str):
        self.url = url
        self.where = url
        self._manifest: Any = None

    def connect(self) -> Any:
        client = chroma_server(self.url)
        self._manifest = client.get_or_create_collection(MANIFEST_COLLECTION)
        return client

    def reconnect(self, client: Any) -> Any:
        return client  # the server holds the state; every request sees the latest

    def read_manifest(self, known: object = None) -> tuple[object, str | None]:
        got = self._manifest.get(ids=["manifest"], include=["documents"])
        text = got["documents"][0] if got["ids"] else None
        return text, (None if text == known else text)

    def write_manifest(self, data: dict) -> object:
        text = json.dumps(data, ensure_ascii=False)
        self._manifest.upsert(ids=["manifest"], documents=[text], embeddings=[[1.0]])
        return text

    def writing(self) -> contextlib.AbstractContextManager[None]:
        # A Chroma server has no lock to take; several writers are the operator's to avoid
        # (docs/scaling-out.md). Readers are safe: they follow the manifest record.
        return contextlib.nullcontext()

    def load_lexical(self, name: str | None, ids: list[str], texts: list[str]) -> LexicalIndex:
        return LexicalIndex.build(ids, texts)

    def save_lexical(self, ids: list[str], texts: list[str]) -> str | None:
        return None  # built in memory when next needed

    def drop_lexical_except(self, name: str | None) -> None:
        pass

    def lexical_missing(self, name: str | None) -> bool:
        return False

    def write_failure(self, exc: BaseException) -> IndexProblem | None:
        return None

    def open_failure(self, exc: BaseException) -> IndexProblem:
        return IndexDamaged(
            self.url,
            f"the Chroma server answered {type(exc).__name__}: {exc}".splitlines()[0][:200],
        )

    def wipe(self) -> None:
        client = chroma_server(self.url)
        for collection in client.list_collections():
            if _our_collection(collection.name):
                client.delete_collection(collection.name)


def open_storage(folder: Path, chroma_url: str = "") -> LocalStorage | ServerStorage:
    return ServerStorage(chroma_url) if chroma_url else LocalStorage(folder)


def wipe_index(folder: Path, chroma_url: str = "") -> None:
    """Remove what a PassageStore wrote in `folder` (or on the Chroma server), and nothing else."""
    open_storage(folder, chroma_url).wipe()
