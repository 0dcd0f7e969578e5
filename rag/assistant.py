"""`Assistant`: the one object the web chat, the CLI and the evaluation use."""

from __future__ import annotations

import atexit
import os
import re
import threading
import time
from collections import abc
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rag import models
from rag.abstention import ANSWER_MODEL_FILE, AnswerModel, abstention_message, too_far
from rag.answer import (
    Answer,
    Citation,
    FactCheck,
    FactGuard,
    Judged,
    MarkerFilter,
    PassageTerms,
    RejectedReading,
    Trace,
    best_supporting,
    clean_markers,
)
from rag.corpus import decode, upload_name
from rag.embedding import SentenceEmbedder
from rag.errors import ArticleError, CorpusNotFound, QuestionError, Stopped
from rag.followup import standalone_query
from rag.generation import Generation, GenerationStats, Reply
from rag.indexing import IndexReport, update_index
from rag.language import OTHER_LANGUAGE_NOTE, answer_language, detect_language
from rag.prompt import messages, numbered, question_ahead, select_passages
from rag.protocols import BatchEmbedder, Embedder, Generator
from rag.retrieval import Hit, Retriever
from rag.screening import InstructionScreen, load_screen
from rag.settings import Settings
from rag.store import PassageStore
from rag.summary import (
    asks_for_summary,
    clean_translation,
    faithful,
    lead_sentences,
    translation_messages,
)
from rag.vector_cache import VectorCache


@dataclass(frozen=True)
class Sources:
    """First stream event: the passages the answer will be drawn from, numbered as cited."""

    passages: list[Citation]
    language: str
    retrieve_ms: float


@dataclass(frozen=True)
class Delta:
    text: str


def clean_question(question: str, max_chars: int) -> str:
    """The question without control and zero-width characters; raises QuestionError if unusable."""
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", question or "")
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty")
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is {len(text)} characters long; the limit is {max_chars}"
        )
    return text


def _citation(marker: int, hit: Hit) -> Citation:
    passage = hit.passage
    return Citation(
        marker=marker,
        source=passage.source,
        title=passage.title,
        text=passage.text,
        start=passage.start,
        end=passage.end,
        score=round(hit.score, 4),
        date=passage.date,
        withheld=passage.withheld,
    )


@dataclass
class _Turn:
    """One question on its way to an answer: what the steps of `Assistant.stream` share."""

    question: str
    language: str
    note: str  # said first when the answer is not in the question's language
    hits: list[Hit]
    sources: list[Citation]
    started: float
    timings: dict[str, float | None] = field(default_factory=dict)
    trace: Trace = field(default_factory=Trace)
    cancel: threading.Event | None = None  # set: stop the model
    asked_in: str = ""  # the question's language (`language` is the answer's)

    def elapsed(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)

    def messages(self, sources: list[Citation], question_first: bool = False) -> list[dict]:
        """The prompt over `sources`, numbered from [1] (`numbered`, `prompt_numbers`)."""
        return messages(numbered(sources), self.question, self.language, question_first)

    def other_language(self, sources: list[Citation]) -> bool:
        """Whether any of `sources` is in another language than the question."""
        return any(self.hits[c.marker - 1].passage.language != self.asked_in for c in sources)


def prompt_numbers(sources: list[Citation]) -> dict[int, int]:
    """Each passage's number in a prompt over `sources` (`numbered`), with its marker
    among the sources shown: the model cites the one, the person sees the other."""
    return {number: c.marker for number, c in enumerate(sources, start=1)}


@dataclass(frozen=True)
class _Reading:
    """One generated answer and the fact check's verdict on it."""

    text: str  # as generated, markers and all
    held: str  # the end, held back until the check was done
    check: FactCheck
    streamed: bool  # part of it was shown before the end
    stats: GenerationStats
    given: list[Citation]  # the passages it was given


