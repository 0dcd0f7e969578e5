import pytest
from pydantic import ValidationError

from rag.settings import Settings


def test_environment_variables_with_the_prefix_are_read(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "8")
    monkeypatch.setenv("RAG_BM25_WEIGHT", "0.5")
    settings = Settings()
    assert (settings.top_k, settings.bm25_weight) == (8, 0.5)


def test_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "8")
    assert Settings(top_k=3).top_k == 3


def test_settings_are_frozen_and_checked():
    with pytest.raises(ValidationError):
        Settings(top_k=0)
    with pytest.raises(ValidationError):
        Settings(no_such_setting=1)
    with pytest.raises(ValidationError):
        Settings().top_k = 4
