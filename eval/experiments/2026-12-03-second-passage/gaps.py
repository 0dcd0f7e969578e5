"""The dev questions whose second passage's cosine is within DELTA of the best's."""

import json
import sys
from pathlib import Path

from rag import Assistant, Settings

src, out, delta = sys.argv[1], sys.argv[2], float(sys.argv[3])
a = Assistant(
    Settings(corpus="eval/xquad-dev/corpus", index="index-xquad"),
    show_progress=False,
    load_generator=False,
)
n = 0
with open(out, "w") as f:
    for line in Path(src).read_text().splitlines(keepends=True):
        g = json.loads(line)
        hits = a.retriever.search(g["question"], 3)
        if len(hits) > 1 and hits[0].dense - hits[1].dense <= delta:
            f.write(line)
            n += 1
print(n)
