"""Load article files into normalised text with a title, a language and a content hash."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from rag.chunking import MAX_TITLE_CHARS
from rag.dates import stated_date
from rag.errors import ArticleError
from rag.language import detect_language

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md", ".html", ".htm")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ARTICLE_BYTES = (
    20 * 1024 * 1024
)  # a 20 MB article is a book; bigger files are refused, not held in memory
METADATA_CHARS = 200_000


@dataclass(frozen=True)
class Article:
    source: str  # file name relative to the corpus folder
    title: str
    text: str  # normalised text; passage offsets point into it
    language: str
    sha256: str  # of the file's bytes
    date: str | None = None  # YYYY-MM-DD, when the article states when it appeared


def decode(raw: bytes, name: str) -> str:
    """Text of a file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252/Latin-1."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode(
            "utf-16", errors="replace"
        )  # a cut-off last byte must not lose the article
    if b"\x00" in raw:
        raise ArticleError(f"{name}: binary content (NUL bytes), not an article")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def short_title(text: str) -> str:
    """A title as it goes into metadata and prompts: one line, at most MAX_TITLE_CHARS.

    >>> short_title("  Microsoft   investiert\\n")
    'Microsoft investiert'
    >>> len(short_title("Wort " * 100)) <= 200
    True
    """
    title = " ".join(text.split())
    if len(title) <= MAX_TITLE_CHARS:
        return title
    cut = title.rfind(" ", 0, MAX_TITLE_CHARS)
    return title[: cut if cut > MAX_TITLE_CHARS // 2 else MAX_TITLE_CHARS - 1] + "…"


def _title_tag(html: str) -> str:
    """The text of the first <title> element, found with bounded searches: a regex over the
    whole page was quadratic on many unclosed <title> tags."""
    lower = html[:METADATA_CHARS].lower()  # the head comes first; a title further in is not a title
    start = lower.find("<title")
    opened = lower.find(">", start, start + 1000) if start >= 0 else -1
    if opened < 0:
        return ""
    end = lower.find("</title", opened, opened + 10 * MAX_TITLE_CHARS)
    return html[opened + 1 : end] if end >= 0 else ""


def _html_to_text(html: str, name: str) -> tuple[str, str, str | None]:
    import trafilatura

    try:
        body = (
            trafilatura.extract(
                html, include_comments=False, include_tables=False, favor_recall=True
            )
            or ""
        )
        # Metadata (title, date) stands near the top; read on a whole hostile page it took seconds.
        metadata = trafilatura.extract_metadata(html[:METADATA_CHARS])
    except (
        Exception
    ) as exc:  # a page the parser cannot take is one skipped file, not a failed build
        raise ArticleError(
            f"{name}: the HTML cannot be parsed ({type(exc).__name__}: {exc})"
        ) from None
    title = (metadata.title if metadata and metadata.title else None) or _title_tag(html)
    date = (
        metadata.date
        if metadata and re.fullmatch(r"\d{4}-\d\d-\d\d", metadata.date or "")
        else None
    )
    return short_title(title), body, date


def normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"[\u200b\u200c\u200d\u2060\ufeff]", "", text)  # zero-width characters
    text = re.sub(r"[^\S\n]+", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _first_line_title(text: str) -> str:
    first = text[: text.find("\n")] if "\n" in text else text
    return short_title(first.lstrip("#"))


def load_article(path: Path, root: Path) -> Article:
    source = path.relative_to(root).as_posix()
    size = path.stat().st_size
    if size > MAX_ARTICLE_BYTES:
        raise ArticleError(
            f"{source}: {size / 1e6:.1f} MB is over the {MAX_ARTICLE_BYTES // (1024 * 1024)} MB "
            "limit for one article; split it into smaller files"
        )
    raw = path.read_bytes()
    text = decode(raw, source)
    date = None
    if path.suffix.lower() in (".html", ".htm"):
        title, text, date = _html_to_text(text, source)
        text = normalise(text)
        title = title or _first_line_title(text)
    else:
        text = normalise(text)
        title = _first_line_title(text)
    if not text:
        raise ArticleError(f"{source}: no text")
    return Article(
        source=source,
        title=title or source,
        text=text,
        language=detect_language(text[:2000]),
        sha256=hashlib.sha256(raw).hexdigest(),
        date=date or stated_date(text),
    )


def article_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES and not p.name.startswith(".")
    )


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upload_name(name: str, size: int) -> str:
    """The file name an uploaded article is stored under in the corpus folder; raises
    ArticleError for a wrong type, a size over the limit, or a name that is not a plain file name.

    >>> upload_name("../../etc/x.txt", 10)
    'x.txt'
    """
    base = Path(name.replace("\\", "/")).name.strip()
    if not base or base.startswith("."):
        raise ArticleError(f"{name!r}: not a usable file name")
    if Path(base).suffix.lower() not in ARTICLE_SUFFIXES:
        raise ArticleError(f"{base}: only {', '.join(ARTICLE_SUFFIXES)} articles can be added")
    if size > MAX_UPLOAD_BYTES:
        raise ArticleError(
            f"{base}: {size / 1e6:.1f} MB is over the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit"
        )
    if size == 0:
        raise ArticleError(f"{base}: the file is empty")
    return base
