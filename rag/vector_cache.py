"""Vectors the embedder already computed, kept on disk by model, prompt and text.

Embedding is most of an index build on a CPU (about 0.1 s a sentence here). The same texts
come back often: a second index of the same articles (the web chat's and the API's), an
index rebuilt after a crash or a new instruction-screen probe, an article removed and added
again, the test suite's many small indexes of the seed articles. A vector found here costs a
lookup instead. The cache is one SQLite file, safe for several processes at once; when it
cannot be read or written (a read-only home, a full disk) embedding goes on without it.

>>> import tempfile
>>> cache = VectorCache(Path(tempfile.mkdtemp()) / "vectors.sqlite")
>>> calls = []
>>> def encode(texts):
...     calls.append(list(texts))
...     return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
>>> cache.encode(["ab", "abc"], "model|dim=2", "doc: ", encode).tolist()
[[2.0, 1.0], [3.0, 1.0]]
>>> cache.encode(["abc", "abcd"], "model|dim=2", "doc: ", encode).tolist()
[[3.0, 1.0], [4.0, 1.0]]
>>> calls  # "abc" was encoded once
[['ab', 'abc'], ['abcd']]
>>> _ = cache.encode(["abc"], "model|dim=2", "query: ", encode); calls[-1]  # another prompt
['abc']
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

Encode = Callable[[list[str]], np.ndarray]


class VectorCache:
    def __init__(self, path: Path):
        self.path = path
        self._broken = False
        self._ready = False  # the folder, table and journal mode exist

    @classmethod
    def at(cls, setting: str) -> VectorCache | None:
        """The cache a `vector_cache` setting names; None when it is empty (no cache)."""
        return cls(Path(setting)) if setting else None

    def encode(self, texts: list[str], model: str, prompt: str, encode: Encode) -> np.ndarray:
        """The vectors of `texts` as `encode` gives them, computing only those not cached for
        this `model` (its identity) and `prompt`."""
        keys = [_key(model, prompt, text) for text in texts]
        found = self._lookup(keys)
        missing = [i for i, key in enumerate(keys) if key not in found]
        if missing:
            computed = np.asarray(encode([texts[i] for i in missing]), dtype=np.float32)
            new = {keys[i]: vector for i, vector in zip(missing, computed, strict=True)}
            self._store(new)
            found.update(new)
        return np.stack([found[key] for key in keys]) if keys else np.zeros((0, 0), np.float32)

    def _lookup(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for first in range(0, len(keys), 500):  # SQLite's limit on parameters per statement
            batch = keys[first : first + 500]
            marks = ",".join("?" * len(batch))
            rows = self._run(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch)
            found.update((key, np.frombuffer(blob, dtype=np.float32)) for key, blob in rows)
        return found

    def _store(self, vectors: dict[bytes, np.ndarray]) -> None:
        rows = [(key, vector.tobytes()) for key, vector in vectors.items()]
        self._run("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows, many=True)

    def _run(self, sql: str, parameters: list, many: bool = False) -> list:
        if self._broken:
            return []
        try:
            if not self._ready:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # A connection per call: the web chat indexes uploads on its worker threads.
            with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
                if not self._ready:  # WAL lets readers and a writer of other processes coexist
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute(
                        "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB)"
                    )
                    self._ready = True
                if many:
                    db.executemany(sql, parameters)
                    return []
                return db.execute(sql, parameters).fetchall()
        except (sqlite3.Error, OSError) as exc:
            self._broken = True
            log.warning("vector cache %s unusable, embedding without it: %s", self.path, exc)
            return []


def _key(model: str, prompt: str, text: str) -> bytes:
    return hashlib.sha256(
        "\0".join((model, prompt, text)).encode("utf-8", "surrogatepass")
    ).digest()
