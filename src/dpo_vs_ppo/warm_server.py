"""The warm-start server (warm.py says what it is for and how a stage reaches it): import the training
stack once, then fork a supervisor per stage, which forks the worker that becomes the stage.

    python -m dpo_vs_ppo.warm_server FOLDER NAME    # started by warm.py, in the background
"""

from __future__ import annotations

import gc
import importlib
import os
import select
import signal
import socket
import struct
import sys
import time
from pathlib import Path

from .warm import kill_group, recv_message, send_message

#: Our modules whose imports pull in the whole training stack; the server imports them, then drops them.
PRELOAD = ("dpo_vs_ppo.trl_bridge", "dpo_vs_ppo.models", "dpo_vs_ppo.training.run_records",
           "dpo_vs_ppo.training.datasets", "dpo_vs_ppo.training.code_training", "dpo_vs_ppo.training.ppo_resume",
           "dpo_vs_ppo.evaluation.generation", "dpo_vs_ppo.evaluation.dialogue_scoring",
           "dpo_vs_ppo.evaluation.code_scoring")
#: Seconds a server waits for the next stage before it exits (DVC's own work between stages is ~1-5 s).
IDLE_S = 90
#: Variables the server's imports set; a worker gets them as a cold process would from its own imports.
_IMPORT_ENV: dict[str, str] = {}


def serve(folder: Path, name: str) -> None:
    """Import the stack, listen, and fork a supervisor per stage until idle."""
    before = dict(os.environ)
    try:
        for module in PRELOAD:
            importlib.import_module(module)
        _IMPORT_ENV.update({k: v for k, v in os.environ.items() if before.get(k) != v})
    except BaseException:
        (folder / f"{name}.starting").unlink(missing_ok=True)  # the next stage may try again
        raise
    for module in [m for m in sys.modules if m == "dpo_vs_ppo" or m.startswith("dpo_vs_ppo.")]:
        del sys.modules[module]  # workers import our code afresh, from the source as it is now
    # What was imported lives as long as the process: out of the collector's sight, a worker's collections
    # do not walk (nor copy-on-write) it (https://docs.python.org/3/library/gc.html#gc.freeze).
    gc.collect()
    gc.freeze()
    path = folder / f"{name}.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(16)
    inode = os.stat(path).st_ino
    (folder / f"{name}.starting").unlink(missing_ok=True)  # only now: a stage in between would start another
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the socket is removed below
    last, children = time.monotonic(), set()
    try:
        while children or time.monotonic() - last < IDLE_S:
            if select.select([listener], [], [], 1.0)[0]:
                conn, _ = listener.accept()
                peer, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
                if uid != os.getuid():
                    conn.close()
                    continue
                print(f"{time.strftime('%H:%M:%S')} connection from pid {peer}", flush=True)
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    _supervise(conn)  # never returns
                conn.close()
                children.add(pid)
            for pid in list(children):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    children.discard(pid)
                    last = time.monotonic()
    finally:
        try:
            if os.stat(path).st_ino == inode:  # never another server's socket at the same path
                path.unlink()
        except FileNotFoundError:
            pass


def _supervise(conn: socket.socket) -> None:
    """Fork the worker, tell the client its pid and, when it ends, its exit code; kill it if the client goes."""
    code, worker = 1, 0
    try:
        request, fds = recv_message(conn, with_fds=3)
        worker = os.fork()
        if worker == 0:
            conn.close()
            _work(request, fds)  # never returns
        os.setpgid(worker, worker)  # here as well as in the worker: the group exists before anyone signals it
        for fd in fds:
            os.close(fd)
        send_message(conn, {"pid": worker})
        pidfd = os.pidfd_open(worker)
        while True:
            ready = select.select([pidfd, conn], [], [])[0]
            if pidfd in ready:
                status = os.waitpid(worker, 0)[1]
                worker, code = 0, os.waitstatus_to_exitcode(status)
                send_message(conn, {"code": code if code >= 0 else 128 - code})
                break
            try:
                alive = conn.recv(1)
            except OSError:
                alive = b""
            if not alive:  # the client was killed (signals it forwards): so is its stage, at once
                break
    finally:
        if worker:  # whatever went wrong here, no stage runs on without its client
            kill_group(worker, signal.SIGKILL)
            os.waitpid(worker, 0)
        os._exit(0 if code == 0 else 1)


def _work(request: dict, fds: list[int]) -> None:
    """Become the client's stage process: its streams, directory, environment and argv; run the module."""
    code = 1
    try:
        os.setpgid(0, 0)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(line_buffering=stream is sys.stderr or os.isatty(stream.fileno()))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.umask(request["umask"])
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"], DPO_VS_PPO_WARM="0")  # the stage itself, and its children, run here
        for name, value in _IMPORT_ENV.items():  # what importing the stack sets (torch: TORCHINDUCTOR_CACHE_DIR)
            os.environ.setdefault(name, value)
        sys.argv = list(request["argv"])
        import runpy

        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if not isinstance(done.code, (int, type(None))):
            print(done.code, file=sys.stderr)
    except KeyboardInterrupt:  # Ctrl-C forwarded by the client: the shell's code for it
        import traceback

        traceback.print_exc()
        code = 128 + signal.SIGINT
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        import atexit

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.argv[2])
