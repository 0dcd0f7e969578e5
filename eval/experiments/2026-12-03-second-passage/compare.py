"""Cost of the packaged answer model on old and new records (exact outcomes)."""

import sys

sys.path.insert(0, "eval")
from pathlib import Path

from calibrate import cost, load

from rag.abstention import ANSWER_MODEL_FILE, AnswerModel

m = AnswerModel.load(ANSWER_MODEL_FILE)
for name, path, floor in [
    (a.split("=")[0], a.split("=")[1], float(a.split("=")[2])) for a in sys.argv[1:]
]:
    recs = load(Path(path))
    for thr in (0.70, 0.73, 0.76, 0.80, 0.85):
        c, counts = cost(recs, m, thr, floor)
        print(
            f"{name:12} thr {thr:.2f} cost {c:.4f} "
            f"right/refused/unans-answered/unobserved {counts} of {len(recs)}"
        )
