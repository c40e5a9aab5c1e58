"""A warm start for the torch stages: one background process imports the training stack once, and each
stage process hands its run to a fork of it instead of importing torch, transformers and TRL again.

Why: importing the stack costs ≈ 4 s a process and the tiny study starts ~120 such processes, each a
few seconds of work (docs/budgets.md). This is the fork-server idea of Python's own ``multiprocessing``
("forkserver" start method, https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods).

How a stage uses it (``stages/_cli.py``): ``handoff()`` runs first in the stage process (the *client*). If a
server for this exact interpreter, environment and working directory is listening, the client sends its
argv, environment, working directory, umask and its stdin/stdout/stderr (``socket.send_fds``); the server
(``warm_server.py``) forks a *supervisor*, which forks the *worker* that runs the stage's module as
``__main__`` on the client's own output, and reports the exit code; the client exits with it. If no server listens, the client runs the stage
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
* Ctrl-C / SIGTERM / SIGHUP to the client are forwarded to the worker's process group, and the client exits
  with the worker's status; a client killed outright (``kill -9``) closes its socket and the supervisor kills
  the worker's group the same way, so PPO's resume (training/ppo_resume.py) sees what a cold kill leaves;
  only the same user can connect (a 0700 folder and the peer's uid checked).

Off when ``DPO_VS_PPO_WARM=0``, at the paper profile (GPUs: never fork a CUDA parent) and under a
distributed launcher. The server exits after ``warm_server.IDLE_S`` seconds without a stage. This module is
the client and the protocol; it imports nothing heavy, as every stage process loads it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Environment variables that differ between stages of one `dvc repro` and are read by no import.
VOLATILE_ENV = ("DVC_STAGE", "DPO_VS_PPO_WARM", "PWD", "OLDPWD", "SHLVL", "_")


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
    """This user's private folder for sockets and logs, or None if it is not ours alone (or a socket path in
    it would be too long for AF_UNIX): then every stage runs cold."""
    folder = Path(tempfile.gettempdir()) / f"dpo-vs-ppo-warm-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(folder)
    except OSError:
        return None
    private = stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077
    return folder if private and len(str(folder)) + 26 < 100 else None


def send_message(conn: socket.socket, obj, fds=()) -> None:
    data = json.dumps(obj).encode()
    message = struct.pack("!I", len(data)) + data
    sent = socket.send_fds(conn, [message], list(fds)) if fds else 0
    conn.sendall(message[sent:])


def _recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def recv_message(conn: socket.socket, with_fds: int = 0):
    fds: list[int] = []
    if with_fds:  # the descriptors ride on the first bytes of the stream
        head, fds, flags, _ = socket.recv_fds(conn, 4, with_fds)
        if len(fds) != with_fds or flags & socket.MSG_CTRUNC:
            raise ConnectionError(f"expected {with_fds} descriptors, got {len(fds)}")
        head += _recv_exactly(conn, 4 - len(head)) if head else b""
    else:
        head = _recv_exactly(conn, 4)
    if len(head) < 4:
        raise ConnectionError("closed")
    return json.loads(_recv_exactly(conn, struct.unpack("!I", head)[0])), fds


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
    umask = os.umask(0)
    os.umask(umask)
    with conn:
        try:
            send_message(conn, {"module": module, "argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ),
                         "umask": umask}, fds=(0, 1, 2))
            worker = recv_message(conn)[0]["pid"]
        except (OSError, ValueError):  # a server leaving, or out of memory: no worker started, so run cold
            return
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda s, _f: kill_group(worker, s))
        try:
            status = recv_message(conn)[0]
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


def kill_group(pid: int, sig: int) -> None:
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
        subprocess.Popen([sys.executable, "-m", "dpo_vs_ppo.warm_server", str(folder), name], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log, start_new_session=True, close_fds=True)


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a server for this interpreter, environment and folder")
    start.add_argument("--wait", action="store_true", help="return once it listens (≈ 5 s)")
    sub.add_parser("status", help="print the socket and whether a server listens on it")
    args = p.parse_args(argv)
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
