"""Typed settings of the table stage: which runs a paper table's rows read, and which per-seed
differences its claims are judged on. The paper's own numbers and the claims live in the file's
``report:`` block (experiment.py); this is only what the stage computes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableRow:
    """One row of our side of a table: a run and the metrics file it is read from."""

    id: str
    """Row id; the report's cells name ``rows.<id>.<metric>``."""
    run: str
    """Run id, ``<task>/<run>`` (a folder under the stage's --results), e.g. 'saferlhf/dpo'."""
    file: str
    """Metrics file in the run's folder: 'eval.json' (evaluate_policy: per seed) or 'metrics.json'."""
    metrics: tuple[str, ...]
    """Dotted metric paths read from the file (a missing one is an error)."""


@dataclass(frozen=True)
class Contrast:
    """A per-seed difference a - b of one metric between two rows: what a comparative claim is judged on."""

    id: str
    """Contrast id; claims name ``contrasts.<id>``."""
    metric: str
    """Dotted metric path inside a seed's metrics (e.g. 'safety_rate')."""
    a: str
    """Row id of the minuend."""
    b: str
    """Row id of the subtrahend (seeds are matched; a shared, unseeded row pairs with every seed)."""


@dataclass(frozen=True)
class TrainingLog:
    """A trained run whose step logs and run records feed the curves and the cost panel."""

    label: str
    """Name in the figures, e.g. 'PPO' or 'DPO-Iter 2'."""
    run: str
    """Run id (``<task>/<run>``); its seeds' folders s<seed>/ (or the folder itself) hold steps.csv and run.json."""


@dataclass(frozen=True)
class TableSettings:
    """Stage table: collect one paper table's runs into one metrics file (mean, per-seed values, contrasts)."""

    rows: tuple[TableRow, ...]
    """The table's rows, in the paper's order."""
    contrasts: tuple[Contrast, ...]
    """Per-seed differences for the claims."""
    training: tuple[TrainingLog, ...]
    """Runs whose PPO curves (score, KL per update) and costs (wall time, tokens generated) are collected."""

    def problems(self):
        ids = [r.id for r in self.rows]
        if len(set(ids)) != len(ids):
            yield "rows", f"row ids must be unique, got {ids}"
        metrics = {r.id: r.metrics for r in self.rows}
        for i, c in enumerate(self.contrasts):
            for side in (c.a, c.b):
                if side not in ids:
                    yield f"contrasts[{i}]", f"row {side!r} is not one of the rows ({', '.join(ids)})"
                elif c.metric not in metrics[side]:
                    yield f"contrasts[{i}]", f"row {side!r} does not read metric {c.metric!r}"
