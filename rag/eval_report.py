"""Write an evaluation run to disk: report.json, report.md with tables and the failed
questions, PNG plots; compare two runs; check the regression thresholds."""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict
from pathlib import Path

from rag.evaluation import Outcome, ReliabilityBin, answer_kind, breakdown, reliability

HEADLINE = [
    ("answer_accuracy", "answer accuracy"),
    ("answer_accuracy_terms", "answer accuracy, the gold's words in any form"),
    ("citation_precision", "citation precision"),
    ("citation_recall", "citation recall"),
    ("language_accuracy", "answer language right"),
    ("abstention_recall", "unanswerable abstained"),
    ("false_abstention", "answerable wrongly abstained"),
    ("groundedness", "grounded sentences"),
    ("recall_at_1", "retrieval recall@1"),
    ("recall_at_5", "retrieval recall@5"),
    ("mrr", "retrieval MRR"),
    ("sources_ms_p50", "time to sources p50 (ms)"),
    ("first_token_ms_p50", "first token p50 (ms)"),
    ("first_token_ms_p95", "first token p95 (ms)"),
    ("total_ms_p50", "total p50 (ms)"),
    ("total_ms_p95", "total p95 (ms)"),
    ("prompt_tokens_p50", "prompt tokens p50"),
    ("prompt_tokens_reused_p50", "of which reused from cache p50"),
    ("completion_tokens_p50", "completion tokens p50"),
    ("tokens_per_s_p50", "generation tokens/s p50"),
    ("answers_read_again", "answers read again (answer check)"),
    ("abstained_by_answer_check", "abstained by the answer check"),
]


def _is_share(key: str) -> bool:
    """Shares print as percentages; latencies, token counts and rates as plain numbers."""
    return "_ms_" not in key and not key.endswith("_p50")


def _fmt(value, share: bool = True) -> str:
    if value is None:
        return "–"
    if share and isinstance(value, float):
        return f"{value:.0%}" if value in (0.0, 1.0) else f"{value:.1%}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def summary_table(summary: dict, by_language: dict[str, dict]) -> str:
    """A Markdown table: one row per figure, columns all / per language."""
    languages = list(by_language)
    lines = [
        "| figure | all | " + " | ".join(languages) + " |",
        "|---|---:|" + "---:|" * len(languages),
    ]
    for key, label in HEADLINE:
        share = _is_share(key)
        lines.append(
            f"| {label} | {_fmt(summary.get(key), share)} | "
            + " | ".join(_fmt(by_language[lang].get(key), share) for lang in languages)
            + " |"
        )
    return "\n".join(lines)