class Assistant:
    """Grounded, cited answers over a folder of articles.

    >>> assistant = Assistant()  # doctest: +SKIP
    >>> answer = assistant.ask("Wie viel hat Microsoft in OpenAI investiert?")  # doctest: +SKIP
    >>> answer.text  # doctest: +SKIP
    'Microsoft hat in OpenAI mindestens 13 Milliarden Dollar investiert [1].'
    >>> [c.source for c in answer.citations]  # doctest: +SKIP
    ['004_049a8fec8080a705.txt']

    `embedder` and `generator` replace the models the settings name (tests pass fakes).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        show_progress: bool = True,
        load_generator: bool = True,
        build_index: bool = True,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        **overrides,
    ):
        base = settings or Settings()
        self.settings = Settings(**{**base.model_dump(), **overrides}) if overrides else base
        self.corpus = Path(self.settings.corpus).expanduser()
        # Fail at start, not mid-answer: a missing model file here, an unreachable server
        # when warming.
        if generator is None and not self.settings.generator_url:
            self._generator_source = models.generator_source(self.settings)
        self.answer_model = AnswerModel.load(self.settings.answer_model or ANSWER_MODEL_FILE)
        threshold, floor = self.settings.min_answer_probability, self.settings.min_dense_score
        self.min_answer_probability = (
            self.answer_model.threshold if threshold is None else threshold
        )
        self.min_dense = self.answer_model.min_dense if floor is None else floor
        self.screen: InstructionScreen | None = None
        if embedder is None:
            source = models.embedder_source(self.settings)
            cache = VectorCache.at(self.settings.vector_cache)
            embedder = SentenceEmbedder(source, self.settings.threads, cache)
            if self.settings.instruction_screen:
                self.screen = load_screen(embedder.encode_sentences, source)
        self.embedder = embedder
        self.store = PassageStore(
            Path(self.settings.index).expanduser(),
            self.embedder.identity,
            self.settings.chunk_chars,
            self.settings.chroma_url,
            self.screen.identity if self.screen else "",
        )
        self.retriever = Retriever(self.store, self.embedder, self.settings.bm25_weight)
        self._generator = generator
        self._index_lock = threading.Lock()
        self._indexed = threading.Event()  # set by every index update: read the new passages ahead
        self.show_progress = show_progress
        # An index left behind by an interrupted build, or older than the corpus, would answer
        # from part of it without a word: bring it in line (a hash per file when it is).
        if build_index and (self.corpus.is_dir() or not self.store.files):
            self.index()
        if load_generator:
            self._load_generator()  # now, so the first answer is as quick as the next

    @property
    def generator(self) -> Generator:
        return self._generator or self._load_generator()

    def _load_generator(self) -> Generator:
        if self._generator is None:
            s = self.settings
            generator: Generator
            if s.generator_url:
                from rag.remote_generation import RemoteGenerator

                generator = RemoteGenerator(
                    s.generator_url,
                    s.generator_model,
                    s.generator_api_key.get_secret_value(),
                    s.generator_timeout,
                )
            else:
                from rag.generation import LlamaGenerator

                generator = LlamaGenerator(
                    self._generator_source,
                    s.threads,
                    s.context_tokens,
                    s.draft_tokens,
                    s.passage_states_mb,
                    Path(s.passage_states_dir).expanduser() if s.passage_states_dir else None,
                )
            generator.warm()
            self._generator = generator
        return self._generator

    def index(self, batch_embedder: BatchEmbedder | None = None) -> IndexReport:
        """Bring the index in line with the corpus: add new, re-embed changed, remove deleted.

        `batch_embedder` (see rag.distributed) embeds the new passages on several processes
        or a cluster."""
        if not self.corpus.is_dir():
            raise CorpusNotFound(f"corpus folder not found: {self.corpus}")
        with self._index_lock:  # one build at a time; questions keep being answered meanwhile
            report = update_index(
                self.store,
                self.corpus,
                self.embedder,
                self.show_progress,
                batch_embedder,
                self.screen,
            )
        self._indexed.set()
        return report

    def articles(self) -> list[dict]:
        """The indexed articles: source, title, language, date (None when the article states
        none, or was indexed before dates were read), passages."""
        return [
            {
                "source": source,
                **{k: entry[k] for k in ("title", "language", "passages")},
                "date": entry.get("date"),
            }
            for source, entry in sorted(self.store.files.items())
        ]

    def add_article(self, name: str, data: bytes) -> IndexReport:
        """Save an uploaded article into the corpus folder (never outside it) and index it.

        An article of the same name is never replaced (uploading the same bytes again changes
        nothing); an upload that cannot be indexed is removed again and raised as ArticleError."""
        stored = upload_name(name, len(data))
        target = self.corpus / stored
        decode(data, stored)  # refuse binary content before writing anything
        if target.exists() and target.read_bytes() == data:
            return self.index()
        tmp = target.with_name(f".{stored}.part")
        tmp.write_bytes(data)
        try:
            os.link(tmp, target)  # unlike a rename, fails rather than replace an existing file
        except FileExistsError:
            raise ArticleError(
                f"{stored}: an article of that name is already in the corpus; remove it first, or "
                "rename the file to keep both"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)
        try:
            report = self.index()
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if stored not in self.store.files:
            target.unlink(missing_ok=True)
            reason = next(
                (s.reason for s in report.skipped if s.source == stored), "it could not be indexed"
            )
            raise ArticleError(f"{stored}: {reason}")
        return report

    def remove_article(self, source: str) -> IndexReport:
        """Delete an article from the corpus folder and the index."""
        if source not in self.store.files:
            raise ArticleError(f"{source}: no such article in the index")
        (self.corpus / source).unlink(missing_ok=True)
        return self.index()

    def read_ahead(self, stop: threading.Event | None = None) -> int:
        """Read the indexed passages into the model's kept KV cells while it is idle, so that
        a question about one reads only the question (rag.kv_states). Gives way to every
        question and goes on after it; ends when all are read, there is no more room, or
        `stop` is set. Returns how many passages it read."""
        read = 0
        stopped = stop.is_set if stop is not None else lambda: False
        for passage in list(self.store.passages().values()):
            prompt = messages(numbered([passage]), "", passage.language)
            while (outcome := self.generator.read_ahead(prompt)) == "busy":
                if stopped():
                    return read
                time.sleep(0.2)  # a question has the model
            read += outcome == "read"
            if outcome in ("full", "unsupported") or stopped():
                return read
        return read

    def start_reading_ahead(self) -> threading.Event | None:
        """`read_ahead` in the background, again after every index update (an article added),
        if the settings ask for it (servers call this). Setting the returned event ends it."""
        if not self.settings.read_ahead:
            return None
        stop = threading.Event()

        def read_whenever_indexed() -> None:
            while not stop.is_set():
                self._indexed.clear()
                self.read_ahead(stop)
                while not (self._indexed.wait(timeout=0.5) or stop.is_set()):
                    pass

        thread = threading.Thread(target=read_whenever_indexed, daemon=True)
        thread.start()

        def finish() -> None:  # before the model is freed at exit, not while it reads
            stop.set()
            thread.join(timeout=30)

        atexit.register(finish)
        return stop

    @property
    def busy(self) -> bool:
        """True while the LLM is writing an answer (others wait; retrieval does not)."""
        return self._generator is not None and self._generator.busy

    def search(
        self, query: str, sources: abc.Collection[str] | None = None, top_k: int | None = None
    ) -> list[Citation]:
        """The best passages for `query`, best first, without the model: search only.

        `sources` (file names, as in `articles()`) limits the search to those articles."""
        query = clean_question(query, self.settings.max_question_chars)
        hits = self.retriever.search(query, top_k or self.settings.top_k, self._scope(sources))
        return [_citation(marker, hit) for marker, hit in enumerate(hits, start=1)]

    def _scope(self, sources: abc.Collection[str] | None) -> frozenset[str] | None:
        """The articles a question is limited to; QuestionError for a name not in the index."""
        if sources is None:
            return None
        scope = frozenset(sources)
        if not scope:
            raise QuestionError("choose at least one article, or none to ask them all")
        self.store.refresh()
        if unknown := sorted(scope - set(self.store.files)):
            raise QuestionError(f"no such article in the index: {', '.join(unknown)}")
        return scope

    def summarise(
        self, source: str, language: str = "en", cancel: threading.Event | None = None
    ) -> Iterator[Sources | Delta | Answer]:
        """Stream a short summary of one article (file name as in `articles()`) in `language`:
        Sources (its first passages), Delta pieces, then the Answer citing them. Setting
        `cancel` stops it as it stops `stream`."""
        self._scope([source])
        with suppress(Stopped):  # the person stopped it: the stream just ends
            yield from self._summary(source, language, time.perf_counter(), "", cancel)

    def ask(
        self,
        question: str,
        history: list[dict] | None = None,
        sources: abc.Collection[str] | None = None,
    ) -> Answer:
        for event in self.stream(question, history, sources):
            if isinstance(event, Answer):
                return event
        raise RuntimeError("the stream ended without an answer")

    def stream(
        self,
        question: str,
        history: list[dict] | None = None,
        sources: abc.Collection[str] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Sources | Delta | Answer]:
        """Yield Sources first, then Delta text pieces, then the final Answer.

        `sources` (file names) limits the question to those articles. Setting `cancel` (from
        another thread) stops the model within a fraction of a second, even while it reads
        the passages; the stream then ends with no Answer. The steps: prepare (question,
        language, passages) → judge (does a passage answer?) → answer (streamed, checked
        against the passages) → finish (citations, figures)."""
        turn = self._prepare(question, history, self._scope(sources))
        turn.cancel = cancel
        with suppress(Stopped):  # the person stopped it: the stream just ends
            yield from self._steps(turn)

    def _steps(self, turn: _Turn) -> Iterator[Sources | Delta | Answer]:
        if asks_for_summary(turn.question) and turn.hits:  # of the article the request names
            yield from self._summary(
                turn.hits[0].passage.source, turn.language, turn.started, turn.note, turn.cancel
            )
            return
        yield Sources(turn.sources, turn.language, turn.timings["retrieve_ms"] or 0.0)
        turn.timings["sources_ms"] = turn.elapsed()
        best_dense = max((h.dense for h in turn.hits), default=None)
        turn.trace.best_dense = None if best_dense is None else round(best_dense, 4)
        if too_far(best_dense, self.min_dense):
            yield from self._abstain(turn, "retrieval")
            return
        # The best passages are judged together, and the next one alone too when its cosine is
        # as good (`judge_second_within`): the likelier is answered from. When the model finds
        # no answer, each of the next `judge_further` passages alone (often the second's).
        first, further = self.settings.judge_passages, self.settings.judge_further
        decisions = [self._contenders(turn, turn.sources[:first])]
        decisions += [[[c]] for c in turn.sources[first : first + further]]
        for contenders in decisions:
            reply, judged, verdict = self._likelier(turn, contenders)
            if turn.trace.answer_probability is None:  # the first decision's, for calibration
                turn.trace.yes_no_margin = verdict.margin
                turn.trace.answer_probability = verdict.probability
                turn.trace.cross_lingual = verdict.cross_lingual
            if verdict.probability >= self.min_answer_probability:
                yield from self._answer(turn, reply, judged)
                return
            reply.close()
        yield from self._abstain(turn, "model")

    def _contenders(self, turn: _Turn, judged: list[Citation]) -> list[list[Citation]]:
        """`judged`, and before it the next passage alone when its cosine is within
        `judge_second_within` of the best's: which of two such passages holds the answer,
        the model's judgement tells better than their cosines (docs/decisions.md)."""
        within = self.settings.judge_second_within
        if within > 0 and len(turn.sources) > len(judged):
            second = turn.sources[len(judged)]
            best = turn.hits[judged[0].marker - 1].dense
            if best - turn.hits[second.marker - 1].dense <= within:
                return [[second], judged]
        return [judged]

    def _likelier(
        self, turn: _Turn, contenders: list[list[Citation]]
    ) -> tuple[Reply, list[Citation], Judged]:
        """Judge each of `contenders` and keep the one the answer model rates likelier to
        answer, the last on a tie (it is the best; its prompt stays in the KV cache)."""
        replies = [(*self._judge(turn, judged), judged) for judged in contenders]
        reply, verdict, judged = max(reversed(replies), key=lambda r: r[1].probability)
        for other, _, _ in replies:
            if other is not reply:
                other.close()
        return reply, judged, verdict

    def _prepare(
        self, question: str, history: list[dict] | None, scope: frozenset[str] | None
    ) -> _Turn:
        """Clean the question, choose the answer's language, retrieve and select passages."""
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        asked_in = detect_language(question)
        language = answer_language(asked_in)
        # A follow-up is retrieved with the question it follows, but the model reads only the
        # follow-up: shown both, the small model answered the earlier one.
        query, _ = standalone_query(question, history, self.settings.max_question_chars)
        hits = self.retriever.search(query, self.settings.top_k, scope)
        retrieve_ms = round((time.perf_counter() - started) * 1000, 1)
        budget = self.settings.passage_token_budget
        chosen = select_passages(hits, self.generator.count_tokens, budget)
        sources = [_citation(marker, hit) for marker, hit in enumerate(chosen, start=1)]
        note = OTHER_LANGUAGE_NOTE if language != asked_in else ""
        timings: dict[str, float | None] = {"retrieve_ms": retrieve_ms}
        turn = _Turn(question, language, note, hits, sources, started, timings, asked_in=asked_in)
        turn.trace.cross_lingual = turn.other_language(sources[:1])
        return turn

    def _judge(self, turn: _Turn, judged: list[Citation]) -> tuple[Reply, Judged]:
        """Start the model: its yes/no judgement on `judged` first, the answer ready to stream
        after it. The judgement is recorded in the trace with the answer model's probability."""
        # The judgement reads only a few passages: the small model judges one passage far
        # better than five near-misses, and it is quick. The answer reads them all, unless it
        # goes on from the judgement (`answer_from_judgement`).
        reply = self.generator.start(
            turn.messages(
                self._answered(turn, judged),
                question_first=not self.settings.answer_from_judgement,
            ),
            self.settings.max_answer_tokens,
            judge_messages=turn.messages(judged),
            cancel=turn.cancel,
        )
        judgement = reply.judgement
        cross_lingual = turn.other_language(judged[:1])
        dense = turn.hits[judged[0].marker - 1].dense
        probability = self.answer_model.probability(judgement.yes_no_margin, cross_lingual, dense)
        verdict = Judged(
            tuple(c.marker for c in judged),
            round(judgement.yes_no_margin, 3),
            cross_lingual,
            round(dense, 4),
            round(probability, 4),
        )
        turn.trace.judgements.append(verdict)
        asked_ahead = not self.settings.answer_from_judgement
        ahead = self.generator.count_tokens(question_ahead(turn.question)) if asked_ahead else 0
        timings = turn.timings
        earlier = {  # a further judgement adds its reading to the first's
            key: timings.get(key) or 0.0
            for key in ("prompt_tokens_read", "prompt_tokens_necessary", "prompt_ms")
        }
        timings.update(
            prompt_tokens=judgement.prompt_tokens,
            prompt_tokens_reused=judgement.reused_tokens,
            prompt_tokens_read=earlier["prompt_tokens_read"] + judgement.read_tokens,
            # The passages, the question once and the template: all but the question ahead.
            prompt_tokens_necessary=earlier["prompt_tokens_necessary"]
            + judgement.prompt_tokens
            - judgement.reused_tokens
            - ahead,
            prompt_ms=round(earlier["prompt_ms"] + judgement.ms, 1),
        )
        return reply, verdict

    def _answered(self, turn: _Turn, judged: list[Citation]) -> list[Citation]:
        """The passages the first reading of the answer is given."""
        if self.settings.answer_from_judgement:  # it goes on from the judgement's prompt
            return judged
        return turn.sources

    def _answer(
        self, turn: _Turn, reply: Reply, judged: list[Citation]
    ) -> Iterator[Delta | Answer]:
        """Stream the answer; one the fact check rejects is read again, then abstained on."""
        # An answer must state a fact (a number or name) that the passages hold. One that does
        # not is held back and read again from all passages in the other layout (question
        # before them or not); if that reading fails too, the assistant abstains.
        # Each reading with the passages it was given: its facts and its markers must come
        # from those.
        readings: list[tuple[Callable[[], Generation], list[Citation]]] = [
            (reply.answer, self._answered(turn, judged)),
            (
                partial(
                    self.generator.answer,
                    turn.messages(turn.sources, question_first=self.settings.answer_from_judgement),
                    self.settings.max_answer_tokens,
                    turn.cancel,
                ),
                turn.sources,
            ),
        ]
        completion_tokens = 0
        for start_reading, given in readings:
            reading = yield from self._read(turn, start_reading(), given)
            completion_tokens += reading.stats.completion_tokens
            if reading.check.acceptable or reading.streamed:
                break
            turn.trace.rejected_readings.append(
                RejectedReading(reading.text, reading.check.verdict)
            )
        shown_anyway = reading.streamed and not reading.check.acceptable
        turn.trace.answer_check = reading.check.verdict + ("_shown" if shown_anyway else "")
        turn.timings["completion_tokens"] = completion_tokens
        if reading.check.acceptable or reading.streamed:
            yield from self._finish(turn, reading)
        else:
            yield from self._abstain(turn, f"answer_{reading.check.verdict}")

    def _read(
        self, turn: _Turn, generation: Generation, given: list[Citation]
    ) -> abc.Generator[Delta, None, _Reading]:
        """Stream one reading, given the passages `given`, through the marker filter and the
        fact check."""
        markers = MarkerFilter(prompt_numbers(given))
        terms = PassageTerms([c.text for c in given], translated=turn.other_language(given))
        guard = FactGuard(turn.question, terms)
        raw = []
        for piece in generation:
            if "model_first_token_ms" not in turn.timings:  # what reading cost, before the check
                turn.timings["model_first_token_ms"] = turn.elapsed()
            raw.append(piece)
            if shown := guard.feed(markers.feed(piece)):
                yield self._shown(turn, shown)
        held, check = guard.finish(markers.flush())
        return _Reading("".join(raw), held, check, guard.streamed, generation.stats, given)

    def _shown(self, turn: _Turn, text: str) -> Delta:
        """A piece of the answer; the first one carries the language note and stops the clock."""
        if "first_token_ms" not in turn.timings:
            turn.timings["first_token_ms"] = turn.elapsed()
            text = turn.note + text
        return Delta(text)

    def _finish(self, turn: _Turn, reading: _Reading) -> Iterator[Delta | Answer]:
        """The held-back end, a citation if the model gave none, and the final Answer."""
        if reading.held:
            yield self._shown(turn, reading.held)
        given = reading.given
        text, cited = clean_markers(reading.text, prompt_numbers(given))
        if not cited and text and (supporting := best_supporting(text, [c.text for c in given])):
            # The small model often forgets its markers: cite the passage with the answer's terms.
            supporting = given[supporting - 1].marker
            cited = [supporting]
            text = f"{text} [{supporting}]"
            yield Delta(f" [{supporting}]")
        stats = reading.stats
        writing_s = (stats.total_ms - (stats.first_token_ms or 0)) / 1000
        turn.timings.update(
            total_ms=turn.elapsed(),
            tokens_per_s=round(stats.completion_tokens / writing_s, 1)
            if stats.completion_tokens > 1
            else None,
        )
        by_marker = {c.marker: c for c in turn.sources}
        yield Answer(
            text=turn.note + text,
            abstained=False,
            language=turn.language,
            citations=[by_marker[n] for n in cited],
            timings=turn.timings,
            sources=turn.sources,
            trace=turn.trace,
        )

    def _summary(
        self,
        source: str,
        language: str,
        started: float,
        note: str,
        cancel: threading.Event | None,
    ) -> Iterator[Sources | Delta | Answer]:
        """The article's lead sentences (see rag.summary), each with its passage's number,
        translated one by one when asked for in another language."""
        self.store.refresh()
        article = sorted(
            (p for p in self.store.passages().values() if p.source == source), key=lambda p: p.start
        )
        lead = lead_sentences(
            [(p.text, p.language) for p in article], withheld=[p.withheld for p in article]
        )
        used = sorted({sentence.passage for sentence in lead})
        marker = {place: number for number, place in enumerate(used, start=1)}
        hits = [Hit(article[place], 1.0, 1.0, 0.0) for place in used]
        sources = [_citation(number, hit) for number, hit in enumerate(hits, start=1)]
        timings: dict[str, float | None] = {
            "retrieve_ms": round((time.perf_counter() - started) * 1000, 1)
        }
        turn = _Turn(f"summary of {source}", language, note, hits, sources, started, timings)
        turn.cancel = cancel
        yield Sources(sources, language, timings["retrieve_ms"] or 0.0)
        timings["sources_ms"] = turn.elapsed()
        stats = GenerationStats(finish_reason="stop")
        written: list[str] = []
        for sentence in lead:
            text, origin = sentence.text, article[sentence.passage].language
            if origin != language:
                text = self._translated(turn, text, origin, stats)
            piece = f"{text} [{marker[sentence.passage]}]"
            yield self._shown(turn, f" {piece}" if written else piece)
            written.append(piece)
        turn.timings["completion_tokens"] = stats.completion_tokens
        turn.trace.answer_check = "summary"
        reading = _Reading(" ".join(written), "", FactCheck([], [], []), True, stats, turn.sources)
        yield from self._finish(turn, reading)

    def _translated(self, turn: _Turn, sentence: str, source: str, stats: GenerationStats) -> str:
        """`sentence` in the turn's language, or as written when the translation is not
        faithful to it (kept in the trace)."""
        max_tokens = 2 * self.generator.count_tokens(sentence) + 16
        generation = self.generator.write(
            translation_messages(sentence, source, turn.language), max_tokens, turn.cancel
        )
        translation = clean_translation("".join(generation))
        stats.completion_tokens += generation.stats.completion_tokens
        stats.total_ms += generation.stats.total_ms
        if stats.first_token_ms is None:
            stats.first_token_ms = generation.stats.first_token_ms
        if faithful(translation, sentence):
            return translation
        turn.trace.rejected_readings.append(RejectedReading(translation, "unfaithful_translation"))
        return sentence

    def _abstain(self, turn: _Turn, reason: str) -> Iterator[Delta | Answer]:
        """Say that the articles do not answer the question, in the answer's language."""
        text = turn.note + abstention_message(turn.language)
        yield Delta(text)
        turn.timings.setdefault("prompt_tokens", 0)
        turn.timings.setdefault("completion_tokens", 0)
        turn.timings.update(first_token_ms=turn.elapsed(), total_ms=turn.elapsed())
        turn.trace.abstain_reason = reason
        yield Answer(
            text=text,
            abstained=True,
            language=turn.language,
            citations=[],
            timings=turn.timings,
            sources=turn.sources,
            trace=turn.trace,
        )
