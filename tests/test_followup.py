from rag.followup import needs_context, standalone_query

HISTORY = [
    {"role": "user", "content": "Wie viel hat Microsoft in OpenAI investiert?"},
    {"role": "assistant", "content": "13 Milliarden Dollar [1]."},
]


def test_a_follow_up_is_joined_with_the_previous_question():
    query, earlier = standalone_query("Und wie viel davon 2019?", HISTORY, 2000)
    assert earlier == HISTORY[0]["content"]
    assert query.startswith(HISTORY[0]["content"]) and query.endswith("Und wie viel davon 2019?")


def test_a_plain_question_stays_untouched():
    assert standalone_query("Wer ist der CTO von Microsoft?", HISTORY, 2000) == (
        "Wer ist der CTO von Microsoft?",
        None,
    )
    assert standalone_query("Combien Microsoft a-t-il investi en 2019 ?", HISTORY, 2000) == (
        "Combien Microsoft a-t-il investi en 2019 ?",
        None,
    )


def test_without_history_nothing_is_added():
    assert standalone_query("Und 2019?", [], 2000) == ("Und 2019?", None)


def test_follow_up_signals_in_three_languages():
    assert needs_context("And what about 2019?")
    assert needs_context("Et combien cela a-t-il coûté ?")
    assert not needs_context("How many employees signed the letter to the board?")


def test_an_over_long_earlier_message_is_not_context():
    history = [
        {"role": "user", "content": "Microsoft " * 500},
        {"role": "assistant", "content": "⚠ too long"},
    ]
    assert standalone_query("Und wie viel davon 2019?", history, 2000) == (
        "Und wie viel davon 2019?",
        None,
    )
