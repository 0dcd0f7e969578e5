"""An OpenAI-compatible API where the assistant is the "model": `rag serve --api`.

`POST /v1/chat/completions` (plain and `stream: true`) answers the last user message from
the articles, with the earlier messages as the conversation; `GET /v1/models` lists the one
model. The reply's text is the grounded answer with its `[n]` markers. Two extra fields,
which OpenAI clients pass through (`completion.model_extra` in the Python client), carry
what the text cannot: `citations` (marker, source, title, passage text, offsets, score,
the offsets of sentences withheld from the model) and `abstained`. When streaming they
come in the last chunk, the one with `finish_reason`.
A request may limit itself to some articles with `"filter": {"sources": ["a.txt", …]}`
(`extra_body` in the Python client).

Bind rules as for the web chat: loopback by default; any other address needs `RAG_API_KEY`,
and when a key is set every request must send it as `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse

from rag.answer import Answer
from rag.assistant import Assistant, Delta
from rag.errors import QuestionError
from rag.followup import message_text
from rag.hosts import HostCheck, allowed_hosts
from rag.settings import Settings, is_loopback

MODEL_ID = "rag-news"


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": None}},
        status_code=status,
    )


def _citations(answer: Answer) -> list[dict]:
    return [c.to_dict() for c in answer.citations]


def _usage(answer: Answer) -> dict:
    prompt = int(answer.timings.get("prompt_tokens") or 0)
    completion = int(answer.timings.get("completion_tokens") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


# Bounds on a request: the assistant reads only the last two questions, so a longer
# conversation is accepted but its size is capped, and nothing unbounded reaches a prompt.
MAX_BODY_BYTES = 1_000_000
MAX_MESSAGES = 200


def _conversation(messages: list[dict]) -> tuple[str, list[dict]]:
    """The question (last user message) and the history before it; raises QuestionError."""
    if not isinstance(messages, list):
        raise QuestionError("`messages` must be a list of chat messages")
    if len(messages) > MAX_MESSAGES:
        raise QuestionError(
            f"the conversation has {len(messages)} messages; the limit is {MAX_MESSAGES}"
        )
    turns = [
        {"role": m["role"], "content": _text(n, m)}
        for n, m in enumerate(messages)
        if _checked(n, m).get("role") in ("user", "assistant")
    ]
    if not turns or turns[-1]["role"] != "user":
        raise QuestionError("the last message must come from the user")
    return turns[-1]["content"], turns[:-1]


def _checked(index: int, message: object) -> dict:
    if not isinstance(message, dict):
        raise QuestionError(f"messages[{index}] must be an object with a role and a content")
    return message


def _text(index: int, message: dict) -> str:
    """The message's text; raises QuestionError unless it is text or a list of text parts."""
    content = message.get("content")
    parts_are_text = isinstance(content, list) and all(
        isinstance(part, dict) and isinstance(part.get("text", ""), str) for part in content
    )
    if not (content is None or isinstance(content, str) or parts_are_text):
        raise QuestionError(f"messages[{index}].content must be text or a list of text parts")
    return message_text(message)


def _sources(value: object) -> list[str] | None:
    """The articles a request limits itself to: `"filter": {"sources": ["a.txt", …]}`."""
    if value is None:
        return None
    sources = value.get("sources") if isinstance(value, dict) else None
    if not (isinstance(sources, list) and all(isinstance(s, str) for s in sources)):
        raise QuestionError('`filter` must be {"sources": [file names of indexed articles]}')
    return sources


def create_api(
    assistant: Assistant, api_key: str = "", hosts: frozenset[str] = allowed_hosts("127.0.0.1")
) -> FastAPI:
    api = FastAPI(
        title="rag-news OpenAI-compatible API", docs_url=None, redoc_url=None, openapi_url=None
    )

    @api.middleware("http")
    async def check_request(request: Request, call_next):
        if api_key:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not secrets.compare_digest(given.encode(), api_key.encode()):
                return _error(401, "invalid API key", "invalid_request_error")
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            return _error(
                413, f"the request body is over {MAX_BODY_BYTES} bytes", "invalid_request_error"
            )
        # A cross-site form or no-cors fetch cannot send this type without a preflight.
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and media_type != "application/json":
            return _error(
                415,
                "the request body must be JSON (Content-Type: application/json)",
                "invalid_request_error",
            )
        return await call_next(request)

    api.add_middleware(HostCheck, allowed=hosts)  # added last: runs first

    @api.exception_handler(RequestValidationError)
    async def bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problem = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
        reason = problem.get("msg", "invalid request")
        return _error(400, f"{where}: {reason}" if where else reason, "invalid_request_error")

    @api.get("/v1/models")
    def list_models() -> dict:
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "rag-news"}],
        }

    @api.post("/v1/chat/completions")
    def chat_completions(body: dict):
        try:
            if not isinstance(body.get("stream", False), bool):
                raise QuestionError("`stream` must be true or false")
            question, history = _conversation(body.get("messages") or [])
            events = assistant.stream(question, history, _sources(body.get("filter")))
            # The Sources event: a bad question raises QuestionError before any reply starts.
            next(events)
        except QuestionError as exc:
            return _error(400, str(exc), "invalid_request_error")
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.get("stream"):
            return StreamingResponse(
                _chunks(events, completion_id, created), media_type="text/event-stream"
            )
        answer = next(event for event in events if isinstance(event, Answer))
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(answer),
            "citations": _citations(answer),
            "abstained": answer.abstained,
        }

    return api


def _chunks(events: Iterator, completion_id: str, created: int) -> Iterator[str]:
    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for event in events:
        if isinstance(event, Delta):
            yield chunk({"content": event.text})
        elif isinstance(event, Answer):
            yield chunk(
                {},
                "stop",
                usage=_usage(event),
                citations=_citations(event),
                abstained=event.abstained,
            )
    yield "data: [DONE]\n\n"


def serve(settings: Settings) -> None:
    """Run the API on settings.host:settings.api_port; refuses off loopback without a key."""
    import uvicorn

    key = settings.api_key.get_secret_value()
    if not is_loopback(settings.host) and not key:
        raise SystemExit(
            f"error: refusing to serve the API on {settings.host} without a key: set RAG_API_KEY, "
            "or use RAG_HOST=127.0.0.1"
        )
    hosts = allowed_hosts(settings.host, settings.allowed_hosts)
    assistant = Assistant(settings)
    assistant.start_reading_ahead()
    api = create_api(assistant, key, hosts)
    uvicorn.run(api, host=settings.host, port=settings.api_port, log_level="warning")
