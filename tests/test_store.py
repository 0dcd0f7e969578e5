"""The index on disk, with the real Chroma and a deterministic test embedder."""

import json
import re
import shutil
import time

import pytest

from rag.store import PassageStore
from tests.helpers import build, start_index_writer


def open_store(tmp_path, embedder, chunk_chars=600):
    return PassageStore(tmp_path / "index", embedder.identity, chunk_chars)


def test_a_second_run_skips_unchanged_files_and_keeps_the_count(tmp_path, corpus, hashing_embedder):
    first = build(open_store(tmp_path, hashing_embedder), corpus, hashing_embedder)
    assert len(first.added) == 5 and first.passages > 30
    embedded = hashing_embedder.calls
    second = build(open_store(tmp_path, hashing_embedder), corpus, hashing_embedder)
    assert (second.added, second.updated, second.unchanged, second.passages) == (
        [],
        [],
        5,
        first.passages,
    )
    assert hashing_embedder.calls == embedded  # nothing re-embedded


def test_dates_are_noted_for_articles_indexed_before_dates_were_read(
    tmp_path, corpus, hashing_embedder
):
    (corpus / "zz_dated.txt").write_text(
        "Blaufuchs wächst\n\nKiel, 3. März 2024 – Die Blaufuchs GmbH hat 4711 Mitarbeiter.",
        encoding="utf-8",
    )
    build(open_store(tmp_path, hashing_embedder), corpus, hashing_embedder)
    manifest_path = tmp_path / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["files"].values():
        del entry["date"]  # as an index built by an earlier version
    manifest_path.write_text(json.dumps(manifest))
    embedded = hashing_embedder.calls
    store = open_store(tmp_path, hashing_embedder)
    report = build(store, corpus, hashing_embedder)
    assert report.unchanged == 6 and hashing_embedder.calls == embedded  # nothing re-embedded
    assert store.files["zz_dated.txt"]["date"] == "2024-03-03"
    assert store.files["000_93756286b27f97d6.txt"]["date"] is None  # the seeds state none
    dated = [p for p in store.passages().values() if p.source == "zz_dated.txt"]
    assert dated and all(p.date == "2024-03-03" for p in dated)


def test_changed_files_are_re_embedded_and_deleted_ones_removed(tmp_path, corpus, hashing_embedder):
    store = open_store(tmp_path, hashing_embedder)
    before = build(store, corpus, hashing_embedder).passages
    changed = corpus / "003_94838c7e088f3b72.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nEin neuer Satz über Zebras im Zoo.",
        encoding="utf-8",
    )
    (corpus / "004_049a8fec8080a705.txt").unlink()
    report = build(store, corpus, hashing_embedder)
    assert report.updated == ["003_94838c7e088f3b72.txt"] and report.removed == [
        "004_049a8fec8080a705.txt"
    ]
    sources = {p.source for p in store.passages().values()}
    assert "004_049a8fec8080a705.txt" not in sources
    assert any("Zebras" in p.text for p in store.passages().values())
    assert store.collection.count() == len(store.passages()) < before  # old versions gone
    assert set(store.lexical().ids) == set(store.passages())


def test_changing_the_chunk_setting_rebuilds(tmp_path, corpus, hashing_embedder):
    coarse = build(open_store(tmp_path, hashing_embedder, 600), corpus, hashing_embedder).passages
    store = open_store(tmp_path, hashing_embedder, 300)
    assert store.files == {}
    fine = build(store, corpus, hashing_embedder)
    assert len(fine.added) == 5 and fine.passages > coarse
    assert store.collection.count() == fine.passages


