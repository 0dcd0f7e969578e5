"""Which questions of a gold file have their second passage within WITHIN cosine of the best."""
import json, sys
sys.path.insert(0, '/work/main')
from pathlib import Path
from rag.settings import Settings
from rag.assistant import Assistant
gold, corpus, index, out = sys.argv[1:5]
within = 0.05
a = Assistant(Settings(corpus=Path(corpus), index=Path(index)), show_progress=False, load_generator=False)
model = a.answer_model
floor = a.min_dense
lines = [l for l in open(gold) if l.strip()]
keep = []
for l in lines:
    q = json.loads(l)
    hits = a.retriever.search(q['question'], a.settings.top_k, None)
    if len(hits) > 1 and hits[0].dense >= floor and hits[0].dense - hits[1].dense <= within:
        keep.append(l)
Path(out).write_text(''.join(keep))
print(gold, len(lines), '->', len(keep), 'floor', floor)
