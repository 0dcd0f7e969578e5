"""The Answer and its citations: parse `[n]` markers, drop the ones that point at nothing,
and attribute an uncited answer to the passage that supports it."""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field

MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SPACED_MARKER = re.compile(r"[ \t]*" + MARKER.pattern)


@dataclass(frozen=True)
class Citation:
    marker: int  # the [n] in the answer text
    source: str  # file name in the corpus
    title: str
    text: str  # the passage
    start: int  # offsets of the passage in the article text
    end: int
    score: float
    date: str | None = None  # the article's, YYYY-MM-DD, when it states one
    # Sentences of `text` that address the assistant (offsets in `text`): shown, never prompted.
    withheld: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RejectedReading:
    """An answer the fact check held back, and why (`FactCheck.verdict`)."""

    text: str
    verdict: str


@dataclass(frozen=True)
class Judged:
    """One yes/no judgement: the passages the model read, and what the answer model made of it."""

    passages: tuple[int, ...]  # their numbers
    margin: float  # the model's "Found: yes" logit minus "no"
    cross_lingual: bool  # the first of them is in another language than the question
    dense: float  # its cosine
    probability: float  # that they answer the question (the answer model's)


@dataclass
class Trace:
    """How an answer was decided; `Answer.timings` holds only times and token counts."""

    best_dense: float | None = None  # the cosine of the passage closest to the question
    # The first decision's judgement (of the contenders, the likelier): its margin, the answer
    # model's probability, and whether its passage is in another language than the question.
    yes_no_margin: float | None = None
    answer_probability: float | None = None
    cross_lingual: bool | None = None
    judgements: list[Judged] = field(default_factory=list)  # every one, in the order made
    answer_check: str | None = None  # the fact check's verdict on the last reading
    rejected_readings: list[RejectedReading] = field(default_factory=list)
    # Why the assistant abstained: retrieval, model, answer_no_fact, answer_unsupported.
    abstain_reason: str | None = None


@dataclass
class Answer:
    text: str
    abstained: bool
    language: str
    citations: list[Citation] = field(default_factory=list)
    timings: dict[str, float | None] = field(default_factory=dict)
    sources: list[Citation] = field(default_factory=list)  # every passage given to the model
    trace: Trace = field(default_factory=Trace)


def valid_markers(valid: int | Collection[int] | Mapping[int, int]) -> dict[int, int]:
    """The passage numbers an answer may cite (1..valid, or the numbers given), each with the
    number shown for it: a mapping renumbers, when the prompt numbered a passage otherwise
    than the sources shown (a passage judged alone is always [1] to the model)."""
    if isinstance(valid, Mapping):
        return dict(valid)
    return {n: n for n in (range(1, valid + 1) if isinstance(valid, int) else valid)}


def clean_markers(
    text: str, valid: int | Collection[int] | Mapping[int, int]
) -> tuple[str, list[int]]:
    """Remove markers outside 1..valid (or not in `valid`, or renumber them by it); return
    the text and the cited numbers in order of first use.

    >>> clean_markers("A [2]. B [7][1, 9].", valid=3)
    ('A [2]. B [1].', [2, 1])
    >>> clean_markers("A [1]. B [2].", valid=[2])
    ('A. B [2].', [2])
    >>> clean_markers("A [1].", valid={1: 3})
    ('A [3].', [3])
    """
    cited: list[int] = []
    shown = valid_markers(valid)

    def keep(match: re.Match) -> str:
        numbers = [shown[int(n)] for n in re.findall(r"\d+", match.group(1)) if int(n) in shown]
        for n in numbers:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in numbers)

    cleaned = MARKER.sub(keep, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned))
    return cleaned.strip(), cited