def test_an_unreadable_file_is_skipped_by_name_and_the_rest_indexed(
    tmp_path, corpus, hashing_embedder
):
    (corpus / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    report = build(open_store(tmp_path, hashing_embedder), corpus, hashing_embedder)
    assert len(report.added) == 5
    assert len(report.skipped) == 1 and report.skipped[0].source == "broken.txt"


class Crash(Exception):
    pass


def test_a_build_killed_half_way_keeps_the_last_good_index_and_the_next_run_completes(
    tmp_path, corpus, hashing_embedder, monkeypatch
):
    store = open_store(tmp_path, hashing_embedder)
    good = build(store, corpus, hashing_embedder).passages
    changed = corpus / "002_ccdb200a2a1ca015.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8").replace("22. Juli", "23. Juli"), encoding="utf-8"
    )
    (corpus / "new.txt").write_text(
        "Neu\nEin ganz neuer Artikel über Quantencomputer. " * 30, encoding="utf-8"
    )

    # Die after the first batch of the first file has been written to Chroma.
    real_encode, batches = hashing_embedder.encode_documents, []

    def dying_encode(texts, title):
        batches.append(title)
        if len(batches) == 2:
            raise Crash
        return real_encode(texts, title)

    monkeypatch.setattr(hashing_embedder, "encode_documents", dying_encode)
    with pytest.raises(Crash):
        build(store, corpus, hashing_embedder)
    monkeypatch.undo()

    reopened = open_store(tmp_path, hashing_embedder)
    passages = reopened.passages()
    assert len(passages) == good  # the old version of every file, no half-added passages
    assert not any("23. Juli" in p.text for p in passages.values())
    assert reopened.collection.count() > good  # the half-added batch is on disk, but ignored
    hits = reopened.dense_search(hashing_embedder.encode_query("22. Juli Microsoft Investition"), 5)
    assert hits and all(pid in passages for pid in hits)

    report = build(reopened, corpus, hashing_embedder)
    assert report.added == ["new.txt"] and report.updated == ["002_ccdb200a2a1ca015.txt"]
    assert reopened.collection.count() == len(reopened.passages()) == report.passages
    assert any("23. Juli" in p.text for p in reopened.passages().values())


def test_the_manifest_records_model_chunking_and_file_hashes(tmp_path, corpus, hashing_embedder):
    store = open_store(tmp_path, hashing_embedder)
    build(store, corpus, hashing_embedder)
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["config"] == {"embedder": hashing_embedder.identity, "chunk_chars": 600}
    assert set(manifest["files"]) == {p.name for p in corpus.glob("*.txt")}
    assert all(
        len(entry["sha256"]) == 64 and entry["passages"] > 0 for entry in manifest["files"].values()
    )


def test_a_damaged_manifest_rebuilds_instead_of_answering_wrongly(
    tmp_path, corpus, hashing_embedder
):
    build(open_store(tmp_path, hashing_embedder), corpus, hashing_embedder)
    (tmp_path / "index" / "manifest.json").write_text("{not json")
    store = open_store(tmp_path, hashing_embedder)
    assert store.files == {} and store.passages() == {}
    assert len(build(store, corpus, hashing_embedder).added) == 5


def test_similarity_is_the_exact_cosine_of_stored_passages(tmp_path, corpus, hashing_embedder):
    store = open_store(tmp_path, hashing_embedder)
    build(store, corpus, hashing_embedder)
    passage = next(iter(store.passages().values()))
    query = hashing_embedder.encode_query(passage.text)
    assert store.similarity(query, [passage.id])[passage.id] == pytest.approx(1.0, abs=1e-5)
    assert store.similarity(query, []) == {}


@pytest.mark.parametrize("exact_limit", [50_000, 0])
def test_dense_search_finds_a_just_added_passage_exactly_and_through_chroma(
    tmp_path, corpus, hashing_embedder, monkeypatch, exact_limit
):
    import rag.store

    monkeypatch.setattr(rag.store, "EXACT_SEARCH_LIMIT", exact_limit)
    store = open_store(tmp_path, hashing_embedder)
    build(store, corpus, hashing_embedder)
    (corpus / "zz_new.txt").write_text(
        "Neu\nDas Luftschiff Graf Lindwurm ist 89 Meter lang.", encoding="utf-8"
    )
    build(store, corpus, hashing_embedder)
    hits = store.dense_search(
        hashing_embedder.encode_query("Das Luftschiff Graf Lindwurm ist 89 Meter lang."), 3
    )
    best = max(hits, key=hits.get)
    assert store.passages()[best].source == "zz_new.txt"
    assert hits[best] == pytest.approx(1.0, abs=1e-4)


