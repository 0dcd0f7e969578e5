"""dev-fit records: the session-21 records, with the questions run again (close gaps) replaced."""

import json
import sys
from pathlib import Path

old = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines()]
new = {r["question"]: r for r in map(json.loads, Path(sys.argv[2]).read_text().splitlines())}
with open(sys.argv[3], "w") as f:
    for r in old:
        f.write(json.dumps(new.get(r["question"], r), ensure_ascii=False) + "\n")
print(len(old), "records,", sum(r["question"] in new for r in old), "replaced")
