"""Writing speed with and without prompt-lookup guesses, on recorded answer prompts.

    python spec.py PROMPTS MODEL K [N]

Both models read each prompt as the assistant's judgement does (last logits only), then write
the answer greedily; the two alternate per prompt. Prints each prompt's figures and medians."""

import json
import statistics
import sys
import time
from pathlib import Path

from llama_cpp import Llama
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from rag.generation import _common_prefix  # noqa: E402

prompts = json.loads(Path(sys.argv[1]).read_text())
model, k = sys.argv[2], int(sys.argv[3])
n = int(sys.argv[4]) if len(sys.argv) > 4 else len(prompts)
common = dict(n_ctx=4096, n_threads=2, n_threads_batch=2, n_batch=512, verbose=False)
plain = Llama(model, **common)
guessing = Llama(
    model, draft_model=LlamaPromptLookupDecoding(num_pred_tokens=k), logits_all=True, **common
)
stop = ["<|im_end|>", "<|endoftext|>"]


def run(llm: Llama, tokens: list[int], max_tokens: int) -> tuple[float, float, int, str]:
    """(seconds to the first token, seconds writing after it, tokens, text)."""
    llm._logits_all = False
    llm.n_tokens = min(_common_prefix(tokens, llm._input_ids.tolist()), len(tokens) - 1)
    llm.eval(tokens[llm.n_tokens :])
    llm._logits_all = llm.draft_model is not None
    started = time.perf_counter()
    first, count, text = 0.0, 0, ""
    for chunk in llm.create_completion(
        tokens, max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.0, stop=stop, stream=True
    ):
        piece = chunk["choices"][0]["text"]
        if piece:
            first = first or time.perf_counter()
            count += 1
            text += piece
    return first - started, time.perf_counter() - first, count, text


rows = []
for prompt in prompts[:n]:
    a = run(plain, prompt["tokens"], prompt["max_tokens"])
    b = run(guessing, prompt["tokens"], prompt["max_tokens"])
    rows.append((a, b))
    rates = f"{a[2] / max(a[1], 1e-9):.1f}/{b[2] / max(b[1], 1e-9):.1f} tokens/s"
    print(f"{rates}  same={a[3] == b[3]}  {a[3][:60]!r}", flush=True)
    if a[3] != b[3]:
        print("   guessing:", repr(b[3][:100]))
for name, i in (("plain", 0), ("guessing", 1)):
    rate = statistics.median(r[i][2] / r[i][1] for r in rows if r[i][1] > 0)
    print(f"{name}: writing p50 {rate:.1f} tokens/s, {sum(r[i][1] for r in rows):.1f} s in all")
print("identical answers:", sum(r[0][3] == r[1][3] for r in rows), "of", len(rows))
