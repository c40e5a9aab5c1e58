"""The sandbox's OS layers on a machine like CI's (issue 16, items 1 and 2): as root, programs drop to a
uid of their own, that uid can read the Python installation even where it sits under a 0700 home, no
two sandboxes share a uid, and a layer that cannot work is reported as off, with the reason."""

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest

from dpo_vs_ppo.data.records import TestCase
from dpo_vs_ppo.evaluation import sandbox_os, sandbox_worker
from dpo_vs_ppo.evaluation.sandbox import Sandbox, SandboxLimits

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="uid separation needs a root harness")


def _mount_namespace_allowed() -> bool:
    """Whether this machine lets a process enter a new mount namespace (CAP_SYS_ADMIN; containers often lack it)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if sandbox_os._libc().unshare(sandbox_os.CLONE_NEWNS) == 0 else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def _python_blocked() -> bool:
    return any(sandbox_os.blocking_dir(p) for p in sandbox_os.python_files())


#: Where the uid layer can work: root, and Python readable by other users as installed or via a mount namespace.
UID_LAYER_POSSIBLE = os.geteuid() == 0 and (not _python_blocked() or _mount_namespace_allowed())
uid_layer = pytest.mark.skipif(not UID_LAYER_POSSIBLE, reason="needs root, and Python readable by other users "
                               "as installed or through a mount namespace")
#: Modules outside the worker's preloaded set too: each must import from disk as the sandbox uid.
STDLIB = ("heapq", "typing", "threading", "datetime", "decimal", "fractions", "bisect", "calendar", "textwrap",
          "xml.etree.ElementTree", "email.mime.text", "unicodedata", "zlib", "difflib", "graphlib", "enum",
          "dataclasses", "colorsys", "numpy.polynomial")


def test_the_issue_reproduction_passes():
    """The issue's reproduction: as root with Python under /root (0700) this was a runtime_error."""
    with Sandbox(workers=1) as box:
        result = box.run("import heapq\nprint(int(input())+1)", [TestCase("1\n", "2\n")])
    assert result.statuses == ("passed",)


@pytest.mark.parametrize("module", STDLIB)
def test_a_program_can_import_any_standard_library_module(box_one, module):
    code = f"import {module}\nprint(int(input()) + 1)\n"
    assert box_one.run(code, [TestCase("1\n", "2\n")]).statuses == ("passed",), module


@root_only
def test_as_root_the_uid_layer_is_on_wherever_it_can_work_and_reported(box_one):
    report = box_one.isolation
    if not UID_LAYER_POSSIBLE:  # e.g. a container without CAP_SYS_ADMIN and Python under a 0700 home
        assert not report["own_uid"] and "own_uid off" in report["notes"][0]
        return
    assert report["own_uid"] and report["uid"] >= sandbox_os.UID_BASE and report["notes"] == []
    result = box_one.run("import os\nprint(os.getuid())\n", [TestCase("", "")], keep_output=32)
    assert int(result.stdout_head) == report["uid"]


@pytest.fixture(scope="module")
def box_one():
    with Sandbox(workers=1) as box:
        yield box


@uid_layer
def test_two_sandboxes_never_share_a_uid_nor_kill_each_others_programs():
    """A correct 1.5 s program passed alone and timed out beside a second sandbox, whose reaper
    (kill(-1) as the shared uid) killed it."""
    slow = "import time\ntime.sleep(1.5)\nprint(int(input()) + 1)\n"
    limits = SandboxLimits(cpu_seconds=4, wall_seconds=4.0)
    with Sandbox(limits, workers=2) as first, Sandbox(limits, workers=2) as second:
        uids = first.isolation["uids"] + second.isolation["uids"]
        assert len(set(uids)) == 4 and None not in uids
        outcome = []
        waiting = threading.Thread(target=lambda: outcome.append(first.run(slow, [TestCase("1\n", "2\n")] * 2)))
        waiting.start()
        busy = second.run_many([("print(int(input()) + 1)\n", [TestCase("1\n", "2\n")], "")] * 60)
        waiting.join()
    assert all(r.passed for r in busy)
    assert outcome[0].statuses == ("passed", "passed")


def _in_child(action) -> dict:
    """Run ``action()`` (returns a JSON-able value) in a forked child, so namespaces and patches stay there."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, json.dumps(action()).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as handle:
        return json.loads(handle.read() or "null")


@pytest.fixture
def open_tmp():
    """A temp dir other users may enter (pytest's own tmp_path sits under a 0700 directory)."""
    path = tempfile.mkdtemp()
    os.chmod(path, 0o755)
    yield Path(path)
    shutil.rmtree(path)


@pytest.mark.skipif(os.geteuid() != 0 or not _mount_namespace_allowed(), reason="needs root and mount namespaces")
def test_reveal_makes_a_tree_under_a_private_home_readable_by_another_uid_only_in_its_namespace(open_tmp):
    home = open_tmp / "home"
    install = home / "python" / "lib"
    install.mkdir(parents=True)
    (install / "mod.py").write_text("x = 1\n")
    (home / "secret").write_text("token\n")
    os.chmod(home, 0o700), os.chmod(home / "python", 0o755), os.chmod(install, 0o755)
    files = [str(install / "mod.py"), str(home / "secret")]
    uid = sandbox_os.UID_BASE + sandbox_os.UID_COUNT - 1
    assert sandbox_os.blocking_dir(files[0]) == str(home)
    assert sandbox_os.unreadable_by(uid, files) == files

    def revealed():
        why = sandbox_os.reveal([str(home / "python")])
        return [why, sandbox_os.unreadable_by(uid, files), sorted(os.listdir(home))]

    why, unreadable, listing = _in_child(revealed)
    assert why == "" and unreadable == [files[1]] and listing == ["python"]  # the secret is not even there
    assert sorted(os.listdir(home)) == ["python", "secret"]  # the host's view is untouched


@root_only
def test_a_uid_layer_that_cannot_work_is_reported_off_with_its_reason(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "stdlib.py").write_text("")

    def worker_report():
        sandbox_os.python_files = lambda: [str(private / "stdlib.py")]
        sandbox_os.reveal = lambda roots: "simulated: mounts refused"
        worker = sandbox_worker.Worker()
        return worker.greeting()["isolation"]

    report = _in_child(worker_report)
    assert report["own_uid"] is False and report["uid"] is None
    assert "simulated: mounts refused" in report["notes"][0] and "own_uid off" in report["notes"][0]


@root_only
def test_the_reaper_kills_every_process_of_its_uid_and_survives_being_killed_itself():
    uid = sandbox_os.UID_BASE + sandbox_os.UID_COUNT - 2
    reaper = sandbox_os.Reaper(uid)
    try:
        for round_ in range(2):
            ready_r, ready_w = os.pipe()
            sleeper = os.fork()
            if sleeper == 0:
                os.setgroups([]), os.setgid(uid), os.setuid(uid)
                os.setsid()  # outside any process group the worker would kill
                os.write(ready_w, b"1")
                time.sleep(60)
                os._exit(0)
            os.read(ready_r, 1)  # it runs as the uid now
            os.close(ready_r), os.close(ready_w)
            if round_ == 1:  # a program of the same uid could kill the reaper: a fresh one takes over
                first = reaper.pid
                os.kill(first, signal.SIGKILL)
            start = time.monotonic()
            reaper.reap()
            _, status = os.waitpid(sleeper, 0)
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            assert time.monotonic() - start < 10  # a reaper that does not answer is replaced after 2 s
        assert reaper.pid != first
    finally:
        reaper.close()
