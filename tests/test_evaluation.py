import pytest

from rag.errors import GoldError
from rag.evaluation import (
    GoldQuestion,
    Outcome,
    answer_correct,
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
