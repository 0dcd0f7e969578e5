"""The web chat: a thin Gradio layer over `rag.Assistant`.

.venv/bin/python -m ui.app    (RAG_HOST, RAG_PORT; off loopback RAG_AUTH_USER, RAG_AUTH_PASSWORD)
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing phones home

from collections import OrderedDict

import gradio as gr
from starlette.middleware import Middleware

from rag import (
    MAX_UPLOAD_BYTES,
    Answer,
    Assistant,
    Delta,
    HostCheck,
    RagError,
    Settings,
    Sources,
    allowed_hosts,
    conversation_markdown,
    detect_language,
    feedback,
    is_loopback,
    message_text,
)
from ui.render import CSS, search_html, shown_key, sources_html, timings_line

MAX_SESSIONS = 200
MAX_ANSWERS_KEPT = 500  # a session's

EXAMPLES = [
    "Wie viel hat Microsoft inzwischen insgesamt in OpenAI investiert?",
    "Welche KI-Beschleuniger hat Microsoft auf der Ignite angekündigt?",
    "Qui a transmis le message de Kevin Scott à Amy Hood ?",
    "Combien d'employés d'OpenAI ont signé la lettre ?",
    "What share of the global cloud infrastructure market does Amazon hold?",
    "Who is the CFO of Microsoft mentioned in the emails?",
]

# Escape stops the answer being written, as the Stop button does.
KEYBOARD_JS = """
() => {
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") document.querySelector("#stop")?.click();
  });
}
"""

# System fonts only: the default theme would fetch fonts from the network.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
)


def build(assistant: Assistant) -> gr.Blocks:
    feedback_file = assistant.settings.feedback_file.expanduser()
    # Each browser session's answers by the text shown for them, for rating and export (a
    # message's place in the chat moves under Retry and Clear; its text does not). The
    # oldest sessions are forgotten first.
    sessions: OrderedDict[str, dict[str, tuple[str, Answer]]] = OrderedDict()
    # The answers being written for each session, which its Stop button (or Esc) interrupts.
    running: dict[str, set[threading.Event]] = {}
    running_lock = threading.Lock()

    def conversation(request: gr.Request) -> dict[str, tuple[str, Answer]]:
        key = request.session_hash or ""
        sessions[key] = sessions.pop(key, {})
        while len(sessions) > MAX_SESSIONS:
            sessions.popitem(last=False)
        return sessions[key]

    def answered(history: list[dict], request: gr.Request) -> list[tuple[str, Answer]]:
        """The (question, Answer) of each answer in `history` this session knows."""
        answers = conversation(request)
        said = [shown_key(message_text(m)) for m in history if m["role"] == "assistant"]
        return [answers[key] for key in said if key in answers]

    def respond(
        question: str,
        history: list[dict],
        search_only: bool,
        scope: list[str],
        request: gr.Request,
    ):
        answers = conversation(request)
        prior = [{"role": m["role"], "content": message_text(m)} for m in history]
        history = prior + [
            {"role": "user", "content": question},
            {"role": "assistant", "content": "…"},
        ]
        if search_only:
            yield search(question, history, scope)
            return
        yield from show(
            lambda cancel: assistant.stream(question, prior, scope or None, cancel),
            question,
            history,
            answers,
            request,
        )

    def summarise(source: str, history: list[dict], request: gr.Request):
        """A summary of the article chosen in the Articles panel, as a turn of the chat."""
        if not source:
            yield gr.skip(), gr.skip(), gr.skip(), "Choose an article to summarise."
            return
        answers = conversation(request)
        history = [{"role": m["role"], "content": message_text(m)} for m in history]
        asked = [m["content"] for m in history if m["role"] == "user"]
        language = detect_language(asked[-1]) if asked else "en"
        request_text = f"Summary: {source}"
        history += [
            {"role": "user", "content": request_text},
            {"role": "assistant", "content": "…"},
        ]
        yield from show(
            lambda cancel: assistant.summarise(source, language, cancel),
            request_text,
            history,
            answers,
            request,
        )

    def show(
        events: Callable[[threading.Event], Iterator[Sources | Delta | Answer]],
        question: str,
        history: list[dict],
        answers: dict,
        request: gr.Request,
    ):
        """Stream an answer's events into the chat and the sources panel; Stop ends them."""
        passages, language, finished = [], "en", False
        cancel = threading.Event()
        key = request.session_hash or ""
        with running_lock:
            running.setdefault(key, set()).add(cancel)
        try:
            for event in events(cancel):
                if isinstance(event, Sources):
                    passages, language = event.passages, event.language
                    status = (
                        "⏳ Another answer is being written; yours is queued."
                        if assistant.busy
                        else ""
                    )
                    yield history, "", sources_html(passages, language), status
                elif isinstance(event, Delta):
                    history[-1]["content"] = history[-1]["content"].removeprefix("…") + event.text
                    yield history, "", gr.skip(), ""
                elif isinstance(event, Answer):
                    finished = True
                    history[-1]["content"] = ("∅ " if event.abstained else "") + event.text
                    answers[shown_key(history[-1]["content"])] = (
                        question,
                        event,
                    )  # to rate, export
                    if len(answers) > MAX_ANSWERS_KEPT:
                        del answers[next(iter(answers))]
                    yield (
                        history,
                        "",
                        sources_html(passages, language, event),
                        timings_line(event.timings),
                    )
            if cancel.is_set() and not finished:  # the stream ended early: Stop
                written = history[-1]["content"].removeprefix("…")
                history[-1]["content"] = f"{written} (stopped)".strip()
                yield history, "", gr.skip(), ""
        except RagError as exc:  # a bad question; a generator server gone mid-answer
            history[-1]["content"] = f"⚠ {exc}"
            yield history, "", gr.skip(), ""
        finally:
            with running_lock:  # an entry only while the session has an answer running
                running[key].discard(cancel)
                if not running[key]:
                    del running[key]

    def stop_answers(request: gr.Request) -> None:
        """Stop (or Esc): the model gives up this session's answer within a fraction of a
        second, even while it reads the passages; Gradio's own cancel would wait for that."""
        with running_lock:
            for cancel in running.get(request.session_hash or "", set()):
                cancel.set()

    def search(question: str, history: list[dict], scope: list[str]):
        """Search only: the passages at once, no model call."""
        started = time.perf_counter()
        try:
            found = assistant.search(question, scope or None)
        except RagError as exc:
            history[-1]["content"] = f"⚠ {exc}"
            return history, "", gr.skip(), ""
        titles = "; ".join(f"[{c.marker}] {c.title}" for c in found) or "no passage"
        history[-1]["content"] = f"Passages: {titles}"
        took = f"search only · {(time.perf_counter() - started) * 1000:.0f} ms"
        return history, "", search_html(found, question, detect_language(question)), took

    def regenerate(
        history: list[dict],
        search_only: bool,
        scope: list[str],
        retry: gr.RetryData,
        request: gr.Request,
    ):
        """Ask the question of the message `retry` points at again."""
        question = message_text(history[retry.index])
        yield from respond(question, history[: retry.index], search_only, scope, request)

    def rate(history: list[dict], comment: str, rating: gr.LikeData, request: gr.Request):
        """Keep a thumbs up or down, with the comment box's text, in the local feedback file."""
        index = rating.index if isinstance(rating.index, int) else rating.index[0]
        found = answered(history[index : index + 1], request)
        if not found:
            return "Only answers can be rated.", comment
        question, answer = found[0]
        feedback.record(
            feedback_file,
            liked=rating.liked is True,
            comment=comment,
            question=question,
            answer=answer,
            settings=assistant.settings.model_dump(mode="json"),
        )
        return f"Rating saved on this machine ({feedback_file}). Thank you.", ""

    def export(history: list[dict], request: gr.Request):
        """The conversation shown, as a Markdown file with the passages each answer cites."""
        shown = answered(history, request)
        folder = Path(tempfile.mkdtemp(prefix="rag-export-"))
        path = folder / "conversation.md"
        path.write_text(conversation_markdown(shown), "utf-8")
        return gr.update(value=str(path), visible=True)

    def articles_table():
        rows = [
            [a["source"], a["language"], a["date"] or "", a["passages"], a["title"]]
            for a in assistant.articles()
        ]
        names = [a["source"] for a in assistant.articles()]
        return rows, gr.update(choices=names, value=None), gr.update(choices=names)

    def upload(files, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (gradio injects it)
        messages = []
        for file in files or []:
            path = Path(file if isinstance(file, str) else file.name)
            try:
                report = assistant.add_article(path.name, path.read_bytes())
                messages.append(f"✓ {path.name}: indexed ({report.passages} passages in all)")
            except (RagError, OSError) as exc:
                messages.append(f"✗ {exc}")
        return (*articles_table(), "\n\n".join(messages), None)

    def remove(source):
        if not source:
            return (*articles_table(), "Choose an article to remove.")
        try:
            assistant.remove_article(source)
            message = f"✓ {source} removed"
        except (RagError, OSError) as exc:
            message = f"✗ {exc}"
        return (*articles_table(), message)

    def ask_api(question: str) -> dict:
        """Answer one question; returns text, abstained, language, citations and timings."""
        try:
            answer = assistant.ask(question)
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        return {
            "text": answer.text,
            "abstained": answer.abstained,
            "language": answer.language,
            "timings": answer.timings,
            "citations": [c.to_dict() for c in answer.citations],
        }

    def search_api(query: str) -> list[dict]:
        """Search only: the best passages for `query`, no answer written."""
        try:
            return [c.to_dict() for c in assistant.search(query)]
        except RagError as exc:
            raise gr.Error(str(exc)) from None

    with gr.Blocks(title="News Q&A") as demo:
        gr.Markdown(
            "## Ask the articles\nAnswers come from the indexed articles only, in your language "
            "(Deutsch, français, English), with [n] pointing at the passage that says it."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat", height=460, render_markdown=False, elem_id="chat"
                )
                with gr.Row():
                    question = gr.Textbox(
                        label="Question (Enter asks, Shift+Enter a new line, Esc stops)",
                        placeholder="Frage · question · question …",
                        show_label=False,
                        scale=6,
                        elem_id="question",
                        max_lines=4,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="send")
                    stop = gr.Button("Stop", scale=1, elem_id="stop")
                with gr.Row():
                    search_only = gr.Checkbox(
                        label="Search only (passages at once, no answer)",
                        value=False,
                        elem_id="search-only",
                    )
                    scope = gr.Dropdown(
                        label="Ask only these articles (none: all)",
                        choices=[],
                        multiselect=True,
                        elem_id="scope",
                    )
                status = gr.Markdown("", elem_id="timings")
                with gr.Row():
                    comment = gr.Textbox(
                        label="Comment sent with your next rating (optional: the right answer)",
                        max_lines=2,
                        scale=4,
                        elem_id="comment",
                    )
                    export_button = gr.Button("Export as Markdown", scale=1, elem_id="export")
                exported = gr.File(label="Conversation", visible=False, elem_id="exported")
                feedback_status = gr.Markdown("", elem_id="feedback-status")
                gr.Examples(EXAMPLES, inputs=question, label="Examples")
            with gr.Column(scale=2), gr.Accordion("Sources", open=True):
                sources = gr.HTML(
                    "<div class='sources meta'>Sources appear here as soon as they are "
                    "found.</div>",
                    elem_id="sources",
                )
        with gr.Accordion("Articles", open=False, elem_id="articles"):
            table = gr.Dataframe(
                headers=["file", "language", "date", "passages", "title"],
                interactive=False,
                wrap=True,
                elem_id="article-table",
            )
            with gr.Row():
                files = gr.File(
                    label=f"Add articles (.txt, .md, .html; up to {MAX_UPLOAD_BYTES // 2**20} MB)",
                    file_count="multiple",
                    file_types=[".txt", ".md", ".html", ".htm"],
                    elem_id="upload",
                )
                with gr.Column():
                    chosen = gr.Dropdown(
                        label="An article to summarise or remove",
                        choices=[],
                        elem_id="remove-choice",
                    )
                    with gr.Row():
                        remove_button = gr.Button("Remove", elem_id="remove")
                        summarise_button = gr.Button("Summarise", elem_id="summarise")
            corpus_status = gr.Markdown("", elem_id="corpus-status")

        inputs = [question, chatbot, search_only, scope]
        outputs = [chatbot, question, sources, status]
        question.submit(respond, inputs, outputs, concurrency_limit=4, api_visibility="private")
        send.click(respond, inputs, outputs, concurrency_limit=4, api_visibility="private")
        chatbot.retry(
            regenerate,
            [chatbot, search_only, scope],
            outputs,
            concurrency_limit=4,
            api_visibility="private",
        )
        summarise_button.click(
            summarise, [chosen, chatbot], outputs, concurrency_limit=4, api_visibility="private"
        )
        # Not Gradio's `cancels=`: the answer ends on its own within a fraction of a second, and
        # Gradio's cancel racing that natural end could leave the page waiting forever.
        stop.click(stop_answers, None, None, queue=False, api_visibility="private")
        chatbot.like(rate, [chatbot, comment], [feedback_status, comment], api_visibility="private")
        export_button.click(export, chatbot, exported, api_visibility="private")
        files.upload(
            upload,
            files,
            [table, chosen, scope, corpus_status, files],
            concurrency_limit=1,
            api_visibility="private",
        )
        remove_button.click(
            remove,
            chosen,
            [table, chosen, scope, corpus_status],
            concurrency_limit=1,
            api_visibility="private",
        )
        demo.load(articles_table, None, [table, chosen, scope], api_visibility="private")
        gr.api(ask_api, api_name="ask")
        gr.api(search_api, api_name="search")
    return demo


def launch_options(settings: Settings) -> dict:
    """Where and how to serve; refuses an address off loopback without credentials."""
    hosts = allowed_hosts(settings.host, settings.allowed_hosts)
    options: dict = {
        "server_name": settings.host,
        "server_port": settings.port,
        "app_kwargs": {"middleware": [Middleware(HostCheck, allowed=hosts)]},
    }
    if not is_loopback(settings.host):
        password = settings.auth_password.get_secret_value()
        if not (settings.auth_user and password):
            raise SystemExit(
                f"error: refusing to serve on {settings.host} without a login: set RAG_AUTH_USER "
                "and RAG_AUTH_PASSWORD, or use RAG_HOST=127.0.0.1"
            )
        options["auth"] = (settings.auth_user, password)
    return options


def main() -> None:
    settings = Settings()
    options = launch_options(settings)  # before loading models: a refusal should be quick

    try:
        assistant = Assistant(settings)
    except RagError as exc:
        sys.exit(f"error: {exc}")
    assistant.start_reading_ahead()
    demo = build(assistant)
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.launch(
        **options,
        share=False,
        theme=THEME,
        css=CSS,
        js=KEYBOARD_JS,
        footer_links=[],
        max_file_size=MAX_UPLOAD_BYTES,
        show_error=True,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
    )


if __name__ == "__main__":
    main()
