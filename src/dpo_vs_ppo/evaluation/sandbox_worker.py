"""The sandbox's fork server: runs untrusted Python programs on stdin/stdout tests. Standard library only.

Started by :class:`dpo_vs_ppo.evaluation.sandbox.Sandbox` as ``python -I sandbox_worker.py`` with a
scrubbed environment; it reads one JSON request per line on stdin (a program, its tests, the limits)
and answers one JSON line per request (a program that does not compile fails every test without a
fork: :func:`compiles`). Each test runs in a fresh child forked from this small
process (a fork costs about a millisecond; a new interpreter costs tens), and the child is confined
in layers, the OS ones first, because PEP 578 says audit hooks alone are not a sandbox:

1. **Process**: its own session and process group, killed whole (SIGKILL) when the test ends; when
   this worker runs as root, the child also drops to a uid no other live worker holds, so a reaper
   with that uid can ``kill(-1)`` anything the program spawned, even outside the group, and it can
   neither signal the harness nor read root-only files (:mod:`.sandbox_os` claims the uid and makes
   the Python installation readable to it, or reports why the layer is off).
2. **Limits** (setrlimit): CPU seconds, address space, file size (this caps stdout), open files,
   processes, no core dumps; plus a wall-clock deadline enforced here, for programs that sleep.
3. **Network**: this worker unshares a new, empty network namespace at start when the OS allows it.
4. **Files**: a fresh temporary working directory per test, removed afterwards.
5. **Audit hook** (https://peps.python.org/pep-0578/): denies process creation, signals, sockets,
   ctypes, limit changes, writes outside the working directory and reads outside the Python
   installation and the working directory (so neither /proc/<pid>/environ nor a token file).
   Residual risk: numpy, preloaded for APPS' import block, keeps a reference to ``ctypes``, so a
   program can reach the module object even though ``import ctypes`` is denied; what ctypes does
   (dlopen, symbol lookup, foreign calls, raw memory) raises ``ctypes.*`` audit events, which are
   denied, and the OS layers hold regardless.
6. **Environment**: the worker starts with an empty environment and the child gets only PATH, HOME
   (its temp dir) and LANG, so no secret of the harness's environment is there to read.

What each layer achieved on this machine is reported in the worker's greeting (``isolation``).
"""

import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import warnings

if __package__:
    from . import sandbox_checks, sandbox_child, sandbox_os
else:  # run as a script by Sandbox; ``python -I`` leaves the script's folder off sys.path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import sandbox_checks
    import sandbox_child
    import sandbox_os
    del sys.path[0]

EXIT_OK, EXIT_DENIED, EXIT_MEMORY, EXIT_INTERNAL = 0, 97, 98, 99  # sandbox_child's exit codes

UID_BASE = sandbox_os.UID_BASE  # children run as a uid of their own from here (root only; see sandbox_os)
isolate_network = sandbox_os.isolate_network
outputs_match = sandbox_checks.outputs_match  # data/code_task.py checks its generators with the sandbox's rule
#: Imported here once, before any fork, so a child finds them cached (no file reads, no import time):
#: APPS' import block (every APPS program starts with it) plus modules solutions commonly import.
PRELOAD = ("bisect", "decimal", "datetime", "re", "string", "threading", "statistics", "operator", "copy",
           "array", "queue", "json", "functools", "itertools", "numpy.random")


