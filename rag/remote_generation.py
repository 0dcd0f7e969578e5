"""Generation on any OpenAI-compatible chat-completions server (llama.cpp's server,
llama-cpp-python's `llama_cpp.server`, vLLM), streamed.

One request per answer. The prompt's format has the model begin its reply with
"Found: yes" or "Found: no"; the server's `top_logprobs` for the token after "Found:" give
the same yes-over-no margin the in-process generator reads from the logits, so abstention
is decided the same way, and when it abstains the request is dropped after a few tokens.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator

import httpx

from rag.errors import GeneratorUnavailable, Stopped
from rag.generation import Generation, GenerationStats, Judgement, ReadAhead, Reply
from rag.prompt import break_control_markers
from rag.prompt import messages as prompt_messages

CONNECT_ATTEMPTS = 3  # retried on connection errors only, with a growing pause
TOP_LOGPROBS = 10
CHARS_PER_TOKEN = 3.75
JUDGEMENT_TOKENS = 4  # "Found", ":", " yes" and one to spare
FORMAT_NOT_FOLLOWED = 10.0  # margin used when the reply does not start with "Found:": it answered


def _chunks(
    response: httpx.Response, url: str, cancel: threading.Event | None = None
) -> Iterator[dict]:
    """The streamed choices of one response, as dicts; a dropped connection is a clear error.
    Once `cancel` is set, the next line closes the request (the server stops) and raises."""
    try:
        for line in response.iter_lines():
            if cancel is not None and cancel.is_set():
                response.close()
                raise Stopped("stopped while the answer was being written")
            if not line.startswith("data: ") or line.strip() == "data: [DONE]":
                continue
            body = json.loads(line[6:])
            if body.get("choices"):
                yield body["choices"][0]
    except (httpx.TransportError, json.JSONDecodeError) as exc:
        raise GeneratorUnavailable(
            f"the generator server at {url} stopped mid-answer ({type(exc).__name__}: {exc})"
        ) from None


def _top_logprobs(choice: dict) -> dict[str, float]:
    """Token -> log-probability of the most likely tokens at this choice's first token."""
    entries = (choice.get("logprobs") or {}).get("content") or []
    if not entries:
        return {}
    return {t["token"]: t["logprob"] for t in (entries[0].get("top_logprobs") or [])}


def _margin(choice: dict) -> float:
    """Log-probability of " yes" minus " no" at this token (equal to their logit difference),
    the same two tokens the in-process generator compares."""
    tops = _top_logprobs(choice)
    if " yes" not in tops and " no" not in tops:
        return FORMAT_NOT_FOLLOWED
    floor = min(tops.values()) - 1.0  # a token outside the top list is at most this likely
    return tops.get(" yes", floor) - tops.get(" no", floor)


