"""When to say "the articles don't say": decided by the application, not trusted to the model.

Two signals, cheapest first. Retrieval: when even the best passage is far from the question,
abstain at once without touching the LLM. The model's judgement: after reading the best
passage (RAG_JUDGE_PASSAGES) the model is asked "Found: yes/no"; its preference (logit
margin of yes over no) is thresholded. How the thresholds were chosen: docs/decisions.md.
"""

from __future__ import annotations

MESSAGES = {
    "de": "Dazu steht nichts in den Artikeln.",
    "fr": "Les articles ne le disent pas.",
    "en": "The articles don't say.",
    "es": "Los artículos no lo dicen.",
    "it": "Gli articoli non lo dicono.",
}


def abstention_message(language: str) -> str:
    return MESSAGES.get(language, MESSAGES["en"])


def too_far(best_dense: float | None, min_dense: float) -> bool:
    """True when no passage is close enough to the question to hold its answer.

    >>> too_far(0.11, 0.2), too_far(0.45, 0.2), too_far(None, 0.2)
    (True, False, True)
    """
    return best_dense is None or best_dense < min_dense


def model_says_not_found(yes_no_margin: float, min_margin: float) -> bool:
    """True when the model does not prefer "yes, the passages state the answer" clearly enough.

    >>> model_says_not_found(-1.4, 0.5), model_says_not_found(2.1, 0.5)
    (True, False)
    """
    return yes_no_margin < min_margin
