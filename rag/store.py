"""The index: a Chroma collection of embedded passages, a BM25 index of the same passages and
a manifest that says which files (by content hash) the index holds.

The manifest is the source of truth and is replaced atomically after each file, so a
build killed at any point leaves an index that answers from the last fully indexed
version of every file; passages of a half-added file are ignored and swept up by the
next build. Readers in other processes follow the manifest: each search first checks
whether it changed. Where the index is kept is the storage's business (rag.storage); the
indexing pipeline that fills it is rag.indexing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.chunking import Chunk
from rag.corpus import Article
from rag.errors import IndexDamaged, IndexMismatch, IndexProblem
from rag.lexical import LexicalIndex
from rag.storage import COLLECTION_PREFIX, Storage, open_storage

log = logging.getLogger(__name__)

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
    date: str | None = None  # the article's, YYYY-MM-DD
    withheld: tuple[tuple[int, int], ...] = ()  # sentences kept from the model (rag.screening)


@dataclass
class StoredVectors:
    """The current passages' vectors in memory, one row per id (ids sorted)."""

    ids: list[str]
    matrix: np.ndarray

    def __post_init__(self):
        self.rows = {pid: row for row, pid in enumerate(self.ids)}


def passage_id(article: Article, number: int) -> str:
    return f"{article.source}#{article.sha256[:16]}#{number}"


