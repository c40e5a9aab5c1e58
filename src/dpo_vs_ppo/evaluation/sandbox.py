"""Run model-written programs on tests, safely and fast: a pool of fork-server workers.

    with Sandbox(SandboxLimits(), workers=2) as box:
        results = box.run_many([(code, tests), ...])   # one ProgramResult each, in order

Every program is hostile until proven otherwise (design Sec. 7). The confinement itself lives in
:mod:`.sandbox_worker` (standard library only, a separate process with an empty environment); this
side hands out work, enforces a deadline on each worker's answer, and replaces a worker that died or
hung, counting that program as failed. A crashed program never loses another program's result.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..data.records import TestCase
from .sandbox_checks import APPS_PREAMBLE, HARNESSES

WORKER_SCRIPT = Path(__file__).with_name("sandbox_worker.py")
#: Outcomes of one test. Only "passed" passes; every other status is a counted failure.
STATUSES = ("passed", "wrong_answer", "runtime_error", "timeout", "memory", "output_limit", "denied",
            "sandbox_error", "worker_died")


@dataclass(frozen=True)
class SandboxLimits:
    """Per-test limits of a sandboxed program. Time follows APPS' harness (hendrycks/apps
    eval/testing_util.py: ``timeout = 4``, a wall-clock ``signal.alarm`` per test), which has no separate
    CPU limit: the CPU limit equals the wall clock, so a single-threaded program gets APPS' 4 s either way."""

    # DEVIATION: CodeContests gives each problem its own time limit (its ``time_limit`` field); the records
    # do not keep it, so its programs get APPS' 4 s too.
    cpu_seconds: int = 4
    """CPU time per test (RLIMIT_CPU, whole seconds; all threads together)."""
    wall_seconds: float = 4.0
    """Wall-clock time per test (APPS: 4 s); catches sleeping and blocked programs."""
    memory_bytes: int = 512 * 2**20
    """Address-space limit (RLIMIT_AS)."""
    output_bytes: int = 2**20
    """Largest stdout, and largest file the program may write (RLIMIT_FSIZE)."""
    max_processes: int = 16
    """RLIMIT_NPROC for the program's uid (threads count); process creation is denied in any case."""
    max_write_opens: int = 16
    """Files the program may open for writing in its working directory."""


@dataclass(frozen=True)
class ProgramResult:
    """One program's run on its tests (stopped at the first failure unless asked otherwise)."""

    statuses: tuple[str, ...]
    """One status per test run, in test order (see STATUSES)."""
    total_tests: int
    stdout_head: str = ""
    """The start of the first test's stdout, when requested (debugging; never a secret: the env is scrubbed)."""

    @property
    def passed(self) -> bool:
        """Every test passed (the paper's rule for reward 10)."""
        return len(self.statuses) == self.total_tests and all(s == "passed" for s in self.statuses)

    @property
    def failure(self) -> str:
        """The first non-passing status, or '' if it passed."""
        return next((s for s in self.statuses if s != "passed"), "")


@dataclass
class _WorkerProcess:
    index: int
    process: subprocess.Popen
    isolation: dict = field(default_factory=dict)


