import sys, json
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from rag import Assistant, Settings
from rag.prompt import PromptPassage, messages, select_passages, group_by_article, JUDGEMENT_PREFILL
from rag.language import detect_language, answer_language
from rag.abstention import too_far
from rag.evaluation import load_gold
sets = [("gold", "seeds", "index", "eval/gold.jsonl"), ("dev", "eval/xquad-dev/corpus", "index-xquad", "eval/xquad-dev/dev-small.jsonl")]
out = open(sys.argv[1], "w")
for name, corpus, index, gold in sets:
    a = Assistant(Settings(corpus=corpus, index=index), show_progress=False)
    g = a.generator
    for q in load_gold(Path(__file__).resolve().parents[3] / gold):
        lang = answer_language(detect_language(q.question))
        hits = a.retriever.search(q.question, 3)
        chosen = group_by_article(select_passages(hits, g.count_tokens, 250))
        ps = [PromptPassage(i, h.passage.title, h.passage.text) for i, h in enumerate(chosen, 1)]
        row = {"set": name, "id": q.id, "answerable": q.answerable, "far": too_far(max(h.dense for h in hits), 0.2)}
        toks = g._tokens(g.render(messages(ps, q.question, lang, question_first=True)) + JUDGEMENT_PREFILL)
        j = g.judge(toks)
        row["E_all_both"] = round(j.yes_no_margin, 3); row["E_all_both_tok"] = len(toks) - j.reused_tokens
        out.write(json.dumps(row) + "\n"); out.flush()
