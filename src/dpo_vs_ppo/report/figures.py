"""Seaborn figures for the report, drawn from results files. Headless (Agg backend)."""

from __future__ import annotations

import multiprocessing
import os
import re
import textwrap
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .plotting import save, seed_values, t_errorbar  # first: it sets matplotlib up headless

import matplotlib  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ..records import read_json  # noqa: E402
from .overoptimisation_figures import final_policies, overoptimisation  # noqa: E402

t_band = t_errorbar  # the same 95 % Student-t interval, as a line plot's band

PANELS = (("coverage", "preference coverage", "Greys"), ("pi_ref", "π_ref", "Blues"), ("pi_ppo", "π_PPO", "Blues"),
          ("pi_dpo", "π_DPO", "Blues"), ("reward", "learned reward r_φ", "vlag"))


def figure1_heatmaps(data_file: Path, out_file: Path, spec=None) -> None:
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
    save(fig, out_file)


#: Policies of the Figure 1 sweep (toy/figure1_sweep.py), as the figures name them, in drawing order.
SWEEP_POLICIES = {"greedy_reward": "argmax of r_φ", "pi_kl_opt": "π* (KL optimum of r_φ)", "pi_ppo": "π_PPO",
                  "pi_dpo": "π_DPO", "pi_ref": "π_ref"}


def _palette() -> dict[str, tuple]:
    """One colour per sweep policy, the same in both sweep figures."""
    return dict(zip(SWEEP_POLICIES.values(), sns.color_palette("deep")))


def _sweep(data_file: Path, policies) -> pd.DataFrame:
    df = pd.read_csv(data_file)
    df = df[df["policy"].isin(policies)]
    return df.assign(policy=df["policy"].map(SWEEP_POLICIES))


def figure1_sweep(data_file: Path, out_file: Path, spec=None) -> None:
    """Argmax-on-diagonal rate against pairs per prompt, one column per beta, one line per policy."""
    df = _sweep(data_file, ("greedy_reward", "pi_kl_opt", "pi_ppo", "pi_dpo"))
    betas = sorted(df["beta"].unique())
    sns.set_theme(style="whitegrid", font_scale=0.85)
    fig, axes = plt.subplots(1, len(betas), figsize=(max(4.2 * len(betas), 7) + 2.2, 3.8), sharey=True, squeeze=False)
    for ax, beta in zip(axes[0], betas):
        sns.pointplot(df[df["beta"] == beta], x="pairs_per_prompt", y="argmax_optimal", hue="policy",
                      hue_order=[SWEEP_POLICIES[k] for k in ("greedy_reward", "pi_kl_opt", "pi_ppo", "pi_dpo")],
                      palette=_palette(), errorbar=t_band, dodge=0.4, markersize=4, linewidth=1.2, ax=ax,
                      legend=ax is axes[0][-1])
        ax.set(title=f"β = {beta:g}", xlabel="preference pairs per prompt", ylim=(-0.05, 1.05),
               ylabel="share of prompts whose most\nlikely response is optimal" if ax is axes[0][0] else "")
    sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1.02, 1), fontsize=7, title=None)
    fig.suptitle("Figure 1 decomposed: r_φ's argmax, its KL optimum π*, PPO and DPO")
    save(fig, out_file)


def figure1_matched_kl(data_file: Path, out_file: Path, spec=None) -> None:
    """OOD mass against KL(pi || pi_ref): PPO and DPO a point per beta (mean over seeds), the KL optimum of r_phi
    as a dashed line through its betas; a column per pairs count."""
    df = _sweep(data_file, ("pi_ppo", "pi_dpo", "pi_kl_opt"))
    df = df.groupby(["pairs_per_prompt", "beta", "policy"], as_index=False)[["kl_to_ref", "ood_mass"]].mean()
    pairs, palette, optimum = sorted(df["pairs_per_prompt"].unique()), _palette(), SWEEP_POLICIES["pi_kl_opt"]
    sns.set_theme(style="whitegrid", font_scale=0.85)
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.6 * len(pairs) + 2.2, 3.8), sharey=True, squeeze=False)
    for ax, k in zip(axes[0], pairs):
        cell = df[df["pairs_per_prompt"] == k]
        line = cell[cell["policy"] == optimum].sort_values("kl_to_ref")
        ax.plot(line["kl_to_ref"], line["ood_mass"], ls="--", lw=1.2, color=palette[optimum], label=optimum)
        sns.scatterplot(cell[cell["policy"] != optimum], x="kl_to_ref", y="ood_mass", hue="policy", style="beta",
                        hue_order=[SWEEP_POLICIES[p] for p in ("pi_ppo", "pi_dpo")], palette=palette, s=45,
                        alpha=0.85, ax=ax, legend=ax is axes[0][-1])
        ax.set(xscale="log", xlim=(0.1, 3), title=f"{k} pair{'s' if k > 1 else ''} per prompt",
               xlabel="KL(π ‖ π_ref), nats", ylabel="OOD mass" if ax is axes[0][0] else "", ylim=(-0.05, 1.05))
        ax.set_xticks([0.1, 0.3, 1, 3], labels=["0.1", "0.3", "1", "3"])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # log minor labels overlapped the ticks
    sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1.02, 1), fontsize=7)
    fig.suptitle("Figure 1 at matched KL: OOD mass against KL to π_ref (dashed: r_φ's KL optimum over β)")
    save(fig, out_file)


