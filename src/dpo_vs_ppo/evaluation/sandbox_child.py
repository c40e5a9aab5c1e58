"""The confined child of a sandbox worker (standard library only): the audit hook, the limits, the uid
drop and the program's run, as layered in :mod:`.sandbox_worker`'s docstring. Runs after ``fork``,
before the program; it never returns to the worker.
"""

import atexit
import os
import resource
import signal
import sys

EXIT_OK, EXIT_ERROR, EXIT_DENIED, EXIT_MEMORY, EXIT_INTERNAL = 0, 1, 97, 98, 99


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
        atexit._clear()  # the worker's exit functions are not the program's
        sys.addaudithook(audit_hook_for(workdir, read_roots, limits["max_write_opens"]))
        program = compile(code, "solution.py", "exec")
    except SyntaxError:
        os._exit(EXIT_ERROR)
    except BaseException:  # noqa: BLE001 - any set-up failure must end the child, not return to the server
        os._exit(EXIT_INTERNAL)
    os._exit(_execute(program))


def _finish_like_the_interpreter() -> None:
    """What interpreter shutdown does and os._exit skips: wait for the program's non-daemon threads (the
    ``threading.Thread(target=main).start()`` idiom for deep recursion returns at once), then run its
    atexit functions (buffered-output idioms flush there)."""
    threading = sys.modules.get("threading")
    if threading is not None:
        for thread in threading.enumerate():
            if thread is not threading.main_thread() and not thread.daemon:
                thread.join()
    atexit._run_exitfuncs()


def _no_process_creation(*args, **kwargs):
    raise SandboxViolation("sandbox: process creation is not allowed")


def _execute(program) -> int:
    status = EXIT_OK
    try:
        exec(program, {"__name__": "__main__", "__builtins__": __builtins__})  # noqa: S102 - the sandboxed program
        _finish_like_the_interpreter()
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
