"""Yes/no margins under three judgement layouts, on gold + dev-small; prints a JSONL line per question."""
import sys, json, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from rag import Assistant, Settings
from rag.prompt import PromptPassage, messages, user_message, select_passages, group_by_article, JUDGEMENT_PREFILL, SYSTEM, EXAMPLES
from rag.language import detect_language, answer_language, language_name
from rag.abstention import too_far
from rag.evaluation import load_gold

def qfirst_msgs(passages, question, language):
    m = messages(passages, question, language)
    blocks = user_message(passages, question, language).split("<passages>",1)[1].split("</passages>")[0]
    m[-1] = {"role": "user", "content": f"Question: {question}\n<passages>{blocks}</passages>\nAnswer in {language_name(language)}."}
    return m

sets = [("gold", "seeds", "index", "eval/gold.jsonl"), ("dev", "eval/xquad-dev/corpus", "index-xquad", "eval/xquad-dev/dev-small.jsonl")]
out = open(sys.argv[1], "w")
gen = None
for name, corpus, index, gold in sets:
    a = Assistant(Settings(corpus=corpus, index=index, passage_token_budget=250), show_progress=False, load_generator=True)
    g = a.generator
    for q in load_gold(Path(__file__).resolve().parents[3] / gold):
        lang = answer_language(detect_language(q.question))
        hits = a.retriever.search(q.question, 3)
        chosen = group_by_article(select_passages(hits, g.count_tokens, 250))
        ps = [PromptPassage(i, h.passage.title, h.passage.text) for i, h in enumerate(chosen, 1)]
        row = {"set": name, "id": q.id, "answerable": q.answerable, "category": q.category, "lang": q.lang,
               "dense": max(h.dense for h in hits), "far": too_far(max(h.dense for h in hits), 0.2), "n": len(ps)}
        for layout, m in [("A_best_after", messages(ps[:1], q.question, lang)), ("B_best_qfirst", qfirst_msgs(ps[:1], q.question, lang)), ("C_all_qfirst", qfirst_msgs(ps, q.question, lang)), ("D_all_after", messages(ps, q.question, lang))]:
            toks = g._tokens(g.render(m) + JUDGEMENT_PREFILL)
            j = g.judge(toks)
            row[layout] = round(j.yes_no_margin, 3)
            row[layout + "_tok"] = len(toks) - j.reused_tokens
        out.write(json.dumps(row) + "\n"); out.flush()
