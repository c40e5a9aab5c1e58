"""Reward over-optimisation in view (issue [I] item 5): gold scores beside the learned reward's and beside
the KL to the SFT model, for PPO's rollouts through training and for every method's final policy."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .plotting import save, seed_values, t_errorbar

#: A method's marker, by the first word of its label: SFT, PPO, DPO and DPO-Iter apart at a glance.
MARKERS = {"SFT": "*", "PPO": "o", "DPO": "D", "DPO-Iter": "s"}


def overoptimisation(data_file: Path, out_file: Path, spec=None) -> None:
    """Gold help of PPO's rollouts against their learned-RM score and against their KL to the SFT policy, a
    line per run through its training (10 stretches of updates, mean over seeds; a ring marks the start). A
    run with no episodes (best-of-n: a point per n, its KL the closed-form bound) is a dashed black line."""
    df = pd.read_csv(data_file).dropna(subset=["gold_help", "kl_to_sft"])
    trained = df["episode"].notna()  # best-of-n: a point per n, drawn as a dashed reference line
    df = df.assign(stretch=df.groupby("run")["update"].transform(lambda u: (10 * (u - 1) // u.max()).clip(0, 9))
                   .where(trained, df["update"]))
    path = df.groupby(["run", "stretch"], sort=False, as_index=False)[["score", "kl_to_sft", "gold_help"]].mean()
    runs, reference = list(dict.fromkeys(df["run"])), set(df.loc[~trained, "run"])
    colours = dict(zip(runs, sns.color_palette("deep", len(runs))))
    sns.set_theme(style="whitegrid", font_scale=0.85)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, x, label in zip(axes, ("score", "kl_to_sft"), ("learned-RM score of the rollouts", "KL to the SFT policy")):
        for run in runs:
            line, dashed = path[path["run"] == run].sort_values("stretch"), run in reference
            ax.plot(line[x], line["gold_help"], marker="s" if dashed else "o", ms=3, lw=1.2, ls="--" if dashed else "-",
                    color="black" if dashed else colours[run], label=run)
            if dashed:
                continue
            ax.scatter(line[x].iloc[:1], line["gold_help"].iloc[:1], s=60, facecolors="none", edgecolors=colours[run])
        ax.set(xlabel=label, ylabel="gold helpfulness of the rollouts" if ax is axes[0] else "")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=7, title="run", title_fontsize=8)
    fig.suptitle("PPO's rollouts: gold helpfulness against the learned-RM score and against the KL to SFT")
    save(fig, out_file)


def final_policies(data_file: Path, out_file: Path, spec) -> None:
    """Each final policy's gold score on the test prompts (``spec.metric``: gold,kl,learned) against its KL to
    the SFT model it started from and against the learned reward model's score: a point per seed (faint)
    and the mean over seeds with 95 % Student-t bars in both directions, a marker per method."""
    gold, kl, learned = spec.metric.split(",")
    df = seed_values(data_file, spec, gold).rename(columns={"value": gold})
    for metric in (kl, learned):
        df[metric] = seed_values(data_file, spec, metric)["value"].to_numpy()
    colours = dict(zip(spec.labels, sns.color_palette("tab20", len(spec.labels))))
    sns.set_theme(style="whitegrid", font_scale=0.85)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    for ax, x, label in zip(axes, (kl, learned), ("KL to the SFT model it started from (nats, on its test answers)",
                                                  "learned-RM score of its test answers")):
        for run, group in df.groupby("run", sort=False):
            marker = MARKERS.get(run.split(" ")[0].rstrip(","), "o")
            ax.scatter(group[x], group[gold], color=colours[run], marker=marker, s=14, alpha=0.3)
            (x_low, x_high), (y_low, y_high) = t_errorbar(group[x]), t_errorbar(group[gold])
            x_mean, y_mean = group[x].mean(), group[gold].mean()
            ax.errorbar(x_mean, y_mean, xerr=[[x_mean - x_low], [x_high - x_mean]], yerr=[[y_mean - y_low], [y_high - y_mean]],
                        fmt=marker, color=colours[run], ms=8, capsize=2, lw=1, label=run)
        ax.set(xlabel=label, ylabel=f"{gold} of its test answers (gold)" if ax is axes[0] else "")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=7, title="policy", title_fontsize=8)
    spread = "mean ± 95 % over seeds" if df.groupby("run").size().max() > 1 else "one seed: no interval"
    fig.suptitle(f"Final policies: gold score against the KL to SFT and against the learned reward ({spread})")
    save(fig, out_file)
