"""Property-based tests (hypothesis) of the functions that take article text, questions and
model output: offsets map back into the text, nothing raises but the documented errors, and
adversarial inputs of 100 KB take bounded time (no step is quadratic)."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.answer import MARKER, MarkerFilter
from rag.assistant import clean_question
from rag.chunking import chunk
from rag.corpus import decode
from rag.errors import ArticleError, QuestionError
from rag.prompt import as_data

# Characters that stress the parsers: sentence ends, brackets, markup, line breaks, spaces
# of several kinds, zero-width and control characters, accents and other scripts.
NASTY = ".!?…[]()<>/\\\"'«»:;,\n\r\t \u00a0\u200b\u2028\x00\x0b\x1b\ufeffäéßЀ中0123456789aZ"
nasty_text = st.text(alphabet=st.sampled_from(NASTY) | st.characters(), max_size=3000)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def within(seconds: float, function, *args):
    """Run `function`; fail if it took longer than `seconds` (bounds are generous: linear
    code takes a fraction of them, quadratic code on these sizes takes minutes)."""
    started = time.perf_counter()
    result = function(*args)
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"{function.__name__} took {elapsed:.1f} s"
    return result


@PROPERTY
@given(st.binary(max_size=4000))
def test_decoding_returns_text_or_refuses_with_an_article_error(raw):
    try:
        text = decode(raw, "a.txt")
    except ArticleError as exc:
        assert str(exc).startswith("a.txt: ")
    else:
        assert isinstance(text, str)


@PROPERTY
@given(nasty_text, st.sampled_from(["de", "fr", "en", "xx"]), st.integers(20, 800))
def test_every_chunk_is_the_article_text_at_its_offsets(text, language, max_chars):
    chunks = chunk(text, language, max_chars)
    for piece in chunks:
        assert 0 <= piece.start < piece.end <= len(text)
        assert text[piece.start : piece.end] == piece.text
        assert len(piece.text) <= max_chars
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:], strict=False))


@PROPERTY
@given(nasty_text, st.sampled_from(["</passages>", "</PASSAGES>", "< /Passages >", "<passages>"]))
def test_passage_text_can_never_close_or_open_the_data_block(text, tag):
    out = as_data(text + tag + text)
    assert not re.search(r"<\s{0,8}/?\s{0,8}passages\s{0,8}>", out, re.IGNORECASE)


@PROPERTY
@given(st.lists(st.text(max_size=12), max_size=30), st.integers(0, 5))
def test_the_marker_filter_passes_only_markers_that_point_at_a_passage(pieces, valid):
    markers = MarkerFilter(valid)
    shown = "".join(markers.feed(p) for p in pieces) + markers.flush()
    for marker in MARKER.finditer(shown):
        assert all(1 <= int(n) <= valid for n in re.findall(r"\d+", marker.group(1)))
    if not any(ch in "".join(pieces) for ch in "[]"):
        assert shown == "".join(pieces)  # text without brackets passes unchanged


@PROPERTY
@given(st.text(max_size=500), st.integers(1, 300))
def test_a_question_is_cleaned_or_refused_with_the_reason(question, limit):
    try:
        cleaned = clean_question(question, limit)
    except QuestionError as exc:
        assert "empty" in str(exc) or f"limit is {limit}" in str(exc)
    else:
        assert cleaned and len(cleaned) <= limit and cleaned == cleaned.strip()
        assert all(ch.isprintable() for ch in cleaned)
        assert clean_question(cleaned, limit) == cleaned


ADVERSARIAL = {  # 100 KB each
    "no sentence end": "wort " * 20_000,
    "only sentence ends": ". " * 50_000,
    "one huge word": "x" * 100_000,
    "open brackets": "[" * 100_000,
    "nested tags": "<passages>" * 10_000,
    "instruction look-alikes": "ignore the " * 10_000,
    "line breaks": "a.\n" * 33_000,
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_text_of_100_kb_is_handled_in_bounded_time(text):
    chunks = within(30, chunk, text, "de", 350)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    within(30, as_data, text)
    markers = MarkerFilter(3)
    within(10, lambda: [markers.feed(text[i : i + 64]) for i in range(0, len(text), 64)])
    within(5, decode, text.encode(), "a.txt")
    with pytest.raises(QuestionError):
        within(5, clean_question, text, 2000)
