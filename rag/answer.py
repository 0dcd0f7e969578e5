"""The Answer and its citations: parse `[n]` markers, drop the ones that point at nothing,
and attribute an uncited answer to the passage that supports it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


@dataclass(frozen=True)
class Citation:
    marker: int  # the [n] in the answer text
    source: str  # file name in the corpus
    title: str
    text: str  # the passage
    start: int  # offsets of the passage in the article text
    end: int
    score: float


@dataclass
class Answer:
    text: str
    abstained: bool
    language: str
    citations: list[Citation] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    sources: list[Citation] = field(default_factory=list)  # every passage given to the model


def clean_markers(text: str, valid: int) -> tuple[str, list[int]]:
    """Remove markers outside 1..valid; return the text and the cited numbers in order of first use.

    >>> clean_markers("A [2]. B [7][1, 9].", valid=3)
    ('A [2]. B [1].', [2, 1])
    """
    cited: list[int] = []

    def keep(match: re.Match) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1)) if 1 <= int(n) <= valid]
        for n in numbers:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in numbers)

    cleaned = MARKER.sub(keep, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned))
    return cleaned.strip(), cited


class MarkerFilter:
    """Streams text deltas, holding back a possible `[n]` until it is complete, so that a
    marker pointing at nothing is never shown."""

    def __init__(self, valid: int):
        self.valid = valid
        self.pending = ""

    def feed(self, delta: str) -> str:
        self.pending += delta
        start = self.pending.rfind("[")
        if start != -1 and "]" not in self.pending[start:] and len(self.pending) - start <= 12:
            ready, self.pending = self.pending[:start], self.pending[start:]
        else:
            ready, self.pending = self.pending, ""
        return self._drop_invalid(ready)

    def flush(self) -> str:
        rest, self.pending = self.pending, ""
        return self._drop_invalid(rest)

    def _drop_invalid(self, text: str) -> str:
        return MARKER.sub(lambda m: m.group(0) if all(1 <= int(n) <= self.valid for n in re.findall(r"\d+", m.group(1))) else "", text)


class RestatementGuard:
    """Holds streamed answer text back until it says a word the question did not, so that an
    answer that only restates the question ("Google merged with DeepMind [1]." for "Which group
    did Google merge with DeepMind?") can be replaced before anyone sees it. Words count as the
    question's when they share its word's first five letters ("merged" for "merge")."""

    def __init__(self, question: str):
        self.question_words = _words(question)
        self.held = ""
        self.released = False
        self.restated = False

    def feed(self, delta: str) -> str:
        if self.released:
            return delta
        self.held += delta
        complete = self.held[: max(self.held.rfind(" "), 0)]  # the last word may go on in the next delta
        if not self._says_something(complete):
            return ""
        self.released = True
        text, self.held = self.held, ""
        return text

    def finish(self) -> str:
        """The text still held at the end; `restated` tells whether the answer said anything new."""
        self.restated = not self.released and not self._says_something(self.held)
        self.released = True
        text, self.held = self.held, ""
        return text

    def _says_something(self, text: str) -> bool:
        return any(not self._known(word) for word in _words(text))

    def _known(self, word: str) -> bool:
        return word in self.question_words or (len(word) >= 5 and any(q[:5] == word[:5] for q in self.question_words if len(q) >= 5))


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", MARKER.sub(" ", text))}


def key_terms(text: str) -> set[str]:
    """Numbers and longer words, lower-cased: what must stand in a passage that supports the text."""
    return {w.lower() for w in re.findall(r"\d+(?:[.,]\d+)?|\w{4,}", MARKER.sub(" ", text))}


def best_supporting(answer_text: str, passages: list[str]) -> int | None:
    """1-based number of the passage sharing the most key terms with the answer (numbers count triple)."""
    best, best_score = None, 0
    for number, passage in enumerate(passages, start=1):
        score = _overlap(answer_text, passage)
        if score > best_score:
            best, best_score = number, score
    return best


def supporting_sentences(answer_text: str, passage: str, language: str) -> list[tuple[int, int]]:
    """Offsets (into `passage`) of the sentences that carry the answer's numbers and names:
    what a reader should see highlighted in the cited passage."""
    from rag.chunking import sentence_spans

    spans = sentence_spans(passage, language)
    scored = [(_overlap(answer_text, passage[s:e]), (s, e)) for s, e in spans]
    best = max((score for score, _ in scored), default=0)
    return [span for score, span in scored if best and score == best]


def _overlap(answer_text: str, text: str) -> int:
    """How much of the answer's key terms `text` holds; numbers count triple."""
    terms = key_terms(answer_text) & key_terms(text)
    return sum(3 if t[0].isdigit() else 1 for t in terms)
