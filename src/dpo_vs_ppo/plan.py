"""What ``dvc repro`` would run at a profile, resolved stage by stage, without running anything.

    python -m dpo_vs_ppo.plan --profile paper            # every stage: how it starts, its model, GPU-hours
    python -m dpo_vs_ppo.plan --profile paper --tables   # per paper result: GPUs, GPU-hours, wall days
    python -m dpo_vs_ppo.plan --profile paper --stage code/ppo_code@0   # one stage, settings in full

The one command that runs the paper profile is ``dvc exp run -S profile=paper`` (on a GPU cluster with
hub access). This module reads the same ``dvc.yaml`` through DVC, resolves each training command with
``launch.resolve`` (plain Python, or ``accelerate launch`` + DeepSpeed ZeRO-3) and each stage's experiment
file at the profile, and estimates its cost with ``paper_cost``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
from pathlib import Path

from . import paper_cost
from .experiment import load_experiment
from .launch import accelerate_config, option_value, resolve

LAUNCHER = "dpo_vs_ppo.launch"


def stage_commands(repo: Path = Path(".")) -> dict[str, list[str]]:
    """Every stage of ``dvc.yaml`` (foreach/matrix expanded by DVC itself) -> its command as argv."""
    from dvc.repo import Repo  # DVC is slow to import; only the plan needs it
    with Repo(str(repo)) as dvc_repo:
        return {s.addressing: shlex.split(s.cmd) for s in dvc_repo.index.stages if getattr(s, "cmd", None)}


def resolve_stage(argv: list[str], profile: str) -> dict:
    """One stage at ``profile``: the command it runs, its module, family, experiment and resolved settings."""
    first = argv.index("-m")
    module, stage_args, paper_config = argv[first + 1], argv[first + 2:], None
    if module == LAUNCHER:  # python -m dpo_vs_ppo.launch <launcher args> -m <stage module> <stage args>
        second = argv.index("-m", first + 2)
        paper_config = option_value(argv[first + 2:second], "--paper-config")
        module, stage_args = argv[second + 1], argv[second + 2:]
    if paper_config:
        config = accelerate_config(paper_config)
        env = {"SLURM_JOB_NUM_NODES": str(config["num_machines"]), "MAIN_PROCESS_IP": "<node 0>"}
        command = resolve(profile, paper_config, module, stage_args, env=env, machines=config["num_machines"])
        gpus = config["num_processes"] if profile == "paper" else 1
    else:
        command, gpus = argv, 1
    experiment_path = option_value(stage_args, "--experiment")
    settings = load_experiment(experiment_path, profile).settings if experiment_path else None
    models = option_value(stage_args, "--models")  # artifacts/models/<family>: every training stage names one
    family = Path(models).name if models else (option_value(stage_args, "--family") or (
        "code" if any("/code" in a for a in stage_args) else "dialogue"))
    return {"module": module.rsplit(".", 1)[-1], "command": command, "family": family, "args": stage_args,
            "profile": profile, "experiment": experiment_path, "settings": settings, "gpus": gpus}


def build_plan(profile: str, repo: Path = Path(".")) -> dict[str, dict]:
    """Every stage resolved at ``profile``, with its model id and estimated cost at that profile's scale."""
    models = load_experiment(repo / "experiments/models.yaml", profile).settings
    plan = {}
    for name, argv in stage_commands(repo).items():
        stage = resolve_stage(argv, profile)
        family = getattr(models, stage["family"])
        stage["model"] = family.policy_id if family.origin == "hub" else f"tiny {stage['family']} (built locally)"
        stage["cost"] = paper_cost.estimate(stage, stage["gpus"])
        plan[name] = stage
    return plan


def upstream(repo: Path, targets: list[str]) -> dict[str, set[str]]:
    """Each target and every stage it depends on (DVC's own graph)."""
    import networkx as nx
    from dvc.repo import Repo
    with Repo(str(repo)) as dvc_repo:
        graph = dvc_repo.index.graph
        nodes = {getattr(s, "addressing", None): s for s in graph.nodes}
        return {t: {s.addressing for s in nx.descendants(graph, nodes[t]) | {nodes[t]}} for t in targets}


def table_costs(plan: dict[str, dict], repo: Path = Path(".")) -> list[tuple[str, float, float, int]]:
    """Per paper result with a stage: (result, GPU-hours, wall hours, most GPUs at once), from scratch."""
    results = [r for r in ("figure1", *(f"table{i}" for i in range(2, 14)), "figure2") if r in plan]
    rows = []
    for result, names in upstream(repo, results).items():
        stages = [plan[s] for s in names]
        rows.append((result, sum(s["cost"].gpu_hours for s in stages), sum(s["cost"].wall_hours for s in stages),
                     max(s["cost"].gpus for s in stages)))
    return rows


def _settings_line(stage: dict) -> str:
    """The settings a reader checks first (learning rate, beta, epochs, batch, lengths), where the stage has them."""
    keys = ("learning_rate", "actor_learning_rate", "beta", "epochs", "prompt_epochs", "rollout_batch_size",
            "responses_per_prompt", "max_new_tokens", "response_length", "max_length")
    flat = paper_cost.flatten(stage["settings"])
    return ", ".join(f"{k}={flat[k]}" for k in keys if k in flat)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=("smoke", "tiny", "paper"), default="paper", help="default: paper")
    p.add_argument("--tables", action="store_true", help="per paper result: GPUs, GPU-hours and wall time")
    p.add_argument("--stage", help="one stage (dvc.yaml address, e.g. code/dpo_code@0): its command and settings in full")
    p.add_argument("--json", action="store_true", help="the whole plan as JSON")
    args = p.parse_args(argv)
    plan = build_plan(args.profile)
    if args.stage:
        stage = plan[args.stage]
        print(f"dvc.yaml command:  {shlex.join(stage_commands()[args.stage])}\nresolves to:       {shlex.join(stage['command'])}")
        print(json.dumps(dataclasses.asdict(stage["settings"]) if stage["settings"] else {}, indent=2, default=str))
        return
    if args.json:
        print(json.dumps({n: {**s, "settings": dataclasses.asdict(s["settings"]) if s["settings"] else None,
                              "cost": dataclasses.asdict(s["cost"])} for n, s in plan.items()}, indent=1, default=str))
        return
    if args.tables:
        print(f"{'result':<9} {'GPU-hours':>10} {'wall (days)':>12} {'GPUs':>5}   ({paper_cost.ASSUMPTIONS})")
        for result, gpu_h, wall_h, gpus in table_costs(plan):
            print(f"{result:<9} {gpu_h:>10,.0f} {wall_h / 24:>12.1f} {gpus:>5}")
        return
    print(f"{'stage':<44} {'runs as':<34} {'model':<28} {'GPU-h':>8}  settings")
    for name, stage in plan.items():
        print(f"{name:<44} {runs_as(stage['command']):<34} {stage['model'] if stage['cost'].gpu_hours else '-':<28} "
              f"{stage['cost'].gpu_hours:>8,.0f}  {_settings_line(stage)}")


def runs_as(command: list[str]) -> str:
    """How a resolved command starts, in a few words."""
    if command[0] not in ("accelerate", "srun"):
        return "python, one process"
    config = Path(shlex.split(command[-1])[3] if command[0] == "srun" else command[3]).stem
    return f"{'srun + ' if command[0] == 'srun' else ''}accelerate {config.removeprefix('accelerate_')}"

if __name__ == "__main__":
    main()
