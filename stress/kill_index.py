"""Kill `rag index` with SIGKILL at random points and check the index after every kill.

Each round changes the corpus (an article edited, added or removed), starts `rag index`,
and kills it at a random moment — most often while it writes passages. Then, in this
process, the index must open, hold exactly the passages of one whole version of each
file it lists (no duplicates, nothing of a half-added file) and answer a retrieval query.
At the end one `rag index` runs to completion and must match the corpus exactly.

    python stress/kill_index.py --rounds 20      # by hand, a few minutes
    python stress/kill_index.py --rounds 3       # what `make test` runs

Exit status 1 when any check fails; the table shows each round.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import models  # noqa: E402
from rag.chunking import chunk  # noqa: E402
from rag.corpus import load_article  # noqa: E402
from rag.embedding import SentenceEmbedder  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.screening import Probe  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import PassageStore  # noqa: E402

QUESTIONS = [
    "Wie viel hat Microsoft in OpenAI investiert?",
    "Qui a fondé DeepMind ?",
    "Who signed the staff letter?",
]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Corpus:
    """A copy of the seed articles that each round changes, remembering every version's hash."""

    def __init__(self, folder: Path, seeds: Path, rng: random.Random):
        shutil.copytree(seeds, folder)
        self.folder, self.rng, self.seeds = folder, rng, sorted(seeds.glob("*.txt"))
        self.versions: dict[str, set[str]] = {p.name: {sha(p)} for p in folder.iterdir()}

    def change(self, round_no: int) -> str:
        files = sorted(self.folder.iterdir())
        action = self.rng.choice(
            ["edit", "edit", "add", "remove"] if len(files) > 3 else ["edit", "add"]
        )
        if action == "edit":
            target = self.rng.choice(files)
            target.write_text(
                target.read_text(encoding="utf-8")
                + f"\nRunde {round_no}: ein neuer Absatz über Stresstests und Abstürze.",
                encoding="utf-8",
            )
        elif action == "add":
            source = self.rng.choice(self.seeds)
            target = self.folder / f"round {round_no} – {source.stem}.txt"
            target.write_text(
                source.read_text(encoding="utf-8").replace(".", f" (Runde {round_no}).", 3),
                encoding="utf-8",
            )
        else:
            target = self.rng.choice(files)
            target.unlink()
            return f"remove {target.name}"
        self.versions.setdefault(target.name, set()).add(sha(target))
        return f"{action} {target.name}"


def run_index(
    corpus: Path, index: Path, kill_after: float | None, after_embedding_starts: bool = True
) -> tuple[str, float, float | None]:
    """Run `rag index`; kill it `kill_after` seconds after it starts embedding (or after it
    starts, for a removal, which embeds nothing). Returns what happened, when, and how long
    start-up took (the time to the first embedding)."""
    command = [
        sys.executable,
        "-c",
        "from rag.cli import main; main()",
        "index",
        str(corpus),
        "--index",
        str(index),
    ]
    started = time.monotonic()
    # Without the vector cache: vectors computed in an earlier round would make the build
    # too quick to be killed while it embeds.
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "RAG_VECTOR_CACHE": ""},
    )
    embedding = threading.Event()

    def watch() -> None:  # tqdm writes "Embedding" on stderr when passages start going in
        for block in iter(lambda: process.stderr.read1(4096), b""):
            if b"Embedding" in block:
                embedding.set()

    threading.Thread(target=watch, daemon=True).start()
    if kill_after is None:
        process.wait()
        return (
            ("completed" if process.returncode == 0 else f"failed ({process.returncode})"),
            time.monotonic() - started,
            None,
        )
    while (
        after_embedding_starts
        and process.poll() is None
        and not embedding.is_set()
        and time.monotonic() - started < 60
    ):
        time.sleep(0.05)
    startup = time.monotonic() - started if embedding.is_set() else None
    deadline = time.monotonic() + kill_after
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if process.poll() is not None:
        return "finished first", time.monotonic() - started, startup
    process.send_signal(signal.SIGKILL)
    process.wait()
    return (
        f"killed {'embedding' if embedding.is_set() else 'before embedding'}",
        time.monotonic() - started,
        startup,
    )


def open_store(index: Path, embedder: SentenceEmbedder, chunk_chars: int) -> PassageStore:
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # read the files as a new process would
    # with the config `rag index` writes, instruction screen included (else: a rebuild)
    return PassageStore(index, embedder.identity, chunk_chars, "", Probe.load().identity)


