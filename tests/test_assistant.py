"""The steps of `Assistant.stream` (prepare → judge → answer → finish) with a fake generator,
the real Chroma and a deterministic embedder: which path a question takes, and what is shown."""

from __future__ import annotations

import json
import math
import threading
import time

import pytest

from rag import Answer, Assistant, Delta, Settings, Sources
from rag.abstention import abstention_message
from rag.errors import QuestionError
from tests.helpers import FakeGenerator, HashingEmbedder
from ui.render import sources_html

ARTICLES = {
    "finanzen.txt": "Microsoft-Finanzen\n\nDie Finanzchefin von Microsoft ist Amy Hood. Sie "
    "verantwortet seit 2013 die Finanzen des Konzerns.",
    "wetter.txt": "Wetter in Kiel\n\nIn Kiel regnet es am Montag den ganzen Tag bei zwölf Grad.",
}
QUESTION = "Wer ist die Finanzchefin von Microsoft?"


@pytest.fixture
def make_assistant(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")

    def make(generator: FakeGenerator, **overrides) -> Assistant:
        settings = Settings(corpus=corpus, index=tmp_path / "index", min_dense_score=-1.0)
        return Assistant(
            settings,
            embedder=HashingEmbedder(),
            generator=generator,
            show_progress=False,
            **overrides,
        )

    return make


def shown_text(events) -> str:
    return "".join(e.text for e in events if isinstance(e, Delta))


def test_a_supported_answer_streams_after_the_sources(make_assistant):
    generator = FakeGenerator(3.0, ["Die Finanzchefin ist Amy Hood [1]."])
    events = list(make_assistant(generator).stream(QUESTION))
    sources, answer = events[0], events[-1]
    assert isinstance(sources, Sources) and sources.passages[0].source == "finanzen.txt"
    assert isinstance(answer, Answer) and not answer.abstained
    assert shown_text(events).strip() == answer.text == "Die Finanzchefin ist Amy Hood [1]."
    assert [c.source for c in answer.citations] == ["finanzen.txt"]
    assert answer.trace.answer_check == "supported" and answer.trace.yes_no_margin == 3.0
    assert answer.timings["completion_tokens"] == 6 and answer.timings["prompt_tokens"] == 100
    assert generator.answered == []  # read once


def test_stop_ends_the_stream_where_it_is_with_no_answer(make_assistant):
    generator = FakeGenerator(3.0, ["Amy Hood ist die Finanzchefin von Microsoft seit 2013 [1]."])
    cancel = threading.Event()
    events = []
    for event in make_assistant(generator).stream(QUESTION, cancel=cancel):
        events.append(event)
        if isinstance(event, Delta):
            cancel.set()  # as the web chat's Stop does, after the first piece is shown
    assert isinstance(events[0], Sources)
    assert [type(e) for e in events[1:]] == [Delta]
    assert "2013" not in shown_text(events)


def test_a_summary_stops_as_an_answer_does(make_assistant):
    generator = FakeGenerator(3.0, ["Amy Hood is Microsoft's CFO.", "Since 2013."])
    cancel = threading.Event()
    cancel.set()
    events = list(make_assistant(generator).summarise("finanzen.txt", "en", cancel))
    assert [type(e) for e in events] == [Sources]  # stopped in its first translation


def test_the_date_an_article_states_reaches_its_citations_and_the_article_list(
    make_assistant, tmp_path
):
    (tmp_path / "corpus" / "blaufuchs.txt").write_text(
        "Blaufuchs wächst\n\nKiel, 3. März 2024 – Die Blaufuchs GmbH hat 4711 Mitarbeiter.",
        encoding="utf-8",
    )
    assistant = make_assistant(FakeGenerator(3.0, []))
    dates = {a["source"]: a["date"] for a in assistant.articles()}
    assert dates == {"blaufuchs.txt": "2024-03-03", "finanzen.txt": None, "wetter.txt": None}
    found = {c.source: c for c in assistant.search("Blaufuchs GmbH Mitarbeiter Kiel")}
    assert found["blaufuchs.txt"].date == "2024-03-03"
    assert "blaufuchs.txt · 2024-03-03 · score" in sources_html(list(found.values()), "de")


def test_an_index_missing_articles_of_its_corpus_is_completed_when_the_assistant_starts(
    make_assistant, tmp_path
):
    make_assistant(FakeGenerator(3.0, []))  # the index holds the two articles
    (tmp_path / "corpus" / "blaufuchs.txt").write_text(
        "Blaufuchs wächst\n\nDie Blaufuchs GmbH hat 4711 Mitarbeiter.", encoding="utf-8"
    )  # as after a build killed before this file, or an article added since
    (tmp_path / "corpus" / "wetter.txt").unlink()
    assistant = make_assistant(FakeGenerator(3.0, []))
    assert sorted(a["source"] for a in assistant.articles()) == ["blaufuchs.txt", "finanzen.txt"]
    assert assistant.search("Blaufuchs GmbH Mitarbeiter")[0].source == "blaufuchs.txt"


def test_passages_too_far_abstain_before_the_model_is_asked(make_assistant):
    generator = FakeGenerator(3.0, ["Amy Hood [1]."])
    answer = make_assistant(generator, min_dense_score=1.01).ask(QUESTION)
    assert answer.abstained and answer.trace.abstain_reason == "retrieval"
    assert answer.text == abstention_message("de") and generator.started == []


def test_a_no_from_the_model_abstains_and_drops_the_answer(make_assistant):
    generator = FakeGenerator(0.5, ["Amy Hood [1]."])
    answer = make_assistant(generator).ask(QUESTION)
    assert answer.abstained and answer.trace.abstain_reason == "model"
    assert generator.closed == 1 and generator.readings == ["Amy Hood [1]."]  # never read


def test_when_the_best_passage_holds_no_answer_the_next_is_judged_alone(make_assistant, tmp_path):
    (tmp_path / "corpus" / "hafen.txt").write_text(
        "Hafen Kiel\n\nIm Hafen legten am Montag zwölf Schiffe an.", encoding="utf-8"
    )
    question = "Was geschah in Kiel am Montag?"  # the weather comes first, then the port
    # The model says no to the best passage and yes to the second: the answer goes on from
    # the second's judgement and cites it, never passage 1, which it was not given. Judged
    # alone, the second passage is [1] to the model (as read ahead) and [2] to the person.
    generator = FakeGenerator([0.2, 3.0], ["Im Hafen legten zwölf Schiffe an [1][2]."])
    answer = make_assistant(generator, judge_further=1).ask(question)
    assert [c.source for c in answer.sources[:2]] == ["wetter.txt", "hafen.txt"]
    assert not answer.abstained and [j.margin for j in answer.trace.judgements] == [0.2, 3.0]
    assert [c.source for c in answer.citations] == ["hafen.txt"]
    assert answer.text == "Im Hafen legten zwölf Schiffe an [2]."
    first, second = (judged[-1]["content"] for judged in generator.judged)
    assert "[1] Wetter in Kiel" in first and "Hafen" not in first
    assert "[1] Hafen Kiel" in second and "Wetter" not in second
    assert answer.timings["prompt_tokens_read"] == 2 * 140  # both judgements' reading

    unasked = FakeGenerator([0.2, 3.0], ["Im Hafen legten zwölf Schiffe an [2]."])
    answer = make_assistant(unasked, judge_further=0).ask(question)
    assert answer.abstained and answer.trace.abstain_reason == "model"
    assert len(unasked.judged) == 1 and [j.passages for j in answer.trace.judgements] == [(1,)]


def test_a_second_passage_as_close_as_the_best_is_judged_too_and_the_likelier_answered(
    make_assistant, tmp_path
):
    (tmp_path / "corpus" / "hafen.txt").write_text(
        "Hafen Kiel\n\nIm Hafen legten am Montag zwölf Schiffe an.", encoding="utf-8"
    )
    question = "Was geschah in Kiel am Montag?"
    # Within any gap (2: cosines differ by less), the second passage is judged first, then the
    # best, whose prompt the answer then goes on from; the model's "yes" to the second wins.
    generator = FakeGenerator([3.0, 0.2], ["Im Hafen legten zwölf Schiffe an [1]."])
    answer = make_assistant(generator, judge_second_within=2.0).ask(question)
    assert [j.passages for j in answer.trace.judgements] == [(2,), (1,)]
    assert not answer.abstained and [c.source for c in answer.citations] == ["hafen.txt"]
    assert answer.trace.yes_no_margin == 3.0 and generator.closed == 1  # the best's reply
    assert "[1] Hafen Kiel" in generator.judged[0][-1]["content"]  # as it was read ahead
    assert answer.text == "Im Hafen legten zwölf Schiffe an [2]."
    # On a tie the best passage is answered from; with no gap the second is not judged.
    tie = FakeGenerator(3.0, ["Es regnet [1]."])
    answer = make_assistant(tie, judge_second_within=2.0).ask(question)
    assert len(tie.judged) == 2 and [c.source for c in answer.citations] == ["wetter.txt"]
    alone = FakeGenerator([3.0, 0.2], ["Es regnet [1]."])
    answer = make_assistant(alone, judge_second_within=0.0).ask(question)
    assert len(alone.judged) == 1 and [c.source for c in answer.citations] == ["wetter.txt"]


def test_the_answer_model_decides_with_the_language_pair_and_records_its_probability(
    make_assistant, tmp_path
):
    # The same margin: the English question about the German passage is answered, the
    # German one abstains, as the model's cross-lingual weight says.
    model = tmp_path / "answer_model.json"
    weights = {"margin": 1.0, "cross_lingual": 0.5, "dense": 0.0}
    model.write_text(json.dumps({"weights": weights, "bias": -1.0, "threshold": 0.55}))
    english = make_assistant(FakeGenerator(0.8, ["Amy Hood [1]."]), answer_model=model)
    answer = english.ask("Who is the chief financial officer of Microsoft?")
    assert not answer.abstained and answer.trace.cross_lingual is True
    assert answer.trace.answer_probability == pytest.approx(1 / (1 + math.exp(-0.3)), abs=1e-4)
    german = make_assistant(FakeGenerator(0.8, ["Amy Hood [1]."]), answer_model=model)
    answer = german.ask(QUESTION)
    assert answer.abstained and answer.trace.abstain_reason == "model"
    assert answer.trace.cross_lingual is False
    # A threshold of the person's own overrides the model's.
    eager = make_assistant(
        FakeGenerator(0.8, ["Amy Hood [1]."]), answer_model=model, min_answer_probability=0.4
    )
    assert not eager.ask(QUESTION).abstained


def test_the_answer_models_retrieval_floor_applies_unless_a_setting_overrides_it(
    make_assistant, tmp_path
):
    model = tmp_path / "answer_model.json"
    weights = {"margin": 1.0, "cross_lingual": 0.0, "dense": 0.0}
    model.write_text(
        json.dumps({"weights": weights, "bias": 0.0, "threshold": 0.5, "min_dense": 1.01})
    )
    generator = FakeGenerator(3.0, ["Amy Hood [1]."])
    floored = make_assistant(generator, answer_model=model, min_dense_score=None)
    answer = floored.ask(QUESTION)
    assert answer.abstained and answer.trace.abstain_reason == "retrieval"
    assert generator.started == []
    own_floor = make_assistant(FakeGenerator(3.0, ["Amy Hood [1]."]), answer_model=model)
    assert not own_floor.ask(QUESTION).abstained  # the fixture's setting: -1.0


def test_a_follow_up_is_retrieved_with_the_earlier_question_but_the_model_reads_only_its_own(
    make_assistant,
):
    generator = FakeGenerator(3.0, ["Amy Hood [1]."])
    earlier = "Wer leitet die Finanzen von Microsoft?"
    history = [{"role": "user", "content": earlier}, {"role": "assistant", "content": "…"}]
    answer = make_assistant(generator).ask("Und seit wann?", history=history)
    assert answer.sources[0].source == "finanzen.txt"  # found through the earlier question
    prompt = generator.started[0][-1]["content"]
    assert "Und seit wann?" in prompt and earlier not in prompt


def test_an_answer_without_a_fact_is_read_again_and_never_shown(make_assistant):
    generator = FakeGenerator(3.0, ["Microsoft hat eine Finanzchefin [1].", "Amy Hood [1]."])
    events = list(make_assistant(generator, answer_from_judgement=False).stream(QUESTION))
    answer = events[-1]
    assert "Finanzchefin [1]" not in shown_text(events) and answer.text == "Amy Hood [1]."
    assert [r.verdict for r in answer.trace.rejected_readings] == ["no_fact"]
    assert answer.timings["completion_tokens"] == 5 + 3  # both readings
    # The second reading asks with the question after the passages only.
    second_prompt = generator.answered[0][-1]["content"]
    assert not second_prompt.startswith("Question:") and second_prompt.count(QUESTION) == 1


def test_an_answer_from_the_judgement_reads_the_judged_passage_and_all_only_when_read_again(
    make_assistant, tmp_path
):
    (tmp_path / "corpus" / "konzern.txt").write_text(
        "Microsoft-Konzern\n\nDer Konzern Microsoft hat seinen Sitz in Redmond.", encoding="utf-8"
    )
    generator = FakeGenerator(3.0, ["Microsoft hat eine Finanzchefin [1].", "Amy Hood [1]."])
    answer = make_assistant(generator, answer_from_judgement=True).ask(QUESTION)
    assert answer.text == "Amy Hood [1]." and len(answer.sources) == 2
    first, again = generator.started[0][-1]["content"], generator.answered[0][-1]["content"]
    # The first reading is the judgement's prompt: the best passage, the question after it.
    assert "[2]" not in first and not first.startswith("Question:") and first.count(QUESTION) == 1
    # Read again, it asks the default way: every passage, the question before them too.
    assert "[2]" in again and again.startswith(f"Question: {QUESTION}")
    assert answer.timings["prompt_tokens_necessary"] == 100 - 60  # no question ahead


def test_an_answer_from_the_judgement_cites_only_the_passage_it_read(make_assistant, tmp_path):
    (tmp_path / "corpus" / "konzern.txt").write_text(
        "Microsoft-Konzern\n\nDer Konzern Microsoft hat seinen Sitz in Redmond.", encoding="utf-8"
    )
    generator = FakeGenerator(3.0, ["Amy Hood [2]."])  # a marker for a passage it never saw
    answer = make_assistant(generator, answer_from_judgement=True).ask(QUESTION)
    assert "[2]" not in answer.text and [c.source for c in answer.citations] == ["finanzen.txt"]


def test_two_readings_with_an_invented_figure_end_in_an_abstention(make_assistant):
    generator = FakeGenerator(3.0, ["Sie ist seit 2019 im Amt [1].", "Seit 2019 [1]."])
    events = list(make_assistant(generator).stream(QUESTION))
    answer = events[-1]
    assert answer.abstained and answer.trace.abstain_reason == "answer_unsupported"
    assert "2019" not in shown_text(events) and len(answer.trace.rejected_readings) == 2


def test_an_answer_without_markers_cites_the_passage_that_holds_it(make_assistant):
    generator = FakeGenerator(3.0, ["Die Finanzchefin ist Amy Hood."])
    events = list(make_assistant(generator).stream(QUESTION))
    answer = events[-1]
    assert answer.text == "Die Finanzchefin ist Amy Hood. [1]" and events[-2].text == " [1]"
    assert [c.source for c in answer.citations] == ["finanzen.txt"]


def test_the_first_shown_piece_stops_the_first_token_clock(make_assistant):
    generator = FakeGenerator(3.0, ["Amy Hood ist seit 2013 Finanzchefin [1]."])
    answer = make_assistant(generator).ask(QUESTION)
    timings = answer.timings
    assert timings["retrieve_ms"] <= timings["sources_ms"] <= timings["model_first_token_ms"]
    assert timings["model_first_token_ms"] <= timings["first_token_ms"] <= timings["total_ms"]


def test_search_only_returns_the_passages_and_never_asks_the_model(make_assistant):
    generator = FakeGenerator(3.0, ["Amy Hood [1]."])
    found = make_assistant(generator).search(QUESTION, top_k=2)
    assert found[0].source == "finanzen.txt" and "Amy Hood" in found[0].text
    assert [c.marker for c in found] == list(range(1, len(found) + 1))
    assert generator.started == [] and generator.answered == []


def test_a_question_limited_to_some_articles_reads_only_their_passages(make_assistant):
    generator = FakeGenerator(0.5, [])
    assistant = make_assistant(generator)
    assert [c.source for c in assistant.search(QUESTION, sources=["wetter.txt"])] == ["wetter.txt"]
    answer = assistant.ask(QUESTION, sources=["wetter.txt"])
    assert {c.source for c in answer.sources} == {"wetter.txt"}
    assert "Amy Hood" not in str(generator.started or "") and answer.abstained


@pytest.mark.parametrize(
    ("sources", "message"),
    [(["nirgends.txt"], "no such article in the index: nirgends.txt"), ([], "at least one")],
)
def test_an_unknown_or_empty_article_choice_is_refused_with_the_reason(
    make_assistant, sources, message
):
    assistant = make_assistant(FakeGenerator(3.0, []))
    with pytest.raises(QuestionError, match=message):
        assistant.search(QUESTION, sources=sources)
    with pytest.raises(QuestionError, match=message):
        assistant.ask(QUESTION, sources=sources)


def test_a_summary_in_the_articles_language_is_its_lead_as_written_with_no_model(make_assistant):
    generator = FakeGenerator(3.0, [])
    events = list(make_assistant(generator).summarise("finanzen.txt", "de"))
    sources, answer = events[0], events[-1]
    assert isinstance(sources, Sources) and {c.source for c in sources.passages} == {"finanzen.txt"}
    assert isinstance(answer, Answer) and not answer.abstained and answer.language == "de"
    assert answer.text == (
        "Die Finanzchefin von Microsoft ist Amy Hood. [1] "
        "Sie verantwortet seit 2013 die Finanzen des Konzerns. [1]"
    )
    assert shown_text(events) == answer.text
    assert [c.source for c in answer.citations] == ["finanzen.txt"]
    assert generator.started == generator.answered == generator.written == []


def test_a_summary_in_another_language_translates_each_sentence_on_its_own(make_assistant):
    generator = FakeGenerator(
        3.0, ["Microsoft's CFO is Amy Hood.", 'Here it is:\n"She has run its finances since 2013."']
    )
    answer = list(make_assistant(generator).summarise("finanzen.txt", "en"))[-1]
    assert answer.text == (
        "Microsoft's CFO is Amy Hood. [1] She has run its finances since 2013. [1]"
    )
    assert [c.source for c in answer.citations] == ["finanzen.txt"]
    first, second = (prompt[-1]["content"] for prompt in generator.written)
    assert first == "Die Finanzchefin von Microsoft ist Amy Hood."
    assert second == "Sie verantwortet seit 2013 die Finanzen des Konzerns."
    assert "into English" in generator.written[0][0]["content"]
    assert generator.started == generator.answered == []  # no judgement, no answer prompt


def test_a_translation_with_a_number_its_sentence_lacks_gives_way_to_the_sentence(make_assistant):
    generator = FakeGenerator(3.0, ["Microsoft's CFO is Amy Hood.", "She has run it since 2015."])
    answer = list(make_assistant(generator).summarise("finanzen.txt", "en"))[-1]
    assert answer.text == (
        "Microsoft's CFO is Amy Hood. [1] Sie verantwortet seit 2013 die Finanzen des Konzerns. [1]"
    )
    assert [(r.text, r.verdict) for r in answer.trace.rejected_readings] == [
        ("She has run it since 2015.", "unfaithful_translation")
    ]


def test_asking_for_a_summary_summarises_the_article_it_names(make_assistant):
    generator = FakeGenerator(3.0, ["In Kiel regnet es am Montag [1]."])
    answer = make_assistant(generator).ask("Fasse den Artikel über das Wetter in Kiel zusammen")
    assert answer.trace.answer_check == "summary"
    assert {c.source for c in answer.sources} == {"wetter.txt"}
    with pytest.raises(QuestionError, match="no such article"):
        list(make_assistant(generator).summarise("nirgends.txt"))


def test_reading_ahead_offers_each_indexed_passage_alone_before_any_question(make_assistant):
    generator = FakeGenerator(3.0, [])
    assistant = make_assistant(generator)
    passages = assistant.store.passages().values()
    assert assistant.read_ahead() == len(passages) == len(generator.read)
    offered = [prompt[-1]["content"] for prompt in generator.read]
    for passage in passages:  # as the best passage, [1], with an empty question after it
        (content,) = [c for c in offered if passage.text in c]
        assert content.startswith(f"<passages>\n[1] {passage.title}\n")
        assert "Question: \n" in content


def test_reading_ahead_ends_when_the_model_has_no_more_room(make_assistant):
    generator = FakeGenerator(3.0, [])
    generator.read_outcome = "full"
    assert make_assistant(generator).read_ahead() == 0
    assert len(generator.read) == 1


def test_an_article_added_while_serving_is_read_ahead_too(make_assistant):
    generator = FakeGenerator(3.0, [])
    assistant = make_assistant(generator)
    indexed = len(assistant.store.passages())
    stop = assistant.start_reading_ahead()
    assert stop is not None
    try:
        deadline = time.monotonic() + 30
        while len(generator.read) < indexed:  # the first reading ahead is over
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assistant.add_article("nachtrag.txt", b"Nachtrag\n\nDer Hafen wird erweitert.")
        deadline = time.monotonic() + 30
        while not any("Hafen wird" in p[-1]["content"] for p in list(generator.read)):
            assert time.monotonic() < deadline, "the new article was never read ahead"
            time.sleep(0.05)
    finally:
        stop.set()
