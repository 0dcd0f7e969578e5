"""Follow-up questions: recognise the ones that need the conversation to be understood."""

from __future__ import annotations

import re

# Words that point back at something said before ("davon", "it", "cela"), and openings
# that continue a conversation ("Und …", "And …", "Et …"). French subject pronouns are
# left out: inversion puts them in plain questions ("Combien a-t-il investi ?").
ANAPHORA = set(
    """
    davon dafür darüber damit daran dazu dabei er ihm ihn diese dieser dieses dort damals it its
    they them their those he she him her there then lui leur cela ça celui celle ceux là alors
    """.split()
)
CONTINUATIONS = (
    "und ",
    "and ",
    "et ",
    "aber ",
    "but ",
    "mais ",
    "what about",
    "und was",
    "et pour",
    "und wie",
    "and how",
)


def needs_context(question: str) -> bool:
    """True for a question that leans on the previous turn.

    >>> needs_context("Und wie viel davon 2019?"), needs_context("Wer ist der CTO von Microsoft?")
    (True, False)
    """
    lowered = question.lower().strip()
    words = re.findall(r"\w+", lowered)
    return lowered.startswith(CONTINUATIONS) or len(words) <= 3 or any(w in ANAPHORA for w in words)


def previous_question(history: list[dict] | None, max_chars: int) -> str | None:
    """The last question asked before, if it is one that could be asked (up to `max_chars`):
    an over-long message, refused when it was sent, is not context for the next one.

    >>> long, short = {"role": "user", "content": "x" * 50}, {"role": "user", "content": " Wer? "}
    >>> previous_question([long, short], 10)
    'Wer?'
    >>> previous_question([long], 10) is None
    True
    """
    for turn in reversed(history or []):
        if turn.get("role") == "user" and (text := str(turn.get("content") or "").strip()):
            return text if len(text) <= max_chars else None
    return None


def standalone_query(
    question: str, history: list[dict] | None, max_chars: int
) -> tuple[str, str | None]:
    """The query to retrieve with, and the earlier question it builds on (None if none)."""
    earlier = previous_question(history, max_chars)
    if earlier and needs_context(question):
        return f"{earlier} {question}", earlier
    return question, None


def message_text(message: dict) -> str:
    """The text of a chat message whose content is a string or a list of content parts
    (OpenAI clients and Gradio both send the list form).

    >>> message_text({"role": "user", "content": [{"type": "text", "text": "Und wann?"}]})
    'Und wann?'
    """
    content = message.get("content") or ""
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)
