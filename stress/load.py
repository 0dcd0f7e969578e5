"""Many clients at once against the web chat's API: nothing lost, nothing crashes, memory flat.

Starts the app (real models, a fresh index of the seed articles) on a loopback port, then
N gradio_client clients ask questions in a loop until the time is up; each then waits for
its last answer. Every request must be answered; while waiting, the queue position is
the feedback a client gets. The server's RSS is sampled every second.

    python stress/load.py --clients 20 --seconds 300     # by hand: the 5-minute run
    python stress/load.py --clients 20 --seconds 15      # what `make test` runs

Prints requests, answers, errors, queue feedback, latency p50/p95 and RSS (start, peak,
and the first against the last third of the run). Exit status 1 when a request is lost
or fails, or when RSS grows more than 15 % from the first to the last third of a run of
two minutes or more.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stress.serve import start_app  # noqa: E402

QUESTIONS = [
    "Wie viel hat Microsoft insgesamt in OpenAI investiert?",
    "Welchen Anteil am Cloud-Markt hat Amazon?",
    "Qui a fondé DeepMind ?",
    "Combien d'employés d'OpenAI ont signé la lettre ?",
    "When was OpenAI founded?",
    "Who is the founder of Air Street Capital?",
    "What is the weather in Berlin tomorrow?",  # unanswerable
    "Quel est le prix d'une action Apple aujourd'hui ?",  # unanswerable
]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent: int = 0
    queued_with_position: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def client_loop(url: str, number: int, deadline: float, tally: Tally) -> None:
    from gradio_client import Client
    from gradio_client.utils import Status

    client = Client(url, verbose=False)
    asked = 0
    while time.time() < deadline or asked == 0:
        question = QUESTIONS[(number + asked) % len(QUESTIONS)]
        asked += 1
        started = time.time()
        with tally.lock:
            tally.sent += 1
        try:
            job = client.submit(question, api_name="/ask")
            saw_position = False
            while not job.done():
                status = job.status()
                saw_position |= status.code == Status.IN_QUEUE and status.rank is not None
                time.sleep(0.2)
            result = job.result()
            if not isinstance(result, dict) or not result.get("text"):
                raise ValueError(f"empty answer: {result!r}")
            with tally.lock:
                tally.latencies.append(time.time() - started)
                tally.queued_with_position += saw_position
        except Exception as exc:  # every failure is counted and shown, never lost
            with tally.lock:
                tally.errors.append(f"client {number}: {type(exc).__name__}: {exc}"[:300])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--seconds", type=float, default=300, help="how long clients keep sending new questions"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="load-") as work:
        work = Path(work)
        shutil.copytree(REPO / "seeds", work / "corpus")
        print("starting the app (builds a fresh index) …", flush=True)
        process, url = start_app(work / "corpus", work / "index", work / "app.log")
        samples: list[tuple[float, float]] = []
        tally = Tally()
        try:
            start_rss = rss_mb(process.pid)
            started = time.time()
            deadline = started + args.seconds
            clients = [
                threading.Thread(target=client_loop, args=(url, n, deadline, tally))
                for n in range(args.clients)
            ]
            for thread in clients:
                thread.start()
            while any(t.is_alive() for t in clients):
                if process.poll() is not None:
                    tally.errors.append(f"the app exited with {process.returncode}")
                    break
                samples.append((time.time() - started, rss_mb(process.pid)))
                time.sleep(1)
            for thread in clients:
                thread.join(timeout=600)
            elapsed = time.time() - started
        finally:
            process.terminate()
            process.wait(timeout=60)

    answered = len(tally.latencies)
    lost = tally.sent - answered - len(tally.errors)
    third = max(1, len(samples) // 3)
    first, last = max(r for _, r in samples[:third]), max(r for _, r in samples[-third:])
    growth = (last - first) / first
    print(
        f"clients {args.clients}, sending for {args.seconds:.0f} s, all answered after "
        f"{elapsed:.0f} s"
    )
    print(
        f"requests {tally.sent}  answered {answered}  errors {len(tally.errors)}  lost {lost}  "
        f"shown a queue position {tally.queued_with_position}"
    )
    print(
        f"latency p50 {percentile(tally.latencies, 0.5):.1f} s  p95 "
        f"{percentile(tally.latencies, 0.95):.1f} s  (waiting in the queue included)"
    )
    print(
        f"server RSS at start {start_rss:.0f} MB  peak {max(r for _, r in samples):.0f} MB  first "
        f"third {first:.0f} MB  last third {last:.0f} MB  growth {growth:+.1%}"
    )
    for error in tally.errors[:10]:
        print("  error:", error)
    bad = tally.errors or lost or (elapsed >= 120 and growth > 0.15)
    print("FAILED" if bad else "load run ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
