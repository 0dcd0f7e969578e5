"""Passages' KV cells kept in memory and on disk (rag.kv_states), without a model."""

from __future__ import annotations

from rag.kv_states import PassageStates


def test_cells_kept_on_disk_are_there_after_a_restart(tmp_path):
    folder = tmp_path / "states" / "model-a"
    assert PassageStates(1000, folder).put(b"passage", b"cells")
    restarted = PassageStates(1000, folder)
    assert b"passage" in restarted and len(restarted) == 0  # known, not loaded yet
    assert restarted.get(b"passage") == b"cells" and len(restarted) == 1


def test_damaged_cells_on_disk_are_not_used_and_removed(tmp_path):
    folder = tmp_path / "states" / "model-a"
    PassageStates(1000, folder).put(b"passage", b"cells")
    (path,) = folder.glob("*.kv")
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    assert PassageStates(1000, folder).get(b"passage") is None
    assert not path.exists()


def test_cells_llama_cpp_refuses_are_forgotten_in_memory_and_on_disk(tmp_path):
    states = PassageStates(1000, tmp_path / "states" / "model-a")
    states.put(b"passage", b"cells")
    states.discard(b"passage")
    assert b"passage" not in states and states.bytes == 0


def test_the_disk_holds_at_most_the_budget_over_every_models_folder(tmp_path):
    root = tmp_path / "states"
    old, new = PassageStates(100, root / "old-prompt"), PassageStates(100, root / "new-prompt")
    old.put(b"a", b"1" * 30)  # 62 bytes on disk with its checksum: one file fits in 100
    (first,) = old.folder.glob("*.kv")
    assert new.put(b"b", b"2" * 30, evict=False)  # read ahead: kept in memory only
    assert list(new.folder.glob("*.kv")) == []
    new.put(b"c", b"3" * 30)  # a question's: the least recently used file goes
    assert not first.exists() and len(list(new.folder.glob("*.kv"))) == 1


def test_an_unusable_folder_keeps_the_cells_in_memory_with_a_warning(tmp_path, caplog):
    in_the_way = tmp_path / "states"
    in_the_way.write_text("a file where the folder should be")
    states = PassageStates(1000, in_the_way / "model-a")
    assert "unusable" in caplog.text and states.folder is None
    assert states.put(b"passage", b"cells") and states.get(b"passage") == b"cells"
