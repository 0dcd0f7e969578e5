"""Train the instruction screen's probe (rag/screen_probe.npz) and print its cross-validated
figures.

    .venv/bin/python eval/injections/train_screen.py

Planted instructions: the `injection: true` sentences of `sentences.jsonl` (de/fr/en,
written for training, apart from the 30 test articles of `articles.jsonl`, which it never
reads). Real sentences: the rest of `sentences.jsonl` (news about instructions, corrections,
quotes) and every sentence of the external development corpus and of the seed articles, with
the asides in brackets the screen also reads on their own.

A logistic regression over the embedder's classification vectors, classes weighted
equally. The threshold is the highest score any real sentence reached in 5-fold cross
validation, so that no real sentence of the training data would have been withheld.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from rag.chunking import sentence_spans  # noqa: E402
from rag.corpus import article_files, load_article  # noqa: E402
from rag.embedding import SentenceEmbedder  # noqa: E402
from rag.models import embedder_source  # noqa: E402
from rag.screening import MIN_SENTENCE_CHARS, PROBE_FILE, bracketed  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.vector_cache import VectorCache  # noqa: E402

DEV_CORPUS = REPO / "eval" / "xquad-dev" / "corpus"
L2 = 0.1  # chosen by the cross-validation below, with the step count and rate


def corpus_sentences(folder: Path) -> list[str]:
    sentences = []
    for path in article_files(folder):
        article = load_article(path, folder)
        spans = [
            (s, e)
            for s, e in sentence_spans(article.text, article.language)
            if e - s >= MIN_SENTENCE_CHARS
        ]
        spans += [aside for span in spans for aside in bracketed(article.text, *span)]
        sentences += [article.text[s:e] for s, e in spans]
    return sentences


def fit(x: np.ndarray, y: np.ndarray, steps: int = 6000, rate: float = 2.0):
    weights, bias = np.zeros(x.shape[1]), 0.0
    share = np.where(y, 0.5 / y.sum(), 0.5 / (~y).sum())  # both classes count equally
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ weights + bias)))
        g = (p - y) * share
        weights -= rate * (x.T @ g + L2 * weights / len(y))
        bias -= rate * g.sum()
    return weights, bias


def main() -> None:
    rows = [
        json.loads(line)
        for line in Path(__file__).with_name("sentences.jsonl").read_text("utf-8").splitlines()
    ]
    texts = (
        [r["text"] for r in rows] + corpus_sentences(DEV_CORPUS) + corpus_sentences(REPO / "seeds")
    )
    y = np.array([r["injection"] for r in rows] + [False] * (len(texts) - len(rows)))
    settings = Settings()
    source = embedder_source(settings)
    embedder = SentenceEmbedder(source, threads=2, cache=VectorCache.at(settings.vector_cache))
    x = embedder.encode_sentences(texts)

    folds = np.random.default_rng(0).integers(0, 5, len(y))
    cv = np.zeros(len(y))
    for k in range(5):
        w, b = fit(x[folds != k], y[folds != k])
        cv[folds == k] = x[folds == k] @ w + b
    threshold = float(cv[~y].max())
    print(f"{y.sum()} planted, {(~y).sum()} real sentences")
    print(f"threshold (highest cross-validated real score): {threshold:.3f}")
    print(f"planted caught in cross-validation: {(cv[y] >= threshold).sum()} of {y.sum()}")
    for i in np.argsort(cv)[::-1][:8]:
        print(f"  {cv[i]:6.2f} {'planted' if y[i] else 'real   '} {texts[i][:80]}")
    for i in np.flatnonzero(y & (cv < threshold)):
        print(f"  missed {cv[i]:6.2f} {texts[i][:80]}")

    weights, bias = fit(x, y)
    np.savez(
        PROBE_FILE,
        weights=weights.astype(np.float32),
        bias=np.float32(bias),
        threshold=np.float32(threshold),
        model=np.array(Path(source).name),
    )
    print(f"wrote {PROBE_FILE.relative_to(REPO)}")


if __name__ == "__main__":
    main()
