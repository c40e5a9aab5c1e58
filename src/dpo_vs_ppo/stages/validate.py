"""Stage validate: every experiment file and params.yaml, checked at every profile, before anything runs.

It is the head of the DAG and imports no torch, so a bad config is one line within seconds of ``dvc repro``
starting, before any other stage runs and before DVC removes any committed output. Every other stage
depends on its output, which is the same file whenever everything is valid: a passing check reruns nothing
downstream. The stages check their own file again before importing torch (``python -m`` on its own).

Checked: each file's keys, types and ranges at smoke, tiny and paper (``experiment.load_experiment``), the
seed lists of params.yaml, the run list (``pipeline_runs.py``), and the PPO batch arithmetic at the number of
processes each profile launches: one at smoke and tiny; at paper, the family's accelerate config (``pipeline.LAUNCH``).
"""

from __future__ import annotations

from pathlib import Path

from ..config import PROFILES, ConfigError, load_params
from ..experiment import Experiment, experiment_files, load_experiment
from ..launch import accelerate_config
from ..pipeline import LAUNCH
from ..pipeline_runs import load_runs
from ..records import write_json
from ._cli import main_with_config_errors, parser

#: What the output holds while everything is valid. Nothing else (no counts, no times): a new experiment
#: file must not rerun every stage.
VALID = {"valid": True}


def paper_world_sizes() -> dict[str, int]:
    """family -> processes at the paper profile: ``num_processes`` of the family's accelerate config."""
    return {family: int(accelerate_config(config)["num_processes"]) for family, config in LAUNCH.items()}


def family(exp: Experiment) -> str:
    """The model family an experiment trains: code if it or a base it overlays is a ``*_code*`` file."""
    return "code" if any("_code" in Path(f).stem for f in exp.files) else "dialogue"


def check_arithmetic(exp: Experiment, worlds: dict[str, int]) -> None:
    """Arithmetic that depends on how many processes the profile launches (the PPO rollout split)."""
    if exp.stage != "ppo":
        return
    world = worlds[family(exp)] if exp.profile == "paper" else 1
    if problem := exp.settings.split_problem(world):
        raise ConfigError(exp.files[0], "settings.rollout_batch_size", f"{problem} (at profile {exp.profile})")


def validate(params: str, experiments: str, runs: str) -> int:
    """Check everything; return how many experiment files were read. Raises ConfigError at the first fault."""
    load_params(params)
    load_runs(runs)
    worlds = paper_world_sizes()
    files = experiment_files(experiments)
    if not files:
        raise ConfigError(experiments, "", "no experiment files")
    for path in files:
        for profile in PROFILES:
            check_arithmetic(load_experiment(path, profile), worlds)
    return len(files)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiments", required=True, metavar="DIR", help="the experiment files: experiments/")
    p.add_argument("--runs", required=True, metavar="YAML", help="the run list: experiments/runs.yaml")
    p.add_argument("--out", required=True, metavar="JSON", help=f"written as {VALID} when everything is valid")
    args = p.parse_args(argv)
    count = validate(args.params, args.experiments, args.runs)
    write_json(args.out, VALID)
    print(f"validate: params, the run list and {count} experiment files valid at {', '.join(PROFILES)}")


if __name__ == "__main__":
    main_with_config_errors(main)