class RemoteGenerator:
    def __init__(self, url: str, model: str = "", api_key: str = "", timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=5.0))
        self.identity = f"{self.url} ({model or 'default model'})"

    @property
    def busy(self) -> bool:
        return False  # the server queues requests itself

    def read_ahead(self, messages: list[dict]) -> ReadAhead:
        return "unsupported"  # the server keeps no cells of ours

    def count_tokens(self, text: str) -> int:
        # The tokenizer is on the server: an estimate from Qwen2.5's average characters per
        # token on the seed passages, close enough to choose the same passages.
        return round(len(text) / CHARS_PER_TOKEN) + 1

    def _open(self, messages: list[dict], max_tokens: int) -> httpx.Response:
        # Greedy and without a repeat penalty, as in-process: with llama_cpp.server's default
        # of 1.1 the model avoids repeating "[1]" and cites a neighbouring passage.
        # The server tokenizes the rendered chat itself, control markers included: those in
        # article text or questions are broken up so that they stay text.
        messages = [{**m, "content": break_control_markers(str(m["content"]))} for m in messages]
        body = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "repeat_penalty": 1.0,
            "stream": True,
            "logprobs": True,
            "top_logprobs": TOP_LOGPROBS,
            **({"model": self.model} if self.model else {}),
        }
        request = self.client.build_request("POST", f"{self.url}/chat/completions", json=body)
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                response = self.client.send(request, stream=True)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt == CONNECT_ATTEMPTS - 1:
                    raise GeneratorUnavailable(
                        f"the generator server at {self.url} is not reachable ({exc}); start it, "
                        "or unset RAG_GENERATOR_URL to use llama.cpp in-process"
                    ) from None
                time.sleep(0.5 * 2**attempt)
            except httpx.TimeoutException as exc:
                raise GeneratorUnavailable(
                    f"the generator server at {self.url} did not answer in time ({exc})"
                ) from None
        if response.status_code != 200:
            detail = response.read().decode(errors="replace")[:300]
            response.close()
            raise GeneratorUnavailable(
                f"the generator server at {self.url} answered {response.status_code}: {detail}"
            )
        return response

    def warm(self) -> None:
        """One token of a request with the fixed prompt prefix: checks, at start rather than
        mid-answer, that the server is up and gives log-probabilities; and lets a server with a
        prompt cache keep the prefix."""
        response = self._open(prompt_messages([], "", "en"), 1)
        try:
            choices = list(_chunks(response, self.url))
        finally:
            response.close()
        if not any(_top_logprobs(choice) for choice in choices):
            # Without them every margin would be FORMAT_NOT_FOLLOWED: it would never abstain.
            raise GeneratorUnavailable(
                f"the generator server at {self.url} returns no log-probabilities "
                "(`logprobs` with `top_logprobs`), which the assistant needs to decide when the "
                "articles do not answer; use a server that returns them (llama.cpp's "
                "llama-server, llama_cpp.server, vLLM), or unset RAG_GENERATOR_URL"
            )

    def _read_judgement(
        self, messages: list[dict], max_tokens: int, cancel: threading.Event | None
    ) -> tuple[httpx.Response, Iterator[dict], float, list[str]]:
        """Open a request and read its reply up to the yes/no token: the open response, the rest
        of its stream, the margin, and any text already said (when the model skipped the format)."""
        response = self._open(messages, max_tokens)
        choices = _chunks(response, self.url, cancel)
        said, margin, first = "", FORMAT_NOT_FOLLOWED, []
        for choice in choices:
            content = (choice.get("delta") or {}).get("content") or ""
            if not content:
                continue
            if said.rstrip().endswith("Found:"):
                margin = _margin(choice)
                break
            said += content
            if not "Found:".startswith(said.strip()[:6]):  # it answered without the judgement line
                first.append(said)
                break
        return response, choices, margin, first

    def start(
        self,
        messages: list[dict],
        max_tokens: int,
        judge_messages: list[dict] | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        """One request when the judgement and the answer read the same passages; otherwise a
        request of a few tokens for the judgement, and the answer's own request if it is wanted
        (a server with a prompt cache reuses what the two prompts share)."""
        started = time.perf_counter()
        judged = judge_messages or messages
        separate = judged != messages
        response, choices, margin, first = self._read_judgement(
            judged, JUDGEMENT_TOKENS if separate else max_tokens, cancel
        )
        if separate:
            response.close()
        prompt_tokens = self._count_messages(messages)
        # Assuming a server without a prompt cache.
        read = prompt_tokens + (self._count_messages(judged) if separate else 0)
        judgement = Judgement(
            margin, prompt_tokens, 0, (time.perf_counter() - started) * 1000, read
        )

        def answer() -> Generation:
            if separate:
                return self.answer(messages, max_tokens, cancel)
            generation = Generation(iter(()))
            generation.deltas = self._rest(first, choices, response, generation.stats)
            return generation

        return Reply(judgement, answer, response.close)

    def _count_messages(self, messages: list[dict]) -> int:
        return self.count_tokens("".join(str(m["content"]) for m in messages))

    def answer(
        self, messages: list[dict], max_tokens: int, cancel: threading.Event | None = None
    ) -> Generation:
        """The answer's own request; its judgement line is read and dropped."""
        generation = Generation(iter(()))
        response, choices, _, first = self._read_judgement(messages, max_tokens, cancel)
        generation.deltas = self._rest(first, choices, response, generation.stats)
        return generation

    def write(
        self, messages: list[dict], max_tokens: int, cancel: threading.Event | None = None
    ) -> Generation:
        """The reply to `messages` as they are (a translation): no judgement line to drop."""
        generation = Generation(iter(()))
        response = self._open(messages, max_tokens)
        choices = _chunks(response, self.url, cancel)
        generation.deltas = self._rest([], choices, response, generation.stats)
        return generation

    @staticmethod
    def _rest(
        first: list[str], choices: Iterator[dict], response: httpx.Response, stats: GenerationStats
    ) -> Iterator[str]:
        started = time.perf_counter()
        at_start = True
        try:
            pieces = itertools.chain(
                first, ((c.get("delta") or {}).get("content") or "" for c in choices)
            )
            for piece in pieces:
                if at_start:  # the line break after "Found: yes"
                    piece = piece.lstrip("\n")
                    at_start = not piece
                if piece:
                    stats.first_token_ms = (
                        stats.first_token_ms or (time.perf_counter() - started) * 1000
                    )
                    stats.completion_tokens += 1
                    yield piece
        finally:
            response.close()
            stats.total_ms = (time.perf_counter() - started) * 1000
