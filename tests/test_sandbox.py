"""The code sandbox: correct verdicts, and hostile programs contained (issue 5, "hostile-program tests").

Every hostile case checks three things: the program counts as a failure, the harm did not happen
(no file, no connection, no secret, the harness alive), and the *next* program on the same pool still
passes. The pool has two workers, as in the stages.
"""

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dpo_vs_ppo.data.records import TestCase
from dpo_vs_ppo.evaluation import sandbox_worker
from dpo_vs_ppo.evaluation.sandbox import Sandbox, SandboxLimits

DOUBLE = "a = int(input())\nprint(2 * a + 1)\n"
TESTS = [TestCase(f"{k}\n", f"{2 * k + 1}\n") for k in range(5)]


@pytest.fixture(scope="module")
def box():
    with Sandbox(SandboxLimits(cpu_seconds=1, wall_seconds=2.0, memory_bytes=256 * 2**20, output_bytes=64 * 2**10),
                 workers=2) as pool:
        yield pool


def still_works(box) -> None:
    assert box.run(DOUBLE, TESTS).passed, "the next program must be unaffected"


# ----------------------------------------------------------------------------- verdicts

def test_correct_program_passes_every_test(box):
    result = box.run(DOUBLE, TESTS)
    assert result.passed and result.statuses == ("passed",) * 5 and result.failure == ""


@pytest.mark.parametrize("code, status", [
    ("a = int(input())\nprint(2 * a)\n", "wrong_answer"),
    ("raise ValueError('no')\n", "runtime_error"),
    ("def (:\n", "runtime_error"),
    ("import sys\nsys.exit(3)\n", "runtime_error"),
])
def test_failing_programs_get_their_status_and_stop_at_the_first_failure(box, code, status):
    result = box.run(code, TESTS)
    assert not result.passed and result.statuses == (status,)


