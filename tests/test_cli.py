"""The `rag` command's refusals: one line, exit status 2, no traceback."""

import subprocess
import sys

import pytest


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