class MarkerFilter:
    """Streams text deltas, holding back a possible `[n]` until it is complete, so that a
    marker pointing at nothing is never shown, and one the prompt numbered otherwise is
    shown with the source's number."""

    def __init__(self, valid: int | Collection[int] | Mapping[int, int]):
        self.shown = valid_markers(valid)
        self.pending = ""

    def feed(self, delta: str) -> str:
        self.pending += delta
        start = self.pending.rfind("[")
        if start == -1 or "]" in self.pending[start:] or len(self.pending) - start > 12:
            start = len(self.pending)
        # The spaces before a possible marker wait too: a dropped marker takes them along, as
        # in `clean_markers`, so that the streamed text is the final one ("market [2]." ->
        # "market.").
        start = len(self.pending[:start].rstrip(" \t"))
        ready, self.pending = self.pending[:start], self.pending[start:]
        return self._as_shown(ready)

    def flush(self) -> str:
        rest, self.pending = self.pending, ""
        return self._as_shown(rest)

    def _as_shown(self, text: str) -> str:
        """`text` with its markers as the person sees them: dropped, or renumbered."""

        def shown(match: re.Match) -> str:
            numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
            if not all(n in self.shown for n in numbers):
                return ""
            if all(self.shown[n] == n for n in numbers):
                return match.group(0)
            return (
                match.group(0)[: match.start(1) - match.start(0)]
                + ", ".join(str(self.shown[n]) for n in numbers)
                + "]"
            )

        return _SPACED_MARKER.sub(shown, text)


# Words that carry no fact in the three answer languages: an answer made of these and the
# question's own words ("Microsoft hat einen CFO [2].") does not answer.
FILLER_WORDS = frozenset(
    """
    a an the is are was were be been has have had do does did of to in on at by for with from as
    and or it its this that these those there their they he she his her which who what when
    where how much many about also not no yes only some than then so very more most each both
    all one der die das den dem des ein eine einen einem einer eines ist sind war waren wird
    werden wurde wurden hat haben hatte hatten im in am an auf aus bei mit von vom zu zum zur
    für über und oder als auch nicht kein keine es er sie wir ihr sein seine ihre dass nach vor
    um bis seit wie was wer wo wann welche welcher welches etwa rund insgesamt mehr davon dafür
    damit le la les l un une des du de d au aux à en et ou est sont était ont a été il elle ils
    elles son sa ses leur leurs ce cet cette ces qui que qu dans par pour sur avec plus environ
    près selon y se s pas ne
    """.split()
)

NUMBER_WORDS = {
    "one": "1",
    "eins": "1",
    "eine": "1",
    "einer": "1",
    "einen": "1",
    "un": "1",
    "une": "1",
    "two": "2",
    "zwei": "2",
    "deux": "2",
    "three": "3",
    "drei": "3",
    "trois": "3",
    "four": "4",
    "vier": "4",
    "quatre": "4",
    "five": "5",
    "fünf": "5",
    "cinq": "5",
    "six": "6",
    "sechs": "6",
    "seven": "7",
    "sieben": "7",
    "sept": "7",
    "eight": "8",
    "acht": "8",
    "huit": "8",
    "nine": "9",
    "neun": "9",
    "neuf": "9",
    "ten": "10",
    "zehn": "10",
    "dix": "10",
    "eleven": "11",
    "elf": "11",
    "onze": "11",
    "twelve": "12",
    "zwölf": "12",
    "douze": "12",
}

NAME_ENDINGS = ("s", "es", "n", "ns")

_NUMBER = r"\d+(?:[.,\u202f\u00a0 ]\d{3})*(?:[.,]\d+)?"  # "13.000", "1,5", "2019"
TOKEN = re.compile(rf"{_NUMBER}|[^\W\d_]+")


def numbers_in(text: str) -> list[str]:
    """The numbers written in digits in `text`, as written ("13.000", "1,5")."""
    return [token for token in TOKEN.findall(text) if token[0].isdigit()]


def number_digits(token: str) -> str:
    """A number's digits without separators ("13.000" and "13,000" -> "13000"; "1,5" -> "15")."""
    return re.sub(r"\D", "", token)


# Units whose number a small model mixes up: the number must stand with the same unit in a
# passage ("2019 Milliarden" where a passage says "2019 eine Milliarde" is not held). German
# "Billion" is 10^12, the English one 10^9; answers use the English word, so it counts as 10^9.
UNITS = {
    **dict.fromkeys(
        ("milliarde", "milliarden", "mrd", "billion", "billions", "bn", "milliard", "milliards"),
        "e9",
    ),
    **dict.fromkeys(("million", "millionen", "millions", "mio", "mn"), "e6"),
    **dict.fromkeys(("billionen", "trillion", "trillions"), "e12"),
    **dict.fromkeys(("%", "prozent", "percent", "pour cent", "per cent"), "%"),
}
_QUANTITY = re.compile(
    rf"({TOKEN.pattern})"
    r"(?=[\s\u202f\u00a0-]*(%|pour cent|per cent|[^\W\d_]+))"  # a lookahead: "2019 eine Milliarde"
)


