import re

import pytest

from rag.errors import GoldError
from rag.evaluation import (
    GoldQuestion,
    Outcome,
    answer_correct,
    answer_has_terms,
    groundedness,
    language_ok,
    load_gold,
    reciprocal_rank,
    summarise,
)


def outcome(
    answerable=True,
    text="13 Milliarden [1]",
    abstained=False,
    cited=("a.txt",),
    retrieved=("a.txt",),
    lang="de",
):
    gold = GoldQuestion(
        "q",
        "de",
        "?",
        [r"13\s*Milliarden"] if answerable else [],
        ["a.txt"] if answerable else [],
        answerable,
    )
    return Outcome(
        gold,
        text,
        abstained,
        lang == "de",
        list(cited),
        list(retrieved),
        {"first_token_ms": 100.0, "total_ms": 200.0, "sources_ms": 10.0},
    )


def test_accepted_answers_are_patterns():
    assert answer_correct("Es waren $13bn.", [r"13\s*Milliarden", r"\$13\s*bn"])
    assert not answer_correct("Es waren 1,3 Milliarden.", [r"\b13\s*Milliarden"])


def test_an_answer_with_the_golds_words_in_other_forms_counts_only_beside_the_exact_figure():
    # XQuAD's answers are escaped literals, the English questions' with the German answer too.
    gold = [re.escape("28 February 2008"), re.escape("28. Februar 2008")]
    assert answer_has_terms("They signed on February 28, 2008 [1].", gold)
    assert not answer_has_terms("They signed on February 28, 2009 [1].", gold)
    assert answer_has_terms("Die Farben waren Schwarz und Gelb [1].", [re.escape("Schwarz-Gelb")])
    assert answer_has_terms("Es war der Elfte Doktor [1].", [re.escape("Der Elfte Doktor")])
    assert not answer_has_terms("Es war der Zwölfte Doktor [1].", [re.escape("Der Elfte Doktor")])
    # A hand-written pattern is taken as it stands: only the exact figure reads it.
    assert not answer_has_terms("Es waren 13 Mrd. Dollar.", [r"13\s*Milliarden"])
    # Restating the question is no answer, though "constructing" is a form of "Construction".
    question = "What is the process of constructing a building?"
    restated = "It is the process of constructing a building [1]."
    assert not answer_has_terms(restated, [re.escape("Construction")], question)
    assert answer_has_terms(restated, [re.escape("Construction")])

    dated = GoldQuestion("q", "en", "When?", gold, ["a.txt"], True)
    said = Outcome(dated, "On February 28, 2008 [1].", False, True, ["a.txt"], ["a.txt"], {})
    asked = GoldQuestion("c", "en", question, [re.escape("Construction")], ["a.txt"], True)
    restating = Outcome(asked, restated, False, True, ["a.txt"], ["a.txt"], {})
    figures = summarise([said, restating])
    assert figures["answer_accuracy"] == 0.0 and figures["answer_accuracy_terms"] == 0.5


