"""`rag serve --api` started as a process on a loopback port with the real models, used through
the official `openai` Python client."""

import os
import subprocess
import sys

import pytest

from rag.errors import QuestionError
from rag.openai_api import _conversation
from tests.helpers import REPO, copy_of_seeds, free_port, serve_or_fail, stop

KEY = "test-key-0123"
CLOUD = "What share of the global cloud infrastructure market does Amazon hold?"


def test_the_question_is_the_last_user_message_and_the_rest_is_history():
    messages = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "Wer gründete OpenAI?"},
        {"role": "assistant", "content": "Sam Altman [1]."},
        {"role": "user", "content": [{"type": "text", "text": "Und wann?"}]},
    ]
    question, history = _conversation(messages)
    assert question == "Und wann?" and [m["role"] for m in history] == ["user", "assistant"]
    with pytest.raises(QuestionError, match="last message"):
        _conversation([{"role": "assistant", "content": "hi"}])


@pytest.fixture(scope="module")
def api_url(tmp_path_factory):
    corpus = copy_of_seeds(tmp_path_factory, "api-corpus")
    port = free_port()
    env = {
        "RAG_CORPUS": str(corpus),
        "RAG_INDEX": str(tmp_path_factory.mktemp("api-index")),
        "RAG_API_PORT": str(port),
        "RAG_HOST": "127.0.0.1",
        "RAG_API_KEY": KEY,
    }
    url = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-c", "from rag.cli import main; main()", "serve", "--api"]
    process = serve_or_fail(
        command,
        f"{url}/models",
        tmp_path_factory.mktemp("api-log") / "api.log",
        300,
        env=env,
        headers={"Authorization": f"Bearer {KEY}"},
    )
    yield url
    stop(process)


@pytest.fixture
def client(api_url):
    from openai import OpenAI

    return OpenAI(base_url=api_url, api_key=KEY, max_retries=0, timeout=120)


@pytest.mark.real
@pytest.mark.server
def test_the_assistant_is_the_one_model(client):
    assert [m.id for m in client.models.list()] == ["rag-news"]


@pytest.mark.real
@pytest.mark.server
def test_a_plain_completion_is_the_grounded_answer_with_its_citations(client):
    completion = client.chat.completions.create(
        model="rag-news", messages=[{"role": "user", "content": CLOUD}]
    )
    text = completion.choices[0].message.content
    assert "31" in text and completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra
    assert (
        extra["abstained"] is False
        and extra["citations"][0]["source"] == "004_049a8fec8080a705.txt"
    )
    assert f"[{extra['citations'][0]['marker']}]" in text
    assert completion.usage.completion_tokens > 0 and completion.usage.prompt_tokens > 0


