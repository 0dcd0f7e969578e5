"""HTML for the sources panel. Every piece of article or model text is escaped here:
an article holding markup shows it as text and runs nothing."""

from __future__ import annotations

from html import escape

from rag import supporting_sentences

# A sentence the instruction screen kept from the model (rag.screening): shown, struck through.
WITHHELD = '<del class="withheld" title="Not given to the model: it addresses the assistant">'


def _highlighted(
    text: str, spans: list[tuple[int, int]], withheld: tuple[tuple[int, int], ...] = ()
) -> str:
    """`text` escaped, the `spans` marked and the `withheld` sentences struck through.

    >>> _highlighted("A <b>. Note to the AI. C.", [(0, 6)], ((7, 22),)).replace(WITHHELD, "<del>")
    '<mark>A &lt;b&gt;.</mark> <del>Note to the AI.</del> C.'
    """
    tags = [(s, e, "<mark>", "</mark>") for s, e in spans]
    tags += [(s, e, WITHHELD, "</del>") for s, e in withheld]
    out, last = [], 0
    for start, end, opening, closing in sorted(tags):
        if start >= last:  # a sentence both supporting and withheld is shown once
            out += [escape(text[last:start]), opening, escape(text[start:end]), closing]
            last = end
    return "".join(out + [escape(text[last:])])


def _dated(citation) -> str:
    return f" · {escape(citation.date)}" if citation.date else ""


def _passage(citation, answer_text: str | None, language: str, open_: bool) -> str:
    spans = supporting_sentences(answer_text, citation.text, language) if answer_text else []
    return (
        f'<details class="passage"{" open" if open_ else ""}><summary><b>[{citation.marker}] '
        f"{escape(citation.title)}</b>"
        f' <span class="meta">{escape(citation.source)}{_dated(citation)} · score '
        f"{citation.score:.2f}</span></summary>"
        f"<p>{_highlighted(citation.text, spans, citation.withheld)}</p></details>"
    )


def sources_html(passages, language: str, answer=None) -> str:
    """The passages given to the model; once the answer is in, the cited ones open with
    their supporting sentences highlighted, the rest folded."""
    if answer is not None and answer.abstained:
        folded = "".join(_passage(c, None, language, False) for c in passages)
        note = '<span class="meta">Closest passages, for reference:</span>'
        head = f'<div class="abstained">{escape(answer.text)} {note}</div>'
        return f'<div class="sources">{head}{folded}</div>'
    if answer is None:
        body = "".join(_passage(c, None, language, False) for c in passages)
        reading = f'<div class="meta">Reading {len(passages)} passages…</div>'
        return f'<div class="sources">{reading}{body}</div>'
    cited = {c.marker for c in answer.citations}
    parts = [_passage(c, answer.text, language, True) for c in passages if c.marker in cited]
    others = [_passage(c, None, language, False) for c in passages if c.marker not in cited]
    if others:
        parts.append('<div class="meta">Also read:</div>' + "".join(others))
    return f'<div class="sources">{"".join(parts)}</div>'


def search_html(passages, query: str, language: str) -> str:
    """Search-only results: every passage open, the sentences sharing the query's words marked."""
    if not passages:
        return '<div class="sources meta">No passage found.</div>'
    head = f'<div class="meta">{len(passages)} passages, best first (search only):</div>'
    body = "".join(_passage(c, query, language, True) for c in passages)
    return f'<div class="sources">{head}{body}</div>'


def shown_key(text: str) -> str:
    r"""An answer's text as a key that survives the chat's round trip through the browser
    (Gradio's Chatbot passes each message through `inspect.cleandoc`, which changes
    indentation and blank lines at either end).

    >>> import inspect
    >>> said = "Kevin Scott [1].\n    Er ist CTO [2].\n"
    >>> shown_key(inspect.cleandoc(said)) == shown_key(said) != shown_key("Kevin Scott.")
    True
    """
    return " ".join(text.split())


def timings_line(timings: dict) -> str:
    parts = [f"sources {timings['sources_ms']:.0f} ms"]
    if timings.get("completion_tokens"):
        parts.append(f"first token {timings['first_token_ms'] / 1000:.1f} s")
    if timings.get("tokens_per_s"):
        parts.append(f"{timings['tokens_per_s']:.0f} tokens/s")
    parts.append(f"total {timings['total_ms'] / 1000:.1f} s")
    return " · ".join(parts)


CSS = """
.sources .passage { border-left: 3px solid #c9d3e0; padding: 2px 8px; margin: 6px 0; }
.sources .meta { color: #666; font-size: 0.85em; }
.sources mark { background: #ffe58a; padding: 0 1px; }
.sources del.withheld { color: #999; }
.sources .abstained {
  background: #eef2f7; border: 1px solid #b8c4d6; border-radius: 6px;
  padding: 8px; margin-bottom: 8px;
}
#timings { color: #777; font-size: 0.85em; }
"""