def quantities(text: str) -> set[tuple[str, str]]:
    """The (number, unit) pairs in `text`, numbers as digits, units as powers of ten or "%".

    >>> sorted(quantities("2019 eine Milliarde Dollar, $13bn und 24 % vs. 31 Prozent"))
    [('1', 'e9'), ('13', 'e9'), ('24', '%'), ('31', '%')]
    """
    found = set()
    for match in _QUANTITY.finditer(text):
        number, unit = match.group(1).lower(), UNITS.get(match.group(2).lower())
        number = NUMBER_WORDS.get(number, number)
        if unit and number[0].isdigit():
            found.add((number_digits(number), unit))
    return found


class PassageTerms:
    """The numbers and words of a set of passages, for checking an answer's facts against them."""

    def __init__(self, passages: list[str], translated: bool = False):
        """`translated`: the answer is in another language than the passages, so its names
        may carry other endings ("Korean", "Koreaner"; "United Nations", "Vereinten Nationen")."""
        self.translated = translated
        self.numbers: set[str] = set()
        self.words: set[str] = set()
        self.quantities: set[tuple[str, str]] = set()
        for passage in passages:
            self.quantities |= quantities(passage)
            for token in TOKEN.findall(passage):
                if token[0].isdigit():
                    self.numbers.add(number_digits(token))
                else:
                    word = token.lower()
                    self.words.add(word)
                    if word in NUMBER_WORDS:
                        self.numbers.add(NUMBER_WORDS[word])

    def holds(self, token: str) -> bool:
        """A number by its digits; a name as a whole word, give or take a genitive or plural
        ending ("Googles", "Scott's"): a stem would let "Nadella" match "Nadel"."""
        if token[0].isdigit():
            return number_digits(token) in self.numbers
        word = token.lower()
        forms = {
            word,
            *(word + end for end in NAME_ENDINGS),
            *(word[: -len(end)] for end in NAME_ENDINGS if word.endswith(end)),
        }
        if not forms.isdisjoint(self.words):
            return True
        # Six shared letters, not five: "Nadella" is no form of "Nadel".
        return self.translated and any(inflected(word, held, 6) for held in self.words)


def inflected(a: str, b: str, shared_start: int = 5) -> bool:
    """The same word with other endings: a shared start of `shared_start` letters or more and
    at most four letters beyond it on either side ("Milliarde", "Milliarden"; "merge",
    "merged"). A compound is another word ("Apotheke", "Apothekengesetzgebung"), and so is one
    that only shares a root ("Immunsystem", "Immunologie").

    >>> inflected("milliarde", "milliarden"), inflected("apotheke", "apothekengesetzgebung")
    (True, False)
    """
    if a == b:
        return True
    shared = len(os.path.commonprefix([a, b]))
    return shared >= shared_start and max(len(a), len(b)) - shared <= 4


@dataclass(frozen=True)
class FactCheck:
    """What an answer states beyond the question, and whether the passages hold it.

    `verdict` is "supported" (a number or name the passages hold, and no number they don't,
    nor one they hold only with another unit),
    "no_fact" (nothing said beyond the question's words), "unsupported" (a number, or only
    names, that no passage holds) or "uncheckable" (new words but no number or name, e.g.
    a translated common noun: accepted, since translation changes them).
    """

    new_terms: list[str]
    supported: list[str]
    unsupported: list[str]

    @property
    def verdict(self) -> str:
        if not self.new_terms:
            return "no_fact"
        if any(t[0].isdigit() for t in self.unsupported) or (
            self.unsupported and not self.supported
        ):
            return "unsupported"
        return "supported" if self.supported else "uncheckable"

    @property
    def acceptable(self) -> bool:
        return self.verdict in ("supported", "uncheckable")


# The model's own ways of saying it found nothing: such an answer states no fact.
REFUSAL = re.compile(
    r"(don't|do not|does not|doesn't) (say|state|mention)|not (mentioned|stated|specified)|no "
    r"information"
    r"|ne (le )?(disent|précisent|mentionnent) pas|pas (mentionné|précisé|indiqué)"
    r"|steht nichts|nicht (erwähnt|angegeben|genannt)|keine (Angabe|Information)",
    re.IGNORECASE,
)


