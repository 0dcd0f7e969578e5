import pytest

from rag.retrieval import fuse


def test_dense_only_keeps_the_dense_order():
    assert [
        pid for pid, _ in fuse({"a": 0.9, "b": 0.7, "c": 0.1}, {"c": 9.0}, bm25_weight=0.0)
    ] == ["a", "b"]


def test_bm25_only_keeps_the_bm25_order():
    assert [
        pid for pid, _ in fuse({"a": 0.9}, {"c": 9.0, "b": 3.0, "d": 1.0}, bm25_weight=1.0)
    ] == ["c", "b"]


def test_a_passage_found_by_both_can_beat_one_found_by_dense_alone():
    fused = dict(fuse({"a": 0.80, "b": 0.78, "z": 0.2}, {"b": 5.0, "y": 1.0}, bm25_weight=0.2))
    assert fused["b"] > fused["a"]


def test_scores_are_min_max_normalised_and_weighted():
    fused = dict(fuse({"a": 0.9, "b": 0.5}, {"b": 3.0, "c": 1.0}, bm25_weight=0.2))
    assert fused == {"a": pytest.approx(0.8), "b": pytest.approx(0.2)}


def test_a_single_result_counts_as_the_best():
    assert fuse({"a": 0.3}, {}, bm25_weight=0.2) == [("a", pytest.approx(0.8))]


def test_nothing_found_gives_nothing():
    assert fuse({}, {}, bm25_weight=0.2) == []
