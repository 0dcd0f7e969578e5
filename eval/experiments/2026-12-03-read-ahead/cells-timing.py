# The generator's own copy-out and put-back of a passage's KV cells, and finding where its
# passages end, timed (p50 of 10–20).   .venv/bin/python cells-timing.py
import os, time, statistics
os.environ["HF_HUB_OFFLINE"] = "1"
from rag.generation import LlamaGenerator, JUDGEMENT_PREFILL
from rag.prompt import messages, PromptPassage
g = LlamaGenerator(os.path.expanduser("~/.cache/rag-news/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"), 2, 4096, 3, 512)
g.warm()
text = open("seeds/004_049a8fec8080a705.txt").read()[:600]
m = messages([PromptPassage(1, "Titel", text)], "Wer ist der CTO von Microsoft?", "de")
t = g._tokens(m, JUDGEMENT_PREFILL)
ends = []
for _ in range(20):
    s = time.perf_counter(); e = g._passages_end(m, t); ends.append((time.perf_counter() - s) * 1000)
print("passages_end", e, "ms p50", statistics.median(ends))
tok = []
for _ in range(20):
    s = time.perf_counter(); g._tokens(m, JUDGEMENT_PREFILL); tok.append((time.perf_counter() - s) * 1000)
print("_tokens ms p50", statistics.median(tok))
g._evaluate(t, e)
copies, puts = [], []
for _ in range(10):
    s = time.perf_counter(); cells = g._copy_cells(g.prefix_tokens, e); copies.append((time.perf_counter() - s) * 1000)
    s = time.perf_counter(); g._put_cells(cells, t, e); puts.append((time.perf_counter() - s) * 1000)
print("cells", len(cells), "tokens", e - g.prefix_tokens, "copy ms p50", statistics.median(copies), "put ms p50", statistics.median(puts))
