"""Five follow-up questions on the seed articles, each after a first question and answer.

    .venv/bin/python eval/experiments/2026-12-03-cross-lingual-margin/followups.py

Prints each answer and how many hold the expected text. Written in this session to see
why `test_a_follow_up_uses_the_conversation` failed; the choice they informed (the model no
longer reads the earlier question) is in docs/decisions.md.
"""

from rag import Assistant, Settings

assistant = Assistant(Settings(corpus="seeds", index="index"), show_progress=False)
CASES = [
    (
        "Wer ist der CTO von Microsoft?",
        "Kevin Scott ist der CTO von Microsoft [1].",
        "Und wer ist die CFO?",
        "Amy Hood",
    ),
    (
        "Who is the CTO of Microsoft?",
        "Kevin Scott is Microsoft's CTO [1].",
        "And who is the CFO?",
        "Amy Hood",
    ),
    (
        "Wie viel hat Microsoft 2019 in OpenAI investiert?",
        "Microsoft investierte 2019 eine Milliarde Dollar [1].",
        "Und wie viel insgesamt?",
        "13",
    ),
    (
        "Combien Microsoft a-t-il investi dans OpenAI en 2019 ?",
        "Microsoft a investi un milliard de dollars [1].",
        "Et au total ?",
        "13",
    ),
    (
        "Wann wurde OpenAI gegründet?",
        "OpenAI wurde 2015 gegründet [1].",
        "Und wann hat Google DeepMind gekauft?",
        "2014",
    ),
]
right = 0
for first, first_answer, follow_up, expected in CASES:
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": first_answer}]
    answer = assistant.ask(follow_up, history=history)
    right += expected in answer.text
    print(expected in answer.text, follow_up, "->", answer.text, answer.trace.yes_no_margin)
print(f"{right} of {len(CASES)} hold the expected text")