def check(store: PassageStore, embedder: SentenceEmbedder, corpus: Corpus) -> list[str]:
    """Problems with the index as it stands; empty when it is a whole, answering index."""
    problems = []
    passages = store.passages()
    per_file = Counter(p.source for p in passages.values())
    for source, entry in store.files.items():
        if entry["sha256"] not in corpus.versions.get(source, set()):
            problems.append(f"{source}: a version that never existed")
        if per_file[source] != entry["passages"]:
            problems.append(
                f"{source}: {per_file[source]} passages, the manifest says {entry['passages']}"
            )
    if set(per_file) - set(store.files):
        problems.append(
            f"passages of files not in the manifest: {sorted(set(per_file) - set(store.files))}"
        )
    spans = Counter((p.source, p.start, p.end) for p in passages.values())
    if duplicates := [s for s, n in spans.items() if n > 1]:
        problems.append(f"{len(duplicates)} duplicated passages")
    hits = Retriever(store, embedder, 0.2).search(random.choice(QUESTIONS), 5)
    if not hits or any(h.passage.id not in passages for h in hits):
        problems.append("retrieval gave no answerable passages")
    return problems


def final_check(store: PassageStore, folder: Path, chunk_chars: int) -> list[str]:
    """After a complete run: exactly the corpus, every file at its current version, no leftovers."""
    problems = []
    on_disk = {p.name: sha(p) for p in folder.iterdir()}
    indexed = {source: entry["sha256"] for source, entry in store.files.items()}
    if indexed != on_disk:
        problems.append(
            f"index differs from the corpus: {sorted(set(indexed.items()) ^ set(on_disk.items()))}"
        )
    expected = sum(
        len(chunk(load_article(folder / name, folder).text, "de", chunk_chars)) for name in on_disk
    )
    if len(store.passages()) != store.collection.count():
        problems.append(
            f"{store.collection.count() - len(store.passages())} stale passages left in Chroma"
        )
    if sorted(store.lexical().ids) != sorted(store.passages()):
        problems.append("BM25 does not hold the same passages")
    if abs(len(store.passages()) - expected) > len(
        on_disk
    ):  # chunking depends a little on the detected language
        problems.append(f"{len(store.passages())} passages, about {expected} expected")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed (printed, to repeat a run)"
    )
    parser.add_argument(
        "--max-delay",
        type=float,
        default=4.0,
        help="latest kill, in seconds after embedding starts",
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    random.seed(seed)
    settings = Settings()
    embedder = SentenceEmbedder(models.embedder_source(settings), settings.threads)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="kill-index-") as work:
        work = Path(work)
        corpus, index = Corpus(work / "corpus", REPO / "seeds", rng), work / "index"
        print(f"seed {seed}; building the first index …", flush=True)
        print(f"  {run_index(corpus.folder, index, None)[0]}")
        startup = 7.0  # seconds to load the embedder and open the index; measured as rounds go
        print(f"{'round':>5}  {'change':<58} {'outcome':<22} {'at s':>5}  {'passages':>8}  check")
        for round_no in range(1, args.rounds + 1):
            change = corpus.change(round_no)
            if change.startswith("remove"):  # nothing to embed: aim at the moment start-up ends
                outcome, seconds, _ = run_index(
                    corpus.folder,
                    index,
                    rng.uniform(0.8, 1.2) * startup,
                    after_embedding_starts=False,
                )
            else:
                outcome, seconds, measured = run_index(
                    corpus.folder, index, rng.uniform(0, args.max_delay)
                )
                startup = measured or startup
            store = open_store(index, embedder, settings.chunk_chars)
            problems = check(store, embedder, corpus)
            failures += bool(problems)
            print(
                f"{round_no:>5}  {change[:58]:<58} {outcome:<22} {seconds:>5.1f}  "
                f"{len(store.passages()):>8}  {'; '.join(problems) or 'ok'}",
                flush=True,
            )
        outcome, seconds, _ = run_index(corpus.folder, index, None)
        store = open_store(index, embedder, settings.chunk_chars)
        problems = [] if outcome == "completed" else [outcome]
        problems += check(store, embedder, corpus) + final_check(
            store, corpus.folder, settings.chunk_chars
        )
        failures += bool(problems)
        print(
            f"final  {'rag index to completion':<58} {outcome:<22} {seconds:>5.1f}  "
            f"{len(store.passages()):>8}  {'; '.join(problems) or 'ok'}"
        )
    print("FAILED" if failures else "all rounds ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
