"""The long fault and load scripts in stress/, run short: SIGKILL during indexing, and 20
clients at once against the web chat's API. By hand they run long (see each script)."""

import subprocess
import sys

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.real


def run_script(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / "stress" / name), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return result.stdout


def test_the_index_survives_sigkill_at_random_points_and_the_next_run_completes_it():
    report = run_script("kill_index.py", "--rounds", "4")
    assert "all rounds ok" in report and "final  rag index to completion" in report
    assert "killed" in report  # at least one round was really killed mid-way


def test_twenty_clients_at_once_are_all_answered_and_memory_stays_flat():
    report = run_script("load.py", "--clients", "20", "--seconds", "10")
    assert "errors 0  lost 0" in report and "load run ok" in report
