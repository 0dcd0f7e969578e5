import sys, json, re, numpy as np
sys.path.insert(0, '/work/main')
from pathlib import Path
from rag.settings import Settings
from rag.assistant import Assistant

corpus, index = sys.argv[1], sys.argv[2]
qs = [l.strip() for l in open(sys.argv[3]) if l.strip()]
lead = sys.argv[4] if len(sys.argv) > 4 else "Answer:"
a = Assistant(Settings(corpus=Path(corpus), index=Path(index)), show_progress=False)
g = a.generator
llm = g.llm
WORD = re.compile(r"\w+")
STOP = {"der","die","das","den","dem","des","ein","eine","einer","the","a","an","of","le","la","les","un","une","de","du","und","and","et","in","im","von"}
def norm(w): return w.lower()
for q in qs:
    turn = a._prepare(q, None, None)
    best = turn.sources[:1]
    msgs = turn.messages(best)
    toks = g._tokens(msgs, "Found: yes\n" + lead)
    P = llm.tokenize((" " + best[0].text).encode(), add_bos=False, special=False)
    qwords = {norm(w) for w in WORD.findall(q)}
    pieces = [llm.detokenize([t]).decode(errors="ignore") for t in P]
    end_tokens = {llm.token_eos()} | set(llm.tokenize(b"\n", add_bos=False)) | set(llm.tokenize(b".", add_bos=False)) | set(llm.tokenize(b" [", add_bos=False))
    gen = []
    with g._owned(None):
        g._evaluate(toks)
        for step in range(16):
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()
            k = len(gen)
            starts = [i for i in range(len(P) - k) if P[i:i+k] == gen]
            allowed = {P[i+k] for i in starts if i + k < len(P)}
            if k == 0:
                allowed = {t for t in allowed if norm(pieces[P.index(t)].strip()) not in qwords | STOP and WORD.search(pieces[P.index(t)])}
            span_words = [norm(w) for w in WORD.findall(llm.detokenize(gen).decode(errors="ignore"))]
            can_end = k > 0 and any(w not in qwords | STOP for w in span_words)
            if can_end:
                allowed |= end_tokens
            mask = np.full_like(logits, -np.inf); idx = list(allowed); mask[idx] = logits[idx]
            t = int(np.argmax(mask))
            if t in end_tokens: break
            gen.append(t)
            llm.eval([t])
    print(json.dumps({"q": q, "span": llm.detokenize(gen).decode(errors="ignore"), "lang": turn.language}, ensure_ascii=False))