def help_vs_safety(data_file: Path, out_file: Path, spec) -> None:
    """Table 2 as a scatter: ΔHelp (x) against safety rate (y), one point per seed and the mean per row. Where
    the safety rate is one value in every row and seed, a row per policy instead: on one flat line the
    means hid each other (SFT (Alpaca) under DPO)."""
    x_metric, y_metric = spec.metric.split(",")
    x, y = seed_values(data_file, spec, x_metric), seed_values(data_file, spec, y_metric)
    df = x.rename(columns={"value": x_metric}).assign(**{y_metric: y["value"].to_numpy()})
    flat = df[y_metric].nunique() == 1
    sns.set_theme(style="whitegrid", font_scale=0.85)
    fig, ax = plt.subplots(figsize=(8.5, 5))
    y_col = "run" if flat else y_metric
    sns.scatterplot(df, x=x_metric, y=y_col, hue="run", alpha=0.35, s=30, ax=ax, legend=False)
    means = df.groupby("run", sort=False)[[x_metric, y_metric]].mean().reset_index()
    sns.scatterplot(means, x=x_metric, y=y_col, hue="run", s=110, marker="D", ax=ax, legend=not flat)
    if flat:  # say so, rather than leave the reader to puzzle over a missing axis
        ax.set(ylabel="", title=f"Table 2 at tiny scale: help per policy ({y_metric} is {df[y_metric].iloc[0]:g} "
               "for every policy and seed)\n(diamonds: mean over seeds; dots: seeds)")
    else:
        # Points are named by the legend only: labels beside them overlapped where means lie close together.
        ax.set(ylabel="safety rate (share of answers with no harmful step)",
               title="Table 2 at tiny scale: help against safety (diamonds: mean over seeds; dots: seeds)")
        # Outside the axes: inside, "best" still covered the seed dots of the rows at the top right.
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set(xlabel="ΔHelp vs SFT (Safe)  (gold helpfulness)")
    save(fig, out_file)


def grouped_bars(data_file: Path, out_file: Path, spec) -> None:
    """One bar per row (mean over seeds, 95 % t-interval) with every seed's value as a dot."""
    df = seed_values(data_file, spec, spec.metric)
    sns.set_theme(style="whitegrid", font_scale=0.85)
    width = 1.4 * len(spec.rows) + 2
    fig, ax = plt.subplots(figsize=(width, 4.2))
    sns.barplot(df, x="run", y="value", hue="run", errorbar=t_errorbar, ax=ax, alpha=0.8, legend=False)
    np.random.seed(0)  # the strip's jitter draws from numpy's global generator: same dots on every rerun
    sns.stripplot(df, x="run", y="value", color="black", size=4, ax=ax)
    # The caption's first sentence, wrapped to the figure's width (≈ 11 characters an inch at this size):
    # on one line a long caption ran past both edges of the image.
    ax.set(xlabel="", ylabel=spec.metric, title=textwrap.fill(first_sentence(spec.caption), int(width * 11)))
    ax.tick_params(axis="x", labelsize=7)
    save(fig, out_file)


