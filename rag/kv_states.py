"""Passages read ahead: a passage's KV cache cells, kept so that a question reads only itself.

A judgement's prompt is the fixed prefix, the passages, then the question. The passages' part
does not depend on the question, so the model's keys and values for its tokens can be
computed before the question comes (while the assistant is idle) and put back in
milliseconds. That part is always read as one batch right after the fixed prefix, so its
cells are the same bytes whether read ahead, for an earlier question, or now: a question gets
the same judgement and answer either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

_DIGEST = 32  # a file's first bytes: the SHA-256 of the cells after them

log = logging.getLogger(__name__)


class PassageStates:
    """KV cells by the passage tokens they hold, within `max_bytes`, least recently used first
    to go; with `folder`, also on disk (within `max_bytes` over the folder's parent, where
    other models' and prompts' folders lie), so that a restart has them at once.

    >>> states = PassageStates(max_bytes=10)
    >>> states.put(b"a", b"123456")
    True
    >>> states.put(b"b", b"7890", evict=False), states.full
    (True, True)
    >>> states.put(b"c", b"xy", evict=False)  # read ahead: never pushes out what is kept
    False
    >>> states.put(b"c", b"xy"), states.get(b"a"), states.get(b"b")  # a question's: "a" goes
    (True, None, b'7890')
    """

    def __init__(self, max_bytes: int, folder: Path | None = None):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._cells: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.folder = folder
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # a read-only home, a file in its place: memory only
                log.warning(
                    "passage states folder %s unusable, keeping them in memory: %s", folder, exc
                )
                self.folder = None

    def __len__(self) -> int:
        return len(self._cells)

    def __contains__(self, key: bytes) -> bool:
        return key in self._cells or (self.folder is not None and self._file(key).exists())

    @property
    def full(self) -> bool:
        return self.bytes >= self.max_bytes

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            cells = self._cells.get(key)
            if cells is not None:
                self._cells.move_to_end(key)
                return cells
        cells = self._read(key)
        if cells is not None:
            self._keep(key, cells, evict=True)
        return cells

    def put(self, key: bytes, cells: bytes, evict: bool = True) -> bool:
        """Keep `cells`; with `evict` make room by dropping the least recently used. False when
        they do not fit."""
        kept = self._keep(key, cells, evict)
        if kept and self.folder is not None:
            self._write(key, cells, evict)
        return kept

    def discard(self, key: bytes) -> None:
        """Forget cells llama.cpp would not take back."""
        with self._lock:
            if (cells := self._cells.pop(key, None)) is not None:
                self.bytes -= len(cells)
        if self.folder is not None:
            _remove(self._file(key))

    def _keep(self, key: bytes, cells: bytes, evict: bool) -> bool:
        with self._lock:
            if key in self._cells or len(cells) > self.max_bytes:
                return key in self._cells
            if not evict and self.bytes + len(cells) > self.max_bytes:
                return False
            while self.bytes + len(cells) > self.max_bytes:
                self.bytes -= len(self._cells.popitem(last=False)[1])
            self._cells[key] = cells
            self.bytes += len(cells)
            return True

    def _file(self, key: bytes) -> Path:
        assert self.folder is not None
        return self.folder / f"{hashlib.sha256(key).hexdigest()}.kv"

    def _read(self, key: bytes) -> bytes | None:
        """The cells kept on disk, if their checksum holds (a damaged file is removed)."""
        if self.folder is None:
            return None
        path = self._file(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        cells = data[_DIGEST:]
        if hashlib.sha256(cells).digest() != data[:_DIGEST]:
            _remove(path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: the last to go
        return cells

    def _write(self, key: bytes, cells: bytes, evict: bool) -> None:
        """Write the cells whole or not at all; a full disk only costs the reading next time."""
        path = self._file(key)
        if path.exists() or not self._room_on_disk(len(cells) + _DIGEST, evict):
            return
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
        try:
            partial.write_bytes(hashlib.sha256(cells).digest() + cells)
            partial.replace(path)
        except OSError:
            _remove(partial)

    def _room_on_disk(self, size: int, evict: bool) -> bool:
        """Whether `size` more bytes fit in `max_bytes` over every folder beside ours; with
        `evict` the least recently used files go to make room."""
        assert self.folder is not None
        files = []
        for path in self.folder.parent.glob("*/*.kv"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                files.append((stat.st_mtime, stat.st_size, path))
        used = sum(size for _, size, _ in files)
        if used + size <= self.max_bytes:
            return True
        if not evict or size > self.max_bytes:
            return False
        for _, old, path in sorted(files):
            _remove(path)
            used -= old
            if used + size <= self.max_bytes:
                return True
        return False


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
