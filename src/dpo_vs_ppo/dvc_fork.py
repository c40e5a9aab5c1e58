"""DVC's command line run in a fork of the study command's process, which has imported DVC once.

Why: each stage of ``python -m dpo_vs_ppo.repro`` is DVC's own ``dvc repro --single-item STAGE`` (through
``dvc_lock.py``), and a new interpreter spent ≈ 0.6 s of CPU importing DVC before reading a file (py-spy, a
table stage at smoke: 0.58 of 2.0 s). At the smoke profile's 116 stages that was ≈ a sixth of the stages'
walls. A fork starts with those modules loaded; everything else (DVC reading ``dvc.yaml`` and ``dvc.lock``,
checking, running and caching the stage, writing its lock entry) happens in the child exactly as in a new
process, and the stage's own command is still DVC's subprocess. ``DPO_VS_PPO_DVC_FORK=0`` starts a new
interpreter per stage instead (the same bytes; ``tests/test_repro.py`` runs both).

POSIX only (``os.fork``); elsewhere, and where the variable says so, repro.py starts a new interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path

#: What `dvc repro --single-item` imports (lazily, most of it), loaded once in the parent: the modules a
#: stage's DVC call still imported after a fork were listed and added here.
PRELOAD = ("dvc.cli", "dvc.cli.parser", "dvc.commands.repro", "dvc.repo", "dvc.repo.reproduce", "dvc.repo.index",
           "dvc.repo.stage", "dvc.repo.params", "dvc.repo.metrics", "dvc.repo.plots", "dvc.repo.artifacts",
           "dvc.repo.datasets", "dvc.stage", "dvc.stage.run", "dvc.stage.cache", "dvc.stage.loader", "dvc.dvcfile",
           "dvc.output", "dvc.dependency", "dvc.schema", "dvc.scm", "dvc.lock", "dvc.rwlock", "dvc.analytics",
           "dvc.cachemgr", "dvc.data_cloud", "dvc.compare", "dvc.utils.strictyaml", "dvc_data.hashfile.build",
           "dvc_data.hashfile.checkout", "dvc_render", "scmrepo.git", "dulwich.repo", "psutil", "flufl.lock",
           "zc.lockfile", "configobj", "platformdirs", "ruamel.yaml", "dulwich.index", "dulwich.ignore", "dvc.dirs",
           "dvc.repo.open_repo", "dvc_data.hashfile.db.local", "dvc_data.hashfile.status", "dpo_vs_ppo.dvc_lock")


def enabled() -> bool:
    return hasattr(os, "fork") and os.environ.get("DPO_VS_PPO_DVC_FORK", "1") != "0"


def preload() -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    from dvc.cli.parser import get_main_parser

    get_main_parser()  # imports every dvc.commands module, as the child's argument parsing would


class Forked:
    """A forked child, with the part of ``subprocess.Popen`` that repro.py and study_budget.py use."""

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


def _child(argv: list[str], env: dict[str, str], log: Path | None) -> int:
    os.environ.clear()
    os.environ.update(env)
    if log is not None:  # as Popen(stdout=log, stderr=STDOUT, stdin=DEVNULL) would set them
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(out, 1), os.dup2(out, 2), os.dup2(null, 0)
        os.close(out), os.close(null)
    from .dvc_lock import main

    return main(argv)


def start(argv: list[str], env: dict[str, str], log: Path | None) -> Forked | subprocess.Popen:
    """``python -m dpo_vs_ppo.dvc_lock ARGV`` with ``env``, its output to ``log`` (None: this terminal)."""
    if not enabled():
        command = [sys.executable, "-m", "dpo_vs_ppo.dvc_lock", *argv]
        if log is None:
            return subprocess.Popen(command, env=env)
        with open(log, "w", encoding="utf-8") as out:
            return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    sys.stdout.flush(), sys.stderr.flush()
    pid = os.fork()
    if pid:
        return Forked(pid)
    code = 1
    try:
        code = _child(argv, env, log)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - the child must never return into the parent's loop
        traceback.print_exc()
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os._exit(code or 0)