class PassageStore:
    """Open (or create) the index for one embedder and chunk setting: in `folder` on disk, or,
    given `chroma_url`, on a Chroma server that any number of clients share."""

    def __init__(
        self,
        folder: Path,
        embedder_identity: str,
        chunk_chars: int,
        chroma_url: str = "",
        screen_identity: str = "",
    ):
        self.storage: Storage = open_storage(folder, chroma_url)
        self.where = self.storage.where
        self.chunk_chars = chunk_chars
        self.config: dict[str, str | int] = {
            "embedder": embedder_identity,
            "chunk_chars": chunk_chars,
        }
        if screen_identity:  # passages screened by another probe (or none) get screened again
            self.config["screen"] = screen_identity
        self._forget()
        try:
            self.client: Any = self.storage.connect()
            self.manifest = self._load_manifest()
            self._open_collection()
            self._check_complete()
        except IndexProblem:
            raise
        except Exception as exc:  # Chroma raises many kinds on a damaged database file
            raise self.storage.open_failure(exc) from exc

    def _forget(self) -> None:
        """Drop what is cached from the manifest in force until now."""
        self._passages: dict[str, Passage] | None = None
        self._matrix: StoredVectors | None = None
        self._lexical: LexicalIndex | None = None

    def _open_collection(self) -> None:
        self.collection = self.client.get_or_create_collection(
            self.manifest["collection"], configuration={"hnsw": {"space": "cosine"}}
        )

    def _check_complete(self) -> None:
        """Refuse to answer from an index that lost passages: it would say "the articles
        don't say" when they do. The BM25 side is derived data and is simply rebuilt."""
        expected = sum(entry["passages"] for entry in self.files.values())
        found = len(self.passages())
        if found < expected:
            raise IndexDamaged(self.where, f"{expected - found} of {expected} passages are missing")
        if self.storage.lexical_missing(self.manifest.get("bm25")):
            log.warning("the BM25 index of %s is missing: rebuilding it", self.where)
            with self.writing():
                self.manifest["bm25"] = None
                self.refresh_lexical()

    # -- manifest -------------------------------------------------------------------------
    def _collection_name(self) -> str:
        digest = hashlib.sha256(json.dumps(self.config, sort_keys=True).encode()).hexdigest()
        return COLLECTION_PREFIX + digest[:16]

    def _our_collections(self) -> list[str]:
        return [
            c.name for c in self.client.list_collections() if c.name.startswith(COLLECTION_PREFIX)
        ]

    def _load_manifest(self) -> dict:
        if manifest := self._read_manifest(warn=False):
            return manifest
        with self.storage.writing():  # another process may be creating it: wait, look again
            if manifest := self._read_manifest(warn=True):
                return manifest
            for old in self._our_collections():
                self.client.delete_collection(old)
            fresh = {
                "config": self.config,
                "collection": self._collection_name(),
                "files": {},
                "bm25": None,
            }
            self._manifest_version = self.storage.write_manifest(fresh)
        return fresh

    def _read_manifest(self, warn: bool) -> dict | None:
        """The manifest if it is usable with these settings; None if it must be made anew."""
        self._manifest_version, raw = self.storage.read_manifest()
        manifest = None
        if raw is None and warn and self._our_collections():
            log.warning("the index manifest in %s is missing: rebuilding the index", self.where)
        if raw is not None:
            try:
                manifest = json.loads(raw)
            except ValueError:
                if warn:
                    log.warning("the index manifest in %s is damaged: rebuilding", self.where)
        if manifest and manifest.get("config") == self.config:
            return manifest
        if manifest and self.storage.shared:  # never throw away what other clients use
            raise IndexMismatch(self.where, manifest.get("config"), self.config)
        if manifest and warn:
            log.warning("embedder or chunk settings changed: rebuilding the index")
        return None

    def _save_manifest(self) -> None:
        self._manifest_version = self.storage.write_manifest(self.manifest)
        self._passages = None
        self._matrix = None

    def refresh(self) -> None:
        """Pick up what another process or client changed in the index since we last looked."""
        version, raw = self.storage.read_manifest(self._manifest_version)
        if raw is None:
            return
        try:
            manifest = json.loads(raw)
        except ValueError:
            return  # being replaced; the next question sees the new one
        self._manifest_version = version
        if manifest.get("config") != self.config or manifest == self.manifest:
            return
        log.info("the index in %s changed: reading it again", self.where)
        self.manifest = manifest
        self._forget()
        self.client = self.storage.reconnect(self.client)
        self._open_collection()

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
                pid: Passage(
                    pid,
                    m["source"],
                    m["title"],
                    m["language"],
                    doc,
                    m["start"],
                    m["end"],
                    self.files[m["source"]].get("date"),
                    tuple(tuple(span) for span in json.loads(m.get("withheld", "[]"))),
                )
                for pid, m, doc in zip(ids, metas, docs, strict=True)
                if self._is_current(m)
            }
        return self._passages

    def _current_texts(self) -> tuple[list[str], list[str]]:
        current = self.passages()
        ids = sorted(current)
        return ids, [current[i].text for i in ids]

    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            try:
                self._lexical = self.storage.load_lexical(
                    self.manifest.get("bm25"), *self._current_texts()
                )
            except FileNotFoundError:  # a writer replaced it just now: follow its manifest
                self.refresh()
                self._lexical = self.storage.load_lexical(
                    self.manifest.get("bm25"), *self._current_texts()
                )
        return self._lexical

    def dense_search(
        self, vector: np.ndarray, k: int, sources: frozenset[str] | None = None
    ) -> dict[str, float]:
        """Passage id -> cosine similarity for the k nearest current passages (of the articles
        `sources` names, if given).

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
            if sources is not None:
                passages = self.passages()
                outside = [passages[pid].source not in sources for pid in stored.ids]
                scores = np.where(outside, -np.inf, scores)
            order = np.argsort(-scores)[:k]
            return {stored.ids[i]: float(scores[i]) for i in order if np.isfinite(scores[i])}
        # Over-fetch: stale passages of a half-finished build are filtered out below.
        result = self.collection.query(
            query_embeddings=[vector.tolist()],
            n_results=min(count, k + 16),
            include=["distances"],
            where={"source": {"$in": sorted(sources)}} if sources is not None else None,
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

    # -- writing (rag.indexing drives these, holding `writing()`) -------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time (across processes, for a local index), starting from the
        manifest as the last writer left it."""
        with self.storage.writing():
            self.refresh()
            yield

    def write_failure(self, exc: BaseException) -> IndexProblem | None:
        return self.storage.write_failure(exc)

    def remove(self, source: str) -> None:
        del self.files[source]
        self._save_manifest()  # from here on the file no longer answers; its vectors go next
        self.collection.delete(where={"source": source})

    def put_passages(
        self,
        article: Article,
        first: int,
        chunks: list[Chunk],
        vectors: np.ndarray,
        withheld: list[list[tuple[int, int]]] | None = None,
    ) -> None:
        """Store one batch of an article's passages (not yet current: see `commit`), with
        the sentences of each that the instruction screen withholds from the model."""
        self.collection.upsert(
            ids=[passage_id(article, first + i) for i in range(len(chunks))],
            embeddings=vectors.tolist(),
            documents=[c.text for c in chunks],
            metadatas=[
                {
                    "source": article.source,
                    "sha256": article.sha256,
                    "title": article.title,
                    "language": article.language,
                    "start": c.start,
                    "end": c.end,
                    "withheld": json.dumps(spans),
                }
                for c, spans in zip(chunks, withheld or [[]] * len(chunks), strict=True)
            ],
        )

    def commit(self, article: Article, passages: int) -> None:
        """Make the stored passages of this version of the article the ones that answer."""
        previous = self.files.get(article.source)
        self.files[article.source] = {
            "sha256": article.sha256,
            "title": article.title,
            "language": article.language,
            "date": article.date,
            "passages": passages,
        }
        self._save_manifest()  # from here on the new version is the one that answers
        if previous:
            self.collection.delete(
                where={"$and": [{"source": article.source}, {"sha256": previous["sha256"]}]}
            )

    def set_dates(self, dates: dict[str, str | None]) -> None:
        """Note the dates of articles indexed before dates were read (their text is unchanged)."""
        for source, date in dates.items():
            self.files[source]["date"] = date
        self._save_manifest()

    def sweep_stale(self) -> None:
        """Delete passages no manifest entry owns: left by a build that was killed."""
        ids, metas, _ = self._all_stored()
        stale = [pid for pid, m in zip(ids, metas, strict=True) if not self._is_current(m)]
        if stale:
            log.info("removing %d passages left by an interrupted build", len(stale))
            self.collection.delete(ids=stale)

    def refresh_lexical(self) -> None:
        """Rebuild the BM25 index if the current passages changed."""
        ids, texts = self._current_texts()
        if ids == sorted(self.lexical().ids):
            return
        name = self.storage.save_lexical(ids, texts)
        if name != self.manifest.get("bm25"):
            self.manifest["bm25"] = name
            self._save_manifest()
        self._lexical = None
        self.storage.drop_lexical_except(name)
