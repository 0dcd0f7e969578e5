from rag.answer import MarkerFilter, RestatementGuard, best_supporting, clean_markers


def test_markers_pointing_at_nothing_are_removed():
    text, cited = clean_markers("Es waren 550 [3]. Mehr nicht [0][2].", valid=2)
    assert text == "Es waren 550. Mehr nicht [2]."
    assert cited == [2]


def test_cited_numbers_come_in_order_of_first_use_without_repeats():
    assert clean_markers("A [2]. B [1, 2]. C [2].", valid=3)[1] == [2, 1]


def test_text_without_markers_cites_nothing():
    assert clean_markers("Keine Angabe.", valid=3) == ("Keine Angabe.", [])


def test_stream_filter_holds_a_marker_split_across_deltas():
    stream = MarkerFilter(valid=2)
    shown = [stream.feed(d) for d in ["Es waren 550 [", "2", "] und [", "9", "] Leute."]]
    assert shown[0] == "Es waren 550 "
    assert "".join(shown) + stream.flush() == "Es waren 550 [2] und  Leute."


def test_stream_filter_releases_a_bracket_that_is_not_a_marker():
    stream = MarkerFilter(valid=2)
    assert stream.feed("a [machine learning] b") == "a [machine learning] b"
    assert stream.feed("x [") == "x "
    assert stream.flush() == "["


def test_best_supporting_passage_shares_the_answers_numbers_and_names():
    passages = ["Microsoft investierte 1 Milliarde Dollar.", "Es wurden 13 Milliarden Dollar investiert."]
    assert best_supporting("Microsoft hat 13 Milliarden investiert.", passages) == 2
    assert best_supporting("Ja.", passages) is None


def stream_through(guard: RestatementGuard, deltas: list[str]) -> list[str]:
    return [guard.feed(d) for d in deltas] + [guard.finish()]


def test_an_answer_that_only_restates_the_question_is_held_back_whole():
    guard = RestatementGuard("Which group did Google merge with DeepMind?")
    shown = stream_through(guard, ["Google", " merged", " with", " Deep", "Mind", " [1]", "."])
    assert shown[:-1] == [""] * 7 and shown[-1] == "Google merged with DeepMind [1]."
    assert guard.restated


def test_an_answer_is_released_at_its_first_word_the_question_did_not_say():
    guard = RestatementGuard("Combien Altman voulait-il lever auprès d'investisseurs ?")
    shown = stream_through(guard, ["Altman", " voulait", " lever", " 7", " milliards", " [1]."])
    assert shown[:4] == ["", "", "", ""]  # "7" may still go on ("70") until the next word starts
    assert shown[4] == "Altman voulait lever 7 milliards" and shown[5] == " [1]."
    assert "".join(shown) == "Altman voulait lever 7 milliards [1]." and not guard.restated


def test_a_short_answer_with_a_new_word_is_not_a_restatement():
    guard = RestatementGuard("Wer ist der CTO von Microsoft?")
    assert "".join(stream_through(guard, ["Kevin Scott", " [1]."])) == "Kevin Scott [1]."
    assert not guard.restated
