"""PPO's resume state: TRL's PPOTrainer cannot resume, so the ppo stage saves and restores its own.

Every ``save_every`` updates the stage calls :meth:`ResumeState.save`. It writes, through
``accelerator.save_state`` (which handles several processes and DeepSpeed shards): the policy and
value model, the optimizer, the RNG state of every process, and, registered alongside, the LR
scheduler, the EMA reference (when ref_ema is on) and a counter with the updates done and the step-log
rows so far. A save goes to a fresh folder that is renamed into place, so a ``kill -9`` mid-save
leaves the previous state intact.

The folder is not a DVC output (DVC deletes a stage's outputs before rerunning it); it lives beside
the run and is removed when the stage finishes. A fingerprint of the resolved settings and the input
files guards it: a state saved under another config is discarded, never resumed.

Not restored: the position inside the shuffled prompt order (a resumed run starts a fresh shuffle
with the restored RNG), so a resumed run is a faithful continuation, not a bit-identical replay.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path


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

    def __init__(self, trainer, folder: str | Path, fingerprint: str):
        self.trainer, self.folder, self.fingerprint = trainer, Path(folder), fingerprint
        self.counter = _Counter()
        accelerator = trainer.accelerator
        accelerator.register_for_checkpointing(trainer.lr_scheduler, self.counter)
        if trainer.args.sync_ref_model:  # the EMA reference changes during training: part of the state
            accelerator.register_for_checkpointing(trainer.ref_model)

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
