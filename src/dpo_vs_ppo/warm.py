"""A warm start for the torch stages: one background process imports the training stack once, and each
stage process hands its run to a fork of it instead of importing torch, transformers and TRL again.

Why: importing the stack costs ≈ 4 s a process and the tiny study starts ~120 such processes, each a
few seconds of work (docs/budgets.md). This is the fork-server idea of Python's own ``multiprocessing``
("forkserver" start method, https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods).

How a stage uses it (``stages/_cli.py``): ``handoff()`` runs first in the stage process (the *client*). If a
server for this exact interpreter, environment and working directory is listening, the client sends its
argv, environment, working directory and its stdin/stdout/stderr (``socket.send_fds``); the server forks a
*supervisor*, which forks the *worker* that runs the stage's module as ``__main__`` on the client's own
output, and reports the exit code; the client exits with it. If no server listens, the client runs the stage
itself (cold) and, under DVC (``DVC_STAGE`` set: more stages follow), starts one in the background, so a server
never delays a stage. Our own modules are never kept in the server (it drops them after importing them): a
worker imports this package afresh from its source.

    python -m dpo_vs_ppo.warm start --wait   # warm up by hand before running stages yourself
    python -m dpo_vs_ppo.warm status         # is one listening for this interpreter, environment and folder?

What keeps results and control the same as a cold run:
* stages seed every generator after their imports (``training/runtime.py``), so the RNG state the server
  leaves behind is overwritten; a test runs one stage warm and cold and compares the outputs byte for byte;
* the server is keyed by the interpreter, ``sys.path``, the environment (less the per-stage ``DVC_STAGE``)
  and the installed torch/transformers/TRL, so import-time reads of the environment agree;
* Ctrl-C / SIGTERM to the client are forwarded to the worker's process group; a client that dies (``kill -9``)
  closes its socket and the supervisor kills the worker; only the same user can connect (a 0700 folder and
  the peer's uid checked).

Off when ``DPO_VS_PPO_WARM=0``, at the paper profile (GPUs: never fork a CUDA parent) and under a
distributed launcher. The server exits after ``IDLE_S`` seconds without a stage.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Our modules whose imports pull in the whole training stack; the server imports them, then drops them.
PRELOAD = ("dpo_vs_ppo.trl_bridge", "dpo_vs_ppo.models", "dpo_vs_ppo.training.run_records",
           "dpo_vs_ppo.training.datasets", "dpo_vs_ppo.training.code_training", "dpo_vs_ppo.training.ppo_resume",
           "dpo_vs_ppo.evaluation.generation", "dpo_vs_ppo.evaluation.dialogue_scoring",
           "dpo_vs_ppo.evaluation.code_scoring", "dpo_vs_ppo.report.figures")
#: Seconds a server waits for the next stage before it exits (DVC's own work between stages is ~1-5 s).
IDLE_S = 90
#: Environment variables that differ between stages of one `dvc repro` and are read by no import.
VOLATILE_ENV = ("DVC_STAGE", "DPO_VS_PPO_WARM", "PWD", "OLDPWD", "SHLVL", "_")
#: Variables the server's imports set; a worker gets them as a cold process would from its own imports.
_IMPORT_ENV: dict[str, str] = {}


def enabled(argv: list[str]) -> bool:
    if os.environ.get("DPO_VS_PPO_WARM", "1") == "0" or "LOCAL_RANK" in os.environ or "WORLD_SIZE" in os.environ:
        return False
    try:
        from .config import load_params

        return load_params(argv[argv.index("--params") + 1]).profile != "paper"
    except Exception:  # no --params, or a bad one: the cold path reports it
        return False


def key() -> str:
    """What a server must share with a client for its imports to be the client's."""
    env = sorted((k, v) for k, v in os.environ.items() if k not in VOLATILE_ENV)
    stack = []
    for name in ("torch", "transformers", "trl"):
        spec = importlib.util.find_spec(name)
        stack.append(os.stat(spec.origin).st_mtime_ns if spec and spec.origin else None)
    text = json.dumps([sys.executable, sys.path, os.getcwd(), env, stack])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def home() -> Path | None:
    """This user's private folder for sockets and logs, or None if it is not ours alone."""
    folder = Path(tempfile.gettempdir()) / f"dpo-vs-ppo-warm-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    st = folder.stat()
    return folder if st.st_uid == os.getuid() and not st.st_mode & 0o077 else None


def _send(conn: socket.socket, obj, fds=()) -> None:
    data = json.dumps(obj).encode()
    socket.send_fds(conn, [struct.pack("!I", len(data)) + data], list(fds)) if fds else \
        conn.sendall(struct.pack("!I", len(data)) + data)


