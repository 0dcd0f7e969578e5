"""Evaluation on gold questions: run every question through `Assistant`, score the answers.

A gold file is JSON lines; each row: id, lang, question, answers (regular expressions, any
may match, case-insensitive), sources (gold file names), answerable, category.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.answer import MARKER
from rag.errors import GoldError
from rag.language import _function_word_vote, detect_language


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


def language_ok(text: str, expected: str) -> bool:
    """The answer is in the expected language, or is language-neutral (only names and numbers,
    like "Kevin Scott [1]."), which reads fine in any language."""
    if detect_language(text) == expected:
        return True
    words = re.findall(r"[^\W\d]+", MARKER.sub(" ", text))
    return _function_word_vote(text) is None and len(words) <= 4


def _key_terms(sentence: str) -> set[str]:
    """Numbers and names: words with a capital letter that do not open the sentence."""
    words = re.findall(r"\d+(?:[.,]\d+)?|[^\W\d_][\w-]*", sentence)
    names = {
        w for i, w in enumerate(words) if i > 0 and any(ch.isupper() for ch in w) and len(w) > 2
    }
    return {w.lower() for w in words if w[0].isdigit()} | {n.lower() for n in names}


def groundedness(text: str, cited_passages: list[str], question: str = "") -> float | None:
    """Share of the answer's sentences whose numbers and names (other than those the question
    already gives) all stand in the passages they cite; None for an answer with no such
    terms. A judge-free check against invention.

    >>> answer = "Microsoft investierte 13 Milliarden [1]. Satya Nadella lobte es [1]."
    >>> groundedness(answer, ["Microsoft hat 13 Milliarden investiert."])
    0.5
    """
    haystack = " ".join(cited_passages).lower()
    given = {w.lower() for w in re.findall(r"\w+", question)}
    claims = [terms for s in re.split(r"(?<=[.!?])\s+", text) if (terms := _key_terms(s) - given)]
    if not claims:
        return None
    return sum(all(term in haystack for term in terms) for terms in claims) / len(claims)


@dataclass
class Outcome:
    """One question's result: what the assistant said and how it scores."""

    gold: GoldQuestion
    text: str
    abstained: bool
    language_ok: bool
    cited_sources: list[str]
    retrieved_sources: list[str]
    timings: dict
    grounded: float | None = None
    retrieved_passages: list[str] | None = None
    trace: dict | None = None  # the answer's `Trace`, as a dict

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
    return (
        round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1)
        if len(values) > 1
        else values[0]
    )


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
        "citation_recall": _mean(
            bool(o.cited_sources) and any(s in o.cited_sources for s in o.gold.sources)
            for o in answered
        ),
        "language_accuracy": _mean(o.language_ok for o in outcomes),
        "groundedness": _mean(o.grounded for o in answered),
        "abstention_recall": _mean(o.abstained for o in unanswerable),
        "false_abstention": _mean(o.abstained for o in answerable),
        "recall_at_1": _mean(
            bool(o.retrieved_sources[:1]) and o.retrieved_sources[0] in o.gold.sources
            for o in answerable
        ),
        "recall_at_5": _mean(
            any(s in o.gold.sources for s in o.retrieved_sources[:5]) for o in answerable
        ),
        "mrr": _mean(reciprocal_rank(o.retrieved_sources, o.gold.sources) for o in answerable),
        "first_token_ms_p50": _percentile([o.timings.get("first_token_ms") for o in answered], 50),
        "first_token_ms_p95": _percentile([o.timings.get("first_token_ms") for o in answered], 95),
        "total_ms_p50": _percentile([o.timings.get("total_ms") for o in outcomes], 50),
        "total_ms_p95": _percentile([o.timings.get("total_ms") for o in outcomes], 95),
        "sources_ms_p50": _percentile([o.timings.get("sources_ms") for o in outcomes], 50),
        "sources_ms_p95": _percentile([o.timings.get("sources_ms") for o in outcomes], 95),
        "prompt_tokens_p50": _percentile(
            [o.timings.get("prompt_tokens") or None for o in answered], 50
        ),
        "prompt_tokens_reused_p50": _percentile(
            [o.timings.get("prompt_tokens_reused") for o in answered], 50
        ),
        "completion_tokens_p50": _percentile(
            [o.timings.get("completion_tokens") or None for o in answered], 50
        ),
        "tokens_per_s_p50": _percentile([o.timings.get("tokens_per_s") for o in answered], 50),
        "answers_read_again": _mean(
            bool((o.trace or {}).get("rejected_readings"))
            for o in outcomes
            if (o.trace or {}).get("answer_check")
        ),
        "abstained_by_answer_check": _mean(
            str((o.trace or {}).get("abstain_reason") or "").startswith("answer_")
            for o in outcomes
            if (o.trace or {}).get("answer_check")
        ),
    }


def answer_kind(gold: GoldQuestion) -> str:
    """ "number" when an accepted answer has a digit (the questions where a passage often holds
    several figures), "unanswerable", or "name or phrase".

    >>> answer_kind(GoldQuestion("x", "en", "How many?", [r"550"], ["a.txt"], True))
    'number'
    >>> answer_kind(GoldQuestion("y", "en", "Who?", [r"Amy Hood"], ["a.txt"], True))
    'name or phrase'
    >>> answer_kind(GoldQuestion("z", "en", "Who is CEO of Apple?", [], [], False))
    'unanswerable'
    """
    if not gold.answerable:
        return "unanswerable"
    return "number" if any(re.search(r"\d", a) for a in gold.answers) else "name or phrase"


def breakdown(outcomes: list[Outcome], key) -> dict[str, dict]:
    """summarise() per group, e.g. per language or per category."""
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(key(o), []).append(o)
    return {name: summarise(group) for name, group in sorted(groups.items())}


def run_question(assistant, gold: GoldQuestion) -> Outcome:
    answer = assistant.ask(gold.question)
    retrieved = assistant.retriever.search(gold.question, 5)
    return Outcome(
        gold=gold,
        text=answer.text,
        abstained=answer.abstained,
        language_ok=language_ok(answer.text, gold.lang),
        cited_sources=[c.source for c in answer.citations],
        retrieved_sources=[hit.passage.source for hit in retrieved],
        timings=answer.timings,
        grounded=None
        if answer.abstained
        else groundedness(answer.text, [c.text for c in answer.citations], gold.question),
        retrieved_passages=[
            f"{hit.passage.source} ({hit.score:.2f}): {hit.passage.text}" for hit in retrieved
        ],
        trace=asdict(answer.trace),
    )
