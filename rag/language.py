"""Language identification for articles and questions, with a model shipped in the package."""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language, LanguageDetectorBuilder

# The languages we tell apart. Fewer candidates make short questions far more reliable;
# these cover the answer languages the assistant is tested in plus the common European
# and Asian ones a user might try.
CANDIDATES = (
    Language.GERMAN,
    Language.FRENCH,
    Language.ENGLISH,
    Language.SPANISH,
    Language.ITALIAN,
    Language.DUTCH,
    Language.PORTUGUESE,
    Language.POLISH,
    Language.RUSSIAN,
    Language.CHINESE,
    Language.JAPANESE,
    Language.ARABIC,
    Language.TURKISH,
)

NAMES = {
    "de": "German",
    "fr": "French",
    "en": "English",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
    "pl": "Polish",
    "ru": "Russian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ar": "Arabic",
    "tr": "Turkish",
}


# Short questions carry too little text for a statistical model, and names ("Microsoft",
# "Sam Altman") mislead it. Function words of the three main languages decide first;
# words shared between them ("was", "in", "a", "des") are left out on purpose.
FUNCTION_WORDS = {
    "de": set(
        """
        wie was wer wem wen wann wo woher wohin warum wieso weshalb welche welcher welches
        wieviel viel viele hat haben hatte ist sind war waren wird werden wurde wurden der die
        das den dem und oder nicht kein keine ein eine einen einem einer mit von für im auf zu
        sich dass bei aus nach über gegen durch mehr auch noch davon dafür seit heißt gibt laut
        sagt sagte kann können welchen wofür womit worüber wessen ihr sein seine ihre zum zur
        vom beim
        """.split()
    )
    - {"was"},
    "fr": set(
        """
        que qui quoi quand où pourquoi comment combien quel quelle quels quelles est sont était
        étaient le la les un une du et ou dans pour avec sur par ont ce cette ces il elle ils
        elles qu se son sa ses pas été selon lequel laquelle auquel aux au y leur leurs fait dit
        entre
        """.split()
    ),
    "en": set(
        """
        what who whom whose when where why how which much many is are were the of and or on for
        with to did does do has have had by about from it its that this according they their
        there been be will would can could
        """.split()
    ),
}


def _function_word_vote(text: str) -> str | None:
    words = re.findall(r"\w+", text.lower())
    hits = {
        code: sum(word in vocabulary for word in words)
        for code, vocabulary in FUNCTION_WORDS.items()
    }
    best = max(hits, key=lambda code: hits[code])
    runner_up = max(count for code, count in hits.items() if code != best)
    return best if hits[best] > runner_up else None


@lru_cache(maxsize=1)
def _detector():
    return (
        LanguageDetectorBuilder.from_languages(*CANDIDATES).with_preloaded_language_models().build()
    )


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of `text`'s language, or `default` when it cannot be told.

    >>> detect_language("Wie viel hat Microsoft investiert?")
    'de'
    """
    if vote := _function_word_vote(text):
        return vote
    language = _detector().detect_language_of(text)
    return language.iso_code_639_1.name.lower() if language else default


# Languages the answers are written in. The small model writes these well; in others (seen
# with Chinese) it garbles numbers, so a question in another language is answered in English,
# saying so.
ANSWER_LANGUAGES = ("de", "fr", "en", "es", "it")
OTHER_LANGUAGE_NOTE = "(I answer in German, French, English, Spanish or Italian; here in English.) "


def answer_language(question_language: str) -> str:
    """
    >>> answer_language("fr"), answer_language("zh")
    ('fr', 'en')
    """
    return question_language if question_language in ANSWER_LANGUAGES else "en"


def language_name(code: str) -> str:
    return NAMES.get(code, code)