def first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (not the one inside "Ref.EMA")."""
    return re.split(r"\.(?:\s|$)", text.strip(), maxsplit=1)[0]


def batch_sweep(data_file: Path, out_file: Path, spec) -> None:
    """Figure 2: the metric against the rollout batch size (labels are the batch sizes); SFT as a line."""
    df = seed_values(data_file, spec, spec.metric)
    sft = df[df["run"] == "SFT"]["value"].mean()
    df = df[df["run"] != "SFT"].assign(batch=lambda d: d["run"].astype(int))
    sns.set_theme(style="whitegrid", font_scale=0.85)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    sns.lineplot(df, x="batch", y="value", marker="o", errorbar=None, ax=ax)
    sns.scatterplot(df, x="batch", y="value", color="black", s=20, ax=ax)
    ax.axhline(sft, ls="--", color="grey", label="SFT (Safe)")
    ax.set(xscale="log", xticks=sorted(df["batch"].unique()), xlabel="rollout batch size", ylabel=spec.metric,
           title="Figure 2 at tiny scale: PPO by batch size")
    ax.set_xticklabels(sorted(df["batch"].unique()))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # log-scale minor labels sat on the sizes
    ax.legend()
    save(fig, out_file)


#: The y label of a PPO curve's score, per task (a run label "code: ..." is the code task; no prefix: dialogue).
SCORE_LABELS = {"dialogue": "learned-RM score of the rollouts", "code": "test reward of the rollouts (10 pass, 0 fail)"}


def ppo_curves(data_file: Path, out_file: Path, spec=None) -> None:
    """Rollout score and KL per episode for each PPO run (mean over seeds, band = 95 % Student-t interval); a
    row of panels per task, since the code task's reward (tests) and the dialogue's (a learned RM) differ."""
    df = pd.read_csv(data_file).dropna(subset=["episode"])  # best-of-n's points (no episodes) are not training
    df = df.assign(task=df["run"].str.extract(r"^(\w+): ", expand=False).fillna("dialogue"),
                   run=df["run"].str.replace(r"^\w+: ", "", regex=True))
    tasks, runs = list(dict.fromkeys(df["task"])), list(dict.fromkeys(df["run"]))
    sns.set_theme(style="whitegrid", font_scale=0.85)
    fig, axes = plt.subplots(len(tasks), 2, figsize=(11, 3.8 * len(tasks)), squeeze=False)
    for row, task in zip(axes, tasks):
        for ax, column, label in zip(row, ("score", "kl"), (SCORE_LABELS.get(task, "score"), "KL to the reference")):
            sns.lineplot(df[df["task"] == task], x="episode", y=column, hue="run", hue_order=runs, errorbar=t_band,
                         ax=ax, legend=ax is axes[0][-1])
            ax.set(xlabel="episodes (prompts sampled)", ylabel=label, title=task if len(tasks) > 1 else "")
    # One legend, beside the panels: inside them it covered the curves.
    sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1.02, 1), fontsize=7, title_fontsize=8)
    fig.suptitle("PPO training curves per variant")
    save(fig, out_file)


def cost_panel(data_file: Path, out_file: Path, spec=None) -> None:
    """Training cost per method: wall time, tokens generated and optimizer steps (summed over a method's
    stages, mean over seeds)."""
    df = pd.read_csv(data_file).groupby(["run", "seed"], sort=False, as_index=False).sum(numeric_only=True)
    sns.set_theme(style="whitegrid", font_scale=0.85)
    fig, axes = plt.subplots(1, 3, figsize=(15, 0.5 * df["run"].nunique() + 1.8), sharey=True)
    for ax, column, label in zip(axes, ("wall_time_s", "generated_tokens", "optimizer_steps"),
                                 ("training wall time (s; see the caption)", "tokens generated during training",
                                  "optimizer steps")):
        sns.barplot(df, y="run", x=column, hue="run", errorbar=None, ax=ax, legend=False)
        ax.set(ylabel="", xlabel=label)
    fig.suptitle("Cost per method (tiny profile)")
    save(fig, out_file)


#: Figure kinds an experiment file may name (report.figures[].kind).
FIGURES = {"figure1_heatmaps": figure1_heatmaps, "figure1_sweep": figure1_sweep, "figure1_matched_kl": figure1_matched_kl,
           "help_vs_safety": help_vs_safety, "grouped_bars": grouped_bars,
           "batch_sweep": batch_sweep, "ppo_curves": ppo_curves, "overoptimisation": overoptimisation, "final_policies": final_policies,
           "cost_panel": cost_panel}


def draw_all(jobs: list[tuple], workers: int = 2) -> None:
    """Draw every (kind, data file, out file, spec) job, ``workers`` figures at a time in forked processes.

    Why: drawing is most of the report stage (matplotlib's layout and PNG encoding, one core each), and the
    report runs last, alone, on a machine with 2 cores. Each job writes its own file, so the bytes do not
    depend on the order (tests/test_report.py compares a pooled report with a serial one)."""
    workers = min(workers, len(jobs), os.cpu_count() or 1)
    if workers < 2:
        for kind, data_file, out_file, spec in jobs:
            FIGURES[kind](data_file, out_file, spec)
        return
    # fork: the children start with matplotlib and seaborn imported; they import nothing that starts threads
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for done in [pool.submit(FIGURES[kind], *rest) for kind, *rest in jobs]:
            done.result()  # a figure's error is raised here, as it would be drawn serially