def reopen(tmp_path, embedder):
    """A store opened as a new process would: Chroma caches one client per path in-process."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    return open_store(tmp_path, embedder)


def test_a_crash_while_removing_an_article_never_answers_from_it(
    tmp_path, corpus, hashing_embedder, monkeypatch
):
    store = open_store(tmp_path, hashing_embedder)
    build(store, corpus, hashing_embedder)
    (corpus / "004_049a8fec8080a705.txt").unlink()

    def dying_delete(**kwargs):
        raise Crash

    monkeypatch.setattr(store.collection, "delete", dying_delete)
    with pytest.raises(Crash):
        build(store, corpus, hashing_embedder)  # dies after the manifest, before the vectors
    monkeypatch.undo()

    reopened = reopen(tmp_path, hashing_embedder)
    assert "004_049a8fec8080a705.txt" not in {p.source for p in reopened.passages().values()}
    report = build(reopened, corpus, hashing_embedder)
    assert (
        reopened.collection.count() == len(reopened.passages()) == report.passages
    )  # the orphans are swept


def test_lost_passages_are_reported_with_the_fix_and_rebuilt_on_request(
    tmp_path, corpus, hashing_embedder
):
    from rag.errors import IndexDamaged
    from rag.storage import wipe_index

    good = build(open_store(tmp_path, hashing_embedder), corpus, hashing_embedder).passages
    shutil.rmtree(tmp_path / "index" / "chroma")
    with pytest.raises(IndexDamaged, match=r"passages are missing.*rag index --rebuild"):
        reopen(tmp_path, hashing_embedder)
    (tmp_path / "index" / "notes.txt").write_text("a user's file")
    wipe_index(tmp_path / "index")
    # Only our files go; the writers' lock file stays.
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == ["notes.txt", "write.lock"]
    assert build(reopen(tmp_path, hashing_embedder), corpus, hashing_embedder).passages == good


def test_a_corrupted_database_is_reported_not_answered_from(tmp_path, corpus, hashing_embedder):
    from rag.errors import IndexDamaged

    build(open_store(tmp_path, hashing_embedder), corpus, hashing_embedder)
    database = tmp_path / "index" / "chroma" / "chroma.sqlite3"
    database.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexDamaged, match="rag index --rebuild"):
        reopen(tmp_path, hashing_embedder)


def test_a_missing_bm25_folder_is_rebuilt_from_the_passages(tmp_path, corpus, hashing_embedder):
    store = open_store(tmp_path, hashing_embedder)
    build(store, corpus, hashing_embedder)
    shutil.rmtree(tmp_path / "index" / store.manifest["bm25"])
    reopened = reopen(tmp_path, hashing_embedder)
    assert sorted(reopened.lexical().ids) == sorted(reopened.passages())
    assert (tmp_path / "index" / reopened.manifest["bm25"]).is_dir()


def test_the_same_article_under_two_names_is_indexed_once(tmp_path, corpus, hashing_embedder):
    original = corpus / "002_ccdb200a2a1ca015.txt"
    shutil.copy(original, corpus / "a copy.txt")
    store = open_store(tmp_path, hashing_embedder)
    report = build(store, corpus, hashing_embedder)
    assert [str(s) for s in report.skipped] == [
        "a copy.txt: same text as 002_ccdb200a2a1ca015.txt, indexed once"
    ]
    assert "a copy.txt" not in store.files
    original.unlink()  # the copy takes over when the original goes
    report = build(store, corpus, hashing_embedder)
    assert report.added == ["a copy.txt"] and report.removed == ["002_ccdb200a2a1ca015.txt"]


def test_odd_file_names_are_indexed_and_found_under_their_name(tmp_path, corpus, hashing_embedder):
    names = [
        "mit Leerzeichen.txt",
        "überraschung-東京.md",
        "semi;colon $(touch pwned) `x` & 'q'.txt",
    ]
    for i, name in enumerate(names):
        (corpus / name).write_text(
            f"Titel {i}\nDer Leuchtturm Nummer {i} steht auf der Insel Zyx{i}.", encoding="utf-8"
        )
    store = open_store(tmp_path, hashing_embedder)
    report = build(store, corpus, hashing_embedder)
    assert set(names) <= set(report.added)
    for i, name in enumerate(names):
        hits = store.dense_search(
            hashing_embedder.encode_query(f"Der Leuchtturm Nummer {i} steht auf der Insel Zyx{i}."),
            1,
        )
        assert store.passages()[next(iter(hits))].source == name
    assert not (tmp_path / "pwned").exists() and not (corpus / "pwned").exists()


def test_a_50_mb_file_is_refused_with_the_limit_and_the_rest_indexed(
    tmp_path, corpus, hashing_embedder
):
    with (corpus / "huge.txt").open("w") as f:
        for _ in range(50):
            f.write("Ein sehr langer Satz über nichts Besonderes. " * 23_000 + "\n")
    assert (corpus / "huge.txt").stat().st_size > 50_000_000
    report = build(open_store(tmp_path, hashing_embedder), corpus, hashing_embedder)
    assert len(report.added) == 5
    assert len(report.skipped) == 1 and re.match(
        r"huge\.txt: 5\d\.\d MB is over the 20 MB limit", str(report.skipped[0])
    )


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs: room for the seed index, not for a large article."""
    import os
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True
    ).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    yield mount
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    subprocess.run(
        ["umount", "--lazy", str(mount)], check=True
    )  # lazy: Chroma may still hold a file open


