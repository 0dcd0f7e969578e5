"""Summaries of one article: which requests ask for one, and what the model is asked.

A summary is asked like a question over the article's first passages (a news article puts
its news first), so that it reuses the prompt prefix already in llama.cpp's cache and the
answer's format: short sentences that end with the number of their passage.
"""

from __future__ import annotations

import re

# "Fasse den Artikel über … zusammen", "Résume l'article sur …", "Summarise the article on …"
SUMMARY_REQUEST = re.compile(
    r"\b(fasse\b.{0,80}\bzusammen|zusammenfassung|résume|résumé|resume|summari[sz]e|summary)\b",
    re.IGNORECASE,
)

INSTRUCTION = {
    "de": "Fasse diese Passagen in drei kurzen Sätzen zusammen; jeder Satz endet mit der Nummer "
    "seiner Passage.",
    "fr": "Résume ces passages en trois phrases courtes ; chaque phrase se termine par le numéro "
    "de son passage.",
    "en": "Summarise these passages in three short sentences; each sentence ends with the "
    "number of its passage.",
}

SUMMARY_TOKENS = 160  # three short sentences with their markers


def asks_for_summary(question: str) -> bool:
    """Whether a question asks for a summary rather than a fact.

    >>> asks_for_summary("Fasse den Artikel über Microsofts KI-Chips zusammen")
    True
    >>> asks_for_summary("Wer fasste den Beschluss?"), asks_for_summary("Résumé de l'article ?")
    (False, True)
    """
    return bool(SUMMARY_REQUEST.search(question))


def instruction(language: str) -> str:
    return INSTRUCTION.get(language, INSTRUCTION["en"])
