import pytest

from rag.language import detect_language

SHORT_QUESTIONS = [
    ("Wie viel hat Microsoft investiert?", "de"),
    ("Wer ist Ilya Sutskever?", "de"),
    ("Was ist AGI?", "de"),
    ("Wann?", "de"),
    ("Und 2019?", "de"),
    ("Wie heißt der CEO?", "de"),
    ("Wo arbeitet Kevin Scott?", "de"),
    ("Wer ist der CTO von Microsoft?", "de"),
    ("Combien Microsoft a-t-il investi?", "fr"),
    ("Qui est Sam Altman?", "fr"),
    ("Quand?", "fr"),
    ("Et en 2019 ?", "fr"),
    ("Où travaille Kevin Scott ?", "fr"),
    ("Combien d’employés ont signé la lettre ?", "fr"),
    ("Quel modèle de Google ?", "fr"),
    ("Qu'est-ce que l'AGI ?", "fr"),
    ("How much did Microsoft invest?", "en"),
    ("Who is Sam Altman?", "en"),
    ("Why?", "en"),
    ("What about 2019?", "en"),
    ("Where does Kevin Scott work?", "en"),
    ("How many employees signed the letter?", "en"),
    ("Which model did Google build?", "en"),
    ("Who is the CFO?", "en"),
]


@pytest.mark.parametrize("question,language", SHORT_QUESTIONS)
def test_short_questions_in_the_three_main_languages(question, language):
    assert detect_language(question) == language


@pytest.mark.parametrize(
    "question,language",
    [
        ("¿Cuánto invirtió Microsoft en OpenAI?", "es"),
        ("微软在OpenAI投资了多少钱？", "zh"),
        ("Quanto ha investito Microsoft in OpenAI?", "it"),
    ],
)
def test_other_languages_are_told_apart(question, language):
    assert detect_language(question) == language


def test_article_languages(corpus):
    from rag.corpus import load_article

    languages = {p.name[:3]: load_article(p, corpus).language for p in corpus.glob("*.txt")}
    assert languages == {"000": "de", "001": "fr", "002": "de", "003": "de", "004": "de"}
