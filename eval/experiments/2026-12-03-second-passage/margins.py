"""For each question: the best passages' cosines, whether each holds a gold answer, and the
model's yes/no margin on each judged alone (as judge_further judges them)."""

import json
import re
import sys
from pathlib import Path

from rag import Assistant, Settings
from rag.prompt import JUDGEMENT_PREFILL

src, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = Assistant(
    Settings(
        corpus="eval/xquad-dev/corpus" if "seeds" not in src else "seeds",
        index="index-xquad" if "seeds" not in src else "index",
    ),
    show_progress=False,
)
done = set()
if Path(out).exists():
    done = {json.loads(line)["question"] for line in Path(out).read_text().splitlines()}
with open(out, "a") as f:
    for line in Path(src).read_text().splitlines():
        g = json.loads(line)
        if g["question"] in done:
            continue
        turn = a._prepare(g["question"], None, None)
        pats = [re.compile(p, re.I) for p in g.get("answers", [])]
        rows = []
        for c in turn.sources[:k]:
            j = a.generator.judge(a.generator._tokens(turn.messages([c]), JUDGEMENT_PREFILL))
            rows.append(
                {
                    "dense": round(turn.hits[c.marker - 1].dense, 4),
                    "holds": any(p.search(c.text) for p in pats),
                    "cross": turn.other_language([c]),
                    "margin": round(j.yes_no_margin, 3),
                }
            )
        f.write(
            json.dumps(
                {
                    "id": g["id"],
                    "question": g["question"],
                    "lang": g["lang"],
                    "answerable": g["answerable"],
                    "passages": rows,
                }
            )
            + "\n"
        )
        f.flush()
