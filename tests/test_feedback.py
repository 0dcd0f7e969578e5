"""Ratings kept as JSON lines, and the draft gold questions made from them."""

from rag import feedback
from rag.answer import Answer, Citation
from rag.evaluation import load_gold

CITATION = Citation(
    marker=1,
    source="a.txt",
    title="Wahl",
    text="Anna Berg gewann mit 52 %.",
    start=0,
    end=26,
    score=0.9,
)


def rated(path, question, text, liked, comment="", abstained=False):
    answer = Answer(text=text, abstained=abstained, language="de", citations=[CITATION])
    return feedback.record(
        path, liked=liked, comment=comment, question=question, answer=answer, settings={"top_k": 3}
    )


def test_ratings_survive_in_the_file_and_become_gold_questions_eval_can_load(tmp_path):
    path = tmp_path / "nested" / "feedback.jsonl"
    rated(path, "Wer gewann?", "Anna Berg [1].", liked=True)
    rated(path, "Mit wie viel Prozent?", "Mit 25 % [1].", liked=False, comment="52 %")
    rated(path, "Wer verlor?", "Otto [1].", liked=False)  # wrong, but no right answer given
    rated(path, "Wie ist das Wetter?", "Dazu steht nichts.", liked=True, abstained=True)
    rated(path, "Wer gewann?", "Anna Berg [1].", liked=True)  # the same question again

    entries = feedback.read(path)
    assert [e["rating"] for e in entries] == ["up", "down", "down", "up", "up"]
    drafts, skipped = feedback.draft_gold(entries)
    assert [(d["question"], d["answers"], d["answerable"]) for d in drafts] == [
        ("Wer gewann?", ["Anna\\ Berg"], True),
        ("Mit wie viel Prozent?", ["52\\ %"], True),
        ("Wie ist das Wetter?", [], False),
    ]
    assert len(skipped) == 1 and "Wer verlor?" in skipped[0]

    gold = tmp_path / "draft.jsonl"
    gold.write_text("".join(__import__("json").dumps(d) + "\n" for d in drafts))
    assert [q.id for q in load_gold(gold)] == ["feedback001", "feedback002", "feedback004"]


def test_a_damaged_line_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "feedback.jsonl"
    rated(path, "Wer gewann?", "Anna Berg [1].", liked=True)
    with path.open("a") as f:
        f.write('{"cut off\n')
    assert len(feedback.read(path)) == 1
