"""Load article files into normalised text with a title, a language and a content hash."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from rag.language import detect_language

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md", ".html", ".htm")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ARTICLE_BYTES = 20 * 1024 * 1024  # a 20 MB article is a book; bigger files are refused, not held in memory


class ArticleError(ValueError):
    """An article file cannot be read as text."""


@dataclass(frozen=True)
class Article:
    source: str  # file name relative to the corpus folder
    title: str
    text: str  # normalised text; passage offsets point into it
    language: str
    sha256: str  # of the file's bytes


def decode(raw: bytes, name: str) -> str:
    """Text of a file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252/Latin-1."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
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


def _html_to_text(html: str) -> tuple[str, str]:
    import trafilatura

    title_match = re.search(r"<title[^>]*>(.*?)</title>", html, re.IGNORECASE | re.DOTALL)
    body = trafilatura.extract(html, include_comments=False, include_tables=False, favor_recall=True) or ""
    metadata = trafilatura.extract_metadata(html)
    title = (metadata.title if metadata and metadata.title else None) or (title_match.group(1) if title_match else "")
    return " ".join(title.split()), body


def normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"[\u200b\u200c\u200d\u2060\ufeff]", "", text)  # zero-width characters
    text = re.sub(r"[^\S\n]+", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _first_line_title(text: str) -> str:
    first = next((line for line in text.split("\n") if line.strip()), "")
    return first.lstrip("#").strip()


def load_article(path: Path, root: Path) -> Article:
    source = path.relative_to(root).as_posix()
    size = path.stat().st_size
    if size > MAX_ARTICLE_BYTES:
        raise ArticleError(f"{source}: {size / 1e6:.1f} MB is over the {MAX_ARTICLE_BYTES // (1024 * 1024)} MB limit for one article; split it into smaller files")
    raw = path.read_bytes()
    text = decode(raw, source)
    if path.suffix.lower() in (".html", ".htm"):
        title, text = _html_to_text(text)
        text = normalise(text)
        title = title or _first_line_title(text)
    else:
        text = normalise(text)
        title = _first_line_title(text)
    if not text:
        raise ArticleError(f"{source}: no text")
    return Article(source=source, title=title or source, text=text, language=detect_language(text[:2000]), sha256=hashlib.sha256(raw).hexdigest())


def article_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES and not p.name.startswith("."))


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
        raise ArticleError(f"{base}: {size / 1e6:.1f} MB is over the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit")
    if size == 0:
        raise ArticleError(f"{base}: the file is empty")
    return base
