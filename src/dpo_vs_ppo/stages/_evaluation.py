"""What the evaluation stages share: loading their experiment, and writing metrics plus provenance."""

from __future__ import annotations

import importlib
import time

from ..records import provenance, write_json
from ._cli import add_record_arguments, load


def add_evaluation_arguments(p, stage: str, metrics_help: str) -> None:
    p.add_argument("--experiment", required=True, metavar="YAML", help=f"an experiment file of stage '{stage}'")
    add_record_arguments(p, metrics_help)


def add_samples_arguments(p, baseline_required: bool) -> None:
    """--samples, --baseline-samples and --reward-model: what the scoring and judging stages read."""
    p.add_argument("--samples", required=True, metavar="JSONL", help="the policy's samples (generate stage)")
    p.add_argument("--baseline-samples", required=baseline_required, metavar="JSONL",
                   help="the baseline policy's samples of the same prompts (paired by prompt id)")
    p.add_argument("--reward-model", metavar="DIR", help="folder of a learned reward model (scorer learned_reward)")


def load_evaluation(args, stage: str, seed: int | None = None, modules: tuple[str, ...] = ()):
    """Params and experiment (config errors stop here, before torch is imported); then ``modules`` are
    imported and the process is seeded and offline. Seeding comes after every import, as in the training
    stages (_training.seed_process): importing the stack draws from Python's ``random``."""
    params, exp = load(args.params, args.experiment, stage)
    for module in modules:
        importlib.import_module(module)
    from ..training.runtime import prepare_process

    prepare_process(getattr(exp.settings, "seed", 0) if seed is None else seed)
    return params, exp, time.perf_counter()


def write_evaluation_records(args, params, exp, metrics: dict, start: float, **extra) -> None:
    """metrics.json (committed; no wall time, so the same seed gives the same file) and run.json."""
    write_json(args.metrics, metrics)
    record = provenance(params, exp, time.perf_counter() - start)
    record.update(extra)
    write_json(args.run_info, record)
