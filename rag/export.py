"""A conversation as Markdown: each question, its answer, and the passages it cites."""

from __future__ import annotations

from rag.answer import Answer


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


def conversation_markdown(turns: list[tuple[str, Answer]], title: str = "Conversation") -> str:
    """Markdown for (question, answer) pairs, with each cited passage quoted under its answer.

    >>> from rag.answer import Citation
    >>> c = Citation(
    ...     marker=1, source="a.txt", title="Wahl", text="Anna gewann.", start=0, end=12, score=1
    ... )
    >>> a = Answer(text="Anna [1].", abstained=False, language="de", citations=[c], timings={})
    >>> print(conversation_markdown([("Wer gewann?", a)]))
    # Conversation
    <BLANKLINE>
    ## Wer gewann?
    <BLANKLINE>
    Anna [1].
    <BLANKLINE>
    [1] **Wahl** (a.txt, characters 0–12)
    <BLANKLINE>
    > Anna gewann.
    <BLANKLINE>
    """
    parts = [f"# {title}", ""]
    for question, answer in turns:
        parts += [f"## {question}", "", answer.text, ""]
        for c in answer.citations:
            parts += [f"[{c.marker}] **{c.title}** ({c.source}, characters {c.start}–{c.end})", ""]
            parts += [_quote(c.text), ""]
    return "\n".join(parts)
