"""Record the answer prompts (token ids) the assistant streams for gold questions.

python capture.py GOLD OUT.json
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from rag import Assistant  # noqa: E402
from rag.evaluation import load_gold  # noqa: E402
from rag.generation import LlamaGenerator  # noqa: E402

captured: list[dict] = []
original = LlamaGenerator.stream


def stream(self, tokens, max_tokens, cancel=None, guesses=True):
    captured.append({"tokens": list(map(int, tokens)), "max_tokens": max_tokens})
    return original(self, tokens, max_tokens, cancel, guesses)


LlamaGenerator.stream = stream  # type: ignore[method-assign]
assistant = Assistant()
for item in load_gold(Path(sys.argv[1])):
    answer = assistant.ask(item.question)
    print(item.question, "->", answer.text[:80], flush=True)
Path(sys.argv[2]).write_text(json.dumps(captured))
print(len(captured), "prompts", file=sys.stderr)