def forked_verdict(code: str, limits: SandboxLimits) -> list:
    """What a fresh worker's forked child makes of ``code`` (run_test, no shortcut), in a process of its own:
    a Worker isolates the network namespace of the process that builds it."""
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]); import sandbox_worker as w; "
              "print(json.dumps(w.Worker().run_test(sys.stdin.read(), '1\\n', json.loads(sys.argv[2]))))")
    out = subprocess.run([sys.executable, "-I", "-c", script, str(Path(sandbox_worker.__file__).parent),
                          json.dumps(dataclasses.asdict(limits))], input=code, capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", ["def (:\n", "print(1\n", "if x:\nprint(2)\n", "\tx = 1\n  y = 2\n",
                                  "print(0x)\n", "x = 1\nreturn x\n", "x = 1\0\n"])
def test_a_program_that_does_not_compile_gets_the_childs_verdict_without_a_fork(box, code):
    # The worker's shortcut (sandbox_worker.compiles) against the child it replaces: the same status and output
    assert not sandbox_worker.compiles(code)
    assert forked_verdict(code, box.limits) == ["runtime_error", ""]
    assert box.run(code, TESTS, stop_on_failure=False).statuses == ("runtime_error",) * len(TESTS)


def test_programs_that_compile_with_warnings_still_run(box):
    assert sandbox_worker.compiles("print(1 is 1)\n") and box.run("print(1 is 1)\n", [TestCase("", "True\n")]).passed


def test_all_tests_run_when_asked_and_only_a_full_pass_passes(box):
    odd_only = "a = int(input())\nprint(2 * a + 1 if a % 2 else 0)\n"
    result = box.run(odd_only, TESTS, stop_on_failure=False)
    assert result.statuses == ("wrong_answer", "passed", "wrong_answer", "passed", "wrong_answer")
    assert not result.passed


def test_output_comparison_ignores_trailing_whitespace_only(box):
    assert box.run("print(' 7  ')\nprint()\n", [TestCase("", " 7\n")]).passed
    assert not box.run("print('7 0')\n", [TestCase("", "70\n")]).passed


@pytest.mark.parametrize("code", [
    "def add(a, b):\n    return [a + b]\n",
    "class Solution:\n    def add(self, a, b):\n        return [a + b]\n",
])
def test_call_based_problems_call_the_function_on_json_arguments(box, code):
    tests = [TestCase("[1, 2]", "[[3]]"), TestCase("[5, 5]", "[10]")]  # APPS wraps some outputs in a list
    assert box.run(code, tests, fn_name="add").passed
    assert not box.run(code.replace("a + b", "a - b"), tests, fn_name="add").passed


def test_a_program_without_tests_is_an_error_not_a_pass(box):
    with pytest.raises(ValueError, match="at least one test"):
        box.run(DOUBLE, [])


def test_run_many_keeps_job_order(box):
    jobs = [(DOUBLE if k % 3 else "print(0)\n", TESTS, "") for k in range(12)]
    assert [r.passed for r in box.run_many(jobs)] == [bool(k % 3) for k in range(12)]


def test_each_test_gets_a_fresh_working_directory(box):
    code = ("import os\nprint(len(os.listdir('.')))\nopen('left_behind.txt', 'w').write('x')\n")
    assert box.run(code, [TestCase("", "0\n")] * 3).passed  # the file of test 1 is gone in test 2


# ----------------------------------------------------------------------------- hostile programs

def test_infinite_loop_is_stopped_by_the_cpu_limit(box):
    start = time.monotonic()
    assert box.run("while True:\n    pass\n", TESTS).statuses == ("timeout",)
    assert time.monotonic() - start < 2.5  # stopped at ~1 s of CPU, not at the 2 s wall deadline
    still_works(box)


def test_sleeping_past_the_limit_is_stopped_by_the_wall_clock(box):
    start = time.monotonic()
    assert box.run("import time\ntime.sleep(60)\n", TESTS).statuses == ("timeout",)
    assert time.monotonic() - start < 4
    still_works(box)


def test_fork_bomb_is_denied_and_leaves_no_process(box):
    for bomb in ("import os\nwhile True:\n    os.fork()\n",
                 "import subprocess\nsubprocess.Popen(['sleep', '60'])\n",
                 "import os\nos.system('sleep 60 &')\n",
                 "import multiprocessing as mp\nmp.Process(target=print).start()\n"):
        result = box.run(bomb, TESTS)
        assert not result.passed and result.failure in ("denied", "runtime_error"), bomb
    assert not leftover_sandbox_processes()
    still_works(box)


def test_memory_bomb_fails_without_hurting_the_host(box):
    for bomb in ("x = bytearray(8 * 2**30)\n", "x = []\nwhile True:\n    x.append(' ' * 2**24)\n"):
        assert box.run(bomb, TESTS).failure in ("memory", "runtime_error")
    still_works(box)


def test_writing_outside_its_directory_is_denied(box, tmp_path):
    target = tmp_path / "escaped.txt"
    os.chmod(tmp_path, 0o777)  # even where the OS would let any user write
    for code in (f"open({str(target)!r}, 'w').write('x')\n",
                 f"import os\nos.open({str(target)!r}, os.O_WRONLY | os.O_CREAT)\n",
                 "open('../escaped.txt', 'w').write('x')\n",
                 f"import shutil\nshutil.rmtree({str(tmp_path)!r})\n"):
        assert box.run(code, TESTS).statuses == ("denied",), code
    assert not target.exists() and tmp_path.exists()
    still_works(box)


def test_environment_secrets_are_not_visible(box, monkeypatch):
    monkeypatch.setenv("DPO_VS_PPO_TEST_SECRET", "hunter2-secret")
    show_env = "import os\nprint(sorted(os.environ.items()))\n"
    result = box.run(show_env, [TestCase("", "")], keep_output=4096)
    assert "hunter2" not in result.stdout_head and "HOME" in result.stdout_head
    read_parent = "import os\nprint(open(f'/proc/{os.getppid()}/environ').read())\n"
    read_harness = f"print(open('/proc/{os.getpid()}/environ').read())\n"
    for code in (read_parent, read_harness, "print(open('/proc/self/environ').read())\n"):
        result = box.run(code, [TestCase("", "")], keep_output=4096)
        assert result.statuses == ("denied",) and "hunter2" not in result.stdout_head
    still_works(box)


def test_sockets_are_denied_and_no_connection_arrives(box):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    port = server.getsockname()[1]
    for code in (f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n",
                 f"import _socket\n_socket.socket().connect(('127.0.0.1', {port}))\n",
                 f"import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=1)\n"):
        assert box.run(code, TESTS).failure in ("denied", "runtime_error"), code
    with pytest.raises(TimeoutError):
        server.accept()
    server.close()
    still_works(box)


def test_printing_gigabytes_stops_at_the_output_cap(box):
    start = time.monotonic()
    result = box.run("while True:\n    print('x' * 2**20)\n", TESTS)
    assert result.statuses == ("output_limit",) and time.monotonic() - start < 2
    still_works(box)


def test_killing_its_parent_or_the_harness_is_denied(box):
    harness = os.getpid()
    for code in ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
                 f"import os, signal\nos.kill({harness}, signal.SIGKILL)\n",
                 "import os, signal\nos.killpg(0, signal.SIGKILL)\n"):
        assert box.run(code, TESTS).statuses == ("denied",)
    assert all(w.process.poll() is None for w in box._all)
    still_works(box)


