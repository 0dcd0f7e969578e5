"""Start servers (web chat, model servers) as processes on free loopback ports, for tests and load
runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(
    process: subprocess.Popen,
    probe_url: str,
    log: Path,
    timeout: float,
    headers: dict | None = None,
) -> None:
    """Return once `probe_url` answers; RuntimeError (with the log's end) if the process exits
    or the time runs out, and then the process is killed."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args[:3]} exited with {process.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            urllib.request.urlopen(
                urllib.request.Request(probe_url, headers=headers or {}), timeout=2
            )
            return
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"{process.args[:3]} did not answer within {timeout:.0f} s")


def start_process(
    command: list[str],
    probe_url: str,
    log: Path,
    timeout: float,
    env: dict | None = None,
    headers: dict | None = None,
) -> subprocess.Popen:
    """Start a server process (output to `log`) and return it once `probe_url` answers."""
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_until_up(process, probe_url, log, timeout, headers)
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


def start_app(
    corpus: Path, index: Path, log: Path, timeout: float = 300
) -> tuple[subprocess.Popen, str]:
    """The running web chat and its URL, once the page answers."""
    port = free_port()
    env = {
        "RAG_CORPUS": str(corpus),
        "RAG_INDEX": str(index),
        "RAG_PORT": str(port),
        "RAG_HOST": "127.0.0.1",
        "RAG_FEEDBACK_FILE": str(log.with_name("feedback.jsonl")),  # beside the log, not in ~
    }
    url = f"http://127.0.0.1:{port}/"
    return start_process([sys.executable, "-m", "ui.app"], url, log, timeout, env), url
