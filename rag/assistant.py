"""`Assistant`: the one object the web chat, the CLI and the evaluation use."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rag import models
from rag.abstention import abstention_message, model_says_not_found, too_far
from rag.answer import (
    Answer,
    Citation,
    FactGuard,
    MarkerFilter,
    PassageTerms,
    best_supporting,
    clean_markers,
)
from rag.corpus import ArticleError, decode, upload_name
from rag.embedding import Embedder
from rag.followup import standalone_query
from rag.language import OTHER_LANGUAGE_NOTE, answer_language, detect_language
from rag.prompt import PromptPassage, messages, question_ahead, select_passages
from rag.retrieval import Retriever
from rag.settings import Settings
from rag.store import IndexProblem, IndexReport, PassageStore

# What Assistant() raises with a message meant for the person starting it: a missing or
# changed model, an unreachable model server, a missing corpus, an unusable index.
STARTUP_ERRORS = (models.ModelError, FileNotFoundError, IndexProblem)


class QuestionError(ValueError):
    """The question cannot be asked (empty, too long); the message says why."""


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


class Assistant:
    """Grounded, cited answers over a folder of articles.

    >>> assistant = Assistant()  # doctest: +SKIP
    >>> answer = assistant.ask("Wie viel hat Microsoft in OpenAI investiert?")  # doctest: +SKIP
    >>> answer.text  # doctest: +SKIP
    'Microsoft hat in OpenAI mindestens 13 Milliarden Dollar investiert [1].'
    >>> [c.source for c in answer.citations]  # doctest: +SKIP
    ['004_049a8fec8080a705.txt']
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        show_progress: bool = True,
        load_generator: bool = True,
        build_index: bool = True,
        **overrides,
    ):
        base = settings or Settings()
        self.settings = Settings(**{**base.model_dump(), **overrides}) if overrides else base
        self.corpus = Path(self.settings.corpus).expanduser()
        # Fail at start, not mid-answer: a missing model file here, an unreachable server
        # when warming.
        self._generator_source = self.settings.generator_url or models.generator_source(
            self.settings
        )
        self.embedder = Embedder(models.embedder_source(self.settings), self.settings.threads)
        self.store = PassageStore(
            Path(self.settings.index).expanduser(),
            self.embedder.identity,
            self.settings.chunk_chars,
            self.settings.chroma_url,
        )
        self.retriever = Retriever(self.store, self.embedder, self.settings.bm25_weight)
        self._generator = None
        self._index_lock = threading.Lock()
        self.show_progress = show_progress
        if build_index and not self.store.files:
            self.index()
        if load_generator:
            self.generator  # load and warm the LLM now, so the first answer is as quick as the next

    @property
    def generator(self):
        if self._generator is None:
            if self.settings.generator_url:
                from rag.remote_generation import RemoteGenerator

                s = self.settings
                generator = RemoteGenerator(
                    s.generator_url,
                    s.generator_model,
                    s.generator_api_key.get_secret_value(),
                    s.generator_timeout,
                )
            else:
                from rag.generation import LlamaGenerator

                generator = LlamaGenerator(
                    self._generator_source, self.settings.threads, self.settings.context_tokens
                )
            generator.warm()
            self._generator = generator
        return self._generator

    def index(self, document_embedder=None) -> IndexReport:
        """Bring the index in line with the corpus: add new, re-embed changed, remove deleted.

        `document_embedder` (see rag.distributed) embeds the passages on several processes or a
        cluster."""
        if not self.corpus.is_dir():
            raise FileNotFoundError(f"corpus folder not found: {self.corpus}")
        with self._index_lock:  # one build at a time; questions keep being answered meanwhile
            return self.store.update(
                self.corpus, document_embedder or self.embedder, show_progress=self.show_progress
            )

    def articles(self) -> list[dict]:
        """The indexed articles: source, title, language, passages."""
        return [
            {"source": source, **{k: entry[k] for k in ("title", "language", "passages")}}
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

    @property
    def busy(self) -> bool:
        """True while the LLM is writing an answer (others wait; retrieval does not)."""
        return self._generator is not None and self._generator.lock.locked()

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        for event in self.stream(question, history):
            if isinstance(event, Answer):
                return event
        raise RuntimeError("the stream ended without an answer")

    def stream(
        self, question: str, history: list[dict] | None = None
    ) -> Iterator[Sources | Delta | Answer]:
        """Yield Sources first, then Delta text pieces, then the final Answer."""
        started = time.perf_counter()
        elapsed = lambda: round((time.perf_counter() - started) * 1000, 1)  # noqa: E731
        question = clean_question(question, self.settings.max_question_chars)
        asked_in = detect_language(question)
        language = answer_language(asked_in)
        note = OTHER_LANGUAGE_NOTE if language != asked_in else ""
        query, earlier = standalone_query(question, history, self.settings.max_question_chars)
        hits = self.retriever.search(query, self.settings.top_k)
        retrieve_ms = elapsed()
        generator = self.generator
        chosen = select_passages(hits, generator.count_tokens, self.settings.passage_token_budget)
        sources = [
            Citation(
                i,
                h.passage.source,
                h.passage.title,
                h.passage.text,
                h.passage.start,
                h.passage.end,
                round(h.score, 4),
            )
            for i, h in enumerate(chosen, start=1)
        ]
        yield Sources(sources, language, retrieve_ms)
        timings = {"retrieve_ms": retrieve_ms, "sources_ms": elapsed()}

        def abstain(reason: str, trace: dict | None = None) -> Iterator[Delta | Answer]:
            text = note + abstention_message(language)
            yield Delta(text)
            timings.setdefault("prompt_tokens", 0)
            timings.setdefault("completion_tokens", 0)
            timings.update(first_token_ms=elapsed(), total_ms=elapsed(), abstain_reason=reason)
            yield Answer(text, True, language, [], timings, sources, trace or {})

        if too_far(max((h.dense for h in hits), default=None), self.settings.min_dense_score):
            yield from abstain("retrieval")
            return
        passages = [PromptPassage(c.marker, c.title, c.text) for c in sources]
        # The judgement reads only the best passages: the small model judges one passage far
        # better than five near-misses, and it is quick. The answer reads them all.
        judged = passages[: self.settings.judge_passages]
        reply = generator.start(
            messages(passages, question, language, earlier, question_first=True),
            self.settings.max_answer_tokens,
            judge_messages=messages(judged, question, language, earlier),
        )
        judgement = reply.judgement
        timings.update(
            yes_no_margin=round(judgement.yes_no_margin, 3),
            prompt_tokens=judgement.prompt_tokens,
            prompt_tokens_reused=judgement.reused_tokens,
            prompt_tokens_read=judgement.read_tokens,
            # The passages, the question once and the template: all but the question asked ahead.
            prompt_tokens_necessary=judgement.prompt_tokens
            - judgement.reused_tokens
            - generator.count_tokens(question_ahead(question)),
            prompt_ms=round(judgement.ms, 1),
        )
        if model_says_not_found(judgement.yes_no_margin, self.settings.min_yes_margin):
            reply.close()
            yield from abstain("model")
            return

        # An answer must state a fact (a number or name) that the passages hold. One that does
        # not is held back and read again, from the prompt with the question after the passages
        # only; if that reading fails too, the assistant abstains rather than show it.
        facts = PassageTerms([c.text for c in sources])
        second_reading = partial(
            generator.answer,
            messages(passages, question, language, earlier),
            self.settings.max_answer_tokens,
        )
        completion_tokens, rejected = 0, []
        for start_answer in (reply.answer, second_reading):
            generation = start_answer()
            markers, guard, raw = MarkerFilter(len(sources)), FactGuard(question, facts), []
            for piece in generation:
                raw.append(piece)
                if shown := guard.feed(markers.feed(piece)):
                    if "first_token_ms" not in timings:
                        timings["first_token_ms"] = elapsed()
                        shown = note + shown
                    yield Delta(shown)
            completion_tokens += generation.stats.completion_tokens
            held, check = guard.finish(markers.flush())
            if check.acceptable or guard.streamed:
                break
            rejected.append({"text": "".join(raw), "verdict": check.verdict})
        trace = {
            "answer_check": check.verdict
            + ("_shown" if guard.streamed and not check.acceptable else ""),
            "rejected_readings": rejected,
        }
        timings["completion_tokens"] = completion_tokens
        if not check.acceptable and not guard.streamed:
            yield from abstain(f"answer_{check.verdict}", trace)
            return
        if held:
            if "first_token_ms" not in timings:
                timings["first_token_ms"] = elapsed()
                held = note + held
            yield Delta(held)
        text, cited = clean_markers("".join(raw), len(sources))
        if not cited and text and (supporting := best_supporting(text, [c.text for c in sources])):
            # The small model often forgets its markers: cite the passage with the answer's terms.
            cited = [supporting]
            text = f"{text} [{supporting}]"
            yield Delta(f" [{supporting}]")
        stats = generation.stats
        timings.update(
            total_ms=elapsed(),
            tokens_per_s=round(
                stats.completion_tokens / ((stats.total_ms - (stats.first_token_ms or 0)) / 1000), 1
            )
            if stats.completion_tokens > 1
            else None,
        )
        by_marker = {c.marker: c for c in sources}
        yield Answer(
            note + text, False, language, [by_marker[n] for n in cited], timings, sources, trace
        )