def test_ctypes_and_limit_changes_are_denied(box):
    for code in ("import ctypes\nctypes.CDLL(None).fork()\n",
                 "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (100, 100))\n"):
        assert box.run(code, TESTS).statuses == ("denied",)
    still_works(box)


def test_a_worker_that_dies_is_replaced_and_the_program_fails():
    with Sandbox(SandboxLimits(), workers=1) as box:
        os.kill(box._all[0].process.pid, signal.SIGKILL)
        box._all[0].process.wait()
        assert box.run(DOUBLE, TESTS).statuses == ("worker_died",)
        still_works(box)


# ----------------------------------------------------------------------------- the OS layers on their own

@pytest.mark.skipif(os.geteuid() != 0, reason="uid separation needs a root harness")
def test_programs_run_under_their_own_uid(box):
    result = box.run("import os\nprint(os.getuid(), os.getgid())\n", [TestCase("", "")], keep_output=64)
    uid, gid = map(int, result.stdout_head.split())
    assert uid >= sandbox_worker.UID_BASE and gid == uid
    assert box.isolation["own_uid"]


def test_network_namespace_isolates_even_without_the_audit_hook():
    """Layer 3 alone: a forked process that unshared its network cannot reach the host's loopback."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        isolated = sandbox_worker.isolate_network()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            outcome = b"connected"
        except OSError:
            outcome = b"blocked"
        os.write(write, (b"isolated:" if isolated else b"open:") + outcome)
        os._exit(0)
    os.waitpid(pid, 0)
    report = os.read(read, 100).decode()
    server.close()
    if report.startswith("open:"):
        pytest.skip("this OS does not allow a new network namespace; the audit hook is the only network layer")
    assert report == "isolated:blocked"


def leftover_sandbox_processes() -> list[int]:
    """Pids of running processes under a sandbox uid, other than the workers' reapers (a reaper is a
    sandbox-uid child of a worker that lives as long as the worker: evaluation/sandbox_os.py, Reaper).
    Zombies run nothing: a killed worker's reaper stays one where PID 1 does not reap orphans."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
                state, parent = _field(entry, "State"), _field(entry, "PPid")
                parent_cmd = open(f"/proc/{parent}/cmdline", "rb").read()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if (sandbox_worker.UID_BASE <= uid < sandbox_worker.UID_BASE + 1000 and state != "Z"
                    and b"sandbox_worker.py" not in parent_cmd):
                found.append(int(entry))
    return found


def _field(pid: str, name: str) -> str:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(name + ":"):
            return line.split()[1]
    return ""


def test_a_slow_harness_thread_does_not_block_other_programs(box):
    """Two workers: a sleeping program on one does not hold up programs on the other."""
    slow = threading.Thread(target=box.run, args=("import time\ntime.sleep(60)\n", TESTS))
    slow.start()
    time.sleep(0.2)
    start = time.monotonic()
    still_works(box)
    assert time.monotonic() - start < 1.0
    slow.join()


def test_the_worker_does_not_leak_file_descriptors(box):
    """A leaked descriptor per test once killed a worker after ~1,000 tests (found by the benchmark)."""
    worker = box._all[0].process.pid
    still_works(box)
    before = len(os.listdir(f"/proc/{worker}/fd"))
    box.run_many([(DOUBLE, TESTS, "")] * 20)
    assert len(os.listdir(f"/proc/{worker}/fd")) == before