def check_facts(answer_text: str, question: str, passages: PassageTerms) -> FactCheck:
    """Check the answer's numbers and names (capitalised words) against the passages.

    >>> terms = PassageTerms(["Nadella leitet eine Nachricht von CTO Kevin Scott an CFO Amy Hood."])
    >>> check_facts("Microsoft hat einen CFO [2].", "Wer ist der CFO von Microsoft?", terms).verdict
    'no_fact'
    >>> check_facts("Die CFO ist Amy Hood [2].", "Wer ist der CFO von Microsoft?", terms).verdict
    'supported'
    >>> check_facts("It was founded in 2015 [1].", "When was Anthropic founded?", terms).verdict
    'unsupported'
    >>> terms = PassageTerms(["Microsoft investierte 2019 eine Milliarde Dollar."])
    >>> check_facts("Microsoft investierte 2019 Milliarden [1].", "Wie viel?", terms).unsupported
    ['2019 e9']
    >>> check_facts("The passages don't say.", "When was Anthropic founded?", terms).verdict
    'no_fact'
    """
    if REFUSAL.search(answer_text):
        return FactCheck([], [], [])
    asked = _words(question)
    new: list[str] = []
    supported: list[str] = []
    unsupported: list[str] = []
    tokens = TOKEN.findall(MARKER.sub(" ", answer_text.replace("'s ", " ")))
    for position, token in enumerate(tokens):
        word = token.lower()
        if (
            word in FILLER_WORDS
            or any(inflected(word, a) for a in asked)
            or (len(word) < 2 and not token[0].isdigit())
        ):
            continue
        new.append(token)
        # A capital opening the answer marks a name only when the next word has one too
        # ("Satya Nadella").
        named = token[0].isupper() and (
            position > 0 or (len(tokens) > 1 and tokens[1][0].isupper())
        )
        if token[0].isdigit() or named:
            (supported if passages.holds(token) else unsupported).append(token)
    # A quantity the question states may be repeated; its number alone does not make one
    # ("Wie viel hat Microsoft 2019 investiert?" does not allow "2019 Milliarden").
    asked_quantities = quantities(question)
    for quantity in quantities(MARKER.sub(" ", answer_text)):
        if quantity not in asked_quantities and quantity not in passages.quantities:
            unsupported.append(" ".join(quantity))
    return FactCheck(new, supported, unsupported)


class FactGuard:
    """Holds streamed answer text back until it states a fact the passages hold (see
    `check_facts`), so that an answer that states nothing, or something no passage says, can be
    read again or replaced by an abstention before anyone sees it. Uncheckable answers (no
    number or name) are released when they end."""

    def __init__(self, question: str, passages: PassageTerms):
        self.question = question
        self.passages = passages
        self.text = ""
        self.released = 0  # characters of `text` already given out
        self.streamed = False

    def feed(self, delta: str) -> str:
        self.text += delta
        if self.released:
            return self._release()
        complete = self.text[
            : max(self.text.rfind(" "), 0)
        ]  # the last word may go on in the next delta
        if MARKER.sub("", complete).rstrip()[-1:].isdigit():
            return ""  # its unit may come next ("2019 Milliarden")
        check = check_facts(complete, self.question, self.passages)
        return self._release() if check.supported and not check.unsupported else ""

    def finish(self, last_delta: str = "") -> tuple[str, FactCheck]:
        """The text still held (with `last_delta`), and the check of the whole answer. `streamed`
        tells whether part of it was given out before the end (then it stands, whatever the
        check says)."""
        self.streamed = self.released > 0
        self.text += last_delta
        return self._release(), check_facts(self.text, self.question, self.passages)

    def _release(self) -> str:
        out, self.released = self.text[self.released :], len(self.text)
        return out


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", MARKER.sub(" ", text))}


def key_terms(text: str) -> set[str]:
    """Numbers and longer words, lower-cased: what a passage supporting the text must hold."""
    return {w.lower() for w in re.findall(r"\d+(?:[.,]\d+)?|\w{4,}", MARKER.sub(" ", text))}


def best_supporting(answer_text: str, passages: list[str]) -> int | None:
    """1-based number of the passage sharing most key terms with the answer (numbers count 3x)."""
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
