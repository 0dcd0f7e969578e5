"""When to say "the articles don't say": one calibrated probability, decided by the application.

A small logistic model turns the signals the assistant has into the probability that the
retrieved passages state the answer: the model's own "Found: yes/no" preference after
reading them, the dense similarity of the best passage, its BM25 score, and whether the
question is asked in another language than the passage. It abstains below a threshold.
The coefficients live in `abstention_model.json` beside this file, fitted by `rag calibrate`
on the development questions (see `rag.calibration`), never on held-out ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.models import ModelError

MESSAGES = {
    "de": "Dazu steht nichts in den Artikeln.",
    "fr": "Les articles ne le disent pas.",
    "en": "The articles don't say.",
    "es": "Los artículos no lo dicen.",
    "it": "Gli articoli non lo dicono.",
}

MODEL_FILE = Path(__file__).with_name("abstention_model.json")

# The yes/no margin is clipped: beyond this the model is sure either way, and an unclipped
# outlier would dominate a linear model.
MARGIN_LIMIT = 8.0


def abstention_message(language: str) -> str:
    return MESSAGES.get(language, MESSAGES["en"])


@dataclass(frozen=True)
class Signals:
    """What is known about a question and its passages when deciding whether to answer."""

    dense: float  # cosine similarity of the best passage
    lexical: float  # BM25 score of the best passage for the question (0 when none matches)
    cross_lingual: bool  # the question's language differs from the best passage's
    margin: float | None = None  # logit of " yes" minus " no" after "Found:"; None before the model read

    def features(self, margin: float | None = None) -> dict[str, float]:
        m = self.margin if margin is None else margin
        if m is None:
            raise ValueError("the yes/no margin is needed")
        return {
            "margin": max(-MARGIN_LIMIT, min(MARGIN_LIMIT, m)),
            "dense": self.dense,
            "lexical": math.log1p(max(self.lexical, 0.0)),
            "cross_lingual": float(self.cross_lingual),
        }


@dataclass(frozen=True)
class AbstentionModel:
    """Logistic regression on standardised features; `threshold` on the probability.

    >>> model = AbstentionModel(["margin"], [0.0], [1.0], [2.0], -1.0, 0.5)
    >>> round(model.probability({"margin": 0.5}), 3), round(model.probability({"margin": 3.0}), 3)
    (0.5, 0.993)
    """

    names: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float
    threshold: float
    fitted_on: str = ""

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(w * (features[n] - m) / s for n, m, s, w in zip(self.names, self.mean, self.scale, self.weights, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def answers(self, signals: Signals) -> tuple[bool, float]:
        """Whether to answer, and the probability that the passages state the answer."""
        p = self.probability(signals.features())
        return p >= self.threshold, p

    def hopeless(self, signals: Signals) -> bool:
        """True when even the model's most confident "yes" could not lift the probability to the
        threshold: the decision is already made, without spending a second on the model."""
        best = max(self.probability(signals.features(m)) for m in (-MARGIN_LIMIT, MARGIN_LIMIT))
        return best < self.threshold

    def save(self, path: Path = MODEL_FILE) -> None:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> AbstentionModel:
        """The model in `path`; a missing or malformed file is a ModelError naming the fix."""
        try:
            model = cls(**json.loads(path.read_text(encoding="utf-8")))
            model.probability(dict.fromkeys(model.names, 0.0))
        except (OSError, ValueError, TypeError) as exc:
            raise ModelError(f"cannot read the abstention model {path}: {exc} (run `rag calibrate`, or unset RAG_ABSTENTION_MODEL)") from None
        return model
