"""PPO's resume state: TRL's PPOTrainer cannot resume, so the ppo stage saves and restores its own.

Every ``save_every`` updates the stage calls :meth:`ResumeState.save`. It writes, through
``accelerator.save_state`` (which handles several processes and DeepSpeed shards): the policy and
value model, the optimizer, the RNG state of every process, and, registered alongside, the LR
scheduler and a counter with the updates done and the step-log rows so far. When ref_ema is on, each
process also saves its share of the EMA's fp32 master (training/reference_ema.py; under ZeRO-3 the
reference itself holds only shards, which ``save_state`` of a registered module would not gather), and
the reference is rebuilt from it. A save goes to a fresh folder that is renamed into place, so a
``kill -9`` mid-save leaves the previous state intact.

The wall time of every attempt, including the work after its last save that a kill threw away, is
noted after each update (``wall_times.json``, beside the states), so the run record counts it all.

The folder is not a DVC output (DVC deletes a stage's outputs before rerunning it); it lives beside
the run and is removed when the stage finishes. A fingerprint of the resolved settings and the input
files guards it: a state saved under another config is discarded, never resumed.

Not restored: the position inside the shuffled prompt order (a resumed run starts a fresh shuffle
with the restored RNG), so a resumed run is a faithful continuation, not a bit-identical replay.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import torch

from ..records import write_json


class _Counter:
    """Updates done and the step-log rows so far, checkpointed with the model."""

    def __init__(self):
        self.update, self.rows = 0, []

    def state_dict(self):
        return {"update": self.update, "rows": self.rows}

    def load_state_dict(self, state):
        self.update, self.rows = state["update"], list(state["rows"])


def fingerprint(settings: dict, input_paths: list[str]) -> str:
    """Hash of the resolved settings and each input file's path, size and modification time."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for root in sorted(input_paths):
        files = sorted(p for p in Path(root).rglob("*") if p.is_file()) if Path(root).is_dir() else [Path(root)]
        for f in files:
            stat = f.stat()
            digest.update(f"{f}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


class ResumeState:
    """Save/restore of one PPO run's state under ``folder`` (see module docstring)."""

    def __init__(self, trainer, folder: str | Path, fingerprint: str, started: float | None = None):
        """``started``: this attempt's ``time.perf_counter()`` at its start (default: now)."""
        self.trainer, self.folder, self.fingerprint = trainer, Path(folder), fingerprint
        self.counter = _Counter()
        self.started = time.perf_counter() if started is None else started
        self.attempt = f"{os.getpid()}@{time.time():.3f}"
        trainer.accelerator.register_for_checkpointing(trainer.lr_scheduler, self.counter)

    def _ema_file(self, folder: Path) -> Path:
        return folder / f"reference_ema_rank{self.trainer.accelerator.process_index}.pt"

    def note_wall_time(self) -> list[float]:
        """Record this attempt's time so far; return the wall time of every attempt of this run, in order (of
        this fingerprint: a file left by another config's attempts is not counted). The main process keeps
        the file, written whole or not at all (a kill mid-write must not break the next attempt); the others
        return nothing (only the main process writes run.json)."""
        if not self.trainer.accelerator.is_main_process:
            return []
        path = self.folder / "wall_times.json"
        saved = json.loads(path.read_text()) if path.is_file() else {}
        attempts = saved.get("attempts", {}) if saved.get("fingerprint") == self.fingerprint else {}
        attempts[self.attempt] = round(time.perf_counter() - self.started, 3)
        write_json(path, {"fingerprint": self.fingerprint, "attempts": attempts})
        return list(attempts.values())

    @property
    def latest(self) -> Path:
        return self.folder / "latest"

    def restore(self) -> tuple[int, list[dict]]:
        """Load the latest state if it matches this run; return (updates done, step-log rows)."""
        accelerator = self.trainer.accelerator
        # A kill between the two renames of save() leaves only "previous": it is complete, use it.
        source = self.latest if self.latest.is_dir() else self.folder / "previous"
        stamp = source / "fingerprint.txt"
        if not stamp.is_file():
            return 0, []
        if stamp.read_text() != self.fingerprint:
            accelerator.print(f"ppo: discarding resume state in {self.folder}: saved under another config or inputs")
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                shutil.rmtree(self.folder)
            return 0, []
        accelerator.load_state(str(source))
        if self.trainer.ref_ema is not None:
            self.trainer.ref_ema.load_state_dict(torch.load(self._ema_file(source), weights_only=True))
        accelerator.print(f"ppo: resumed from update {self.counter.update} ({source})")
        return self.counter.update, list(self.counter.rows)

    def save(self, update: int, rows: list[dict]) -> None:
        """Checkpoint after ``update``; the rename makes it all-or-nothing."""
        accelerator = self.trainer.accelerator
        self.counter.update, self.counter.rows = update, list(rows)
        staging = self.folder / "staging"
        if accelerator.is_main_process:
            shutil.rmtree(staging, ignore_errors=True)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(staging), safe_serialization=False)  # the wrapper shares the critic's tensors
        if self.trainer.ref_ema is not None:
            accelerator.wait_for_everyone()  # the main process made the folder
            torch.save(self.trainer.ref_ema.state_dict(), self._ema_file(staging))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            (staging / "fingerprint.txt").write_text(self.fingerprint)
            previous = self.folder / "previous"
            shutil.rmtree(previous, ignore_errors=True)
            if self.latest.exists():
                self.latest.rename(previous)
            staging.rename(self.latest)
            shutil.rmtree(previous, ignore_errors=True)
        accelerator.wait_for_everyone()

    def discard(self) -> None:
        """Remove the state once the run has finished and its outputs are written."""
        self.trainer.accelerator.wait_for_everyone()
        if self.trainer.accelerator.is_main_process:
            shutil.rmtree(self.folder, ignore_errors=True)
