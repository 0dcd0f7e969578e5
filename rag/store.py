"""The index on disk: a Chroma collection of embedded passages, a BM25 index of the same
passages and a manifest that says which files (by content hash) the index holds.

The manifest is the source of truth and is replaced atomically after each file, so a
build killed at any point leaves an index that answers from the last fully indexed
version of every file; passages of a half-added file are ignored and swept up by the
next build.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from tqdm import tqdm

from rag.chunking import chunk
from rag.corpus import article_files, file_hash, load_article
from rag.errors import ArticleError, IndexDamaged, IndexDiskFull, IndexMismatch, IndexProblem
from rag.lexical import LexicalIndex
from rag.protocols import BatchEmbedder, Embedder

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
COLLECTION_PREFIX = (
    "passages-"  # the collections a PassageStore owns (a shared server may hold others)
)
EMBED_BATCH = 8
EXACT_SEARCH_LIMIT = 50_000  # passages; 768 float32 dims each is about 150 MB at the limit


@dataclass(frozen=True)
class Passage:
    id: str
    source: str
    title: str
    language: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Skipped:
    """A file the index left out, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unchanged: int = 0
    passages: int = 0


@dataclass
class StoredVectors:
    """The current passages' vectors in memory, one row per id (ids sorted)."""

    ids: list[str]
    matrix: np.ndarray

    def __post_init__(self):
        self.rows = {pid: row for row, pid in enumerate(self.ids)}


LOW_DISK_BYTES = 64 * 1024 * 1024


def _disk_full(folder: Path, exc: BaseException) -> bool:
    """Whether a storage error is the disk filling up (Chroma reports it in its own words)."""
    chain = [exc, exc.__cause__, exc.__context__]
    if any(isinstance(e, OSError) and e.errno == errno.ENOSPC for e in chain):
        return True
    return shutil.disk_usage(folder).free < LOW_DISK_BYTES


def wipe_index(folder: Path, chroma_url: str = "") -> None:
    """Remove what a PassageStore wrote in `folder` (or on the Chroma server), and nothing else."""
    if chroma_url:
        client = chroma_server(chroma_url)
        for collection in client.list_collections():
            if (
                collection.name.startswith(COLLECTION_PREFIX)
                or collection.name == CollectionManifest.NAME
            ):
                client.delete_collection(collection.name)
        return
    for entry in [
        folder / MANIFEST,
        folder / "manifest.tmp",
        folder / "chroma",
        *folder.glob("bm25-*"),
    ]:
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class FileManifest:
    """The manifest as a JSON file beside a local index, replaced atomically."""

    def __init__(self, folder: Path):
        self.path = folder / MANIFEST

    def read(self) -> str | None:
        return self.path.read_text() if self.path.exists() else None

    def write(self, data: dict) -> None:
        _write_json_atomic(self.path, data)


