"""The sandbox's fork server: runs untrusted Python programs on stdin/stdout tests. Standard library only.

Started by :class:`dpo_vs_ppo.evaluation.sandbox.Sandbox` as ``python -I sandbox_worker.py`` with a
scrubbed environment; it reads one JSON request per line on stdin (a program, its tests, the limits)
and answers one JSON line per request. Each test runs in a fresh child forked from this small
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
import resource
import select
import shutil
import signal
import sys
import tempfile
import time

if __package__:
    from . import sandbox_checks, sandbox_os
else:  # run as a script by Sandbox; ``python -I`` leaves the script's folder off sys.path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import sandbox_checks
    import sandbox_os
    del sys.path[0]

EXIT_OK, EXIT_ERROR, EXIT_DENIED, EXIT_MEMORY, EXIT_INTERNAL = 0, 1, 97, 98, 99
UID_BASE = sandbox_os.UID_BASE  # children run as a uid of their own from here (root only; see sandbox_os)
isolate_network = sandbox_os.isolate_network
outputs_match = sandbox_checks.outputs_match  # data/code_task.py checks its generators with the sandbox's rule
#: Imported here once, before any fork, so a child finds them cached (no file reads, no import time):
#: APPS' import block (every APPS program starts with it) plus modules solutions commonly import.
PRELOAD = ("bisect", "decimal", "datetime", "re", "string", "threading", "statistics", "operator", "copy",
           "array", "queue", "json", "functools", "itertools", "numpy.random")
DENIED_EVENTS = ("os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system",
                 "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill", "resource.setrlimit",
                 "resource.prlimit", "os.chdir", "os.chroot", "pty.spawn", "sys.remote_exec")
DENIED_PREFIXES = ("socket.", "ctypes.", "_ctypes.", "winreg.", "mmap.", "fcntl.")
# Importing socket, mmap, resource, fcntl ... is allowed (email, asyncio, logging.handlers import them),
# and what they do is denied by the events above. These few have no event for what they do, so a fresh
# import of them is denied: ctypes (removed from the child's module cache, where numpy left it) and
# _posixsubprocess (kept cached for ``import subprocess``, with its fork_exec replaced in the child).
DENIED_MODULES = ("ctypes", "_ctypes", "_posixsubprocess")
UNCACHED_MODULES = ("ctypes", "_ctypes")
PATH_EVENTS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.chmod",
               "os.chown", "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class SandboxViolation(PermissionError):
    """Raised inside the child when the program does something the sandbox denies."""


def audit_hook_for(workdir: str, read_roots: tuple, max_write_opens: int):
    """The child's audit hook: raise SandboxViolation on anything outside the program's job."""
    workdir = os.path.realpath(workdir)
    writes = [0]

    def inside(path, roots) -> bool:
        real = os.path.realpath(os.fsdecode(path))
        return any(real == root or real.startswith(root + os.sep) for root in roots)

    def hook(event, args):
        if event in DENIED_EVENTS or event.startswith(DENIED_PREFIXES):
            raise SandboxViolation(f"sandbox: {event} is not allowed")
        if event == "import" and args[0].split(".")[0] in DENIED_MODULES:
            raise SandboxViolation(f"sandbox: import of {args[0]} is not allowed")
        if event == "open" and isinstance(args[0], (str, bytes)):
            path, mode, flags = args
            writing = (mode is not None and any(c in mode for c in "wax+")) or bool((flags or 0) & WRITE_FLAGS)
            if writing:
                writes[0] += 1
                if not inside(path, (workdir,)) or writes[0] > max_write_opens:
                    raise SandboxViolation(f"sandbox: writing {path!r} is not allowed")
            elif not inside(path, (workdir, *read_roots)):
                raise SandboxViolation(f"sandbox: reading {path!r} is not allowed")
        if event in PATH_EVENTS and not all(inside(a, (workdir,)) for a in args[:2] if isinstance(a, (str, bytes))):
            raise SandboxViolation(f"sandbox: {event} outside the working directory is not allowed")
    return hook


def child_main(code: str, workdir: str, limits: dict, uid: int | None, read_roots: tuple) -> None:
    """Runs in the forked child: confine, then execute the program. Never returns."""
    try:
        os.setsid()
        os.chdir(workdir)
        for name, value in (("RLIMIT_CPU", limits["cpu_seconds"]), ("RLIMIT_AS", limits["memory_bytes"]),
                            ("RLIMIT_FSIZE", limits["output_bytes"]), ("RLIMIT_NOFILE", 32),
                            ("RLIMIT_NPROC", limits["max_processes"]), ("RLIMIT_CORE", 0)):
            hard = value + 1 if name == "RLIMIT_CPU" else value  # SIGXCPU at the soft limit, SIGKILL 1 s later
            resource.setrlimit(getattr(resource, name), (value, hard))
        for sig in (signal.SIGXFSZ, signal.SIGPIPE, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)  # CPython ignores SIGXFSZ; an output flood must end the child
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.environ.clear()
        os.environ.update(PATH="/usr/bin:/bin", HOME=workdir, LANG="C.UTF-8")
        sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
        for name in UNCACHED_MODULES:  # a cached module would import without an audit event
            sys.modules.pop(name, None)
        if "_posixsubprocess" in sys.modules:
            sys.modules["_posixsubprocess"].fork_exec = _no_process_creation
        if "numpy.random" in sys.modules:  # the stdlib's random reseeds itself after fork; numpy's does not
            sys.modules["numpy.random"].seed()
        sys.argv = ["solution.py"]
        sys.addaudithook(audit_hook_for(workdir, read_roots, limits["max_write_opens"]))
        program = compile(code, "solution.py", "exec")
    except SyntaxError:
        os._exit(EXIT_ERROR)
    except BaseException:  # noqa: BLE001 - any set-up failure must end the child, not return to the server
        os._exit(EXIT_INTERNAL)
    os._exit(_execute(program))


def _no_process_creation(*args, **kwargs):
    raise SandboxViolation("sandbox: process creation is not allowed")


def _execute(program) -> int:
    status = EXIT_OK
    try:
        exec(program, {"__name__": "__main__", "__builtins__": __builtins__})  # noqa: S102 - the sandboxed program
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else EXIT_ERROR)
    except SandboxViolation:
        status = EXIT_DENIED
    except MemoryError:
        status = EXIT_MEMORY
    except BaseException:  # noqa: BLE001 - a crashing program is a failed test
        status = EXIT_ERROR
    try:
        sys.stdout.flush()
    except BaseException:  # noqa: BLE001
        status = status or EXIT_ERROR
    return status if 0 <= status < 256 else EXIT_ERROR


# ----------------------------------------------------------------------------------- the server side

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
        self.uid, self.python_visible = self._own_uid() if os.geteuid() == 0 else (None, "as the harness user")
        self.preloaded = preload(self.notes)

    def _own_uid(self) -> tuple:
        """(uid, how Python is visible to it), or (None, ...) with a note saying why the uid layer is off.
        Runs before any thread exists: the mount namespace needs a single-threaded process."""
        uid, self._uid_lock, note = sandbox_os.claim_uid()
        if uid is not None and sandbox_os.as_uid(uid, lambda: True) != 0:
            uid, note = None, f"cannot switch to uid {uid}"
        if uid is not None:
            sandbox_os.kill_all_of(uid)  # whatever a crashed former holder of this uid left running
            readable, how, note = sandbox_os.python_visible_to(uid)
            if readable:
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
            child_main(code, workdir, limits, self.uid, self.read_roots)
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
            sandbox_os.kill_all_of(self.uid)  # only this worker's programs: no other live worker holds the uid


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
    import _posixsubprocess  # noqa: F401 - cached, so ``import subprocess`` works in a child (see DENIED_MODULES)

    loaded = ["APPS import block"] if "numpy" in sys.modules else []
    for name in PRELOAD:
        try:
            __import__(name)
            loaded.append(name)
        except ImportError:
            notes.append(f"{name} not importable")
    return loaded


def serve(worker: Worker) -> None:
    """One request per stdin line; one answer per stdout line."""
    print(json.dumps(worker.greeting()), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        statuses, first_stdout = [], None
        for test_input, expected in request["tests"]:
            try:
                status, stdout = worker.run_test(request["code"], test_input, request["limits"])
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
