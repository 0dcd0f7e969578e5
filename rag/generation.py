"""Text generation with llama.cpp in-process, streamed, one request at a time."""

from __future__ import annotations

import ctypes
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rag.errors import ModelError, Stopped
from rag.kv_states import PassageStates
from rag.prompt import ANSWER_PREFILL, JUDGEMENT_PREFILL, PASSAGES_END, break_control_markers
from rag.prompt import messages as prompt_messages


@dataclass
class GenerationStats:
    completion_tokens: int = 0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    finish_reason: str | None = None


@dataclass(frozen=True)
class Judgement:
    yes_no_margin: float
    prompt_tokens: int  # of the answer's prompt
    reused_tokens: int  # of them, already in the KV cache when the question came (the fixed prefix)
    ms: float
    read_tokens: int = 0  # prompt tokens the model reads for the judgement and the answer together
    restored_tokens: int = 0  # the passages' tokens, their KV cells read before the question


@dataclass
class Generation:
    """Iterate for text deltas; `stats` is complete when iteration ends."""

    deltas: Iterator[str]
    stats: GenerationStats = field(default_factory=GenerationStats)

    def __iter__(self):
        return self.deltas


@dataclass
class Reply:
    """The model's yes/no judgement, read first; the answer streams only if asked for."""

    judgement: Judgement
    answer: Callable[[], Generation]  # start (or go on with) the answer
    close: Callable[[], None] = lambda: None  # give up on the answer (abstaining)


# What reading a passage ahead came to (`LlamaGenerator.read_ahead`).
ReadAhead = Literal["read", "known", "busy", "full", "unsupported"]

_SPARE_SEQUENCE = 1  # a passage's KV cells are copied out of the cache through it
# Reading ahead waits this long after a request: a question's judgement and its answer are
# two requests, and a passage read between them would push the question out of the cache.
_QUIET_BEFORE_READING_AHEAD_S = 1.0


