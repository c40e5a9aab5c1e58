"""Step logs: one CSV row per logged step, declared as DVC plots (``dvc plots show/diff``)."""

from __future__ import annotations

import math

from transformers import ProgressCallback, TrainerCallback

from ..records import write_csv


class StepLogCallback(TrainerCallback):
    """Collects what a transformers/TRL trainer logs each step (loss, learning rate, DPO rewards, ...)."""

    def __init__(self):
        self.rows: list[dict] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        if "train_runtime" in logs:  # the end-of-training summary, not a step
            return
        self.rows.append({"step": state.global_step, **logs})


class QuietProgressCallback(ProgressCallback):
    """The progress bar without the dict of metrics printed under it at every logged step (they go to
    the step log instead); the end-of-training summary is still printed."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "train_runtime" in logs:
            super().on_log(args, state, control, logs=logs, **kwargs)


def quiet_progress(trainer):
    """Swap the trainer's progress bar for :class:`QuietProgressCallback`; returns the trainer."""
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(QuietProgressCallback)
    return trainer


def write_step_log(path: str, rows: list[dict]) -> None:
    """Write ``rows`` as CSV; columns are the union of keys, in first-seen order, '/' kept as in TRL."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    write_csv(path, columns, ([_cell(row.get(c)) for c in columns] for row in rows))


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


def last_value(rows: list[dict], key: str) -> float | None:
    """The last logged value of ``key``, or None if it never appeared."""
    for row in reversed(rows):
        if row.get(key) is not None:
            return row[key]
    return None
