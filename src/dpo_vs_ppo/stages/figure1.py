"""Stage figure1: the synthetic 8x8 experiment of Sec. 4.2 over every seed of params.yaml.

Writes the per-seed panels (coverage, pi_ref, pi_PPO, pi_DPO, r_phi) for the report's heatmaps,
the metrics (each with mean, std and per-seed values), a CSV of OOD mass per seed and policy, and the
decomposition sweep over pairs per prompt and beta (``toy/figure1_sweep.py``), one CSV row per cell,
seed and policy.
"""

from __future__ import annotations

import time

import torch
from tqdm import tqdm

from ..records import provenance, write_csv, write_json
from ..toy import figure1_sweep
from ..toy.synthetic_8x8 import run_seed, seed_metrics, summarise
from ._cli import add_record_arguments, load, main_with_config_errors, parser


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiment", required=True, metavar="YAML", help="experiment file, e.g. experiments/figure1.yaml")
    add_record_arguments(p, "where to write the metrics")
    p.add_argument("--panels", required=True, metavar="JSON", help="where to write the five panels and curves per seed")
    p.add_argument("--ood-csv", required=True, metavar="CSV", help="where to write OOD mass per seed and policy (a DVC plot)")
    p.add_argument("--sweep-csv", required=True, metavar="CSV", help="where to write the sweep over pairs per prompt and "
                   "beta: OOD mass, argmax-on-diagonal rate and KL to pi_ref per cell, seed and policy (a DVC plot)")
    args = p.parse_args(argv)
    params, exp = load(args.params, args.experiment, "figure1")

    start = time.perf_counter()
    torch.set_num_threads(1)  # 8x8 MLPs: thread start-up costs more than it saves, and 1 thread is deterministic
    runs = [run_seed(exp.settings, seed) for seed in tqdm(params.seeds, desc="figure1 seeds", unit="seed")]
    per_seed = [seed_metrics(run["panels"], exp.settings.beta) for run in runs]
    metrics = {key: summarise([m[key] for m in per_seed]) for key in per_seed[0]}
    metrics["seeds"] = list(params.seeds)
    write_json(args.metrics, metrics)
    write_json(args.panels, runs)
    write_csv(args.ood_csv, ["seed", "policy", "ood_mass"],
              [(seed, name, m[f"ood_mass_{name}"]) for seed, m in zip(params.seeds, per_seed)
               for name in ("pi_ref", "pi_dpo", "pi_ppo")])
    main_runs = dict(zip(params.seeds, runs))
    jobs = [(pairs, beta, seed) for pairs, beta in figure1_sweep.cells(exp.settings) for seed in params.seeds]
    sweep = [row for pairs, beta, seed in tqdm(jobs, desc="figure1 sweep (pairs x beta x seed)", unit="run")
             for row in figure1_sweep.cell_rows(exp.settings, pairs, beta, seed, main_runs[seed])]
    write_csv(args.sweep_csv, figure1_sweep.COLUMNS, sweep)
    write_json(args.run_info, provenance(params, exp, time.perf_counter() - start))
    print("figure1: OOD mass (mean over seeds) " + ", ".join(
        f"{name} {metrics[f'ood_mass_{name}']['mean']:.3f}" for name in ("pi_ref", "pi_dpo", "pi_ppo")))


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