@pytest.mark.real
@pytest.mark.server
def test_a_streamed_completion_ends_with_the_citations(client):
    chunks = list(
        client.chat.completions.create(
            model="rag-news", messages=[{"role": "user", "content": CLOUD}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "31" in text and len(chunks) > 3  # streamed in pieces, not one block
    last = chunks[-1]
    assert (
        last.choices[0].finish_reason == "stop"
        and last.model_extra["citations"][0]["source"] == "004_049a8fec8080a705.txt"
    )


@pytest.mark.real
@pytest.mark.server
def test_an_unanswerable_question_abstains_in_the_askers_language(client):
    completion = client.chat.completions.create(
        model="rag-news",
        messages=[{"role": "user", "content": "Quel temps fera-t-il demain à Lyon ?"}],
    )
    assert (
        completion.model_extra["abstained"] is True
        and completion.choices[0].message.content == "Les articles ne le disent pas."
    )


@pytest.mark.real
@pytest.mark.server
def test_a_bad_key_and_a_bad_question_are_rejected_with_a_message(api_url, client):
    import openai

    with pytest.raises(openai.AuthenticationError, match="invalid API key"):
        openai.OpenAI(base_url=api_url, api_key="wrong", max_retries=0).models.list()
    with pytest.raises(openai.BadRequestError, match="the question is empty"):
        client.chat.completions.create(
            model="rag-news", messages=[{"role": "user", "content": "  "}]
        )


@pytest.mark.real
@pytest.mark.server
def test_over_long_conversations_get_a_clear_error_not_a_server_error(api_url, client):
    import openai

    # Reproduced in review: a huge earlier message went into the prompt, overflowed the
    # context and gave HTTP 500.
    earlier = [
        {"role": "user", "content": "Microsoft " * 3000},
        {"role": "assistant", "content": "…"},
    ]
    reply = client.chat.completions.create(
        model="rag-news",
        messages=[*earlier, {"role": "user", "content": "Und wie viel davon 2019?"}],
    )
    assert reply.choices[0].message.content  # answered as a question of its own
    with pytest.raises(openai.BadRequestError, match="limit is 200"):
        client.chat.completions.create(
            model="rag-news", messages=[{"role": "user", "content": "Wer?"}] * 201
        )
    with pytest.raises(openai.APIStatusError, match="request body is over"):
        client.chat.completions.create(
            model="rag-news", messages=[{"role": "user", "content": "x" * 1_100_000}]
        )


def test_serving_the_api_off_loopback_without_a_key_is_refused():
    env = {**os.environ, "RAG_HOST": "0.0.0.0", "RAG_API_KEY": ""}
    result = subprocess.run(
        [sys.executable, "-c", "from rag.cli import main; main()", "serve", "--api"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        result.returncode != 0
        and "RAG_API_KEY" in result.stderr
        and "Traceback" not in result.stderr
    )


@pytest.mark.real
@pytest.mark.server
@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({"Host": "evil.example"}, None, 400, "does not answer to the host name 'evil.example'"),
        ({"Content-Type": "text/plain"}, '{"messages": []}', 415, "must be JSON"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, "messages=x", 415, "JSON"),
        ({}, '{"messages": 5}', 400, "`messages` must be a list"),
        ({}, "[1, 2]", 400, "valid dictionary"),
        ({}, "{not json", 400, "JSON decode error"),
        ({}, '{"messages": [5]}', 400, r"messages\[0\] must be an object"),
        ({}, '{"messages": [{"role": "user", "content": 5}]}', 400, r"messages\[0\].content"),
        ({}, '{"messages": [{"role": "user", "content": "hi"}], "stream": "y"}', 400, "stream"),
    ],
)
def test_foreign_hosts_cross_site_bodies_and_malformed_requests_are_refused(
    api_url, headers, body, status, message
):
    """DNS rebinding (another Host), a cross-site form post (no JSON type) and bodies of the
    wrong shape each get a 4xx with the reason, never an answer or a 500."""
    import re

    import httpx

    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **headers}
    if body is None:
        reply = httpx.get(f"{api_url}/models", headers=headers)
    else:
        reply = httpx.post(f"{api_url}/chat/completions", headers=headers, content=body)
    assert reply.status_code == status, reply.text
    assert re.search(message, reply.text), reply.text


@pytest.mark.real
@pytest.mark.server
def test_a_filter_limits_the_answer_to_the_chosen_articles(api_url, client):
    import openai

    chosen = "000_93756286b27f97d6.txt"  # the emails article: it says nothing of cloud shares
    completion = client.chat.completions.create(
        model="rag-news",
        messages=[{"role": "user", "content": CLOUD}],
        extra_body={"filter": {"sources": [chosen]}},
    )
    assert {c["source"] for c in completion.model_extra["citations"]} <= {chosen}
    assert "31" not in completion.choices[0].message.content
    with pytest.raises(openai.BadRequestError, match="no such article in the index: nope.txt"):
        client.chat.completions.create(
            model="rag-news",
            messages=[{"role": "user", "content": CLOUD}],
            extra_body={"filter": {"sources": ["nope.txt"]}},
        )
    with pytest.raises(openai.BadRequestError, match="`filter` must be"):
        client.chat.completions.create(
            model="rag-news",
            messages=[{"role": "user", "content": CLOUD}],
            extra_body={"filter": "000"},
        )
