"""Evaluation on gold questions: run every question through `Assistant`, score the answers.

A gold file is JSON lines; each row: id, lang, question, answers (regular expressions, any
may match, case-insensitive), sources (gold file names), answerable, category.
"""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.answer import MARKER, TOKEN, inflected, number_digits, quantities
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


def answer_has_terms(text: str, patterns: list[str], question: str = "") -> bool:
    r"""True when the text states every word and number of an accepted answer that the
    question does not, in any order, inflection, accents or number format, and its
    quantities with their units: "37.6 billion dollars" for "$37.6 billion", "February 28,
    2008" for "28 February 2008", "ENR" for "Engineering News-Record (ENR)". Only for answers
    given as escaped literals (the XQuAD set's); a hand-written pattern says exactly what it
    accepts.

    >>> answer_has_terms("The endowment is 37.6 billion dollars [1].", [r"\$37\.6\ billion"])
    True
    >>> answer_has_terms("Das ENR sammelt sie [1].", [r"Engineering\ News\-Record\ \(ENR\)"])
    True
    >>> answer_has_terms("They were in the 1970s [1].", [r"the\ 1960s\ and\ 1970s"])
    False
    >>> answer_has_terms("It cost 37.6 million dollars.", [r"\$37\.6\ billion"])
    False
    >>> answer_has_terms("It ran out in 1279.", [r"after\ 1279"])
    False
    >>> answer_has_terms("It is constructing.", [r"Construction"], "What is constructing?")
    False
    """
    said = _terms(MARKER.sub(" ", text))
    asked = _terms(question)
    said_quantities = quantities(text)
    for pattern in patterns:
        literal = re.sub(r"\\(.)", r"\1", pattern)
        if re.escape(literal) != pattern:
            continue  # a pattern of its own
        for answer in _readings(literal):
            # Restating the question proves nothing: "the process of constructing" for
            # "Construction" asked as "What is the process of constructing a building?".
            wanted = {w for w in _terms(answer) if not any(inflected(w, a) for a in asked)}
            held = all(
                any(inflected(w, s) for s in said) if w[0].isalpha() else w in said for w in wanted
            )
            if wanted and held and quantities(answer) <= said_quantities:
                return True
    return False


def _readings(answer: str) -> list[str]:
    """An answer, its words outside brackets and each bracket's: "Engineering News-Record
    (ENR)" is given as the name or as the abbreviation."""
    inside = re.findall(r"\(([^()]*)\)", answer)
    return [answer, re.sub(r"\([^()]*\)", " ", answer), *inside]


# Words an answer may drop or change without changing what it says: articles and "and".
# Prepositions stay: "after 1279" is not "in 1279".
_ARTICLES = frozenset(
    "a an the and der die das den dem des ein eine einen einem einer eines und le la les l un "
    "une du et".split()
)


def _terms(text: str) -> set[str]:
    """Numbers as digits and words of two letters or more, lower-cased without accents,
    without articles."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    terms = set()
    for token in TOKEN.findall(plain):
        if token[0].isdigit():
            terms.add(number_digits(token))
        elif len(token) > 1 and token.lower() not in _ARTICLES:
            terms.add(token.lower())
    return terms


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
    def states_answer_terms(self) -> bool:
        """Answered, stating an accepted answer's words and numbers (`answer_has_terms`)."""
        return self.gold.answerable and (
            self.correct
            or (
                not self.abstained
                and answer_has_terms(self.text, self.gold.answers, self.gold.question)
            )
        )

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
        # The same, counting answers that state the gold's words and numbers in other forms.
        "answer_accuracy_terms": _mean(o.states_answer_terms for o in answerable),
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


@dataclass(frozen=True)
class ReliabilityBin:
    """Questions whose answer model's probability (that the passages answer the question)
    fell in [low, high)."""

    low: float
    high: float
    judged: int  # questions the model judged with a probability in the bin
    mean_probability: float | None
    answerable: int  # of them, answerable: a calibrated model's share is its probability
    answered: int
    right: int  # answered and right

    @property
    def answerable_share(self) -> float | None:
        return self.answerable / self.judged if self.judged else None

    @property
    def right_share(self) -> float | None:
        return self.right / self.answered if self.answered else None


def reliability(outcomes: list[Outcome], bins: int = 10) -> list[ReliabilityBin]:
    """The answer model's probability against how often the questions were answerable, per
    bin: for a calibrated model the two agree.

    >>> gold = GoldQuestion("q", "de", "?", ["Hood"], ["a.txt"], True)
    >>> near_miss = GoldQuestion("n", "de", "?", [], [], False)
    >>> def said(gold, p):
    ...     return Outcome(gold, "Hood", False, True, [], [], {}, trace={"answer_probability": p})
    >>> bins = reliability([said(gold, 0.82), said(near_miss, 0.85)])
    >>> [(b.low, b.judged, b.answerable, b.right) for b in bins if b.judged]
    [(0.8, 2, 1, 1)]
    """
    judged = [
        (o, float(p))
        for o in outcomes
        if (p := (o.trace or {}).get("answer_probability")) is not None
    ]
    result = []
    for number in range(bins):
        low, high = number / bins, (number + 1) / bins
        inside = [(o, p) for o, p in judged if low <= p < high or (high == 1.0 and p == 1.0)]
        result.append(
            ReliabilityBin(
                low,
                high,
                len(inside),
                statistics.fmean(p for _, p in inside) if inside else None,
                sum(o.gold.answerable for o, _ in inside),
                sum(not o.abstained for o, _ in inside),
                sum(o.gold.answerable and o.correct for o, _ in inside),
            )
        )
    return result


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
