"""The index on a Chroma server (`chroma run`, started in the test on a loopback port):
index, re-index, query, two clients sharing it, and the assistant answering from it."""

import re
import sys
from pathlib import Path

import pytest

from rag.errors import IndexMismatch
from rag.retrieval import Retriever
from rag.storage import wipe_index
from rag.store import PassageStore
from tests.helpers import build, free_port, serve_or_fail, stop

pytestmark = [pytest.mark.real, pytest.mark.server]

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(CHROMA),
        "run",
        "--path",
        str(folder / "data"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = serve_or_fail(command, f"{url}/api/v2/heartbeat", folder / "server.log", 60)
    yield url
    stop(process)


@pytest.fixture
def chroma_url(server):
    wipe_index(Path("unused"), server)  # each test starts from an empty server
    return server


def remote_store(tmp_path, embedder, url, chunk_chars=600):
    return PassageStore(tmp_path / "client-disk", embedder.identity, chunk_chars, url)


def test_index_reindex_and_query_on_the_server_with_nothing_on_the_clients_disk(
    tmp_path, corpus, hashing_embedder, chroma_url
):
    store = remote_store(tmp_path, hashing_embedder, chroma_url)
    first = build(store, corpus, hashing_embedder)
    assert len(first.added) == 5 and first.passages > 30
    assert not (tmp_path / "client-disk").exists()
    again = build(remote_store(tmp_path, hashing_embedder, chroma_url), corpus, hashing_embedder)
    assert (again.added, again.unchanged, again.passages) == ([], 5, first.passages)

    changed = corpus / "003_94838c7e088f3b72.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nEin neuer Satz über Zebras im Zoo.",
        encoding="utf-8",
    )
    (corpus / "004_049a8fec8080a705.txt").unlink()
    (corpus / "zz_new.txt").write_text(
        "Neu\nDas Luftschiff Graf Lindwurm ist 89 Meter lang.", encoding="utf-8"
    )
    report = build(store, corpus, hashing_embedder)
    assert (report.added, report.updated, report.removed) == (
        ["zz_new.txt"],
        ["003_94838c7e088f3b72.txt"],
        ["004_049a8fec8080a705.txt"],
    )
    assert store.collection.count() == len(store.passages()) == report.passages
    assert any("Zebras" in p.text for p in store.passages().values())
    for weight in (0.0, 1.0):  # dense over the vectors on the server; BM25 built in memory
        hits = Retriever(store, hashing_embedder, weight).search(
            "Das Luftschiff Graf Lindwurm ist 89 Meter lang.", 3
        )
        assert hits[0].passage.source == "zz_new.txt"


def test_two_clients_share_one_index_and_see_each_others_changes(
    tmp_path, corpus, hashing_embedder, chroma_url
):
    writer = remote_store(tmp_path, hashing_embedder, chroma_url)
    reader = remote_store(tmp_path, hashing_embedder, chroma_url)
    build(writer, corpus, hashing_embedder)
    reader.refresh()
    assert set(reader.passages()) == set(writer.passages()) and reader.files == writer.files
    (corpus / "zz_new.txt").write_text(
        "Neu\nDas Luftschiff Graf Lindwurm ist 89 Meter lang.", encoding="utf-8"
    )
    build(writer, corpus, hashing_embedder)
    hits = Retriever(reader, hashing_embedder, 0.0).search(
        "Das Luftschiff Graf Lindwurm ist 89 Meter lang.", 1
    )  # refreshes first
    assert hits[0].passage.source == "zz_new.txt"


def test_a_client_with_other_settings_is_refused_and_the_shared_index_kept(
    tmp_path, corpus, hashing_embedder, chroma_url
):
    store = remote_store(tmp_path, hashing_embedder, chroma_url)
    count = build(store, corpus, hashing_embedder).passages
    with pytest.raises(IndexMismatch, match=r"chunk_chars.*rag index --rebuild"):
        remote_store(tmp_path, hashing_embedder, chroma_url, chunk_chars=300)
    assert len(remote_store(tmp_path, hashing_embedder, chroma_url).passages()) == count


def test_the_assistant_answers_from_the_server_index(tmp_path, corpus, chroma_url):
    from rag import Assistant, Settings

    assistant = Assistant(
        Settings(corpus=corpus, index=tmp_path / "unused", chroma_url=chroma_url),
        show_progress=False,
    )
    answer = assistant.ask("Welchen Anteil am globalen Cloud-Infrastrukturmarkt hat Amazon?")
    assert (
        re.search(r"31\s*(%|Prozent)", answer.text)
        and answer.citations[0].source == "004_049a8fec8080a705.txt"
    )
    assert not (tmp_path / "unused").exists()
