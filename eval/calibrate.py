"""Fit the answer model (`rag/answer_model.json`): the probability that the passages answer
the question (it is answerable), from the yes/no margin, the language pair and the best
passage's cosine; and choose the threshold and the retrieval floor with the lowest cost.

    .venv/bin/python eval/calibrate.py eval/calibration/gold.jsonl \
        eval/calibration/dev-fit.jsonl --out rag/answer_model.json

Each argument is one question set's records (`eval/calibration/README.md` says how they were
made): runs whose margin thresholds were lowered to `--observed-from`, so that every question
whose margin reaches it was answered and scored. The fit reads every question the model
judged, each set weighing the same; the cost of a threshold (a wrong answer, or an answered
unanswerable question, 1.5; a refusal 1; each set weighing the same) reads the recorded
outcomes. A question below `--observed-from` counts as abstained at any threshold, and is
counted (`unseen`) when the model would have answered it. The floor (`min_dense`: below
that cosine the model is not asked) is searched from the runs' own floor up, together with
the threshold.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from rag.abstention import AnswerModel

WRONG, REFUSED = 1.5, 1.0


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def observed(record: dict, floor: float) -> bool:
    """The run answered the question (or its answer check abstained): its outcome is known."""
    return record["margin"] is not None and record["margin"] >= floor


def fit(sets: list[list[dict]], used: list[str], l2: float = 1e-2) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method over the `used` features (the others get
    weight 0), each set weighing the same; a small ridge keeps it finite when a feature
    separates the classes."""
    mask = np.array([name in used for name in AnswerModel.FEATURES], dtype=float)
    rows, labels, weights = [], [], []
    for records in sets:
        judged = [r for r in records if r["margin"] is not None and r["dense"] is not None]
        for r in judged:
            rows.append(AnswerModel.features_of(r["margin"], r["cross_lingual"], r["dense"]))
            labels.append(float(r["answerable"]))
            weights.append(1.0 / len(judged))
    x1 = np.hstack([mask * np.array(rows), np.ones((len(rows), 1))])
    y, v = np.array(labels), np.array(weights) * len(sets)
    ridge = l2 * np.r_[np.ones(x1.shape[1] - 1), 0]
    w = np.zeros(x1.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-x1 @ w))
        gradient = x1.T @ (v * (p - y)) + ridge * w
        hessian = (x1.T * (v * p * (1 - p))) @ x1 + np.diag(ridge + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w[:-1], float(w[-1])


def cost(records: list[dict], model: AnswerModel, threshold: float, floor: float):
    """Mean cost, and (right, refused, answered unanswerable, unobserved) counts, under
    `threshold` and the model's retrieval floor (`model.min_dense`); `floor` is the runs'
    margin floor (`--observed-from`)."""
    total = 0.0
    right = refused = answered_unanswerable = unobserved = 0
    for r in records:
        p = (
            None
            if r["margin"] is None
            else model.probability(r["margin"], r["cross_lingual"], r["dense"])
        )
        close = r["abstain_reason"] != "retrieval" and r["dense"] >= model.min_dense
        answers = p is not None and p >= threshold and close
        if answers and not observed(r, floor):
            unobserved += 1
            answers = False
        shown = answers and not r["abstained"]  # the answer check may still abstain
        if r["answerable"]:
            if shown and r["correct"]:
                right += 1
            elif shown:
                total += WRONG
            else:
                refused += 1
                total += REFUSED
        elif shown:
            answered_unanswerable += 1
            total += WRONG
    return total / len(records), (right, refused, answered_unanswerable, unobserved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", nargs="+", type=Path)
    parser.add_argument("--observed-from", type=float, default=0.3)
    parser.add_argument(
        "--runs-floor", type=float, default=0.2, help="the runs' retrieval floor (min_dense)"
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--features", default=",".join(AnswerModel.FEATURES), help="a subset, comma-separated"
    )
    args = parser.parse_args()
    sets = [load(path) for path in args.records]
    weights, bias = fit(sets, args.features.split(","))
    names = ", ".join(str(p) for p in args.records)
    model = AnswerModel(
        dict(zip(AnswerModel.FEATURES, map(float, weights), strict=True)),
        bias,
        threshold=0.5,  # chosen below
        fitted_on=f"{names} (the questions the model judged in each)",
    )
    print("weights", {k: round(v, 3) for k, v in model.weights.items()}, "bias", round(bias, 3))
    best = None
    for min_dense in np.arange(args.runs_floor, 0.5, 0.01):
        floored = dataclasses.replace(model, min_dense=round(float(min_dense), 2))
        for threshold in np.arange(0.05, 0.96, 0.01):
            results = [
                cost(records, floored, float(threshold), args.observed_from) for records in sets
            ]
            mean = sum(c for c, _ in results) / len(results)
            print(
                f"{min_dense:.2f} {threshold:.2f} {mean:.4f} "
                + " | ".join(
                    f"{c:.3f} right {n[0]} refused {n[1]} answered unanswerable {n[2]} "
                    f"unseen {n[3]}"
                    for c, n in results
                )
            )
            if best is None or mean < best[0] - 1e-9:
                best = (mean, round(float(threshold), 2), floored.min_dense)
    assert best is not None
    print("lowest mean cost", round(best[0], 4), "at threshold", best[1], "floor", best[2])
    if args.out:
        chosen = dataclasses.replace(model, threshold=best[1], min_dense=best[2])
        args.out.write_text(json.dumps(chosen.to_dict(), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