class Sandbox:
    """A pool of ``workers`` fork servers. Use as a context manager; thread-safe ``run``."""

    def __init__(self, limits: SandboxLimits | None = None, workers: int = 2):
        self.limits = limits or SandboxLimits()
        self._lock = threading.Condition()
        self._ids = itertools.count()
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._all = [self._start(i) for i in range(workers)]
        self._free: list[_WorkerProcess] = list(self._all)

    @property
    def isolation(self) -> dict:
        """What the OS allowed (network namespace, own uid, how Python is readable, ...), as the first
        worker reported it, with every worker's uid and every worker's notes (why a layer is off)."""
        report = dict(self._all[0].isolation)
        report["uids"] = [w.isolation.get("uid") for w in self._all]
        report["notes"] = sorted({note for w in self._all for note in w.isolation.get("notes", [])})
        return report

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for worker in self._all:
            _stop(worker.process)

    def run(self, code: str, tests: Sequence[TestCase], stop_on_failure: bool = True, keep_output: int = 0,
            fn_name: str = "", harness: str = "apps") -> ProgramResult:
        """Run ``code`` on each test's input and compare stdout with its output under ``harness``'s rules
        (evaluation/sandbox_checks.py): 'apps' puts APPS' import block before the program; 'code_contests'
        runs it as written. With ``fn_name`` (APPS call-based problems), each input is a JSON argument
        list and the function's return value is compared."""
        if not tests:
            raise ValueError("a program needs at least one test to be judged")
        if harness not in HARNESSES:
            raise ValueError(f"harness must be one of {HARNESSES}, got {harness!r}")
        program = call_based_program(code, fn_name) if fn_name else code
        request = {"id": next(self._ids), "code": APPS_PREAMBLE + program if harness == "apps" else program,
                   "tests": [[t.input, t.output] for t in tests], "compare": "json" if fn_name else harness,
                   "limits": asdict(self.limits), "stop_on_failure": stop_on_failure, "keep_output": keep_output}
        worker = self._acquire()
        try:
            answer = self._ask(worker, request, len(tests))
        finally:
            self._release(worker)
        return ProgramResult(tuple(answer["statuses"]), len(tests), answer.get("stdout_head") or "")

    def run_many(self, jobs: Sequence[tuple], stop_on_failure: bool = True) -> list[ProgramResult]:
        """Run every (code, tests, fn_name[, harness]) job on the pool; results in job order."""
        return list(self._pool.map(lambda job: self.run(job[0], job[1], stop_on_failure, 0, *job[2:]), jobs))

    # ------------------------------------------------------------------ worker management

    def _start(self, index: int) -> _WorkerProcess:
        # -I: ignore PYTHON* variables and the user's site dir; env={}: no secret reaches the worker
        process = subprocess.Popen([sys.executable, "-I", str(WORKER_SCRIPT)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={}, text=True,
                                   start_new_session=True, bufsize=1)
        greeting = json.loads(process.stdout.readline() or "{}")
        if not greeting.get("ready"):
            _stop(process)
            raise RuntimeError(f"sandbox worker {WORKER_SCRIPT} did not start")
        return _WorkerProcess(index, process, greeting["isolation"])

    def _acquire(self) -> _WorkerProcess:
        with self._lock:
            self._lock.wait_for(lambda: self._free)
            return self._free.pop()

    def _release(self, worker: _WorkerProcess) -> None:
        with self._lock:
            self._free.append(worker)
            self._lock.notify()

    def _ask(self, worker: _WorkerProcess, request: dict, n_tests: int) -> dict:
        """Send one request; if the worker dies or overruns every test's deadline, replace it and fail the program."""
        deadline = n_tests * (self.limits.wall_seconds + 1.0) + 5.0
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(worker.process.stdout.readline()), daemon=True)
        try:
            worker.process.stdin.write(json.dumps(request) + "\n")
            worker.process.stdin.flush()
            reader.start()
            reader.join(deadline)
        except (BrokenPipeError, OSError):
            pass
        if answer and answer[0]:
            return json.loads(answer[0])
        self._replace(worker)
        return {"statuses": ["worker_died"]}

    def _replace(self, worker: _WorkerProcess) -> None:
        _stop(worker.process)
        fresh = self._start(worker.index)
        worker.process, worker.isolation = fresh.process, fresh.isolation  # in place: _all holds this object


def call_based_program(code: str, fn_name: str) -> str:
    """``code`` plus a driver that calls ``fn_name`` (a function, or a method of APPS' starter-code class
    ``Solution``, as hendrycks/apps eval/testing_util.py picks it) on the JSON argument list read from
    stdin and prints the JSON of the result (JSON writes tuples as lists, APPS' tuple rule)."""
    driver = (
        "\n\nimport json as _json, sys as _sys\n"
        "_args = _json.loads(_sys.stdin.read())\n"
        f"_fn = Solution().{fn_name} if 'Solution' in globals() else {fn_name}\n"
        "print(_json.dumps(_fn(*_args)))\n"
    )
    return code + driver


def _stop(process: subprocess.Popen) -> None:
    """Close a worker (it cleans its temp area on EOF), killing it if it does not exit promptly."""
    try:
        process.stdin.close()
        process.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()
