"""When to say "the articles don't say": decided by the application, not trusted to the model.

Cheapest first. Retrieval: when even the best passage is far from the question (its cosine
under the answer model's `min_dense`), abstain at once without touching the LLM. Then one
calibrated decision: after reading the best passage (RAG_JUDGE_PASSAGES) the model is asked
"Found: yes/no"; its preference (the logit margin of yes over no), whether the passage is in
another language than the question, and the passage's cosine give the probability that the
passages answer the question (`AnswerModel`, fitted on the development questions by
`eval/calibrate.py`). Below the model's threshold it abstains. How the coefficients, the
threshold and the floor were chosen: docs/decisions.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelError

ANSWER_MODEL_FILE = Path(__file__).with_name("answer_model.json")

# Beyond this the small model is sure either way; an unclipped outlier would dominate.
MARGIN_LIMIT = 8.0

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


@dataclass(frozen=True)
class AnswerModel:
    """Logistic regression: the probability that the passages answer the question.

    >>> model = AnswerModel({"margin": 1.0, "cross_lingual": 0.5, "dense": 0.0}, -1.0, 0.5)
    >>> round(model.probability(1.0, False, 0.4), 2), round(model.probability(1.0, True, 0.4), 2)
    (0.5, 0.62)
    >>> model.answers(0.9, False, 0.4), model.answers(0.9, True, 0.4)
    (False, True)

    Below `min_dense` no margin is asked for: the passages are too far (`too_far`).
    """

    FEATURES = ("margin", "cross_lingual", "dense")

    weights: dict[str, float]
    bias: float
    threshold: float  # answer at or above this probability
    # The retrieval floor, chosen with the threshold: off-topic questions can draw a confident
    # "yes" from the small model, and below this cosine none was worth its reading.
    min_dense: float = 0.2
    fitted_on: str = ""

    @staticmethod
    def features_of(margin: float, cross_lingual: bool, dense: float) -> list[float]:
        return [max(-MARGIN_LIMIT, min(MARGIN_LIMIT, margin)), float(cross_lingual), dense]

    def probability(self, margin: float, cross_lingual: bool, dense: float) -> float:
        values = self.features_of(margin, cross_lingual, dense)
        z = self.bias + sum(self.weights[n] * v for n, v in zip(self.FEATURES, values, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def answers(self, margin: float, cross_lingual: bool, dense: float) -> bool:
        return self.probability(margin, cross_lingual, dense) >= self.threshold

    def to_dict(self) -> dict:
        return {
            "weights": self.weights,
            "bias": self.bias,
            "threshold": self.threshold,
            "min_dense": self.min_dense,
            "fitted_on": self.fitted_on,
        }

    @classmethod
    def load(cls, path: Path = ANSWER_MODEL_FILE) -> AnswerModel:
        """The model in `path`; a missing or malformed file is a ModelError naming the fix."""
        try:
            model = cls(**json.loads(path.read_text(encoding="utf-8")))
            model.probability(0.0, False, 0.0)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ModelError(
                f"cannot read the answer model {path}: {exc} (fit one with eval/calibrate.py, "
                "or unset RAG_ANSWER_MODEL for the packaged one)"
            ) from None
        return model
