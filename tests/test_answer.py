from rag.answer import MarkerFilter, best_supporting, clean_markers


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