class CollectionManifest:
    """The manifest as one record on the Chroma server, so that every client shares it.
    A record upsert is atomic, as the file rename is locally."""

    NAME = "rag-manifest"

    def __init__(self, client):
        self.collection = client.get_or_create_collection(self.NAME)

    def read(self) -> str | None:
        got = self.collection.get(ids=["manifest"], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def write(self, data: dict) -> None:
        self.collection.upsert(
            ids=["manifest"], documents=[json.dumps(data, ensure_ascii=False)], embeddings=[[1.0]]
        )


def chroma_server(url: str):
    """An HTTP client for the Chroma server at `url` (e.g. http://127.0.0.1:8001)."""
    parts = urllib.parse.urlsplit(url)
    return chromadb.HttpClient(
        host=parts.hostname or "localhost",
        port=parts.port or (443 if parts.scheme == "https" else 8000),
        ssl=parts.scheme == "https",
        settings=ChromaSettings(anonymized_telemetry=False),
    )


class PassageStore:
    """Open (or create) the index for one embedder and chunk setting: in `folder` on disk, or,
    given `chroma_url`, on a Chroma server, where the manifest lives too and BM25 is built
    in memory, so that any number of clients share one index."""

    def __init__(
        self, folder: Path, embedder_identity: str, chunk_chars: int, chroma_url: str = ""
    ):
        self.folder = folder
        self.remote = bool(chroma_url)
        self.where = chroma_url or folder
        self.chunk_chars = chunk_chars
        self.config: dict[str, str | int] = {
            "embedder": embedder_identity,
            "chunk_chars": chunk_chars,
        }
        self._passages: dict[str, Passage] | None = None
        self._matrix: StoredVectors | None = None
        self._lexical: LexicalIndex | None = None
        self.manifest_io: CollectionManifest | FileManifest
        try:
            if self.remote:
                self.client = chroma_server(chroma_url)
                self.manifest_io = CollectionManifest(self.client)
            else:
                folder.mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(
                    path=str(folder / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
                )
                self.manifest_io = FileManifest(folder)
            self.manifest = self._load_manifest()
            self.collection = self.client.get_or_create_collection(
                self.manifest["collection"], configuration={"hnsw": {"space": "cosine"}}
            )
            self._check_complete()
        except IndexProblem:
            raise
        except Exception as exc:  # Chroma raises many kinds on a damaged database file
            if self.remote:
                raise IndexDamaged(
                    self.where,
                    f"the Chroma server answered {type(exc).__name__}: {exc}".splitlines()[0][:200],
                ) from exc
            if _disk_full(folder, exc):
                raise IndexDiskFull(folder) from exc
            raise IndexDamaged(
                folder, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            ) from exc

    def _check_complete(self) -> None:
        """Refuse to answer from an index that lost passages: it would say "the articles
        don't say" when they do. The BM25 side is derived data and is simply rebuilt."""
        expected = sum(entry["passages"] for entry in self.files.values())
        found = len(self.passages())
        if found < expected:
            raise IndexDamaged(self.where, f"{expected - found} of {expected} passages are missing")
        name = self.manifest.get("bm25")
        if name and not self.remote and not (self.folder / name).is_dir():
            log.warning("the BM25 index %s is missing: rebuilding it", self.folder / name)
            self.manifest["bm25"] = None
            self._refresh_lexical()

    # -- manifest -------------------------------------------------------------------------
    def _collection_name(self) -> str:
        return (
            COLLECTION_PREFIX
            + hashlib.sha256(json.dumps(self.config, sort_keys=True).encode()).hexdigest()[:16]
        )

    def _our_collections(self) -> list[str]:
        return [
            c.name for c in self.client.list_collections() if c.name.startswith(COLLECTION_PREFIX)
        ]

    def _load_manifest(self) -> dict:
        raw, manifest = self.manifest_io.read(), None
        if raw is None and self._our_collections():
            log.warning("the index manifest in %s is missing: rebuilding the index", self.where)
        if raw is not None:
            try:
                manifest = json.loads(raw)
            except ValueError:
                log.warning("the index manifest in %s is damaged: rebuilding the index", self.where)
        if manifest and manifest.get("config") == self.config:
            return manifest
        if manifest and self.remote:  # a shared index: never throw away what other clients use
            raise IndexMismatch(self.where, manifest.get("config"), self.config)
        if manifest:
            log.warning("embedder or chunk settings changed: rebuilding the index")
        for old in self._our_collections():
            self.client.delete_collection(old)
        fresh = {
            "config": self.config,
            "collection": self._collection_name(),
            "files": {},
            "bm25": None,
        }
        self.manifest_io.write(fresh)
        return fresh

    def _save_manifest(self) -> None:
        self.manifest_io.write(self.manifest)
        self._passages = None
        self._matrix = None

    def refresh(self) -> None:
        """Pick up what another client changed on a shared (server) index."""
        if not self.remote:
            return
        raw = self.manifest_io.read()
        if (
            raw
            and (manifest := json.loads(raw)) != self.manifest
            and manifest.get("config") == self.config
        ):
            self.manifest = manifest
            self._passages = self._matrix = self._lexical = None

    @property
    def files(self) -> dict[str, dict]:
        return self.manifest["files"]

    # -- reading --------------------------------------------------------------------------
    def _is_current(self, metadata: dict) -> bool:
        entry = self.files.get(metadata["source"])
        return entry is not None and entry["sha256"] == metadata["sha256"]

    def _all_stored(self) -> tuple[list[str], list[dict], list[str]]:
        got = self.collection.get(include=["metadatas", "documents"])
        return got["ids"], got["metadatas"], got["documents"]

    def passages(self) -> dict[str, Passage]:
        """Every passage of the files in the manifest, by id."""
        if self._passages is None:
            ids, metas, docs = self._all_stored()
            self._passages = {
                pid: Passage(pid, m["source"], m["title"], m["language"], doc, m["start"], m["end"])
                for pid, m, doc in zip(ids, metas, docs, strict=True)
                if self._is_current(m)
            }
        return self._passages

    def lexical(self) -> LexicalIndex:
        if (
            self._lexical is None and self.remote
        ):  # built in memory: the client's disk holds nothing
            current = self.passages()
            ids = sorted(current)
            self._lexical = LexicalIndex.build(ids, [current[i].text for i in ids])
        if self._lexical is None:
            name = self.manifest.get("bm25")
            self._lexical = (
                LexicalIndex.load(self.folder / name) if name else LexicalIndex.build([], [])
            )
        return self._lexical

    def dense_search(self, vector: np.ndarray, k: int) -> dict[str, float]:
        """Passage id -> cosine similarity for the k nearest current passages.

        Exact (one matrix product over the stored vectors) up to EXACT_SEARCH_LIMIT passages:
        Chroma's approximate HNSW search was seen to miss a just-added passage, and then the
        answer abstained wrongly. Larger collections use Chroma's index.
        """
        count = self.collection.count()
        if count == 0:
            return {}
        if count <= EXACT_SEARCH_LIMIT:
            stored = self._vectors()
            scores = stored.matrix @ vector
            order = np.argsort(-scores)[:k]
            return {stored.ids[i]: float(scores[i]) for i in order}
        # Over-fetch: stale passages of a half-finished build are filtered out below.
        result = self.collection.query(
            query_embeddings=[vector.tolist()], n_results=min(count, k + 16), include=["distances"]
        )
        current = self.passages()
        hits = {
            pid: 1.0 - d
            for pid, d in zip(result["ids"][0], result["distances"][0], strict=True)
            if pid in current
        }
        return dict(list(hits.items())[:k])

    def _vectors(self) -> StoredVectors:
        """The stored vectors of the current passages, cached until the index changes."""
        if self._matrix is None:
            ids = sorted(self.passages())
            got = (
                self.collection.get(ids=ids, include=["embeddings"])
                if ids
                else {"ids": [], "embeddings": []}
            )
            by_id = dict(zip(got["ids"], got["embeddings"], strict=True))
            self._matrix = StoredVectors(
                ids, np.array([by_id[i] for i in ids], dtype=np.float32).reshape(len(ids), -1)
            )
        return self._matrix

    def similarity(self, vector: np.ndarray, ids: list[str]) -> dict[str, float]:
        """Exact cosine similarity of the given passages to `vector` (stored vectors are unit)."""
        if not ids:
            return {}
        if len(self.passages()) <= EXACT_SEARCH_LIMIT:  # the vectors are in memory already
            stored = self._vectors()
            return {
                pid: float(stored.matrix[stored.rows[pid]] @ vector)
                for pid in ids
                if pid in stored.rows
            }
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        return {
            pid: float(np.dot(vector, embedding))
            for pid, embedding in zip(got["ids"], got["embeddings"], strict=True)
        }

    # -- writing --------------------------------------------------------------------------
    def update(
        self,
        corpus: Path,
        embedder: Embedder,
        show_progress: bool = True,
        batch_embedder: BatchEmbedder | None = None,
    ) -> IndexReport:
        """Bring the index in line with the files in `corpus`: add, re-embed, remove.

        `batch_embedder` embeds all new passages at once (on several processes or a cluster);
        the vectors are then written file by file, as in a local build."""
        try:
            return self._update(corpus, embedder, show_progress, batch_embedder)
        except Exception as exc:
            if not self.remote and _disk_full(self.folder, exc):
                raise IndexDiskFull(self.folder) from exc
            raise

    def _update(
        self,
        corpus: Path,
        embedder: Embedder,
        show_progress: bool,
        batch_embedder: BatchEmbedder | None,
    ) -> IndexReport:
        report = IndexReport()
        paths = {p.relative_to(corpus).as_posix(): p for p in article_files(corpus)}
        for source in sorted(set(self.files) - set(paths)):
            self._remove(source, report)

        pending = []
        for source, path in paths.items():
            try:
                sha = file_hash(path)
            except OSError as exc:
                report.skipped.append(Skipped(source, str(exc.strerror)))
                continue
            if self.files.get(source, {}).get("sha256") == sha:
                report.unchanged += 1
            else:
                pending.append((source, path, sha))

        # The same bytes under two names are indexed once, under the name indexed first (or
        # sorting first): two copies would fill the top-k with the same passage twice.
        waiting = {source for source, _, _ in pending}
        owners = {
            entry["sha256"]: source
            for source, entry in self.files.items()
            if source in paths and source not in waiting
        }
        unique = []
        for source, path, sha in pending:
            if sha in owners:
                report.skipped.append(Skipped(source, f"same text as {owners[sha]}, indexed once"))
                if source in self.files:
                    self._remove(source, report)
                continue
            owners[sha] = source
            unique.append((source, path))

        articles = []
        for source, path in unique:
            try:
                article = load_article(path, corpus)
            except (ArticleError, OSError) as exc:
                log.warning("skipped %s", exc)
                report.skipped.append(Skipped(source, str(exc).removeprefix(f"{source}: ")))
                continue
            articles.append((article, chunk(article.text, article.language, self.chunk_chars)))

        ready: list[np.ndarray | None] = [None] * len(articles)
        if articles and batch_embedder is not None:
            ready = list(
                batch_embedder.encode_articles(
                    [([c.text for c in chunks], a.title) for a, chunks in articles]
                )
            )
        with tqdm(
            total=sum(len(c) for _, c in articles),
            unit="passage",
            desc="Embedding",
            disable=not show_progress or not articles,
        ) as bar:
            for (article, chunks), vectors in zip(articles, ready, strict=True):
                (report.updated if article.source in self.files else report.added).append(
                    article.source
                )
                self._add_article(article, chunks, embedder, bar, vectors)

        self._sweep_stale()
        self._refresh_lexical()
        report.passages = len(self.passages())
        return report

    def _remove(self, source: str, report: IndexReport) -> None:
        del self.files[source]
        self._save_manifest()  # from here on the file no longer answers; its vectors go next
        self.collection.delete(where={"source": source})
        report.removed.append(source)

    def _add_article(self, article, chunks, embedder, bar, ready: np.ndarray | None = None) -> None:
        ids = [f"{article.source}#{article.sha256[:16]}#{i}" for i in range(len(chunks))]
        for first in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[first : first + EMBED_BATCH]
            vectors = (
                ready[first : first + EMBED_BATCH]
                if ready is not None
                else embedder.encode_documents([c.text for c in batch], title=article.title)
            )
            self.collection.upsert(
                ids=ids[first : first + EMBED_BATCH],
                embeddings=vectors.tolist(),
                documents=[c.text for c in batch],
                metadatas=[
                    {
                        "source": article.source,
                        "sha256": article.sha256,
                        "title": article.title,
                        "language": article.language,
                        "start": c.start,
                        "end": c.end,
                    }
                    for c in batch
                ],
            )
            bar.update(len(batch))
        previous = self.files.get(article.source)
        self.files[article.source] = {
            "sha256": article.sha256,
            "title": article.title,
            "language": article.language,
            "passages": len(chunks),
        }
        self._save_manifest()  # from here on the new version is the one that answers
        if previous:
            self.collection.delete(
                where={"$and": [{"source": article.source}, {"sha256": previous["sha256"]}]}
            )

    def _sweep_stale(self) -> None:
        """Delete passages no manifest entry owns: left by a build that was killed."""
        ids, metas, _ = self._all_stored()
        stale = [pid for pid, m in zip(ids, metas, strict=True) if not self._is_current(m)]
        if stale:
            log.info("removing %d passages left by an interrupted build", len(stale))
            self.collection.delete(ids=stale)

    def _refresh_lexical(self) -> None:
        if self.remote:
            self._lexical = None  # rebuilt in memory when next needed
            return
        current = self.passages()
        if sorted(current) == sorted(self.lexical().ids):
            return
        ids = sorted(current)
        name = "bm25-" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
        target = self.folder / name
        if target.exists():
            shutil.rmtree(target)  # left by a killed build
        LexicalIndex.build(ids, [current[i].text for i in ids]).save(target)
        self.manifest["bm25"] = name
        self._save_manifest()
        self._lexical = None
        for folder in self.folder.glob("bm25-*"):
            if folder.name != name:
                shutil.rmtree(folder, ignore_errors=True)