def test_reciprocal_rank():
    assert reciprocal_rank(["b", "c", "a"], ["a"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(["b"], ["a"]) == 0.0


def test_summary_of_known_outcomes():
    figures = summarise(
        [
            outcome(),
            outcome(text="1 Milliarde [1]", cited=("b.txt",), retrieved=("b.txt", "a.txt")),
            outcome(answerable=False, text="Dazu steht nichts.", abstained=True, cited=()),
            outcome(answerable=False, text="Erfunden [1]", cited=("b.txt",)),
        ]
    )
    assert figures["answer_accuracy"] == 0.5
    assert figures["citation_precision"] == 0.5
    assert figures["abstention_recall"] == 0.5
    assert figures["false_abstention"] == 0.0
    assert (
        figures["recall_at_1"] == 0.5 and figures["recall_at_5"] == 1.0 and figures["mrr"] == 0.75
    )


def test_no_citations_and_all_abstained_give_no_precision_rather_than_a_number():
    figures = summarise([outcome(abstained=True, text="Dazu steht nichts.", cited=())])
    assert figures["citation_precision"] is None
    assert figures["false_abstention"] == 1.0 and figures["answer_accuracy"] == 0.0
    assert figures["abstention_recall"] is None


def test_empty_or_broken_gold_files_are_clear_errors(tmp_path):
    empty = tmp_path / "gold.jsonl"
    empty.write_text("\n")
    with pytest.raises(GoldError, match="holds no questions"):
        load_gold(empty)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x"}\n')
    with pytest.raises(GoldError, match="broken.jsonl:1"):
        load_gold(broken)
    with pytest.raises(GoldError, match="not found"):
        load_gold(tmp_path / "missing.jsonl")


def test_the_team_gold_file_is_valid_and_covers_what_it_must():
    from tests.helpers import REPO, SEEDS

    gold = load_gold(REPO / "eval" / "gold.jsonl")
    assert len(gold) >= 40 and len({g.id for g in gold}) == len(gold)
    assert all(sum(g.lang == lang for g in gold) >= 10 for lang in ("de", "fr", "en"))
    assert sum(not g.answerable for g in gold) >= 8
    assert sum(g.category == "cross-lingual" for g in gold) >= 8
    names = {p.name for p in SEEDS.iterdir()}
    assert all(set(g.sources) <= names and bool(g.answers) == g.answerable for g in gold)


def test_groundedness_counts_sentences_whose_numbers_and_names_are_in_the_cited_passages():
    passages = ["Microsoft hat mindestens 13 Milliarden Dollar in OpenAI investiert."]
    assert groundedness("Microsoft investierte 13 Milliarden in OpenAI [1].", passages) == 1.0
    assert (
        groundedness(
            "Microsoft investierte 14 Milliarden [1]. Satya Nadella jubelte [1].", passages
        )
        == 0.0
    )
    assert groundedness("ja.", passages) is None


def test_language_check_accepts_names_only_answers_but_not_the_wrong_language():
    assert language_ok("Kevin Scott [1].", "de")
    assert language_ok("Der CTO von Microsoft ist Kevin Scott [1].", "de")
    assert not language_ok("The CTO of Microsoft is Kevin Scott [1].", "de")


def test_the_summary_table_prints_shares_as_percentages_and_rates_as_numbers():
    from rag.eval_report import summary_table

    figures = {
        "answer_accuracy": 0.5,
        "prompt_tokens_reused_p50": 0,
        "tokens_per_s_p50": 0.5,
        "total_ms_p50": 812.0,
    }
    table = summary_table(figures, {"de": figures})
    assert "| answer accuracy | 50.0% | 50.0% |" in table
    assert (
        "| generation tokens/s p50 | 0.5 | 0.5 |" in table
        and "| of which reused from cache p50 | 0 | 0 |" in table
    )
    assert "| total p50 (ms) | 812 | 812 |" in table


def test_the_report_shows_the_answer_models_reliability_as_a_table_and_a_plot(tmp_path):
    from rag.eval_report import write_report

    gold = GoldQuestion("q", "de", "Wer?", [r"Hood"], ["a.txt"], True)
    near_miss = GoldQuestion("n", "de", "Wer noch?", [], [], False)
    outcomes = [
        Outcome(asked, text, abstained, True, [], [], {"total_ms": 9.0}, trace=trace)
        for asked, text, abstained, trace in [
            (gold, "Amy Hood [1].", False, {"answer_probability": 0.91}),
            (gold, "Kevin Scott [1].", False, {"answer_probability": 0.95}),
            (near_miss, "Amy Hood [1].", False, {"answer_probability": 0.93}),
            (near_miss, "Dazu steht nichts.", True, {"answer_probability": 0.12}),
        ]
    ]
    summary = summarise(outcomes)
    folder = write_report(tmp_path, {}, summary, {"de": summary}, {"x": summary}, outcomes)
    report = (folder / "report.md").read_text()
    assert "| 0.9–1.0 | 3 | 93.0% | 66.7% | 3 | 33.3% |" in report
    assert "| 0.1–0.2 | 1 | 12.0% | 0% | 0 | – |" in report
    assert (folder / "reliability.png").stat().st_size > 1000
