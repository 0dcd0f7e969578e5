"""Evaluation on gold questions: run every question through `Assistant`, score the answers.

A gold file is JSON lines; each row: id, lang, question, answers (regular expressions, any
may match, case-insensitive), sources (gold file names), answerable, category.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from rag.language import detect_language


class GoldError(ValueError):
    """The gold file is missing, empty or malformed."""


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    lang: str
    question: str
    answers: list[str]
    sources: list[str]
    answerable: bool
    category: str = ""


def load_gold(path: Path) -> list[GoldQuestion]:
    if not path.exists():
        raise GoldError(f"gold file not found: {path}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(GoldQuestion(**json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise GoldError(f"{path}:{number}: not a gold question ({exc})") from None
    if not rows:
        raise GoldError(f"{path} holds no questions")
    return rows


def answer_correct(text: str, patterns: list[str]) -> bool:
    """True when any accepted answer pattern occurs in the text.

    >>> answer_correct("Microsoft investierte 13 Milliarden Dollar [1].", [r"13\\s*Milliarden"])
    True
    """
    return any(re.search(p, text, re.IGNORECASE) for p in patterns)


def reciprocal_rank(retrieved_sources: list[str], gold_sources: list[str]) -> float:
    """1/rank of the first retrieved passage from a gold source, 0 when none.

    >>> reciprocal_rank(["b.txt", "a.txt"], ["a.txt"])
    0.5
    """
    for rank, source in enumerate(retrieved_sources, start=1):
        if source in gold_sources:
            return 1.0 / rank
    return 0.0


@dataclass
class Outcome:
    """One question's result: what the assistant said and how it scores."""

    gold: GoldQuestion
    text: str
    abstained: bool
    language: str  # detected in the answer text
    cited_sources: list[str]
    retrieved_sources: list[str]
    timings: dict

    @property
    def correct(self) -> bool:
        if not self.gold.answerable:
            return self.abstained
        return not self.abstained and answer_correct(self.text, self.gold.answers)

    @property
    def citation_precision(self) -> float | None:
        if not self.cited_sources:
            return None
        return sum(s in self.gold.sources for s in self.cited_sources) / len(self.cited_sources)

    @property
    def cited_source_correct(self) -> bool:
        return any(s in self.gold.sources for s in self.cited_sources)


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def _percentile(values, q: float) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1) if len(values) > 1 else values[0]


def summarise(outcomes: list[Outcome]) -> dict:
    """Aggregate figures; every rate is over the questions it applies to (None when none)."""
    answerable = [o for o in outcomes if o.gold.answerable]
    unanswerable = [o for o in outcomes if not o.gold.answerable]
    answered = [o for o in answerable if not o.abstained]
    return {
        "questions": len(outcomes),
        "answer_accuracy": _mean(o.correct for o in answerable),
        "cited_source_correct": _mean(o.cited_source_correct for o in answered),
        "citation_precision": _mean(o.citation_precision for o in answered),
        "language_accuracy": _mean(o.language == o.gold.lang for o in outcomes),
        "abstention_recall": _mean(o.abstained for o in unanswerable),
        "false_abstention": _mean(o.abstained for o in answerable),
        "recall_at_1": _mean(bool(o.retrieved_sources[:1]) and o.retrieved_sources[0] in o.gold.sources for o in answerable),
        "recall_at_5": _mean(any(s in o.gold.sources for s in o.retrieved_sources[:5]) for o in answerable),
        "mrr": _mean(reciprocal_rank(o.retrieved_sources, o.gold.sources) for o in answerable),
        "first_token_ms_p50": _percentile([o.timings.get("first_token_ms") for o in answered], 50),
        "first_token_ms_p95": _percentile([o.timings.get("first_token_ms") for o in answered], 95),
        "total_ms_p50": _percentile([o.timings.get("total_ms") for o in outcomes], 50),
        "sources_ms_p50": _percentile([o.timings.get("sources_ms") for o in outcomes], 50),
    }


def run_question(assistant, gold: GoldQuestion) -> Outcome:
    answer = assistant.ask(gold.question)
    retrieved = [hit.passage.source for hit in assistant.retriever.search(gold.question, 5)]
    return Outcome(
        gold=gold,
        text=answer.text,
        abstained=answer.abstained,
        language=detect_language(answer.text),
        cited_sources=[c.source for c in answer.citations],
        retrieved_sources=retrieved,
        timings=answer.timings,
    )
