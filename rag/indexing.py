"""The indexing pipeline: bring a PassageStore in line with a folder of articles.

Files are compared with the manifest by content hash; removed files go first, then each new
or changed file is read, chunked, embedded and committed on its own, so that an interrupted
build loses at most the file it was working on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rag.chunking import Chunk, chunk
from rag.corpus import Article, article_files, file_hash, load_article
from rag.errors import ArticleError, IndexProblem
from rag.prompt import as_data
from rag.protocols import BatchEmbedder, Embedder
from rag.screening import InstructionScreen, within
from rag.store import PassageStore

log = logging.getLogger(__name__)

EMBED_BATCH = 8


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
    # (source, sentence) of each sentence of the new articles that addresses the assistant
    withheld: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0
    passages: int = 0


def update_index(
    store: PassageStore,
    corpus: Path,
    embedder: Embedder,
    show_progress: bool = True,
    batch_embedder: BatchEmbedder | None = None,
    screen: InstructionScreen | None = None,
) -> IndexReport:
    """Bring the index in line with the files in `corpus`: add, re-embed, remove.

    `batch_embedder` embeds all new passages at once (on several processes or a cluster);
    the vectors are then written file by file, as in a local build. `screen` marks the
    sentences that address the assistant, to be kept out of its prompts."""
    with store.writing():
        try:
            return _update(store, corpus, embedder, show_progress, batch_embedder, screen)
        except IndexProblem:
            raise
        except Exception as exc:
            if problem := store.write_failure(exc):
                raise problem from exc
            raise


def _update(
    store: PassageStore,
    corpus: Path,
    embedder: Embedder,
    show_progress: bool,
    batch_embedder: BatchEmbedder | None,
    screen: InstructionScreen | None,
) -> IndexReport:
    report = IndexReport()
    paths = {p.relative_to(corpus).as_posix(): p for p in article_files(corpus)}
    for source in sorted(set(store.files) - set(paths)):
        store.remove(source)
        report.removed.append(source)

    if undated := {s: paths[s] for s, entry in store.files.items() if "date" not in entry}:
        store.set_dates({source: _stated_date(path, corpus) for source, path in undated.items()})

    articles = []
    for source, path in _changed(store, paths, report):
        try:
            article = load_article(path, corpus)
        except (ArticleError, OSError) as exc:
            log.warning("skipped %s", exc)
            report.skipped.append(Skipped(source, str(exc).removeprefix(f"{source}: ")))
            continue
        if screen and (in_title := screen.withheld(article.title, article.language)):
            # The title goes into every prompt and the embedder's: it keeps only its news.
            article = replace(article, title=as_data(article.title, in_title))
        articles.append((article, chunk(article.text, article.language, store.chunk_chars)))

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
            kind = report.updated if article.source in store.files else report.added
            kind.append(article.source)
            withheld = screen.withheld(article.text, article.language) if screen else []
            report.withheld += [(article.source, article.text[s:e]) for s, e in withheld]
            chunk_spans = [within(withheld, c.start, c.end) for c in chunks]
            _add(store, article, chunks, embedder, bar, vectors, chunk_spans)

    store.sweep_stale()
    store.refresh_lexical()
    report.passages = len(store.passages())
    return report


def _stated_date(path: Path, corpus: Path) -> str | None:
    try:
        return load_article(path, corpus).date
    except (ArticleError, OSError):
        return None  # the file is read again, and the problem reported, if it changed


def _changed(
    store: PassageStore, paths: dict[str, Path], report: IndexReport
) -> list[tuple[str, Path]]:
    """The files to (re)index: new or changed, each text once."""
    pending = []
    for source, path in paths.items():
        try:
            sha = file_hash(path)
        except OSError as exc:
            report.skipped.append(Skipped(source, str(exc.strerror)))
            continue
        if store.files.get(source, {}).get("sha256") == sha:
            report.unchanged += 1
        else:
            pending.append((source, path, sha))

    # The same bytes under two names are indexed once, under the name indexed first (or
    # sorting first): two copies would fill the top-k with the same passage twice.
    waiting = {source for source, _, _ in pending}
    owners = {
        entry["sha256"]: source
        for source, entry in store.files.items()
        if source in paths and source not in waiting
    }
    unique = []
    for source, path, sha in pending:
        if sha in owners:
            report.skipped.append(Skipped(source, f"same text as {owners[sha]}, indexed once"))
            if source in store.files:
                store.remove(source)
                report.removed.append(source)
            continue
        owners[sha] = source
        unique.append((source, path))
    return unique


def _add(
    store: PassageStore,
    article: Article,
    chunks: list[Chunk],
    embedder: Embedder,
    bar: tqdm,
    ready: np.ndarray | None,
    withheld: list[list[tuple[int, int]]],
) -> None:
    for first in range(0, len(chunks), EMBED_BATCH):
        batch = chunks[first : first + EMBED_BATCH]
        vectors = (
            ready[first : first + EMBED_BATCH]
            if ready is not None
            else embedder.encode_documents([c.text for c in batch], title=article.title)
        )
        store.put_passages(article, first, batch, vectors, withheld[first : first + EMBED_BATCH])
        bar.update(len(batch))
    store.commit(article, len(chunks))
