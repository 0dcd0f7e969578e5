"""The regression gate: on the real models, the gold set and a fixed sample of 40 XQuAD dev
questions must each meet their thresholds, so that a change that helps one and hurts the
other fails."""

import subprocess
import sys

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.real

GATES = [
    # (gold questions, their corpus, thresholds)
    ("eval/gold.jsonl", "seeds", "eval/thresholds.toml"),
    ("eval/xquad-dev/gate.jsonl", "eval/xquad-dev/corpus", "eval/thresholds-dev.toml"),
]


@pytest.mark.parametrize("gold,corpus,thresholds", GATES)
def test_questions_meet_the_thresholds(tmp_path, gold, corpus, thresholds):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "eval",
            "--gold",
            gold,
            "--corpus",
            corpus,
            "--index",
            str(tmp_path / "index"),
            "--reports",
            str(tmp_path / "reports"),
            "--thresholds",
            thresholds,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(result.stdout)  # the summary table, shown with -s or on failure
    assert result.returncode == 0, result.stderr[-2000:]
    reports = list((tmp_path / "reports").glob("*/report.md"))
    assert len(reports) == 1 and "Failed questions" in reports[0].read_text()
