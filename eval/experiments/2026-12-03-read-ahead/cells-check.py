# Checks, against 0d3617f (before the change; run from a worktree of it), that a context of two
# sequences sharing one KV cache gives the same logits as llama-cpp-python's own, what reading
# the passage and the question as two batches does to a margin, and that a passage's KV cells
# copied out through the second sequence and put back give the same margin to the bit.
#     .venv/bin/python cells-check.py
import ctypes, time, os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np, llama_cpp
from llama_cpp import _internals
from rag.generation import LlamaGenerator
from rag.prompt import messages, PromptPassage, JUDGEMENT_PREFILL

g = LlamaGenerator(os.path.expanduser("~/.cache/rag-news/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"), 2, 4096, 3)
llm = g.llm
P1 = PromptPassage(1, "Microsoft und OpenAI", "Microsoft hat 2019 eine Milliarde Dollar in OpenAI investiert. Inzwischen sind es insgesamt 13 Milliarden Dollar. Der CTO von Microsoft, Kevin Scott, sagte, die Zusammenarbeit sei eng.")
P2 = PromptPassage(1, "Amazon Cloud", "Amazon hält 31 Prozent des Cloud-Markts, Microsoft 24 Prozent. Google folgt mit 11 Prozent.")
def toks(p, q): return g._tokens(messages([p], q, "de"), JUDGEMENT_PREFILL)
close = llm.tokenize("</passages>\n\n".encode(), add_bos=False, special=False)
print("close tokens", close, [llm.detokenize([t]) for t in close])
t1 = toks(P1, "Wer ist der CTO von Microsoft?")
def boundary(t):
    for i in range(g.prefix_tokens, len(t) - len(close) + 1):
        if t[i:i+len(close)] == close: return i + len(close)
b = boundary(t1); print("prefix", g.prefix_tokens, "boundary", b, "len", len(t1))
def margin():
    lg = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
    return float(lg[g.yes_token] - lg[g.no_token])
g.warm()
# A: today's path
g._evaluate(t1); mA = margin()
# B: split batches on the standard context
g._evaluate(toks(P2, "x")); llm.n_tokens = g.prefix_tokens; llm.eval(t1[g.prefix_tokens:b]); llm.eval(t1[b:]); mB = margin()
print("A", mA, "B split", mB)
# C: a context with two sequences, unified cache
params = llm.context_params; params.n_seq_max = 2; params.kv_unified = True
old = llm._ctx
llm._ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
old.close()
g._set_abort_callback(g._abort_check)
g._prefix_state = None; llm.n_tokens = 0; llm.input_ids[:] = 0
g.warm()
g._evaluate(t1); print("A on the 2-seq context", margin())
llm.n_tokens = g.prefix_tokens; llm.eval(t1[g.prefix_tokens:b]); llm.eval(t1[b:]); mC = margin(); print("split on 2-seq", mC)
ctx = llm._ctx.ctx; mem = llama_cpp.llama_get_memory(ctx)
# save the passage's cells alone
llm.n_tokens = b; llm._ctx.kv_cache_seq_rm(-1, b, -1)
s = time.perf_counter()
llama_cpp.llama_memory_seq_cp(mem, 0, 1, g.prefix_tokens, b)
size = llama_cpp.llama_state_seq_get_size(ctx, 1)
buf = (ctypes.c_uint8 * size)()
n = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 1)
llama_cpp.llama_memory_seq_rm(mem, 1, -1, -1)
blob = bytes(buf[:n])
print("saved", n, "bytes in", (time.perf_counter() - s) * 1000, "ms")
# disturb: another passage
g._evaluate(toks(P2, "Wie viel Prozent hat Microsoft?")); print("P2 margin", margin())
# restore
s = time.perf_counter()
llm._ctx.kv_cache_seq_rm(-1, g.prefix_tokens, -1)
src = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob)
r = llama_cpp.llama_state_seq_set_data(ctx, src, len(blob), 1)
llama_cpp.llama_memory_seq_cp(mem, 1, 0, -1, -1)
llama_cpp.llama_memory_seq_rm(mem, 1, -1, -1)
llm.input_ids[g.prefix_tokens:b] = t1[g.prefix_tokens:b]; llm.n_tokens = b
print("restored", r, "in", (time.perf_counter() - s) * 1000, "ms")
s = time.perf_counter(); llm.eval(t1[b:]); print("question read", len(t1) - b, "tokens in", (time.perf_counter() - s) * 1000, "ms")
print("restored margin", margin(), "== split", margin() == mC)
