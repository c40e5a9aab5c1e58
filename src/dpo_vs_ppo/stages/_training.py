"""What the training stages' command lines share: their arguments, and loading and checking their config.

Nothing here imports torch: a stage checks its config first and imports the training stack (~4 s) only then,
so a bad value is reported at once. What runs after the check is in ``training/run_records.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

from ._cli import add_record_arguments, load


def add_training_arguments(p: argparse.ArgumentParser, stage: str, metrics_help: str) -> None:
    """The arguments every training stage takes: experiment, models, outputs and records."""
    p.add_argument("--experiment", required=True, metavar="YAML", help=f"an experiment file of stage '{stage}'")
    p.add_argument("--models", required=True, metavar="DIR",
                   help="the models stage output: model_refs.json names the tokenizer and the base models")
    p.add_argument("--out", required=True, metavar="DIR", help="where to save the trained model (and its tokenizer)")
    p.add_argument("--steps", required=True, metavar="CSV", help="step log, one row per logged step (a DVC plot)")
    p.add_argument("--seed", type=int, metavar="N",
                   help="run seed, replacing the experiment file's `seed` (dvc.yaml passes each of params.yaml's seeds)")
    add_record_arguments(p, metrics_help)


def load_training(args, stage: str, check: Callable | None = None):
    """Params and the experiment for ``stage`` (``--seed`` applied), and ``check(exp)``: config errors stop
    here, before torch is imported. The stage then imports what it trains with and calls :func:`seed_process`."""
    params, exp = load(args.params, args.experiment, stage)
    if args.seed is not None:
        exp = with_seed(exp, args.seed)
    if check is not None:
        check(exp)
    return params, exp


def seed_process(seed: int) -> None:
    """Seed every generator and keep the process offline. Call it after the stage's imports, never before:
    importing the training stack draws from Python's ``random``, so seeding first shifts every run's data
    order and sampling (it moved every committed result once)."""
    from ..training.runtime import prepare_process

    prepare_process(seed)


def with_seed(exp, seed: int):
    """The experiment with every ``seed`` field of its settings (nested ones too, e.g. DPO-Iter's DPO) set."""
    def reseed(settings):
        changes = {f.name: reseed(getattr(settings, f.name)) for f in dataclasses.fields(settings)
                   if dataclasses.is_dataclass(getattr(settings, f.name))}
        if any(f.name == "seed" for f in dataclasses.fields(settings)):
            changes["seed"] = seed
        return dataclasses.replace(settings, **changes)
    return dataclasses.replace(exp, settings=reseed(exp.settings))