class Worker:
    """One fork server: its temp area, the uid its children get, and the isolation it achieved."""

    def __init__(self):
        self.notes: list[str] = []
        self.network_namespace = isolate_network()
        self.base = tempfile.mkdtemp(prefix="dpo-vs-ppo-sandbox-")
        os.chmod(self.base, 0o711)  # children may enter their own workdir, not list the others
        self.private = tempfile.mkdtemp(dir=self.base)  # stdin/stdout files, root-only
        self.read_roots = tuple(sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                                     sys.base_exec_prefix)} | {"/dev/null", "/dev/urandom"}))
        if os.geteuid() == 0:
            self.uid, self.python_visible = self._own_uid()
        else:
            self.uid, self.python_visible = None, "as the harness user"
            self.notes.append("own_uid off: the harness is not root, so programs run as the harness user")
        self.preloaded = preload(self.notes)

    def _own_uid(self) -> tuple:
        """(uid, how Python is visible to it), or (None, ...) with a note saying why the uid layer is off.
        Runs before any thread exists: the mount namespace needs a single-threaded process."""
        uid, self._uid_lock, note = sandbox_os.claim_uid()
        if uid is not None and sandbox_os.as_uid(uid, lambda: True) != 0:
            uid, note = None, f"cannot switch to uid {uid}"
        if uid is not None:
            readable, how, note = sandbox_os.python_visible_to(uid)
            if readable:
                self.reaper = sandbox_os.Reaper(uid)
                self.reaper.reap()  # whatever a crashed former holder of this uid left running
                return uid, how
        self.notes.append(f"own_uid off: {note}; programs run as the harness user")
        return None, "as the harness user"

    def greeting(self) -> dict:
        return {"ready": True, "isolation": {
            "network_namespace": self.network_namespace, "own_uid": self.uid is not None, "uid": self.uid,
            "python_visible": self.python_visible, "audit_hook": True, "rlimits": True, "process_group": True,
            "preloaded": self.preloaded, "notes": self.notes}}

    def run_test(self, code: str, stdin_text: str, limits: dict) -> tuple[str, str]:
        """(status, stdout) of one run of ``code`` on ``stdin_text`` in a fresh confined child."""
        workdir = tempfile.mkdtemp(dir=self.base)
        in_path, out_path = os.path.join(self.private, "stdin"), os.path.join(self.private, "stdout")
        with open(in_path, "w", encoding="utf-8") as handle:
            handle.write(stdin_text)
        if self.uid is not None:
            os.chown(workdir, self.uid, self.uid)
        in_fd, out_fd = os.open(in_path, os.O_RDONLY), os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(in_fd, 0), os.dup2(out_fd, 1), os.dup2(devnull, 2)
            os.closerange(3, 65536)
            sandbox_child.child_main(code, workdir, limits, self.uid, self.read_roots)
        os.close(in_fd), os.close(out_fd)
        try:
            timed_out, wait_status = self._wait(pid, limits["wall_seconds"])
        finally:
            self._kill_everything(pid)
        with open(out_path, "rb") as handle:
            stdout = handle.read(limits["output_bytes"] + 1).decode("utf-8", errors="replace")
        shutil.rmtree(workdir, ignore_errors=True)
        return classify(timed_out, wait_status), stdout

    @staticmethod
    def _wait(pid: int, wall_seconds: float) -> tuple[bool, int]:
        """(timed out, wait status); a child still running at the deadline has its group killed."""
        deadline = time.monotonic() + wall_seconds
        try:
            pidfd = os.pidfd_open(pid)  # readable when the child exits (Linux >= 5.3)
        except (AttributeError, OSError):
            pidfd = None
        poller = select.poll()
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        try:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return False, status
                left = deadline - time.monotonic()
                if left <= 0:
                    os.killpg(pid, signal.SIGKILL)
                    return True, os.waitpid(pid, 0)[1]
                if pidfd is not None:
                    poller.poll(left * 1000)
                else:
                    time.sleep(min(left, 0.002))
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def _kill_everything(self, pid: int) -> None:
        """Kill the test's process group, then (own uid) everything that uid still runs, wherever it went."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.uid is not None:
            self.reaper.reap()  # only this worker's programs: no other live worker holds the uid


def classify(timed_out: bool, wait_status: int) -> str:
    """The test's status from how the child ended (output comparison comes after)."""
    if timed_out:
        return "timeout"
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        if sig in (signal.SIGXCPU, signal.SIGKILL):  # soft, then hard, CPU limit
            return "timeout"
        return "output_limit" if sig == signal.SIGXFSZ else "runtime_error"
    code = os.WEXITSTATUS(wait_status)
    return {EXIT_OK: "ran", EXIT_DENIED: "denied", EXIT_MEMORY: "memory", EXIT_INTERNAL: "sandbox_error"}.get(
        code, "runtime_error")


def same_output(compare: str, expected: str, got: str) -> bool:
    """'json': APPS call-based; 'apps' / 'code_contests': that harness's standard-output rule."""
    if compare == "json":
        return sandbox_checks.json_outputs_match(expected, got)
    return sandbox_checks.outputs_match(expected, got, compare)


def preload(notes: list) -> list[str]:
    """Import APPS' block and :data:`PRELOAD` now, so children inherit them through fork. BLAS gets one
    thread: a fork copies only the calling thread, and a BLAS pool left behind would hang the child."""
    os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        exec(sandbox_checks.APPS_PREAMBLE, {})  # noqa: S102 - a fixed, trusted import block
    except ImportError as err:
        notes.append(f"APPS' import block fails here ({err}): APPS programs will fail")
    import _posixsubprocess  # noqa: F401 - cached, so ``import subprocess`` works in a child (see sandbox_child.DENIED_MODULES)

    loaded = ["APPS import block"] if "numpy" in sys.modules else []
    for name in PRELOAD:
        try:
            __import__(name)
            loaded.append(name)
        except ImportError:
            notes.append(f"{name} not importable")
    return loaded


def compiles(code: str) -> bool:
    """False when the child's ``compile`` (sandbox_child.child_main) would raise SyntaxError: the child would
    then exit with EXIT_ERROR before running anything, which :func:`classify` calls "runtime_error" with no
    output, so the test gets that status without a fork. Tiny policies write such programs often (56 % of the
    tiny study's evaluation samples), and each cost a fork per test. Compiling runs none of the program's
    code; any other failure of it (RecursionError, MemoryError) is left to the child, as before."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings: the child writes them to /dev/null
            compile(code, "solution.py", "exec")
    except SyntaxError:
        return False
    except Exception:  # noqa: BLE001 - the child meets it, as it did before this check
        pass
    return True


def serve(worker: Worker) -> None:
    """One request per stdin line; one answer per stdout line."""
    print(json.dumps(worker.greeting()), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        statuses, first_stdout = [], None
        doomed = not compiles(request["code"])
        for test_input, expected in request["tests"]:
            try:
                status, stdout = ("runtime_error", "") if doomed else worker.run_test(
                    request["code"], test_input, request["limits"])
            except Exception as err:  # noqa: BLE001 - our own failure: report it, keep serving
                status, stdout = "sandbox_error", ""
                print(f"sandbox worker: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            if status == "ran":
                status = "passed" if same_output(request.get("compare", "apps"), expected, stdout) else "wrong_answer"
            statuses.append(status)
            if first_stdout is None:
                first_stdout = stdout[:request.get("keep_output", 0)]
            if status != "passed" and request.get("stop_on_failure", True):
                break
        print(json.dumps({"id": request["id"], "statuses": statuses, "stdout_head": first_stdout}), flush=True)
    shutil.rmtree(worker.base, ignore_errors=True)


if __name__ == "__main__":
    serve(Worker())
