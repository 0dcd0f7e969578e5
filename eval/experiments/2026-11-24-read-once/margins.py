"""Yes/no margins of several judgement layouts on gold + dev-small; one JSONL line per question.

    python margins.py OUT.jsonl [LAYOUT ...] [--dev-only]

Layouts (default A B C D): A best passage, question after; B best passage, question before
only; C all passages, question before only; D all passages, question after; E all passages,
question before and after. margins.jsonl is `margins.py margins.jsonl`; margins_e.jsonl and
margins_e_dev.jsonl are `margins.py OUT E` (the latter with --dev-only; E's keys were
E_all_both).
"""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
from rag import Assistant, Settings  # noqa: E402
from rag.abstention import too_far  # noqa: E402
from rag.evaluation import load_gold  # noqa: E402
from rag.language import answer_language, detect_language, language_name  # noqa: E402
from rag.prompt import JUDGEMENT_PREFILL, PromptPassage, group_by_article, messages, select_passages, user_message  # noqa: E402


def question_first_only(passages, question, language):
    turns = messages(passages, question, language)
    blocks = user_message(passages, question, language).split("<passages>", 1)[1].split("</passages>")[0]
    turns[-1] = {"role": "user", "content": f"Question: {question}\n<passages>{blocks}</passages>\nAnswer in {language_name(language)}."}
    return turns


LAYOUTS = {
    "A_best_after": lambda ps, q, lang: messages(ps[:1], q, lang),
    "B_best_qfirst": lambda ps, q, lang: question_first_only(ps[:1], q, lang),
    "C_all_qfirst": lambda ps, q, lang: question_first_only(ps, q, lang),
    "D_all_after": lambda ps, q, lang: messages(ps, q, lang),
    "E_all_both": lambda ps, q, lang: messages(ps, q, lang, question_first=True),
}
SETS = [("gold", "seeds", "index", "eval/gold.jsonl"), ("dev", "eval/xquad-dev/corpus", "index-xquad", "eval/xquad-dev/dev-small.jsonl")]

args = [a for a in sys.argv[1:] if not a.startswith("--")]
chosen = [name for name in LAYOUTS if name[0] in (args[1:] or "ABCD")]
out = open(args[0], "w")
for name, corpus, index, gold in SETS[1:] if "--dev-only" in sys.argv else SETS:
    assistant = Assistant(Settings(corpus=corpus, index=index, passage_token_budget=250), show_progress=False)
    generator = assistant.generator
    for q in load_gold(REPO / gold):
        language = answer_language(detect_language(q.question))
        hits = assistant.retriever.search(q.question, 3)
        passages = [PromptPassage(i, h.passage.title, h.passage.text) for i, h in enumerate(group_by_article(select_passages(hits, generator.count_tokens, 250)), 1)]
        best = max(h.dense for h in hits)
        row = {"set": name, "id": q.id, "answerable": q.answerable, "category": q.category, "lang": q.lang, "dense": best, "far": too_far(best, 0.2), "n": len(passages)}
        for layout in chosen:
            tokens = generator._tokens(generator.render(LAYOUTS[layout](passages, q.question, language)) + JUDGEMENT_PREFILL)
            judgement = generator.judge(tokens)
            row[layout] = round(judgement.yes_no_margin, 3)
            row[layout + "_tok"] = len(tokens) - judgement.reused_tokens
        out.write(json.dumps(row) + "\n")
        out.flush()
