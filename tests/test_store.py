"""The index on disk, with the real Chroma and a deterministic test embedder."""

import json

import pytest

from rag.store import PassageStore


def open_store(tmp_path, embedder, chunk_chars=600):
    return PassageStore(tmp_path / "index", embedder.identity, chunk_chars)


def test_a_second_run_skips_unchanged_files_and_keeps_the_count(tmp_path, corpus, hashing_embedder):
    first = open_store(tmp_path, hashing_embedder).update(corpus, hashing_embedder, show_progress=False)
    assert len(first.added) == 5 and first.passages > 30
    embedded = hashing_embedder.calls
    second = open_store(tmp_path, hashing_embedder).update(corpus, hashing_embedder, show_progress=False)
    assert (second.added, second.updated, second.unchanged, second.passages) == ([], [], 5, first.passages)
    assert hashing_embedder.calls == embedded  # nothing re-embedded


def test_changed_files_are_re_embedded_and_deleted_ones_removed(tmp_path, corpus, hashing_embedder):
    store = open_store(tmp_path, hashing_embedder)
    before = store.update(corpus, hashing_embedder, show_progress=False).passages
    changed = corpus / "003_94838c7e088f3b72.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\nEin neuer Satz über Zebras im Zoo.", encoding="utf-8")
    (corpus / "004_049a8fec8080a705.txt").unlink()
    report = store.update(corpus, hashing_embedder, show_progress=False)
    assert report.updated == ["003_94838c7e088f3b72.txt"] and report.removed == ["004_049a8fec8080a705.txt"]
    sources = {p.source for p in store.passages().values()}
    assert "004_049a8fec8080a705.txt" not in sources
    assert any("Zebras" in p.text for p in store.passages().values())
    assert store.collection.count() == len(store.passages()) < before  # old versions gone
    assert set(store.lexical().ids) == set(store.passages())


def test_changing_the_chunk_setting_rebuilds(tmp_path, corpus, hashing_embedder):
    coarse = open_store(tmp_path, hashing_embedder, 600).update(corpus, hashing_embedder, show_progress=False).passages
    store = open_store(tmp_path, hashing_embedder, 300)
    assert store.files == {}
    fine = store.update(corpus, hashing_embedder, show_progress=False)
    assert len(fine.added) == 5 and fine.passages > coarse
    assert store.collection.count() == fine.passages


def test_an_unreadable_file_is_skipped_by_name_and_the_rest_indexed(tmp_path, corpus, hashing_embedder):
    (corpus / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    report = open_store(tmp_path, hashing_embedder).update(corpus, hashing_embedder, show_progress=False)
    assert len(report.added) == 5
    assert len(report.skipped) == 1 and "broken.txt" in report.skipped[0]


class Crash(Exception):
    pass


def test_a_build_killed_half_way_keeps_the_last_good_index_and_the_next_run_completes(tmp_path, corpus, hashing_embedder, monkeypatch):
    store = open_store(tmp_path, hashing_embedder)
    good = store.update(corpus, hashing_embedder, show_progress=False).passages
    changed = corpus / "002_ccdb200a2a1ca015.txt"
    changed.write_text(changed.read_text(encoding="utf-8").replace("22. Juli", "23. Juli"), encoding="utf-8")
    (corpus / "new.txt").write_text("Neu\nEin ganz neuer Artikel über Quantencomputer. " * 30, encoding="utf-8")

    # Die after the first batch of the first file has been written to Chroma.
    real_encode, batches = hashing_embedder.encode_documents, []

    def dying_encode(texts, title):
        batches.append(title)
        if len(batches) == 2:
            raise Crash
        return real_encode(texts, title)

    monkeypatch.setattr(hashing_embedder, "encode_documents", dying_encode)
    with pytest.raises(Crash):
        store.update(corpus, hashing_embedder, show_progress=False)
    monkeypatch.undo()

    reopened = open_store(tmp_path, hashing_embedder)
    passages = reopened.passages()
    assert len(passages) == good  # the old version of every file, no half-added passages
    assert not any("23. Juli" in p.text for p in passages.values())
    assert reopened.collection.count() > good  # the half-added batch is on disk, but ignored
    hits = reopened.dense_search(hashing_embedder.encode_query("22. Juli Microsoft Investition"), 5)
    assert hits and all(pid in passages for pid in hits)

    report = reopened.update(corpus, hashing_embedder, show_progress=False)
    assert report.added == ["new.txt"] and report.updated == ["002_ccdb200a2a1ca015.txt"]
    assert reopened.collection.count() == len(reopened.passages()) == report.passages
    assert any("23. Juli" in p.text for p in reopened.passages().values())


def test_the_manifest_records_model_chunking_and_file_hashes(tmp_path, corpus, hashing_embedder):
    store = open_store(tmp_path, hashing_embedder)
    store.update(corpus, hashing_embedder, show_progress=False)
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["config"] == {"embedder": hashing_embedder.identity, "chunk_chars": 600}
    assert set(manifest["files"]) == {p.name for p in corpus.glob("*.txt")}
    assert all(len(entry["sha256"]) == 64 and entry["passages"] > 0 for entry in manifest["files"].values())


def test_a_damaged_manifest_rebuilds_instead_of_answering_wrongly(tmp_path, corpus, hashing_embedder):
    open_store(tmp_path, hashing_embedder).update(corpus, hashing_embedder, show_progress=False)
    (tmp_path / "index" / "manifest.json").write_text("{not json")
    store = open_store(tmp_path, hashing_embedder)
    assert store.files == {} and store.passages() == {}
    assert len(store.update(corpus, hashing_embedder, show_progress=False).added) == 5


def test_similarity_is_the_exact_cosine_of_stored_passages(tmp_path, corpus, hashing_embedder):
    store = open_store(tmp_path, hashing_embedder)
    store.update(corpus, hashing_embedder, show_progress=False)
    passage = next(iter(store.passages().values()))
    query = hashing_embedder.encode_query(passage.text)
    assert store.similarity(query, [passage.id])[passage.id] == pytest.approx(1.0, abs=1e-5)
    assert store.similarity(query, []) == {}


@pytest.mark.parametrize("exact_limit", [50_000, 0])
def test_dense_search_finds_a_just_added_passage_exactly_and_through_chroma(tmp_path, corpus, hashing_embedder, monkeypatch, exact_limit):
    import rag.store

    monkeypatch.setattr(rag.store, "EXACT_SEARCH_LIMIT", exact_limit)
    store = open_store(tmp_path, hashing_embedder)
    store.update(corpus, hashing_embedder, show_progress=False)
    (corpus / "zz_new.txt").write_text("Neu\nDas Luftschiff Graf Lindwurm ist 89 Meter lang.", encoding="utf-8")
    store.update(corpus, hashing_embedder, show_progress=False)
    hits = store.dense_search(hashing_embedder.encode_query("Das Luftschiff Graf Lindwurm ist 89 Meter lang."), 3)
    best = max(hits, key=hits.get)
    assert store.passages()[best].source == "zz_new.txt"
    assert hits[best] == pytest.approx(1.0, abs=1e-4)
