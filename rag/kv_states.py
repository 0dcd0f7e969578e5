"""Passages read ahead: a passage's KV cache cells, kept so that a question reads only itself.

A judgement's prompt is the fixed prefix, the passages, then the question. The passages' part
does not depend on the question, so the model's keys and values for its tokens can be
computed before the question comes (while the assistant is idle) and put back in
milliseconds. That part is always read as one batch right after the fixed prefix, so its
cells are the same bytes whether read ahead, for an earlier question, or now: a question gets
the same judgement and answer either way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class PassageStates:
    """KV cells by the passage tokens they hold, within `max_bytes`, least recently used first
    to go.

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

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._cells: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cells)

    def __contains__(self, key: bytes) -> bool:
        return key in self._cells

    @property
    def full(self) -> bool:
        return self.bytes >= self.max_bytes

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            cells = self._cells.get(key)
            if cells is not None:
                self._cells.move_to_end(key)
            return cells

    def put(self, key: bytes, cells: bytes, evict: bool = True) -> bool:
        """Keep `cells`; with `evict` make room by dropping the least recently used. False when
        they do not fit."""
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