def _common_prefix(a, b) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class LlamaGenerator:
    def __init__(
        self,
        source: str,
        threads: int,
        context_tokens: int,
        draft_tokens: int = 0,
        passage_states_mb: int = 0,
        passage_states_dir: Path | None = None,
    ):
        """`draft_tokens`: how many tokens to guess ahead from the prompt while writing (prompt
        lookup: an answer copies names and figures from its passages); the model checks a
        guess in one batch, so every right guess saves a token's step (0 = no guesses).
        `passage_states_mb`: memory for passages' KV cells, read ahead or for earlier
        questions (rag.kv_states; 0 = every passage read with its question), and as much disk
        in `passage_states_dir` (None = memory only)."""
        import llama_cpp
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

        try:
            if ":" in source and not source.endswith(".gguf"):
                repo, filename = source.split(":", 1)
                self.llm = Llama.from_pretrained(
                    repo,
                    filename,
                    n_ctx=context_tokens,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                )
            else:
                self.llm = Llama(
                    source,
                    n_ctx=context_tokens,
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_batch=512,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"cannot load the generator {source}: {exc} (run `rag models`, or set "
                "RAG_GENERATOR to a valid GGUF file)"
            ) from None
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{source} has no chat template; use an instruction-tuned GGUF")
        eos = self.llm.detokenize([self.llm.token_eos()], special=True).decode(errors="ignore")
        self.formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token="")
        stop = self.formatter(messages=[{"role": "user", "content": ""}]).stop or []
        self.stop = [stop] if isinstance(stop, str) else [s for s in stop if s]
        self.yes_token = self.llm.tokenize(b" yes", add_bos=False)[0]
        self.no_token = self.llm.tokenize(b" no", add_bos=False)[0]
        self.lock = threading.Lock()  # llama.cpp serves one request at a time
        self._cancel: threading.Event | None = None  # the running request's
        self._waiting = 0  # requests waiting for the model: reading ahead gives way to them
        self._reading_ahead = False
        self._last_request = 0.0  # when the last request let go of the model (monotonic)
        # llama.cpp asks between the steps of every evaluation whether to give up: Stop then
        # interrupts the reading of a long prompt too, not only the writing after it.
        self._prefix = self._fixed_prefix_tokens()
        self.prefix_tokens = len(self._prefix)
        self.states: PassageStates | None = None
        if passage_states_mb:
            self._add_spare_sequence()  # a new context: before the abort check is set on it
            folder = passage_states_dir / self._cells_fingerprint() if passage_states_dir else None
            self.states = PassageStates(passage_states_mb << 20, folder)
        self._abort_check = llama_cpp.ggml_abort_callback(lambda _data: self._cancelled())
        self._set_abort_callback(self._abort_check)
        self._prefix_state: Any = None  # the KV cache of the fixed prefix alone, once warm
        # Checking guesses needs the logits of every token of a batch, which llama-cpp-python
        # keeps in a row per context position; prompts are read without them (the output layer
        # is an eighth of the model's weights), so that table is swapped in only while writing.
        self.drafts = (
            LlamaPromptLookupDecoding(num_pred_tokens=draft_tokens) if draft_tokens else None
        )
        self._all_logits: Any = None
        self.identity = source

    def _add_spare_sequence(self) -> None:
        """A context of two sequences sharing one KV cache (llama-cpp-python makes one of one):
        a passage's cells are copied out through the second. Results are the same bytes."""
        from llama_cpp import _internals

        params = self.llm.context_params
        params.n_seq_max, params.kv_unified = 2, True
        first = self.llm._ctx
        self.llm._ctx = _internals.LlamaContext(model=self.llm._model, params=params, verbose=False)
        first.close()

    def _cells_fingerprint(self) -> str:
        """What KV cells kept on disk depend on: the model file, llama.cpp's build, the threads
        (llama.cpp's sums may follow them) and the fixed prefix the passages come after."""
        import llama_cpp

        model = Path(self.llm.model_path)
        stat = model.stat()
        identity = [model.name, stat.st_size, stat.st_mtime_ns, llama_cpp.__version__]
        identity += [self.llm.n_threads, self.llm.n_threads_batch, self._prefix]
        return hashlib.sha256(repr(identity).encode()).hexdigest()[:16]

    @property
    def busy(self) -> bool:
        """True while a request has the model (reading ahead gives way at once)."""
        return self.lock.locked() and not self._reading_ahead

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode(), add_bos=False, special=False))

    def _cancelled(self) -> bool:
        if self._reading_ahead:
            return self._waiting > 0
        return self._cancel is not None and self._cancel.is_set()

    @contextmanager
    def _owned(self, cancel: threading.Event | None) -> Iterator[None]:
        """Hold the model for one request, which `cancel` (when set) stops, waiting or working."""
        self._waiting += 1  # under the GIL; read by the abort check of a reading ahead
        try:
            while not self.lock.acquire(timeout=0.1):
                if cancel is not None and cancel.is_set():
                    raise Stopped("stopped while waiting for the model")
        finally:
            self._waiting -= 1
        self._cancel = cancel
        try:
            yield
        except RuntimeError:  # llama_decode returned 2: the abort check said give up
            if self._cancelled():
                raise Stopped("stopped while the model read the passages") from None
            raise
        finally:
            self._cancel = None
            self._last_request = time.monotonic()
            self.lock.release()

    def _set_abort_callback(self, callback: Any) -> None:
        import llama_cpp

        llama_cpp.llama_set_abort_callback(self.llm._ctx.ctx, callback, None)

    @contextmanager
    def bare(self) -> Iterator[Any]:
        """The llama.cpp model with no abort check (a Python call per graph node), held for the
        caller alone: for measuring the raw speed the assistant's own figures compare with."""
        import llama_cpp

        with self._owned(None):
            self._set_abort_callback(llama_cpp.ggml_abort_callback(0))
            try:
                yield self.llm
            finally:
                self._set_abort_callback(self._abort_check)

    def render(self, messages: list[dict]) -> str:
        """The chat-templated prompt, ready for an assistant prefill to be appended."""
        return self.formatter(messages=messages).prompt  # type: ignore[arg-type]

    def _tokens(self, messages: list[dict], prefill: str = "") -> list[int]:
        """The chat-templated prompt as tokens: the template's own markers as control tokens,
        every message's text as plain text, so that an article (or a question) containing
        "<|im_end|><|im_start|>system" cannot open a turn of its own."""
        return self._join(self._segments(messages, prefill))

    def _join(self, segments: list[tuple[str, bool]]) -> list[int]:
        tokens: list[int] = []
        for text, special in segments:
            # The first piece gets the BOS token when the model wants one, as a whole prompt would.
            if text:
                tokens += self.llm.tokenize(text.encode(), add_bos=not tokens, special=special)
        return tokens

    def _segments(self, messages: list[dict], prefill: str) -> list[tuple[str, bool]]:
        """The rendered prompt cut into (text, is template) pieces: the template is rendered with
        a placeholder for each message's content, which goes back in as plain text."""
        placeholders = [{**m, "content": f"\x00{i}\x00"} for i, m in enumerate(messages)]
        parts = re.split(r"\x00(\d+)\x00", self.render(placeholders) + prefill)
        if len(parts) != 2 * len(messages) + 1:
            # A template that changes the content it is given: fall back to plain text with
            # anything that reads as a control marker broken up.
            return [
                (
                    self.render(
                        [
                            {**m, "content": break_control_markers(str(m["content"]))}
                            for m in messages
                        ]
                    )
                    + prefill,
                    True,
                )
            ]
        return [
            (part, True) if k % 2 == 0 else (str(messages[int(part)]["content"]), False)
            for k, part in enumerate(parts)
        ]

    def _fixed_prefix_tokens(self) -> list[int]:
        """The tokens every prompt starts with: the instructions, the worked examples and the
        opening of the question's turn. Worth evaluating once, ahead of time."""
        return self._join(self._segments(prompt_messages([], "", "en"), "")[:-2])

    def _passages_end(self, messages: list[dict], tokens: list[int]) -> int | None:
        """Where the passages' part of a judgement prompt ends (it does not depend on the
        question, see rag.kv_states); None when there are no KV cells to keep for it."""
        if self.states is None:
            return None
        content = str(messages[-1]["content"])
        if not content.startswith("<passages>") or PASSAGES_END not in content:
            return None  # the question comes first
        # The message's text is tokenized on its own after the fixed prefix (`_join`).
        cut = content.index(PASSAGES_END) + len(PASSAGES_END)
        part = self.llm.tokenize(content[:cut].encode(), add_bos=False, special=False)
        end = self.prefix_tokens + len(part)
        return end if tokens[self.prefix_tokens : end] == part and end < len(tokens) else None

    def _evaluate(self, tokens: list[int], passages_end: int | None = None) -> tuple[int, int]:
        """Feed `tokens` into the context, reusing the cached fixed prefix and, when the prompt's
        passages end at `passages_end`, their kept KV cells; return how many tokens of each.

        Nothing else is reused, even when the previous question's prompt matches further:
        llama.cpp's floating-point results depend on where a batch starts, so reusing more would
        make a question's judgement and answer depend on what was asked before it (its yes/no
        margin moved). The passages are read as a batch of their own for the same reason."""
        self._restore_prefix(tokens)
        cached = _common_prefix(tokens, self.llm._input_ids.tolist())
        reused = min(cached, len(tokens) - 1, self.prefix_tokens)
        self.llm.n_tokens = reused
        if passages_end is None or reused < self.prefix_tokens:
            self.llm.eval(tokens[reused:])
            return reused, 0
        restored = self._read_passages(tokens, passages_end, cached)
        self.llm.eval(tokens[passages_end:])
        return reused, restored

    def _read_passages(self, tokens: list[int], end: int, cached: int, evict: bool = True) -> int:
        """Bring the passages' tokens (after the fixed prefix, up to `end`) into the context:
        from the cache if the last prompt held them, else from their kept KV cells, else read
        and keep. Return how many were not read now."""
        assert self.states is not None
        start = self.prefix_tokens
        if cached >= end:
            self.llm.n_tokens = end
            return end - start
        key = self._passages_key(tokens, end)
        cells = self.states.get(key)
        if cells is not None:
            if self._put_cells(cells, tokens, end):
                return end - start
            self.states.discard(key)
        self.llm.n_tokens = start
        self.llm.eval(tokens[start:end])
        self.states.put(key, self._copy_cells(start, end), evict)
        return 0

    def _passages_key(self, tokens: list[int], end: int) -> bytes:
        """What kept KV cells are found by: the passages' tokens (the prefix is the same)."""
        return np.asarray(tokens[self.prefix_tokens : end], dtype=np.int32).tobytes()

    def _copy_cells(self, start: int, end: int) -> bytes:
        """The KV cells of context positions `start` to `end` (the spare sequence holds them
        alone while llama.cpp writes them out)."""
        import llama_cpp

        ctx = self.llm._ctx.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        llama_cpp.llama_memory_seq_cp(memory, 0, _SPARE_SEQUENCE, start, end)
        try:
            size = llama_cpp.llama_state_seq_get_size(ctx, _SPARE_SEQUENCE)
            buffer = (ctypes.c_uint8 * size)()
            written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, _SPARE_SEQUENCE)
        finally:
            llama_cpp.llama_memory_seq_rm(memory, _SPARE_SEQUENCE, -1, -1)
        return ctypes.string_at(buffer, written)

    def _put_cells(self, cells: bytes, tokens: list[int], end: int) -> bool:
        """Put kept KV cells back after the fixed prefix (through the spare sequence, since
        llama.cpp clears the sequence it writes to); False if llama.cpp refused them."""
        import llama_cpp

        ctx = self.llm._ctx.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        start = self.prefix_tokens
        self.llm.n_tokens = start
        self.llm._ctx.kv_cache_seq_rm(-1, start, -1)
        source = (ctypes.c_uint8 * len(cells)).from_buffer_copy(cells)
        if llama_cpp.llama_state_seq_set_data(ctx, source, len(cells), _SPARE_SEQUENCE) == 0:
            return False
        llama_cpp.llama_memory_seq_cp(memory, _SPARE_SEQUENCE, 0, -1, -1)
        llama_cpp.llama_memory_seq_rm(memory, _SPARE_SEQUENCE, -1, -1)
        self.llm.input_ids[start:end] = tokens[start:end]
        self.llm.n_tokens = end
        return True

    def _restore_prefix(self, tokens: list[int]) -> None:
        """After a prompt with other instructions (a translation), put the fixed prefix's KV
        cache back from memory (under a second) rather than read it again (600 tokens)."""
        cached = self.llm._input_ids[: self.llm.n_tokens].tolist()
        if (
            self._prefix_state is not None
            and _common_prefix(tokens, cached) < self.prefix_tokens
            and _common_prefix(tokens, self._prefix_state.input_ids.tolist()) == self.prefix_tokens
        ):
            self.llm.load_state(self._prefix_state)

    def _read_long_prompt(self, tokens: list[int], guesses: int) -> None:
        """Read a long unread part of the prompt, all but its last token, with one row of
        logits. While writing with guesses every token read gets a row, in llama.cpp's output
        buffer too, and a second reading's prompt of some 450 tokens would grow both to 450
        rows of 600 KB, for good. A short part (the "yes" after a judgement) is left to the
        writing as before: reading it in two batches would change some answers' wording."""
        cached = _common_prefix(tokens[:-1], self.llm._input_ids[: self.llm.n_tokens].tolist())
        if len(tokens) - cached > guesses + 1:  # more than a batch of guesses checks
            self.llm.n_tokens = cached
            self.llm.eval(tokens[cached:-1])

    @contextmanager
    def _writing(self, tokens: list[int], guesses: bool) -> Iterator[None]:
        """While writing `tokens`' continuation with guesses: every token's logits, in a table
        of a row per position (allocated once, its pages touched only where written)."""
        if self.drafts is None or not guesses:
            yield
            return
        self._read_long_prompt(tokens, self.drafts.num_pred_tokens)
        if self._all_logits is None:
            self._all_logits = np.empty((self.llm.n_ctx(), self.llm.n_vocab()), dtype=np.single)
        last_logits, self.llm.scores = self.llm.scores, self._all_logits
        self.llm._logits_all, self.llm.draft_model = True, self.drafts
        try:
            yield
        finally:
            self.llm._logits_all, self.llm.draft_model = False, None
            self.llm.scores = last_logits

    def judge(
        self,
        tokens: list[int],
        cancel: threading.Event | None = None,
        passages_end: int | None = None,
    ) -> Judgement:
        """Evaluate the prompt `tokens` (which end where the model says yes or no) and read the
        logit of " yes" minus that of " no": the model's own judgement as a number the
        application can threshold (its argmax alone says yes far too often). The evaluated
        prompt stays in the KV cache for the answer that follows, as far as the prompts match."""
        with self._owned(cancel):
            started = time.perf_counter()
            reused, restored = self._evaluate(tokens, passages_end)
            logits = np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.llm.n_vocab(),))
            margin = float(logits[self.yes_token] - logits[self.no_token])
            ms = (time.perf_counter() - started) * 1000
            return Judgement(margin, len(tokens), reused, ms, restored_tokens=restored)

    def warm(self) -> None:
        """Evaluate the fixed prompt prefix once so that the first question reuses it."""
        with self._owned(None):
            self._evaluate(self._prefix)
            self._prefix_state = self.llm.save_state()
            # Its copy of the logits (hundreds of MB) is not needed: the next prompt is evaluated.
            self._prefix_state.scores = self._prefix_state.scores[:1].copy()

    def read_ahead(self, messages: list[dict]) -> ReadAhead:
        """Read the passages of the judgement over `messages` (any question) and keep their KV
        cells, if the model is idle; a request that comes meanwhile stops it at once."""
        tokens = self._tokens(messages, JUDGEMENT_PREFILL)
        end = self._passages_end(messages, tokens)
        if self.states is None or end is None:
            return "unsupported"
        if self._passages_key(tokens, end) in self.states:
            return "known"
        if self.states.full:
            return "full"
        quiet = time.monotonic() - self._last_request >= _QUIET_BEFORE_READING_AHEAD_S
        if self._waiting or not quiet or not self.lock.acquire(blocking=False):
            return "busy"
        self._reading_ahead = True
        try:
            self._restore_prefix(tokens)
            cached = _common_prefix(tokens, self.llm._input_ids.tolist())
            if cached < self.prefix_tokens:
                return "unsupported"  # not warm: the prefix is read by `warm` alone
            self._read_passages(tokens, end, cached, evict=False)
            return "read"
        except RuntimeError:  # llama_decode gave up: a request came
            if self._waiting:
                return "busy"
            raise
        finally:
            self._reading_ahead = False
            self.lock.release()

    def start(
        self,
        messages: list[dict],
        max_tokens: int,
        judge_messages: list[dict] | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        """Judge first (the prompt of `judge_messages`, default `messages`, up to "Found:"), then,
        if asked, answer `messages`, reusing from the KV cache what the two prompts share."""
        answer_tokens = self._tokens(messages, ANSWER_PREFILL)
        judge_tokens = self._tokens(judge_messages or messages, JUDGEMENT_PREFILL)
        passages_end = self._passages_end(judge_messages or messages, judge_tokens)
        judgement = self.judge(judge_tokens, cancel, passages_end)
        # llama.cpp goes on from the judgement's tokens as far as the answer's prompt matches them.
        shared = _common_prefix(answer_tokens, judge_tokens)
        read = (
            len(judge_tokens)
            - judgement.reused_tokens
            - judgement.restored_tokens
            + len(answer_tokens)
            - shared
        )
        judgement = replace(judgement, prompt_tokens=len(answer_tokens), read_tokens=read)
        # When it shares the judgement's passages, their KV cells go back in before it is
        # written if another judgement came in between.
        answer_passages_end = passages_end if passages_end and shared >= passages_end else None
        return Reply(
            judgement,
            lambda: self.stream(
                answer_tokens, max_tokens, cancel, passages_end=answer_passages_end
            ),
        )

    def answer(
        self, messages: list[dict], max_tokens: int, cancel: threading.Event | None = None
    ) -> Generation:
        """An answer to `messages` with no judgement before it (a second reading)."""
        return self.stream(self._tokens(messages, ANSWER_PREFILL), max_tokens, cancel)

    def write(
        self, messages: list[dict], max_tokens: int, cancel: threading.Event | None = None
    ) -> Generation:
        """The model's reply to `messages` as they are: no judgement, nothing pre-filled. No
        guesses: a translation seldom copies its prompt's tokens, so most would be wasted."""
        return self.stream(self._tokens(messages), max_tokens, cancel, guesses=False)

    def stream(
        self,
        tokens: list[int],
        max_tokens: int,
        cancel: threading.Event | None = None,
        guesses: bool = True,
        passages_end: int | None = None,
    ) -> Generation:
        """Write the continuation of `tokens`; the passages up to `passages_end` (when given)
        from their kept KV cells if the cache no longer holds them."""
        generation = Generation(iter(()))
        generation.deltas = self._run(
            tokens, max_tokens, generation.stats, cancel, guesses, passages_end
        )
        return generation

    def _run(
        self,
        tokens: list[int],
        max_tokens: int,
        stats: GenerationStats,
        cancel: threading.Event | None,
        guesses: bool,
        passages_end: int | None,
    ) -> Iterator[str]:
        with self._owned(cancel):
            self._restore_prefix(tokens)  # into the usual logits table, before the writing's
            if passages_end is not None:
                cached = _common_prefix(tokens, self.llm._input_ids.tolist())
                if self.prefix_tokens <= cached < passages_end:
                    self._read_passages(tokens, passages_end, cached)
            with self._writing(tokens, guesses):
                started = time.perf_counter()
                chunks: Any = self.llm.create_completion(  # streamed: an iterator of chunk dicts
                    tokens,
                    max_tokens=max_tokens,
                    temperature=0.0,
                    repeat_penalty=1.0,
                    stop=self.stop,
                    stream=True,
                )
                try:
                    for chunk in chunks:
                        if self._cancelled():
                            raise Stopped("stopped while the answer was being written")
                        choice = chunk["choices"][0]
                        if choice["text"]:
                            if stats.first_token_ms is None:
                                stats.first_token_ms = (time.perf_counter() - started) * 1000
                            stats.completion_tokens += 1
                            yield choice["text"]
                        stats.finish_reason = choice.get("finish_reason") or stats.finish_reason
                finally:
                    chunks.close()
                    stats.total_ms = (time.perf_counter() - started) * 1000
