"""The sandbox worker's OS-level set-up (standard library only): network namespace, a uid of its own,
and making the Python installation readable by that uid without giving the uid anything else.

Used by :mod:`.sandbox_worker` before it serves any program. Each function reports what it achieved,
so the worker's greeting (``isolation``) says which layer works on this machine and why not.

* **A uid per worker, unique across sandboxes** (issue 16, item 2). Two sandboxes that gave their
  workers the same uid reaped each other's programs: a reaper running ``kill(-1)`` as that uid kills
  every process of the uid. A worker now claims a uid by holding an exclusive ``flock`` on
  ``<tmp>/dpo-vs-ppo-sandbox-uids/<uid>`` (flock(2): released by the kernel when the holder dies, so a
  crashed worker never leaks its claim), and reaps what a dead former holder may have left.
* **The Python installation must be readable by that uid** (issue 16, item 1). Python under a home
  directory only root can enter (``/root`` is 0700 here) made every import that was not cached fail
  (``heapq``, ``typing``, ``decimal`` ...), so correct programs counted as runtime errors while the
  report still said ``own_uid``. The worker probes, as the uid, that it can read the standard library
  and site-packages. If not, it enters a private mount namespace (mount_namespaces(7); propagation set
  to private first, so nothing leaks to the host) and mounts an empty tmpfs over the directory that
  blocks the way, then binds the installation back at its own path: paths stay the same, the uid can
  read Python, and it sees nothing else of that directory. If that fails too, the uid layer is
  reported as off with the reason: programs then run as the harness user, still under every other layer.
"""

import ctypes
import fcntl
import os
import select
import signal
import stat
import sys
import tempfile

CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWUSER = 0x40000000, 0x00020000, 0x10000000
MS_BIND, MS_REC, MS_PRIVATE, MNT_DETACH = 4096, 16384, 1 << 18, 2
UID_BASE, UID_COUNT = 61000, 1000  # children run as a uid in [UID_BASE, UID_BASE + UID_COUNT); no user needs to exist
LOCK_DIR = os.path.join(tempfile.gettempdir(), "dpo-vs-ppo-sandbox-uids")


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def isolate_network() -> bool:
    """Move this process into a new network namespace with no interfaces up (root or user namespaces)."""
    try:
        libc = _libc()
        if libc.unshare(CLONE_NEWNET) == 0:
            return True
        return libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0  # a user namespace first when unprivileged
    except (OSError, AttributeError):
        return False