def reliability_table(bins: list[ReliabilityBin]) -> str:
    """The answer model's reliability as a Markdown table (bins nobody fell in are left out)."""
    lines = [
        "| probability | judged | mean probability | answerable | answered | answered right |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for b in bins:
        if b.judged:
            lines.append(
                f"| {b.low:.1f}–{b.high:.1f} | {b.judged} | {_fmt(b.mean_probability)} | "
                f"{_fmt(b.answerable_share)} | {b.answered} | {_fmt(b.right_share)} |"
            )
    return "\n".join(lines)


def _failure_block(o: Outcome) -> str:
    expected = (
        "abstain"
        if not o.gold.answerable
        else " or ".join(f"`{a}`" for a in o.gold.answers) + f" from {', '.join(o.gold.sources)}"
    )
    passages = "\n".join(f"  - {p[:300]}" for p in (o.retrieved_passages or []))
    return (
        f"### {o.gold.id} ({o.gold.lang}, {o.gold.category})\n\n**Question:** "
        f"{o.gold.question}\n\n**Expected:** {expected}\n\n"
        f"**Answer given:** {o.text}{' (abstained)' if o.abstained else ''}\n\n**Cited:** "
        f"{', '.join(o.cited_sources) or 'nothing'}\n\n"
        f"**Retrieved passages:**\n{passages}\n"
    )


def _plots(
    folder: Path, by_language: dict, by_category: dict, outcomes: list[Outcome]
) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # no display, no network
    import matplotlib.pyplot as plt

    written = []
    for name, groups in (
        ("accuracy_by_language.png", by_language),
        ("accuracy_by_category.png", by_category),
    ):
        fig, ax = plt.subplots(figsize=(6, 3.2))
        labels = list(groups)
        values = [
            (
                groups[g]["answer_accuracy"]
                if groups[g]["answer_accuracy"] is not None
                else groups[g]["abstention_recall"] or 0
            )
            for g in labels
        ]
        ax.bar(labels, values, color="#3b6ea5")
        ax.set_ylim(0, 1)
        ax.set_ylabel("accuracy (abstention recall for unanswerable)")
        ax.set_title(name.removesuffix(".png").replace("_", " "))
        fig.tight_layout()
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        written.append(name)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    series = {
        key: [o.timings[key] / 1000 for o in outcomes if o.timings.get(key) is not None]
        for key in ("sources_ms", "first_token_ms", "total_ms")
    }
    ax.boxplot(list(series.values()), tick_labels=["sources", "first token", "total"])
    ax.set_ylabel("seconds")
    ax.set_title("latency per question")
    fig.tight_layout()
    fig.savefig(folder / "latency.png", dpi=100)
    plt.close(fig)
    written.append("latency.png")
    bins = [b for b in reliability(outcomes) if b.judged]
    if bins:
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", label="calibrated")
        ax.plot(
            [b.mean_probability for b in bins],
            [b.answerable_share for b in bins],
            marker="o",
            color="#3b6ea5",
            label="questions judged",
        )
        ax.set_xlabel("probability that the passages answer it")
        ax.set_ylabel("share answerable")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(loc="upper left")
        ax.set_title("reliability")
        fig.tight_layout()
        fig.savefig(folder / "reliability.png", dpi=100)
        plt.close(fig)
        written.append("reliability.png")
    return written


def write_report(
    folder: Path,
    settings: dict,
    summary: dict,
    by_language: dict,
    by_category: dict,
    outcomes: list[Outcome],
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    by_answer_kind = breakdown(outcomes, lambda o: answer_kind(o.gold))
    report = {
        "settings": settings,
        "summary": summary,
        "by_language": by_language,
        "by_category": by_category,
        "by_answer_kind": by_answer_kind,
        "questions": [{**asdict(o), "correct": o.correct} for o in outcomes],
    }
    (folder / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1, default=str)
    )
    plots = _plots(folder, by_language, by_category, outcomes)
    failed = [o for o in outcomes if not o.correct]
    markdown = [
        "# Evaluation report\n",
        f"{summary['questions']} questions. Settings: "
        + ", ".join(f"`{k}={v}`" for k, v in settings.items())
        + "\n",
        "## Summary\n",
        summary_table(summary, by_language) + "\n",
        "## By category\n",
        summary_table(summary, by_category) + "\n",
        "## By kind of answer\n",
        summary_table(summary, by_answer_kind) + "\n",
        "## Answer model reliability\n",
        "The probability that the passages answer the question against how often the"
        " questions the model judged were answerable, and how many were answered and right.\n",
        reliability_table(reliability(outcomes)) + "\n",
        "## Plots\n",
        "\n".join(f"![{p}]({p})" for p in plots) + "\n",
        f"## Failed questions ({len(failed)})\n",
        "\n".join(_failure_block(o) for o in failed) or "None.",
    ]
    (folder / "report.md").write_text("\n".join(markdown), encoding="utf-8")
    return folder


def compare(a: dict, b: dict) -> str:
    """Two report.json contents side by side, with the difference."""
    lines = ["| figure | A | B | B − A |", "|---|---:|---:|---:|"]
    for key, label in HEADLINE:
        va, vb = a["summary"].get(key), b["summary"].get(key)
        diff = (
            f"{vb - va:+.3g}"
            if isinstance(va, (int, float)) and isinstance(vb, (int, float))
            else "–"
        )
        lines.append(
            f"| {label} | {_fmt(va, _is_share(key))} | {_fmt(vb, _is_share(key))} | {diff} |"
        )
    changed = {
        k: (a["settings"].get(k), v) for k, v in b["settings"].items() if a["settings"].get(k) != v
    }
    lines.append(
        "\nSettings that differ: "
        + (", ".join(f"{k}: {x} → {y}" for k, (x, y) in changed.items()) or "none")
    )
    return "\n".join(lines)


def missed_thresholds(summary: dict, thresholds_file: Path) -> list[str]:
    """Figures that miss eval/thresholds.toml ([minimum] keys: at least; [maximum]: at most)."""
    limits = tomllib.loads(thresholds_file.read_text())
    missed = []
    for key, floor in limits.get("minimum", {}).items():
        if summary.get(key) is None or summary[key] < floor:
            missed.append(f"{key} = {summary.get(key)} < {floor}")
    for key, ceiling in limits.get("maximum", {}).items():
        if summary.get(key) is None or summary[key] > ceiling:
            missed.append(f"{key} = {summary.get(key)} > {ceiling}")
    return missed
