"""commit-msg hook: the subject (first line) is at most 72 characters; the body says the rest."""

import sys
from pathlib import Path

LIMIT = 72

subject = Path(sys.argv[1]).read_text(encoding="utf-8").partition("\n")[0]
if len(subject) > LIMIT:
    sys.exit(f"the commit subject is {len(subject)} characters; keep it to {LIMIT}")
