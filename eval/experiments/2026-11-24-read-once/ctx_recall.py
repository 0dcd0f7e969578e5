"""Answer-in-context rate: does the text given to the model (within the token budget) match the gold answer?"""
import sys, re, json
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from llama_cpp import Llama
from rag import Assistant, Settings
from rag import models
from rag.evaluation import load_gold, answer_correct
from rag.prompt import select_passages

llm = Llama(models.generator_source(Settings()), vocab_only=True, verbose=False)
count = lambda t: len(llm.tokenize(t.encode(), add_bos=False))
chunk = int(sys.argv[1])
budgets = [int(b) for b in sys.argv[2].split(",")]
sets = [("gold", "seeds", "eval/gold.jsonl"), ("dev", "eval/xquad-dev/corpus", "eval/xquad-dev/dev-small.jsonl")]
for name, corpus, gold in sets:
    a = Assistant(Settings(corpus=corpus, index=f"/tmp/exp/idx-{name}-{chunk}", chunk_chars=chunk, top_k=12), show_progress=False, load_generator=False)
    qs = [q for q in load_gold(Path(__file__).resolve().parents[3] / gold) if q.answerable]
    res = {b: [] for b in budgets}; toks = {b: [] for b in budgets}; first = []
    for q in qs:
        hits = a.retriever.search(q.question, 12)
        for b in budgets:
            chosen = select_passages(hits, count, b)
            text = "\n".join(h.passage.text for h in chosen)
            res[b].append(answer_correct(text, q.answers))
            toks[b].append(sum(count(h.passage.text) for h in chosen))
        first.append(answer_correct(hits[0].passage.text, q.answers) if hits else False)
    print(name, "chunk", chunk, "n", len(qs), "top1-in", round(sum(first)/len(qs),3),
          " ".join(f"b{b}: {sum(res[b])/len(qs):.3f} ({sorted(toks[b])[len(qs)//2]} tok)" for b in budgets), flush=True)
