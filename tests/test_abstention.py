from rag.abstention import abstention_message, model_says_not_found, too_far


def test_far_retrieval_abstains_and_close_retrieval_does_not():
    assert too_far(0.09, min_dense=0.2)
    assert not too_far(0.45, min_dense=0.2)
    assert too_far(None, min_dense=0.2)


def test_the_model_must_prefer_yes_by_the_margin():
    assert model_says_not_found(0.49, min_margin=0.5)
    assert not model_says_not_found(0.51, min_margin=0.5)
    assert model_says_not_found(-2.0, min_margin=0.5)


def test_the_message_is_in_the_askers_language_with_english_as_fallback():
    assert "Artikeln" in abstention_message("de")
    assert "articles ne" in abstention_message("fr")
    assert abstention_message("xx") == abstention_message("en") == "The articles don't say."
