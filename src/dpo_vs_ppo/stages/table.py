"""Stage table: collect the runs of one paper table into one metrics file for the report.

Each row reads a run's metrics file under ``--results``: ``eval.json`` (evaluate_policy, one entry per
seed) or a plain ``metrics.json`` (judge, training: one value). The output holds, per row and metric,
the per-seed values and their mean, and the per-seed differences (contrasts) the claims are judged on.
With ``--curves`` / ``--cost`` it also gathers the PPO score and KL per update and each training run's
wall time and tokens generated, for the report's curves and cost panel.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..config import ConfigError
from ..records import provenance, read_json, write_json, write_text
from ..report.verdicts import lookup
from ._cli import add_record_arguments, load, main_with_config_errors, parser

SHARED = "all"  # the seed key of a value that does not vary by seed (an unseeded run, a judge count)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiment", required=True, metavar="YAML", help="a table experiment file (stage 'table')")
    p.add_argument("--results", required=True, metavar="DIR", help="the results root the run ids are relative to")
    p.add_argument("--curves", metavar="CSV", help="where to write the PPO curves of the table's training runs")
    p.add_argument("--cost", metavar="CSV", help="where to write wall time and tokens generated per training run")
    add_record_arguments(p, "where to write the table's per-seed values, means and contrasts")
    args = p.parse_args(argv)
    params, exp = load(args.params, args.experiment, "table")
    s, root = exp.settings, Path(args.results)

    rows = {row.id: read_row(args.experiment, root, row) for row in s.rows}
    contrasts = {c.id: contrast(rows[c.a][c.metric], rows[c.b][c.metric]) for c in s.contrasts}
    write_json(args.metrics, {"rows": {r: {m: summarise(v) for m, v in ms.items()} for r, ms in rows.items()},
                              "contrasts": {c.id: {**summarise(contrasts[c.id]), "metric": c.metric, "a": c.a, "b": c.b}
                                            for c in s.contrasts}})
    logs = [(t.label, seed, folder) for t in s.training for seed, folder in seed_folders(root / t.run)]
    if args.curves:
        write_text(args.curves, to_csv(["run", "seed", "update", "episode", "score", "kl", *MONITORED], curve_rows(logs)))
    if args.cost:
        write_text(args.cost, to_csv(["run", "seed", "wall_time_s", "generated_tokens", "optimizer_steps"],
                                     cost_rows(logs)))
    write_json(args.run_info, provenance(params, exp, 0.0))
    print(f"table: {exp.id}: {len(rows)} rows, {len(contrasts)} contrasts -> {args.metrics}")


def read_row(file: str, root: Path, row) -> dict[str, dict[str, float]]:
    """{metric: {seed: value}} of one row; a missing run or metric names the table file and the row."""
    path = root / row.run / row.file
    if not path.is_file():
        raise ConfigError(file, f"settings.rows.{row.id}", f"{path} does not exist: run its stages first")
    data = read_json(path)
    per_seed = data["per_seed"] if "per_seed" in data else {SHARED: data}
    out = {}
    for metric in row.metrics:
        try:
            out[metric] = {seed: float(lookup(values, metric)) for seed, values in per_seed.items()}
        except KeyError as err:
            raise ConfigError(file, f"settings.rows.{row.id}", f"{err.args[0]} in {path}") from None
    return out


def contrast(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """a - b per seed; a side with one shared value is paired with every seed of the other."""
    if SHARED in a and SHARED in b:
        return {SHARED: a[SHARED] - b[SHARED]}
    seeds = sorted((set(a) | set(b)) - {SHARED}, key=int)
    return {s: a.get(s, a.get(SHARED)) - b.get(s, b.get(SHARED)) for s in seeds
            if (s in a or SHARED in a) and (s in b or SHARED in b)}


def summarise(values: dict[str, float]) -> dict:
    """The record the report reads: per-seed values (its interval) and their mean (what `dvc metrics diff` shows)."""
    vals = list(values.values())
    return {"mean": round(sum(vals) / len(vals), 6), "per_seed": [round(v, 6) for v in vals], "seeds": list(values)}


def seed_folders(run: Path) -> list[tuple[str, Path]]:
    """(seed, folder) of a training run: its s<seed>/ folders, or the run folder itself when unseeded."""
    seeded = sorted(run.glob("s[0-9]*"), key=lambda p: int(p.name[1:]))
    return [(p.name[1:], p) for p in seeded if p.is_dir()] or [(SHARED, run)]


#: Curve columns from PPO's rollout monitor (training/rollout_monitor.py), by step-log key; empty where a run
#: did not log them (the code task has no gold scorer but its tests).
MONITORED = {"kl_to_sft": "kl_to_sft", "gold_help": "gold/gold_helpfulness", "gold_harm": "gold/gold_harm"}


def curve_rows(logs) -> list[list]:
    """Score, KL and the monitored columns per PPO update, and best-of-n's per n (``update`` = n, no episode);
    runs with neither log are skipped."""
    out = []
    for label, seed, folder in logs:
        steps = folder / "steps.csv"
        if not steps.is_file():
            continue
        with open(steps, newline="") as handle:
            for row in csv.DictReader(handle):
                if "objective/scores" in row:
                    out.append([label, seed, row["update"], row["episode"], row["objective/scores"], row["objective/kl"],
                                *(row.get(key, "") for key in MONITORED.values())])
                elif "kl_bound" in row:  # best-of-n: a point per n (no episodes), its KL to SFT in closed form
                    out.append([label, seed, row["n"], "", row["learned_score"], "", row["kl_bound"],
                                *(row.get(MONITORED[column], "") for column in ("gold_help", "gold_harm"))])
    return out


def cost_rows(logs) -> list[list]:
    """Wall time of the training stage (run.json), the tokens it generated (PPO rollouts, DPO-Iter samples)
    and its optimizer steps (PPO: every minibatch step of every epoch; issue [I]: methods' budgets differ)."""
    out = []
    for label, seed, folder in logs:
        metrics = read_json(folder / "metrics.json") if (folder / "metrics.json").is_file() else {}
        record = read_json(folder / "run.json") if (folder / "run.json").is_file() else {}
        tokens = metrics.get("response_tokens", metrics.get("sampled_tokens", 0))
        out.append([label, seed, round(record.get("wall_time_s", float("nan")), 2), tokens,
                    metrics.get("optimizer_steps", float("nan"))])
    return out


def to_csv(header: list[str], rows: list[list]) -> str:
    return "\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n"


if __name__ == "__main__":
    main_with_config_errors(main)
