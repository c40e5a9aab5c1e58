"""Seaborn figures for the report, drawn from results files. Headless (Agg backend)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "dpo_vs_ppo-matplotlib"))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from ..records import read_json  # noqa: E402

PANELS = (("coverage", "preference coverage", "Greys"), ("pi_ref", "π_ref", "Blues"), ("pi_ppo", "π_PPO", "Blues"),
          ("pi_dpo", "π_DPO", "Blues"), ("reward", "learned reward r_φ", "vlag"))


def figure1_heatmaps(data_file: Path, out_file: Path) -> None:
    """The five panels of Figure 1 for the first seed, with DPO's OOD rises circled."""
    run = read_json(data_file)[0]
    panels = {k: np.asarray(v) for k, v in run["panels"].items()}
    uncovered = panels["coverage"] == 0
    rise = np.where(uncovered, panels["pi_dpo"] - panels["pi_ref"], -np.inf)
    top = np.unravel_index(np.argmax(rise), rise.shape)
    sns.set_theme(style="white", font_scale=0.8)
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4.0 * len(PANELS), 4.2))
    for ax, (key, title, cmap) in zip(axes, PANELS):
        values = panels[key]
        probs = key.startswith("pi_")
        sns.heatmap(values, ax=ax, cmap=cmap, annot=key != "coverage", fmt=".2f" if probs else ".1f",
                    vmin=0 if probs or key == "coverage" else None, vmax=1 if probs or key == "coverage" else None,
                    center=0 if key == "reward" else None, cbar=False, square=True, linewidths=0.5,
                    linecolor="white", annot_kws={"size": 6})
        ax.set(title=title, xlabel="response", ylabel="prompt" if key == "coverage" else "")
        if key == "pi_dpo":
            for x, y in zip(*np.nonzero(rise > 0)):
                colour = "red" if (x, y) == top else "orange"
                ax.add_patch(plt.Circle((y + 0.5, x + 0.5), 0.45, fill=False, color=colour, lw=1.5))
    fig.suptitle(f"Figure 1 at tiny scale (seed {run['seed']})")
    fig.tight_layout()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_file, dpi=110, metadata={"Software": None})
    plt.close(fig)


#: Figure kinds an experiment file may name (report.figures[].kind).
FIGURES = {"figure1_heatmaps": figure1_heatmaps}
