"""The date an article states for itself: its dateline or a "published" line near the top,
in German, French or English; an HTML page's publication date comes from its metadata.

A date further down is left alone: it is more often an event the article reports (a tweet
of 20 November quoted in the text) than the day it appeared.

>>> stated_date("Kiel, 3. März 2024 – Die Blaufuchs GmbH wächst.")
'2024-03-03'
>>> stated_date("Publié le 1er décembre 2023 à 10h00\\nLe partenariat…")
'2023-12-01'
>>> stated_date("By Jane Doe\\nNovember 21, 2023\\nMicrosoft said…")
'2023-11-21'
>>> stated_date("Stand: 21.11.2023, 14:05 Uhr")
'2023-11-21'
>>> stated_date("Updated 2023-11-21T08:00:00Z")
'2023-11-21'
>>> stated_date("Microsoft investierte 1 Milliarde US-Dollar in OpenAI.") is None
True
>>> stated_date("Am 31. Februar 2023 geschah nichts.") is None  # no such day
True
"""

from __future__ import annotations

import datetime
import re

# How far into the text (after the title) a dateline or "published" line is looked for.
HEAD_CHARS = 400

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            "januar jänner janvier january jan",
            "februar février fevrier february feb févr",
            "märz maerz mars march mar",
            "april avril apr avr",
            "mai may",
            "juni juin june jun",
            "juli juillet july jul juil",
            "august août aout aug",
            "september septembre sept sep",
            "oktober octobre october okt oct",
            "november novembre nov",
            "dezember décembre decembre december dez déc dec",
        ],
        start=1,
    )
    for name in names.split()
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(?P<day>[0-3]?\d)(?:\.|er|st|nd|rd|th)?"
PATTERNS = [
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>[01]\d)-(?P<day>[0-3]\d)(?!\d)"),
    re.compile(r"\b(?P<day>[0-3]?\d)\.(?P<month>[01]?\d)\.(?P<year>(?:19|20)\d\d)\b"),
    re.compile(rf"\b{_DAY}\s+(?P<name>{_MONTH})\.?\s+(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE),
    re.compile(rf"\b(?P<name>{_MONTH})\.?\s+{_DAY},?\s+(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE),
]


def stated_date(text: str) -> str | None:
    """The first valid date in the head of `text`, as YYYY-MM-DD, or None."""
    head = text[:HEAD_CHARS]
    found = []
    for pattern in PATTERNS:
        for match in pattern.finditer(head):
            if (date := _valid(match)) is not None:
                found.append((match.start(), date))
    return min(found)[1] if found else None


def _valid(match: re.Match) -> str | None:
    parts = match.groupdict()
    month = MONTHS[parts["name"].lower()] if parts.get("name") else int(parts["month"])
    try:
        return datetime.date(int(parts["year"]), month, int(parts["day"])).isoformat()
    except ValueError:
        return None