def _recv(conn: socket.socket, with_fds: int = 0):
    head, fds, _, _ = socket.recv_fds(conn, 4, with_fds) if with_fds else (conn.recv(4), [], 0, None)
    if len(head) < 4:
        raise ConnectionError("closed")
    size, data = struct.unpack("!I", head)[0], b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return json.loads(data), fds


def handoff() -> None:
    """Run this stage process's module in a warm worker and exit with its code; return if there is none."""
    main = sys.modules["__main__"]
    module = getattr(getattr(main, "__spec__", None), "name", None)
    if not module or not enabled(sys.argv) or not _streams_open() or (folder := home()) is None:
        return
    name = key()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(folder / f"{name}.sock"))
    except OSError:
        conn.close()
        if "DVC_STAGE" in os.environ:
            _start_server(folder, name)
        return
    with conn:
        _send(conn, {"module": module, "argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ)}, fds=(0, 1, 2))
        worker = _recv(conn)[0]["pid"]
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda s, _f: _kill_group(worker, s))
        try:
            status = _recv(conn)[0]
        except ConnectionError:
            print("warm start: the server went away mid-stage", file=sys.stderr)
            os._exit(1)
    sys.stdout.flush()
    os._exit(status["code"])


def _streams_open() -> bool:
    try:
        return all(os.fstat(fd) is not None for fd in (0, 1, 2))
    except OSError:
        return False


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _start_server(folder: Path, name: str) -> None:
    """Start a server in the background unless one is starting; never wait for it."""
    lock = folder / f"{name}.starting"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        try:
            if time.time() - lock.stat().st_mtime > 120:
                lock.unlink()  # left by a server that died while starting: the next stage starts one
        except FileNotFoundError:
            pass
        return
    os.close(fd)
    with open(folder / f"{name}.log", "ab") as log:
        subprocess.Popen([sys.executable, "-m", "dpo_vs_ppo.warm", "serve", str(folder), name], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log, start_new_session=True, close_fds=True)


def serve(folder: Path, name: str) -> None:
    """Import the stack, listen, and fork a supervisor per stage until idle."""
    before = dict(os.environ)
    try:
        for module in PRELOAD:
            importlib.import_module(module)
        _IMPORT_ENV.update({k: v for k, v in os.environ.items() if before.get(k) != v})
    finally:
        (folder / f"{name}.starting").unlink(missing_ok=True)
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
        path.unlink(missing_ok=True)


def _supervise(conn: socket.socket) -> None:
    """Fork the worker, tell the client its pid and, when it ends, its exit code; kill it if the client goes."""
    code = 1
    try:
        request, fds = _recv(conn, with_fds=3)
        worker = os.fork()
        if worker == 0:
            conn.close()
            _work(request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        _send(conn, {"pid": worker})
        pidfd = os.pidfd_open(worker)
        while True:
            ready = select.select([pidfd, conn], [], [])[0]
            if pidfd in ready:
                status = os.waitpid(worker, 0)[1]
                code = os.waitstatus_to_exitcode(status)
                _send(conn, {"code": code if code >= 0 else 128 - code})
                break
            if not conn.recv(1):  # the client is gone: stop its stage as a Ctrl-C would, then for good
                _kill_group(worker, signal.SIGTERM)
                if not select.select([pidfd], [], [], 10)[0]:
                    _kill_group(worker, signal.SIGKILL)
                os.waitpid(worker, 0)
                break
    finally:
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
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
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


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a server for this interpreter, environment and folder")
    start.add_argument("--wait", action="store_true", help="return once it listens (≈ 5 s)")
    sub.add_parser("status", help="print the socket and whether a server listens on it")
    serve_cmd = sub.add_parser("serve", help="(internal) be the server")
    serve_cmd.add_argument("folder")
    serve_cmd.add_argument("name")
    args = p.parse_args(argv)
    if args.command == "serve":
        return serve(Path(args.folder), args.name)
    folder, name = home(), key()
    if folder is None:
        sys.exit(f"warm: {tempfile.gettempdir()}/dpo-vs-ppo-warm-{os.getuid()} is not private to this user")
    sock = folder / f"{name}.sock"
    if args.command == "start":
        if not listening(sock):
            _start_server(folder, name)
        deadline = time.monotonic() + 120
        while args.wait and not listening(sock) and time.monotonic() < deadline:
            time.sleep(0.2)
    print(f"{sock} {'listening' if listening(sock) else 'not listening'}")


def listening(sock: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(str(sock))
            return True
        except OSError:
            return False


if __name__ == "__main__":
    main()
