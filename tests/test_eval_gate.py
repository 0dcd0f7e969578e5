"""The regression gate: the full gold set on the real models must meet eval/thresholds.toml."""

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.real


def test_gold_questions_meet_the_thresholds(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "eval", "--index", str(tmp_path / "index"), "--reports", str(tmp_path / "reports"), "--thresholds", "eval/thresholds.toml"],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )
    print(result.stdout)  # the summary table, shown with -s or on failure
    assert result.returncode == 0, result.stderr[-2000:]
    reports = list((tmp_path / "reports").glob("*/report.md"))
    assert len(reports) == 1 and "Failed questions" in reports[0].read_text()
