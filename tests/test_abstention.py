import json

import pytest

from rag.abstention import ANSWER_MODEL_FILE, AnswerModel, abstention_message, too_far
from rag.errors import ModelError


def test_far_retrieval_abstains_and_close_retrieval_does_not():
    assert too_far(0.09, min_dense=0.2)
    assert not too_far(0.45, min_dense=0.2)
    assert too_far(None, min_dense=0.2)


def test_the_packaged_answer_model_rises_with_the_margin_and_answers_a_clear_yes_only():
    model = AnswerModel.load(ANSWER_MODEL_FILE)
    probabilities = [model.probability(m, False, 0.5) for m in (-2.0, 0.0, 1.0, 2.0, 4.0)]
    assert probabilities == sorted(probabilities) and probabilities[0] < probabilities[-1]
    assert not model.answers(-1.0, False, 0.5) and model.answers(4.0, False, 0.5)
    assert not model.answers(-1.0, True, 0.5) and model.answers(4.0, True, 0.5)


def test_a_missing_or_broken_answer_model_is_an_error_that_says_what_to_do(tmp_path):
    with pytest.raises(ModelError, match="calibrate"):
        AnswerModel.load(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"weights": {"margin": 1.0}, "bias": 0.0, "threshold": 0.5}))
    with pytest.raises(ModelError, match="broken.json"):
        AnswerModel.load(broken)


def test_the_message_is_in_the_askers_language_with_english_as_fallback():
    assert "Artikeln" in abstention_message("de")
    assert "articles ne" in abstention_message("fr")
    assert abstention_message("xx") == abstention_message("en") == "The articles don't say."