@pytest.mark.slow  # fills a tmpfs: about 20 s, so make test runs it and make check does not
def test_a_full_disk_stops_the_build_with_a_clear_error_and_the_old_index_answers(
    small_disk, corpus, hashing_embedder
):
    import subprocess

    from rag.errors import IndexDiskFull

    store = open_store(small_disk, hashing_embedder)
    good = build(store, corpus, hashing_embedder).passages
    (corpus / "big.txt").write_text(
        "Big\n" + "".join(f"Satz {i} über das Thema {i * 7} steht hier. " for i in range(20_000))
    )
    with pytest.raises(IndexDiskFull, match=r"disk is full .*run `rag index` again"):
        build(store, corpus, hashing_embedder)
    with pytest.raises(
        IndexDiskFull
    ):  # not "damaged": while the disk is full, Chroma cannot even open
        reopen(small_disk, hashing_embedder)

    subprocess.run(["mount", "-o", "remount,size=30m", str(small_disk)], check=True)  # space freed
    reopened = reopen(small_disk, hashing_embedder)
    assert len(reopened.passages()) == good and "big.txt" not in reopened.files
    hits = reopened.dense_search(
        hashing_embedder.encode_query("Microsoft investierte 2019 eine Milliarde Dollar"), 3
    )
    assert hits and all(pid in reopened.passages() for pid in hits)
    (corpus / "big.txt").unlink()
    report = build(reopened, corpus, hashing_embedder)
    assert reopened.collection.count() == len(reopened.passages()) == report.passages == good


NEW_ARTICLE = "Zebras im Zoo\nDer Zoo von Wismar zeigt seit Montag drei Zebras aus Namibia."
GONE = "004_049a8fec8080a705.txt"


@pytest.mark.slow  # processes of their own
def test_a_change_made_by_another_process_is_seen_by_the_next_search(
    tmp_path, corpus, hashing_embedder
):
    from rag.retrieval import Retriever

    store = open_store(tmp_path, hashing_embedder)
    build(store, corpus, hashing_embedder)
    retriever = Retriever(store, hashing_embedder, bm25_weight=0.5)
    investment = "Microsoft hat mindestens 13 Milliarden Dollar in OpenAI investiert"
    assert GONE in {h.passage.source for h in retriever.search(investment, 5)}

    (corpus / GONE).unlink()
    (corpus / "zz_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    writer = start_index_writer(tmp_path / "index", corpus, 600)
    output, _ = writer.communicate(timeout=300)
    assert writer.returncode == 0, output

    assert GONE not in {h.passage.source for h in retriever.search(investment, 5)}
    assert GONE not in store.files and "zz_new.txt" in store.files
    assert retriever.search("Zebras im Zoo von Wismar", 1)[0].passage.source == "zz_new.txt"
    assert sorted(store.lexical().ids) == sorted(store.passages())


@pytest.mark.slow  # processes of their own
def test_writers_in_two_processes_take_turns(tmp_path, corpus, hashing_embedder):
    store = open_store(tmp_path, hashing_embedder)
    build(store, corpus, hashing_embedder)
    (corpus / "zz_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    with store.writing():
        writer = start_index_writer(tmp_path / "index", corpus, 600)
        assert writer.stdout is not None and writer.stdout.readline().strip() == "opened"
        time.sleep(3)  # ample for this small update if nothing held it back
        assert writer.poll() is None, "the other writer did not wait for the lock"
        assert "zz_new.txt" not in store.files
    output, _ = writer.communicate(timeout=300)
    assert writer.returncode == 0, output
    assert build(store, corpus, hashing_embedder).added == []  # the other writer added it
    assert "zz_new.txt" in store.files
    assert [p.name for p in (tmp_path / "index").glob("manifest*.tmp")] == []
