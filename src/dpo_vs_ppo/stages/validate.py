"""Stage validate: every experiment file and params.yaml, checked at every profile, before anything runs.

It is the head of the DAG and imports no torch, so a bad config is one line within seconds of ``dvc repro``
starting, before any other stage runs and before DVC removes any committed output. The stages check their
own file again before importing torch (``python -m`` on its own).

What it writes is what the other stages depend on instead of the experiment files and the source tree, one
small file each, so ``dvc.lock`` stays small (DVC rewrites it after every stage) and a change reruns only
what it changes:

* ``settings/<experiment>.json``: the experiment's settings resolved at the active profile (bases and the
  profile overlay applied): a change to the paper overlay reruns no tiny stage, a change to one run's
  ``kl_coef`` reruns that run;
* ``report.json``: each result's title, paper reference and table spec, which only the report reads;
* ``code/<stage>.json``: the source files the stage's command imports, with their md5 (``code_deps.py``).

Checked: each file's keys, types and ranges at smoke, tiny and paper (``experiment.load_experiment``), the
seed lists of params.yaml, the run list (``pipeline_runs.py``), and the PPO batch arithmetic at the number of
processes each profile launches: one at smoke and tiny; at paper, the family's accelerate config (``pipeline.LAUNCH``).
"""

from __future__ import annotations

from pathlib import Path

from .. import code_deps
from ..config import PROFILES, ConfigError, load_params
from ..experiment import Experiment, experiment_files, load_experiment
from ..report import citations
from ..launch import accelerate_config
from ..pipeline import LAUNCH
from ..pipeline_runs import UNLAUNCHED, RunList, load_runs
from ..records import staged_folder, to_plain, write_json
from ._cli import main_with_config_errors, parser

STAGES = Path(__file__).resolve().parent


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


def validate(params: str, experiments: str, runs: str) -> tuple[str, RunList, dict[Path, Experiment]]:
    """Check everything; return the active profile, the run list and each experiment file resolved at it.
    Raises ConfigError at the first fault."""
    profile = load_params(params).profile
    run_list = load_runs(runs)
    worlds = paper_world_sizes()
    files = experiment_files(experiments)
    if not files:
        raise ConfigError(experiments, "", "no experiment files")
    active = {}
    for path in files:
        for name in PROFILES:
            exp = load_experiment(path, name)
            check_arithmetic(exp, worlds)
            if exp.report:
                citations.checked(exp.report, exp.files[0])
            if name == profile:
                active[path] = exp
    return profile, run_list, active


def stage_code(runs: RunList) -> dict[str, list[str]]:
    """stage module name -> the modules its dvc.yaml command runs: training stages start through launch.py."""
    launched = {run.stage for run in runs.runs.values()} - set(UNLAUNCHED)
    names = sorted(p.stem for p in STAGES.glob("*.py") if not p.stem.startswith("_") and p.stem != "validate")
    return {n: (["dpo_vs_ppo.launch"] if n in launched else []) + [f"dpo_vs_ppo.stages.{n}"] for n in names}


def write_outputs(out: str, runs: RunList, active: dict[Path, Experiment]) -> None:
    with staged_folder(out) as folder:
        for exp in active.values():
            write_json(folder / "settings" / f"{exp.id}.json",
                       {"experiment": exp.id, "stage": exp.stage, "profile": exp.profile, "files": list(exp.files),
                        "settings": to_plain(exp.settings)})
        write_json(folder / "report.json", {exp.id: {"title": exp.title, "paper_ref": exp.paper_ref,
                                                     "report": to_plain(exp.report)}
                                            for exp in active.values() if exp.report is not None})
        for name, modules in stage_code(runs).items():
            write_json(folder / "code" / f"{name}.json", code_deps.fingerprint(modules))


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiments", required=True, metavar="DIR", help="the experiment files: experiments/")
    p.add_argument("--runs", required=True, metavar="YAML", help="the run list: experiments/runs.yaml")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="written only when everything is valid: settings/, report.json and code/ (see above)")
    p.add_argument("--check-only", action="store_true", help="check only, write nothing (repro.py runs this first)")
    args = p.parse_args(argv)
    profile, runs, active = validate(args.params, args.experiments, args.runs)
    if args.check_only:
        return
    write_outputs(args.out, runs, active)
    print(f"validate: params, the run list and {len(active)} experiment files valid at {', '.join(PROFILES)}; "
          f"wrote {args.out} for profile {profile}")


if __name__ == "__main__":
    main_with_config_errors(main)
