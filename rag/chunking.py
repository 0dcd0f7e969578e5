"""Sentence-aware passages with character offsets into the article text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pysbd


@dataclass(frozen=True)
class Chunk:
    text: str
    start: int  # article.text[start:end] == text
    end: int


@lru_cache(maxsize=16)
def _segmenter(language: str) -> pysbd.Segmenter:
    try:
        return pysbd.Segmenter(language=language, clean=False, char_span=True)
    except ValueError:  # pysbd has no rules for this language
        return pysbd.Segmenter(language="en", clean=False, char_span=True)


SEGMENT_WINDOW = 4000  # pysbd's time grows faster than linearly with the length of what it is given


def _windows(text: str) -> list[tuple[int, int]]:
    """Lines of `text`, with a long line cut after a sentence end (or a space) every few KB."""
    windows = []
    for line in re.finditer(r"[^\n]+", text):
        start, end = line.span()
        while end - start > SEGMENT_WINDOW:
            limit = start + SEGMENT_WINDOW
            cut = max(text.rfind(mark, start, limit) for mark in (". ", "! ", "? "))
            cut = cut + 2 if cut > start else max(text.rfind(" ", start, limit) + 1, limit)
            windows.append((start, cut))
            start = cut
        windows.append((start, end))
    return windows


# What pysbd splits at: a line without one of these inside is one sentence.
SPLIT_MARKS = ".!?…。•"


def sentence_spans(text: str, language: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, never crossing a line break, without surrounding spaces."""
    spans = []
    for window_start, window_end in _windows(text):
        window = text[window_start:window_end]
        if not any(mark in window.rstrip()[:-1] for mark in SPLIT_MARKS):
            # One sentence at most: pysbd's fixed cost per call made files of many short
            # lines take minutes.
            sentences = [(0, len(window))]
        else:
            found = _segmenter(language).segment(window)
            sentences = [(sentence.start, sentence.end) for sentence in found]
        for sentence_start, sentence_end in sentences:
            start, end = window_start + sentence_start, window_start + sentence_end
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append((start, end))
    return spans


def _split_long(start: int, end: int, text: str, max_chars: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than max_chars at spaces."""
    pieces = []
    while end - start > max_chars:
        cut = text.rfind(" ", start, start + max_chars)
        cut = cut if cut > start else start + max_chars
        pieces.append((start, cut))
        start = cut + 1 if text[cut] == " " else cut
    pieces.append((start, end))
    return pieces


# A first line longer than this is text, not a title (a file without line breaks).
MAX_TITLE_CHARS = 200


def chunk(text: str, language: str, max_chars: int, skip_first_line: bool = True) -> list[Chunk]:
    """Pack whole sentences into passages of at most max_chars (a longer sentence is cut at spaces).

    The first line is skipped when it is a title (up to MAX_TITLE_CHARS): it is embedded with
    every passage instead.

    >>> [c.text for c in chunk("Title\\nOne. Two.\\nThree.", "en", max_chars=9)]
    ['One. Two.', 'Three.']
    >>> chunk("Word " * 100 + "\\nEnd.", "en", max_chars=600)[0].start  # a long first line is text
    0
    """
    first_line_end = text.find("\n")
    is_title = skip_first_line and 0 <= first_line_end <= MAX_TITLE_CHARS
    body_start = first_line_end + 1 if is_title else 0
    spans = [
        piece
        for s, e in sentence_spans(text, language)
        if s >= body_start
        for piece in _split_long(s, e, text, max_chars)
    ]
    chunks, current = [], None
    for start, end in spans:
        if current and end - current[0] <= max_chars:
            current = (current[0], end)
        else:
            if current:
                chunks.append(current)
            current = (start, end)
    if current:
        chunks.append(current)
    return [Chunk(text[s:e], s, e) for s, e in chunks]
