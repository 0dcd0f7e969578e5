"""RemoteGenerator against a fake server (httpx's MockTransport): what it accepts at start."""

import json

import httpx
import pytest

from rag.errors import GeneratorUnavailable
from rag.remote_generation import RemoteGenerator


def _server_replying(chunks: list[dict]):
    """A RemoteGenerator whose server streams these chat-completion chunks to every request."""
    body = "".join(f"data: {json.dumps({'choices': [c]})}\n\n" for c in chunks) + "data: [DONE]\n\n"
    generator = RemoteGenerator("http://generator.test/v1")
    generator.client = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, text=body))
    )
    return generator


@pytest.mark.parametrize("logprobs", [None, {"content": []}, {"content": [{"token": "Found"}]}])
def test_a_server_without_log_probabilities_is_refused_at_start(logprobs):
    generator = _server_replying([{"delta": {"content": "Found"}, "logprobs": logprobs}])
    with pytest.raises(GeneratorUnavailable, match="no log-probabilities"):
        generator.warm()


def test_a_server_with_log_probabilities_is_accepted():
    top = [{"token": "Found", "logprob": -0.1}, {"token": "The", "logprob": -3.0}]
    generator = _server_replying(
        [{"delta": {"content": "Found"}, "logprobs": {"content": [{"top_logprobs": top}]}}]
    )
    generator.warm()
