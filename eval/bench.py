"""Benchmark on this machine: index build, passages read ahead, retrieval, time to sources /
first token / total, prompt tokens (read, reused, and necessary: the passages, the question
once and the template), generation rate, how soon Stop frees the model, peak memory, and in
the same run the raw llama.cpp prompt-processing and generation rates of the same model, so
that every figure is also a ratio to what the hardware does.

    .venv/bin/python eval/bench.py [--questions N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import Answer, Assistant, Settings, Sources  # noqa: E402
from rag.evaluation import load_gold  # noqa: E402


def pct(values, q):
    values = sorted(values)
    return (
        values[0]
        if len(values) == 1
        else statistics.quantiles(values, n=100, method="inclusive")[q - 1]
    )


def _by_reason(abstentions: list[tuple[float, str]]) -> dict[str, list[float]]:
    """Abstention times grouped by what decided them (retrieval or the model)."""
    grouped: dict[str, list[float]] = {}
    for ms, reason in abstentions:
        grouped.setdefault(reason, []).append(ms)
    return grouped


def stop_ms(assistant: Assistant, question: str, after_s: float = 0.3) -> float:
    """Milliseconds from setting `cancel` to the stream's end, when it is set `after_s` after
    the sources are shown: while the model reads the passages."""
    cancel, shown, ended = threading.Event(), threading.Event(), [0.0]

    def consume() -> None:
        for event in assistant.stream(question, cancel=cancel):
            if isinstance(event, Sources):
                shown.set()
        ended[0] = time.perf_counter()

    worker = threading.Thread(target=consume)
    worker.start()
    shown.wait()
    time.sleep(after_s)
    stopped = time.perf_counter()
    cancel.set()
    worker.join()
    return (ended[0] - stopped) * 1000


def raw_llama_rates(
    generator, prompt_tokens: int = 512, generated: int = 64
) -> tuple[float, float]:
    """Prompt processing and generation tokens/s of bare llama.cpp (without the assistant's
    abort check), cache cleared first."""
    text = (REPO / "seeds" / "004_049a8fec8080a705.txt").read_text(encoding="utf-8")
    with generator.bare() as llm:
        tokens = llm.tokenize(text.encode(), add_bos=False)[:prompt_tokens]
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        pp = len(tokens) / (time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(generated):
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
            llm.eval([int(np.argmax(logits))])
        tg = generated / (time.perf_counter() - started)
        llm.reset()
    return pp, tg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--questions", type=int, default=42, help="How many gold questions to time."
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus=REPO / "seeds", index=Path(tmp) / "index")
        started = time.perf_counter()
        assistant = Assistant(settings, show_progress=False, load_generator=False)
        build_s = time.perf_counter() - started
        passages = len(assistant.store.passages())
        generator = assistant.generator

        questions = load_gold(REPO / "eval" / "gold.jsonl")[: args.questions]
        retrieval_ms, search_ms = [], []
        for q in questions:
            t = time.perf_counter()
            assistant.retriever.search(q.question, settings.top_k)
            retrieval_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            assistant.search(q.question)  # what "Search only" costs, question cleaning included
            search_ms.append((time.perf_counter() - t) * 1000)

        # As the web chat and the API server do while idle: the questions' passages need then
        # not be read with them (RAG_READ_AHEAD=false RAG_PASSAGE_STATES_DIR= times the
        # questions without it).
        started = time.perf_counter()
        read_ahead = assistant.read_ahead() if settings.read_ahead else 0
        read_ahead_s = time.perf_counter() - started
        states = getattr(generator, "states", None)

        (
            sources_ms,
            first_ms,
            total_ms,
            abstain_ms,
            read_tokens,
            reused_tokens,
            rates,
            prompt_rates,
        ) = [], [], [], [], [], [], [], []
        necessary_tokens: list[int] = []
        model_first_ms: list[float] = []  # the model's first word, shown or held back
        check_wait_ms: list[float] = []  # from there to the first word shown
        for q in questions:
            t = time.perf_counter()
            for event in assistant.stream(q.question):
                if isinstance(event, Sources):
                    sources_ms.append((time.perf_counter() - t) * 1000)
                elif isinstance(event, Answer):
                    answer = event
            timings = answer.timings
            if answer.abstained:
                abstain_ms.append((timings["total_ms"], answer.trace.abstain_reason))
                continue
            first_ms.append(timings["first_token_ms"])
            total_ms.append(timings["total_ms"])
            read = timings["prompt_tokens_read"]
            read_tokens.append(read)
            reused_tokens.append(timings["prompt_tokens_reused"])
            necessary_tokens.append(timings["prompt_tokens_necessary"])
            # From sources to the model's first word the CPU reads the prompt tokens not in the
            # cache (the judgement's, then the answer's) and writes one token; after it, the
            # answer check holds the words back until a checked fact appears.
            model_first = timings["model_first_token_ms"]
            model_first_ms.append(model_first)
            prompt_rates.append(read / ((model_first - timings["sources_ms"]) / 1000))
            check_wait_ms.append(timings["first_token_ms"] - model_first)
            if timings.get("tokens_per_s"):
                rates.append(timings["tokens_per_s"])

        summary_first_ms, summary_total_ms = [], []
        for article in assistant.articles():  # a summary of each seed article, in English
            summary = [e for e in assistant.summarise(article["source"]) if isinstance(e, Answer)]
            summary_first_ms.append(summary[0].timings["first_token_ms"])
            summary_total_ms.append(summary[0].timings["total_ms"])

        stops_ms = [stop_ms(assistant, q.question) for q in questions[:5]]
        raw_pp, raw_tg = raw_llama_rates(generator)

    read_per_necessary = [r / n for r, n in zip(read_tokens, necessary_tokens, strict=True)]
    necessary_s = pct(necessary_tokens, 50) / raw_pp  # the hardware's time for them

    rows = [
        (
            "index build",
            f"{passages} passages in {build_s:.1f} s = {passages / build_s:.2f} passages/s (incl. "
            "model load)",
        ),
        (
            "passages read ahead (idle time)",
            f"{read_ahead} of {passages} read in {read_ahead_s:.0f} s (the others kept already, "
            f"or no room), their KV cells {(states.bytes if states else 0) / 2**20:.0f} MB in "
            "memory",
        ),
        ("retrieval p50 / p95", f"{pct(retrieval_ms, 50):.0f} / {pct(retrieval_ms, 95):.0f} ms"),
        ("search only p50 / p95", f"{pct(search_ms, 50):.0f} / {pct(search_ms, 95):.0f} ms"),
        (
            "summary of an article p50: first token / total",
            f"{pct(summary_first_ms, 50) / 1000:.2f} / {pct(summary_total_ms, 50) / 1000:.2f} s",
        ),
        ("time to sources p50 / p95", f"{pct(sources_ms, 50):.0f} / {pct(sources_ms, 95):.0f} ms"),
        (
            "time to first token p50 / p95",
            f"{pct(first_ms, 50) / 1000:.2f} / {pct(first_ms, 95) / 1000:.2f} s  ({len(first_ms)} "
            "answered)",
        ),
        ("total p50 / p95", f"{pct(total_ms, 50) / 1000:.2f} / {pct(total_ms, 95) / 1000:.2f} s"),
        (
            "abstention p50 / p95",
            ", ".join(
                f"{reason}: {pct(times, 50):.0f} / {pct(times, 95):.0f} ms (n={len(times)})"
                for reason, times in sorted(_by_reason(abstain_ms).items())
            )
            or "none",
        ),
        (
            "prompt tokens p50: read / cached",
            f"{pct(read_tokens, 50):.0f} / {pct(reused_tokens, 50):.0f}",
        ),
        (
            "prompt tokens p50: necessary",
            f"{pct(necessary_tokens, 50):.0f} (passages, question once, template); "
            f"read / necessary p50 {pct(read_per_necessary, 50):.2f}",
        ),
        (
            "first token p50 x raw prompt rate",
            f"{pct(first_ms, 50) / 1000 * raw_pp:.0f} tokens the hardware could read meanwhile; "
            f"{pct(first_ms, 50) / 1000 / necessary_s:.2f} x the "
            "necessary tokens' reading time",
        ),
        (
            "the model's first word p50",
            f"{pct(model_first_ms, 50) / 1000:.2f} s = "
            f"{pct(model_first_ms, 50) / 1000 / necessary_s:.2f} x the "
            "necessary tokens' reading time; the answer check holds it back "
            f"{pct(check_wait_ms, 50):.0f} ms p50",
        ),
        (
            "prompt processing p50",
            f"{pct(prompt_rates, 50):.0f} tokens/s = {pct(prompt_rates, 50) / raw_pp:.0%} of raw "
            "llama.cpp (sources to the model's first word)",
        ),
        (
            "generation p50",
            f"{pct(rates, 50):.1f} tokens/s = {pct(rates, 50) / raw_tg:.0%} of raw llama.cpp",
        ),
        (
            "Stop while the passages are read",
            f"model free {pct(stops_ms, 50):.0f} ms p50, {max(stops_ms):.0f} ms max after it "
            f"(= {pct(stops_ms, 50) / 1000 * raw_tg:.1f} generated tokens' time)",
        ),
        (
            "raw llama.cpp",
            f"prompt {raw_pp:.0f} tokens/s, generation {raw_tg:.1f} tokens/s "
            f"(threads={settings.threads})",
        ),
        (
            "peak memory",
            # ru_maxrss is in KiB on Linux
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB resident "
            "(both models, the index, every step above)",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
