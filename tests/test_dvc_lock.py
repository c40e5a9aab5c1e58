"""dvc_lock.py: the stage entries it splices into dvc.lock's text give the text DVC's own full dump writes."""

import copy
import random
from pathlib import Path

import pytest

from dpo_vs_ppo import dvc_lock

LOCK = Path(__file__).resolve().parents[1] / "dvc.lock"


@pytest.fixture(scope="module")
def lock() -> tuple[str, dict]:
    text = LOCK.read_text(encoding="utf-8")
    return text, dvc_lock._load(text)


def test_the_committed_lock_is_what_dvcs_dump_writes(lock):
    text, data = lock
    assert dvc_lock._dump(data) == text  # else splicing into it could not give DVC's text


def test_changed_and_new_entries_spliced_equal_dvcs_full_dump(lock):
    text, before = lock
    after = copy.deepcopy(before)
    names = random.Random(0).sample(sorted(after["stages"]), 12)
    for name in names:  # an out or dep hash changes, as after a rerun; the first one also grows a long command
        entry = after["stages"][name]
        (entry.get("outs") or entry["deps"])[0]["md5"] = "0" * 32
    after["stages"][names[0]]["cmd"] = "python -m a.long.command " + "--flag value " * 20
    after["stages"]["new/stage@3"] = {"cmd": "python -m x", "deps": [{"path": "a", "hash": "md5", "md5": "1" * 32,
                                                                      "size": 3}]}
    spliced = dvc_lock.splice(text, before, after)
    assert spliced == dvc_lock._dump(after)
    assert spliced != text and dvc_lock._load(spliced) == after


def test_nothing_changed_keeps_the_text(lock):
    text, before = lock
    assert dvc_lock.splice(text, before, copy.deepcopy(before)) == text


@pytest.mark.parametrize("change", ["remove a stage", "new top-level key", "top-level value"])
def test_anything_else_takes_dvcs_full_dump(lock, change):
    text, before = lock
    after = copy.deepcopy(before)
    if change == "remove a stage":
        del after["stages"][next(iter(after["stages"]))]
    elif change == "new top-level key":
        after["datasets"] = []
    else:
        after["schema"] = "3.0"
    assert dvc_lock.splice(text, before, after) is None


def test_the_write_reuses_dvcs_parse_of_the_same_text(lock, tmp_path, monkeypatch):
    """After DVC's own read of the lock (through the installed hook), the write parses nothing again and still
    gives DVC's text; a lock changed on disk in between is parsed afresh."""
    import dvc.dvcfile
    import dvc.utils.strictyaml

    for module, name in ((dvc.dvcfile, "modify_yaml"), (dvc.utils.strictyaml, "parse_yaml")):
        monkeypatch.setattr(module, name, getattr(module, name))  # DVC's own again after the test
    text, before = lock
    path = tmp_path / "dvc.lock"
    path.write_text(text, encoding="utf-8")
    dvc_lock.install()
    assert dvc.utils.strictyaml.load(str(path))[0] == before  # (data, text), as DVC's Lockfile reads it
    real_load = dvc_lock._load
    monkeypatch.setattr(dvc_lock, "_load", lambda _: pytest.fail("parsed again"))
    name = sorted(before["stages"])[3]
    with dvc_lock.modify_lock(path) as data:
        data["stages"][name]["cmd"] = "python -m changed"
    after = real_load(path.read_text(encoding="utf-8"))
    assert after["stages"][name]["cmd"] == "python -m changed" and path.read_text() == dvc_lock._dump(after)
    assert dvc_lock._PARSED[text] == before  # the remembered copy was not edited through the write
    monkeypatch.setattr(dvc_lock, "_load", real_load)
    path.write_text(text.replace("schema: '2.0'", "schema: '2.0'\n"), encoding="utf-8")  # not the parsed text
    with dvc_lock.modify_lock(path) as data:
        assert data == before
