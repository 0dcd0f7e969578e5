"""Ratings of answers, kept on this machine only (JSON lines), and draft gold questions made
from them, so that an answer someone marked wrong becomes a regression test for `rag eval`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from rag.answer import FILLER_WORDS, MARKER, Answer

log = logging.getLogger(__name__)

# What a draft expects of an answer marked right: its numbers and names.
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-ZÄÖÜÉÈ][\w-]+(?:\s+[A-ZÄÖÜÉÈ][\w-]+)*")


def record(
    path: Path, *, liked: bool, comment: str, question: str, answer: Answer, settings: dict
) -> dict:
    """Append one rating to `path` (created with its folder if missing); the entry written."""
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "rating": "up" if liked else "down",
        "comment": comment.strip(),
        "question": question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "language": answer.language,
        "citations": [c.to_dict() for c in answer.citations],
        "sources": [c.to_dict() for c in answer.sources],
        "settings": settings,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # two web chats on one file write whole lines
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return entry


def read(path: Path) -> list[dict]:
    """The ratings in `path`, oldest first; a damaged line is skipped with a warning."""
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entries.append(json.loads(line))
        except ValueError:
            log.warning("%s:%d: not a feedback entry, skipped", path, number)
    return entries


def key_facts(answer: str, question: str) -> list[str]:
    """The numbers an answer states beyond the question's words, or else its names.

    >>> key_facts("Die Finanzchefin ist Amy Hood [2].", "Wer ist die Finanzchefin?")
    ['Amy Hood']
    >>> key_facts("Microsoft-CTO Kevin Scott [3].", "Wer ist der CTO von Microsoft?")
    ['Kevin Scott']
    >>> key_facts("Microsoft investierte 13 Milliarden [1].", "Wie viel hat Microsoft investiert?")
    ['13']
    """
    text = MARKER.sub(" ", answer)
    numbers = [n for n in dict.fromkeys(_NUMBER.findall(text)) if n not in question]
    if numbers:  # a figure is the fact; capitalised words around it may be German nouns
        return numbers
    known = {w.lower() for w in re.findall(r"\w+", question)} | FILLER_WORDS
    names = []
    for run in _NAME.findall(text):  # capitalised words in a row, less the question's own
        new = [w for w in run.split() if not {p.lower() for p in re.findall(r"\w+", w)} <= known]
        if new:
            names.append(" ".join(new))
    return list(dict.fromkeys(names))


def draft_gold(entries: list[dict]) -> tuple[list[dict], list[str]]:
    """Gold questions (eval/README.md's format) from ratings, the latest per question, and
    why the others could not become one."""
    latest = {e["question"]: e for e in entries}
    drafts, skipped = [], []
    for number, entry in enumerate(latest.values(), start=1):
        expected, reason = _expectation(entry)
        if reason:
            skipped.append(f"{entry['question']!r}: {reason}")
            continue
        cited = sorted({c["source"] for c in entry["citations"]})
        drafts.append(
            {
                "id": f"feedback{number:03d}",
                "lang": entry["language"],
                "question": entry["question"],
                "answers": expected,
                "sources": cited or sorted({c["source"] for c in entry["sources"]}),
                "answerable": bool(expected),
                "category": f"feedback-{entry['rating']}",
            }
        )
    return drafts, skipped


def _expectation(entry: dict) -> tuple[list[str], str]:
    """The answer patterns a draft expects ([] = the articles do not say), or why none."""
    if comment := entry["comment"]:  # the comment box asks for the right answer
        return [re.escape(comment)], ""
    if entry["rating"] == "down":
        return [], "marked wrong without a comment saying the right answer"
    if entry["abstained"]:
        return [], ""
    facts = key_facts(entry["answer"], entry["question"])
    if not facts:
        return [], "the answer states no number or name to expect"
    return ["|".join(re.escape(f) for f in facts)], ""
