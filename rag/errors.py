"""One error hierarchy: everything the assistant raises for its user derives from `RagError`.

The CLI, the web chat and the API catch `RagError` and show its message, which says what
went wrong and what to do. The second base keeps the built-in meaning for code that
catches, say, every `ValueError`.

>>> issubclass(IndexDiskFull, RagError) and issubclass(QuestionError, ValueError)
True
"""

from __future__ import annotations

import shutil
from pathlib import Path


class RagError(Exception):
    """Base of every error meant for the person using the assistant."""


class QuestionError(RagError, ValueError):
    """The question cannot be asked (empty, too long); the message says why."""


class ArticleError(RagError, ValueError):
    """An article file cannot be read as text, or cannot be added or removed."""


class CorpusNotFound(RagError, FileNotFoundError):
    """The corpus folder does not exist."""


class Stopped(RagError):
    """The person stopped the answer (the `cancel` event was set) while it was being written."""


class GoldError(RagError, ValueError):
    """The gold file is missing, empty or malformed."""


class ModelError(RagError, RuntimeError):
    """A model cannot be fetched, verified, found or loaded; the message says what to do."""


class GeneratorUnavailable(ModelError):
    """The generator server cannot be reached or stopped answering."""


class IndexProblem(RagError, RuntimeError):
    """The index cannot be opened or written; the message says what to do."""


class IndexDamaged(IndexProblem):
    """The index cannot be trusted; the message says how to rebuild it."""

    def __init__(self, where: Path | str, problem: str):
        super().__init__(
            f"the index in {where} is damaged ({problem}); rebuild it with `rag index --rebuild`"
        )


class IndexMismatch(IndexProblem):
    """A shared index was built with other settings than this client's."""

    def __init__(self, where: Path | str, built: dict | None, wanted: dict):
        super().__init__(
            f"the index on {where} was built with {built}, this client uses {wanted}: use the "
            "same embedder and chunk size, or rebuild it with `rag index --rebuild`"
        )


class IndexDiskFull(IndexProblem):
    """The disk under the index filled up; the index answers from what it held before."""

    def __init__(self, folder: Path):
        free = shutil.disk_usage(folder).free / 1e6
        super().__init__(
            f"cannot write the index in {folder}: the disk is full ({free:.1f} MB free). "
            "Free some space and run `rag index` again; until then it answers from what was "
            "indexed before"
        )
