"""Start the web chat as its own process on a free loopback port (for tests and load runs)."""

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


def start_app(corpus: Path, index: Path, log: Path, timeout: float = 300) -> tuple[subprocess.Popen, str]:
    """The running app and its URL, once the page answers; raises RuntimeError with the log's end."""
    port = free_port()
    env = {**os.environ, "RAG_CORPUS": str(corpus), "RAG_INDEX": str(index), "RAG_PORT": str(port), "RAG_HOST": "127.0.0.1"}
    process = subprocess.Popen([sys.executable, "-m", "ui.app"], cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return process, url
        except OSError:
            time.sleep(1)
    process.kill()
    raise RuntimeError(f"the app did not answer within {timeout:.0f} s")
