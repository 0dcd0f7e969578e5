import pytest

from rag.abstention import MARGIN_LIMIT, AbstentionModel, Signals, abstention_message
from rag.models import ModelError


def model(threshold: float = 0.5) -> AbstentionModel:
    return AbstentionModel(["margin", "dense", "lexical", "cross_lingual"], [0.0, 0.4, 1.0, 0.0], [1.0, 0.1, 1.0, 1.0], [1.5, 1.0, 0.0, 0.0], -1.5, threshold)


def test_a_clear_yes_on_close_passages_answers_and_a_clear_no_abstains():
    close = Signals(dense=0.5, lexical=4.0, cross_lingual=False)
    assert model().answers(Signals(**{**close.__dict__, "margin": 4.0}))[0]
    answers, p = model().answers(Signals(**{**close.__dict__, "margin": -2.0}))
    assert not answers and p < 0.5


def test_the_probability_rises_with_the_margin_and_the_margin_is_clipped():
    s = Signals(dense=0.4, lexical=1.0, cross_lingual=True)
    ps = [model().probability(s.features(m)) for m in (-20.0, -MARGIN_LIMIT, 0.0, 2.0, MARGIN_LIMIT, 20.0)]
    assert ps == sorted(ps) and ps[0] == ps[1] and ps[-1] == ps[-2]


def test_a_question_far_from_every_passage_is_hopeless_without_asking_the_model():
    far = Signals(dense=-1.0, lexical=0.0, cross_lingual=False)
    assert model().hopeless(far)
    assert not model().hopeless(Signals(dense=0.45, lexical=2.0, cross_lingual=False))


def test_features_need_the_margin():
    with pytest.raises(ValueError, match="margin"):
        Signals(dense=0.4, lexical=1.0, cross_lingual=False).features()


def test_the_model_survives_a_round_trip_through_its_file(tmp_path):
    path = tmp_path / "model.json"
    model(0.37).save(path)
    assert AbstentionModel.load(path) == model(0.37)


@pytest.mark.parametrize("content", ["not json", '{"names": ["margin"]}', '{"names": ["margin"], "mean": [0], "scale": [1], "weights": [], "bias": 0, "threshold": 0.5}'])
def test_a_broken_model_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "model.json"
    path.write_text(content)
    with pytest.raises(ModelError, match="rag calibrate"):
        AbstentionModel.load(path)


def test_the_packaged_model_loads_and_uses_every_signal():
    packaged = AbstentionModel.load()
    assert packaged.names == ["margin", "dense", "lexical", "cross_lingual"] and 0 < packaged.threshold < 1
    assert packaged.weights[0] > 0  # the model's "yes" makes an answer more likely


def test_the_message_is_in_the_askers_language_with_english_as_fallback():
    assert "Artikeln" in abstention_message("de")
    assert "articles ne" in abstention_message("fr")
    assert abstention_message("xx") == abstention_message("en") == "The articles don't say."
