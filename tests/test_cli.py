"""The `rag` command's refusals: one line, exit status 2, no traceback."""

import subprocess
import sys

import pytest

# Each test starts `rag` in a process of its own (about 3 s of imports): make test runs them.
pytestmark = pytest.mark.slow


def rag(*args, env=None):
    import os

    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.mark.parametrize(
    "question,reason", [("", "empty"), ("   \u200b ", "empty"), ("x" * 2001, "limit is 2000")]
)
def test_bad_questions_exit_2_with_one_line(question, reason):
    result = rag("ask", question)
    assert result.returncode == 2
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_missing_models_exit_2_naming_the_fix(tmp_path):
    result = rag("ask", "Wer ist der CTO von Microsoft?", env={"RAG_MODEL_CACHE": str(tmp_path)})
    assert result.returncode == 2
    assert "rag models" in result.stderr and "Traceback" not in result.stderr


def test_eval_reads_every_gold_file_and_names_a_missing_one(tmp_path):
    # All gold files are read before any model loads: a missing first file is refused at once
    # (an option that kept only the last value would go on to evaluate eval/gold.jsonl).
    result = rag("eval", "--gold", str(tmp_path / "missing.jsonl"), "--gold", "eval/gold.jsonl")
    assert result.returncode == 2
    assert "missing.jsonl" in result.stderr and "Traceback" not in result.stderr


def test_serve_without_api_names_the_web_chat_command():
    result = rag("serve")
    assert result.returncode == 2 and "rag-chat" in result.stderr


def test_the_library_never_imports_the_web_chat():
    import ast

    from tests.helpers import REPO

    imported = set()
    for path in (REPO / "rag").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
    assert "rag" in imported and "ui" not in imported
