"""Text generation with llama.cpp in-process, streamed, one request at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from rag.models import ModelError


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    reused_tokens: int = 0  # prompt tokens served from the KV cache
    completion_tokens: int = 0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    finish_reason: str | None = None


@dataclass
class Generation:
    """Iterate for text deltas; `stats` is complete when iteration ends."""

    deltas: Iterator[str]
    stats: GenerationStats = field(default_factory=GenerationStats)

    def __iter__(self):
        return self.deltas


def _common_prefix(a, b) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class LlamaGenerator:
    def __init__(self, source: str, threads: int, context_tokens: int):
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        try:
            if ":" in source and not source.endswith(".gguf"):
                repo, filename = source.split(":", 1)
                self.llm = Llama.from_pretrained(repo, filename, n_ctx=context_tokens, n_threads=threads, n_threads_batch=threads, verbose=False)
            else:
                self.llm = Llama(source, n_ctx=context_tokens, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load the generator {source}: {exc} (run `rag models`, or set RAG_GENERATOR to a valid GGUF file)") from None
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{source} has no chat template; use an instruction-tuned GGUF")
        eos = self.llm.detokenize([self.llm.token_eos()], special=True).decode(errors="ignore")
        self.formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token="")
        self.lock = threading.Lock()  # llama.cpp serves one request at a time
        self.identity = source

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode(), add_bos=False, special=False))

    def warm(self, messages: list[dict]) -> None:
        """Evaluate the fixed prompt prefix once so the first question reuses it from the cache."""
        with self.lock:
            prompt = self.formatter(messages=messages).prompt
            self.llm.create_completion(prompt, max_tokens=1, temperature=0.0)

    def stream(self, messages: list[dict], max_tokens: int) -> Generation:
        generation = Generation(iter(()))
        generation.deltas = self._run(messages, max_tokens, generation.stats)
        return generation

    def _run(self, messages: list[dict], max_tokens: int, stats: GenerationStats) -> Iterator[str]:
        with self.lock:
            formatted = self.formatter(messages=messages)
            tokens = self.llm.tokenize(formatted.prompt.encode(), special=True)
            stats.prompt_tokens = len(tokens)
            stats.reused_tokens = min(_common_prefix(tokens, self.llm._input_ids.tolist()), len(tokens) - 1)
            started = time.perf_counter()
            chunks = self.llm.create_completion(
                tokens, max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.05, stop=[s for s in formatted.stop if s], stream=True
            )
            try:
                for chunk in chunks:
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
