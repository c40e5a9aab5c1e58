"""What every report figure shares: a headless matplotlib, reproducible PNG bytes, per-seed values of a
table's rows, and the report's own interval as a figure's error bar or band."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "dpo_vs_ppo-matplotlib"))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..records import read_json  # noqa: E402
from .verdicts import t_interval  # noqa: E402


def save(fig, out_file: Path) -> None:
    """Write a PNG with no timestamp or software tag, so the same data give the same bytes."""
    fig.tight_layout()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_file, dpi=110, metadata={"Software": None})
    plt.close(fig)


def seed_values(data_file: Path, spec, metric: str) -> pd.DataFrame:
    """Long table (row label, seed index, value) of one metric of the spec's rows in a table's metrics.json."""
    rows = read_json(data_file)["rows"]
    return pd.DataFrame([(label, i, v) for row, label in zip(spec.rows, spec.labels)
                         for i, v in enumerate(rows[row][metric]["per_seed"])], columns=["run", "seed", "value"])


def t_errorbar(values) -> tuple[float, float]:
    """The report's 95 % Student-t interval over seeds (none for one seed), as seaborn's error bar or band.
    Not seaborn's default, a 1,000-resample bootstrap per point: it differs from the tables' interval, draws
    random numbers, and took 11 of the report's 17 s while saying little about a few seeds."""
    ci = t_interval([float(v) for v in values], 0.95)
    return (ci.mean, ci.mean) if ci.n < 2 else (ci.low, ci.high)
