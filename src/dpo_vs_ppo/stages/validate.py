"""Stage validate: every experiment file and params.yaml, checked at every profile, before anything runs.

It is the head of the DAG and imports no torch, so a bad config is one line within seconds of ``dvc repro``
starting, before any other stage runs and before DVC removes any committed output. Every other stage
depends on its output, which is the same file whenever everything is valid: a passing check reruns nothing
downstream. The stages check their own file again before importing torch (``python -m`` on its own).

Checked: each file's keys, types and ranges at smoke, tiny and paper (``experiment.load_experiment``), the
seed lists of params.yaml, and the PPO batch arithmetic at the number of processes each profile launches:
one at smoke and tiny; at paper, the family's accelerate config named by ``dvc.yaml``'s launch commands.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..config import PROFILES, ConfigError, load_params
from ..experiment import Experiment, load_experiment
from ..launch import accelerate_config, option_value
from ..records import write_json
from ._cli import main_with_config_errors, parser

#: What the output holds while everything is valid. Nothing else (no counts, no times): a new experiment
#: file must not rerun every stage.
VALID = {"valid": True}


def paper_world_sizes(pipeline: str | Path) -> dict[str, int]:
    """family -> processes at the paper profile, from dvc.yaml's ``launch_<family>`` commands."""
    data = yaml.safe_load(Path(pipeline).read_text(encoding="utf-8")) or {}
    commands = {k: v for entry in data.get("vars", []) if isinstance(entry, dict) for k, v in entry.items()}
    sizes = {}
    for name, command in commands.items():
        config = option_value(str(command).split(), "--paper-config")
        if name.startswith("launch_") and config:
            sizes[name.removeprefix("launch_")] = int(accelerate_config(config)["num_processes"])
    if not sizes:
        raise ConfigError(pipeline, "vars", "no launch_<family> command with --paper-config")
    return sizes


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


def validate(params: str, experiments: str, pipeline: str) -> int:
    """Check everything; return how many experiment files were read. Raises ConfigError at the first fault."""
    load_params(params)
    worlds = paper_world_sizes(pipeline)
    files = sorted(Path(experiments).glob("*.yaml"))
    if not files:
        raise ConfigError(experiments, "", "no experiment files")
    for path in files:
        for profile in PROFILES:
            check_arithmetic(load_experiment(path, profile), worlds)
    return len(files)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiments", required=True, metavar="DIR", help="the experiment files: experiments/")
    p.add_argument("--pipeline", required=True, metavar="YAML", help="dvc.yaml (its launch commands name the paper "
                   "profile's accelerate configs)")
    p.add_argument("--out", required=True, metavar="JSON", help=f"written as {VALID} when everything is valid")
    args = p.parse_args(argv)
    count = validate(args.params, args.experiments, args.pipeline)
    write_json(args.out, VALID)
    print(f"validate: params and {count} experiment files valid at {', '.join(PROFILES)}")


if __name__ == "__main__":
    main_with_config_errors(main)
