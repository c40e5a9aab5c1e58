"""What every stage entry point shares: argument parsing and the config-error contract."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..config import ConfigError, StudyParams, load_params
from ..data.records import DataError
from ..experiment import Experiment, load_experiment


def parser(description: str) -> argparse.ArgumentParser:
    """An argparse parser with the --params option every stage takes."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", required=True, metavar="YAML", help="study parameters (profile, seeds): params.yaml")
    return p


def add_record_arguments(p: argparse.ArgumentParser, metrics_help: str) -> None:
    """--metrics (committed, diffed in pull requests) and --run-info (provenance), which every computing stage writes."""
    p.add_argument("--metrics", required=True, metavar="JSON", help=metrics_help)
    p.add_argument("--run-info", required=True, metavar="JSON", help="where to write provenance (config, versions, time)")


def load(params_path: str, experiment_path: str, stage: str) -> tuple[StudyParams, Experiment]:
    """Read params.yaml and one experiment file for ``stage``, with the active profile applied."""
    params = load_params(params_path)
    return params, load_experiment(experiment_path, params.profile, stage)


def load_kinds(params_path: str, experiment_path: str, kinds: tuple[str, ...]) -> tuple[StudyParams, Experiment]:
    """Like :func:`load`, for a stage that accepts several kinds of experiment file."""
    params = load_params(params_path)
    exp = load_experiment(experiment_path, params.profile)
    if exp.stage not in kinds:
        raise ConfigError(experiment_path, "stage", f"this stage reads {' or '.join(map(repr, kinds))} files, not {exp.stage!r}")
    return params, exp


def main_with_config_errors(main: Callable[[list[str] | None], None], argv: list[str] | None = None,
                            warm: bool = False) -> None:
    """Run ``main``; a bad configuration becomes one line on stderr and exit code 2 (argparse's code
    for bad usage), before any computation starts; a bad data row becomes one line naming dataset,
    split and row, and exit code 3. ``warm``: a stage that imports torch runs in a fork of a process that
    has imported it already, when one is listening (warm.py; the same results, ≈ 4 s sooner)."""
    if warm and argv is None:
        from ..warm import handoff

        handoff()  # returns only if no warm process took the stage
    try:
        main(argv)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)
    except DataError as err:
        print(f"data error: {err}", file=sys.stderr)
        sys.exit(3)