def claim_uid() -> tuple:
    """(uid, lock fd, note): a uid no other live sandbox worker holds, or (None, None, why not)."""
    try:
        os.mkdir(LOCK_DIR, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(LOCK_DIR)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        return None, None, f"uid lock directory {LOCK_DIR} is not a private directory of this user"
    for uid in range(UID_BASE, UID_BASE + UID_COUNT):
        fd = os.open(os.path.join(LOCK_DIR, str(uid)), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return uid, fd, ""
    return None, None, f"all {UID_COUNT} sandbox uids from {UID_BASE} are in use"


def as_uid(uid: int, action) -> int:
    """Run ``action()`` in a forked child that dropped to ``uid``; its exit code (0 = it returned True)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os._exit(0 if action() else 1)
        except BaseException:  # noqa: BLE001 - any failure is a "no"
            os._exit(2)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


class Reaper:
    """A small process running as ``uid`` that SIGKILLs every other process of the uid on request: as that
    uid, kill(-1) reaches every process of the uid but the caller (kill(2)). It lives as long as the
    worker (it exits when the worker's end of its request pipe closes), forked before the worker preloads
    numpy: forking the preloaded worker for every reap cost about 1 ms more per test. A program of the
    same uid that kills or stops it gets a fresh one."""

    def __init__(self, uid: int):
        self.uid = uid
        self._start()

    def _start(self) -> None:
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                for fd in map(int, os.listdir("/proc/self/fd")):  # not the harness's pipes, nor the uid's lock
                    if fd not in (request_r, reply_w):
                        try:
                            os.close(fd)
                        except OSError:
                            pass
                os.setgroups([]), os.setgid(self.uid), os.setuid(self.uid)
                while os.read(request_r, 1):
                    try:
                        os.kill(-1, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    os.write(reply_w, b"k")
            finally:
                os._exit(0)
        os.close(request_r), os.close(reply_w)
        self.pid, self._request, self._reply = pid, request_w, reply_r

    def reap(self, answer_seconds: float = 2.0) -> None:
        """Kill every process of the uid; replace the reaper if it does not answer."""
        try:
            os.write(self._request, b"r")
            ready, _, _ = select.select([self._reply], [], [], answer_seconds)
            if ready and os.read(self._reply, 1) == b"k":
                return
        except OSError:
            pass
        self.close()
        self._start()
        self.reap(answer_seconds)

    def close(self) -> None:
        os.close(self._request), os.close(self._reply)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


def python_files() -> list[str]:
    """Files a program's imports must be able to read: a pure-Python stdlib module, an extension module
    of lib-dynload, and numpy (APPS' import block), resolved to real paths."""
    import importlib.util

    found = [os.__file__]
    for name in ("_decimal", "_datetime", "numpy"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and os.path.isfile(spec.origin):
            found.append(spec.origin)
    return sorted({os.path.realpath(p) for p in found})


def unreadable_by(uid: int, paths: list[str]) -> list[str]:
    """The paths of ``paths`` that ``uid`` cannot open for reading."""
    return [p for p in paths if as_uid(uid, lambda p=p: open(p, "rb").close() is None) != 0]


def blocking_dir(path: str) -> str | None:
    """The outermost ancestor of ``path`` that other users cannot enter (no o+x), or None."""
    parts = os.path.realpath(path).split(os.sep)[1:-1]
    for depth in range(1, len(parts) + 1):
        ancestor = os.sep + os.path.join(*parts[:depth])
        if not os.stat(ancestor).st_mode & stat.S_IXOTH:
            return ancestor
    return None


def reveal(roots: list[str]) -> str:
    """In a new private mount namespace, put an empty tmpfs over each directory that keeps other users
    from reaching a path of ``roots``, and bind each root back at its own path. '' on success, else why not.
    The caller must be single-threaded (unshare(2) refuses CLONE_NEWNS otherwise) and privileged."""
    libc = _libc()
    blocked: dict[str, list[str]] = {}
    for root in sorted({os.path.realpath(r) for r in roots}):
        ancestor = blocking_dir(os.path.join(root, "x"))
        if ancestor is not None:
            blocked.setdefault(ancestor, []).append(root)
    if not blocked:
        return ""
    if "/" in blocked:
        return "the file system root is not searchable by other users"
    if libc.unshare(CLONE_NEWNS) != 0:
        return f"no mount namespace (unshare: {os.strerror(ctypes.get_errno())})"
    # private propagation before anything is mounted, so no mount below reaches the host's namespace
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return f"mount propagation not made private ({os.strerror(ctypes.get_errno())})"
    for ancestor, inside in sorted(blocked.items()):
        held = [os.open(r, os.O_PATH | os.O_DIRECTORY) for r in inside]  # still reachable once the tmpfs hides them
        if libc.mount(b"tmpfs", ancestor.encode(), b"tmpfs", 0, b"mode=0711,size=1m") != 0:
            return f"tmpfs over {ancestor} refused ({os.strerror(ctypes.get_errno())})"
        for root, fd in zip(inside, held):
            _makedirs_searchable(root)
            if libc.mount(f"/proc/self/fd/{fd}".encode(), root.encode(), None, MS_BIND | MS_REC, None) != 0:
                why = os.strerror(ctypes.get_errno())
                libc.umount2(ancestor.encode(), MNT_DETACH)  # give this process its own view of Python back
                return f"bind of {root} refused ({why})"
            os.close(fd)
    return ""


def _makedirs_searchable(path: str) -> None:
    """Create ``path`` inside the fresh tmpfs; every new level may be entered (0711) but not listed."""
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for level in reversed(missing):
        os.mkdir(level, 0o711)
        os.chmod(level, 0o711)  # the umask must not take the x bit from other users


def python_visible_to(uid: int) -> tuple[bool, str, str]:
    """(readable, how, note): make the Python installation readable by ``uid`` if it is not."""
    files = python_files()
    if not unreadable_by(uid, files):
        return True, "as installed", ""
    roots = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)})
    why = reveal(roots)
    still = unreadable_by(uid, files)
    if not still:
        return True, "private mount namespace (tmpfs over the blocking directory, Python bound back)", ""
    return False, "", f"uid {uid} cannot read {still[0]} ({why or 'still unreadable after the mount namespace'})"
