from rag.chunking import chunk, sentence_spans
from rag.corpus import load_article
from tests.helpers import SEEDS


def test_passages_point_back_into_the_article_text():
    for path in sorted(SEEDS.glob("*.txt")):
        article = load_article(path, SEEDS)
        passages = chunk(article.text, article.language, max_chars=600)
        assert passages
        for passage in passages:
            assert article.text[passage.start : passage.end] == passage.text
            assert len(passage.text) <= 600


def test_passages_are_whole_sentences_in_order_and_skip_the_title():
    text = "Der Titel\nErster Satz hier. Zweiter Satz folgt. Dritter Satz ist das.\nNeuer Absatz."
    passages = chunk(text, "de", max_chars=40)
    assert [p.text for p in passages] == [
        "Erster Satz hier. Zweiter Satz folgt.",
        "Dritter Satz ist das.\nNeuer Absatz.",
    ]
    assert all(p.start > len("Der Titel") for p in passages)
    assert [p.start for p in passages] == sorted(p.start for p in passages)


def test_a_sentence_longer_than_the_limit_is_cut_at_spaces():
    text = "T\n" + " ".join(["wort"] * 50) + "."
    passages = chunk(text, "de", max_chars=60)
    assert len(passages) > 1
    assert all(len(p.text) <= 60 and not p.text.startswith(" ") for p in passages)
    assert " ".join(p.text for p in passages) == text[2:]


def test_sentences_do_not_cross_line_breaks_or_keep_spaces():
    text = "Title\n  First line.  \nSecond line!"
    spans = sentence_spans(text, "en")
    assert [text[s:e] for s, e in spans] == ["Title", "First line.", "Second line!"]


def test_abbreviations_do_not_end_a_sentence():
    text = "T\nAm 22. Juli kündigte Microsoft etwas an. Dr. Müller sagte nichts."
    passages = chunk(text, "de", max_chars=45)
    assert passages[0].text == "Am 22. Juli kündigte Microsoft etwas an."


def test_a_very_long_line_is_segmented_in_windows_without_losing_a_sentence():
    # pysbd slows down faster than linearly on one long line; it gets a few KB at a time.
    sentences = [
        f"Satz Nummer {i} handelt von Dr. Meier und dem Thema {i * 7}." for i in range(400)
    ]
    text = "Titel\n" + " ".join(sentences)
    passages = chunk(text, "de", max_chars=350)
    assert all(text[p.start : p.end] == p.text and len(p.text) <= 350 for p in passages)
    assert " ".join(p.text for p in passages) == " ".join(sentences)
