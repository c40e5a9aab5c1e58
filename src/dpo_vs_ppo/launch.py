"""Start a training stage the way the study's profile asks: one plain process (smoke, tiny) or
``accelerate launch`` with DeepSpeed ZeRO-3 over the allocation's GPUs (paper).

    python -m dpo_vs_ppo.launch --paper-config experiments/launch/accelerate_zero3_7b.yaml \\
        -m dpo_vs_ppo.stages.dpo --params params.yaml --experiment experiments/dpo_dialogue.yaml ...

Every training command in ``dvc.yaml`` starts this way, so ``dvc exp run -S profile=paper`` switches the
whole study to the cluster without editing a command: the profile is read from the stage's own
``--params`` file at run time. The launcher then replaces itself (``exec``) with the real command, so
DVC sees one process either way. ``python -m dpo_vs_ppo.plan`` prints what it would run, stage by stage.

A config of one machine (7B) runs on the node DVC runs on. A config of several (34B: ``num_machines: 4``):
* inside a SLURM allocation, the command is wrapped in ``srun --nodes=<num_machines> --ntasks-per-node=1``
  and each node's task passes ``--machine_rank $SLURM_NODEID``, with node 0 of the allocation (or
  ``MAIN_PROCESS_IP``) as the main process;
* elsewhere, set ``MACHINE_RANK`` and ``MAIN_PROCESS_IP`` on each node and start this same command on each.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys

import yaml

from .config import load_params

#: Profiles that run every stage as one plain process (CPU; `accelerate` is not needed).
IN_PROCESS_PROFILES = ("smoke", "tiny")


def option_value(argv: list[str], name: str) -> str | None:
    """The value after option ``name`` in ``argv`` (None if absent or last)."""
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


def stage_params_file(stage_args: list[str]) -> str:
    """The ``--params`` file among the stage's own arguments (every stage takes one)."""
    path = option_value(stage_args, "--params")
    if path is None:
        raise SystemExit("launch: the stage's arguments name no --params file; it decides the profile")
    return path


def _first_slurm_host(nodelist: str) -> str:
    out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def accelerate_config(path: str) -> dict:
    """The accelerate config file (its ``num_machines`` and ``num_processes`` decide the launch)."""
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(profile: str, paper_config: str, module: str, stage_args: list[str], env: dict[str, str],
            machines: int = 1) -> list[str]:
    """The argv that runs ``module`` with ``stage_args`` at ``profile``: plain Python or accelerate + DeepSpeed.

    ``machines`` is the config's ``num_machines``: a one-node config runs where DVC runs, even inside a
    larger allocation; a multi-node one fans out with srun (SLURM) or takes this node's rank from the env.
    """
    if profile in IN_PROCESS_PROFILES:
        return [sys.executable, "-m", module, *stage_args]
    accelerate = ["accelerate", "launch", "--config_file", paper_config]
    if machines == 1:
        return [*accelerate, "-m", module, *stage_args]
    if "SLURM_JOB_NUM_NODES" in env:
        if int(env["SLURM_JOB_NUM_NODES"]) < machines:
            raise SystemExit(f"launch: {paper_config} needs {machines} nodes; this allocation has "
                             f"{env['SLURM_JOB_NUM_NODES']}")
        main_ip = env.get("MAIN_PROCESS_IP") or _first_slurm_host(env["SLURM_JOB_NODELIST"])
        per_node = shlex.join([*accelerate, "--main_process_ip", main_ip])
        rest = shlex.join(["-m", module, *stage_args])
        # $SLURM_NODEID must expand on each node, hence the inner shell.
        return ["srun", f"--nodes={machines}", "--ntasks-per-node=1", "bash", "-c",
                f"{per_node} --machine_rank $SLURM_NODEID {rest}"]
    if "MACHINE_RANK" not in env or "MAIN_PROCESS_IP" not in env:
        raise SystemExit(f"launch: {paper_config} spans {machines} nodes: run inside a SLURM allocation, or set "
                         "MACHINE_RANK and MAIN_PROCESS_IP and start this command on every node")
    return [*accelerate, "--machine_rank", env["MACHINE_RANK"], "--main_process_ip", env["MAIN_PROCESS_IP"],
            "-m", module, *stage_args]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="python -m dpo_vs_ppo.launch --paper-config CONFIG [--dry] -m MODULE ARGS...")
    p.add_argument("--paper-config", required=True, help="accelerate config of the paper profile (experiments/launch/)")
    p.add_argument("--dry", action="store_true", help="print the command instead of running it")
    if "-m" not in argv or argv.index("-m") + 1 >= len(argv):
        p.parse_args(argv)  # --help, or the error for a missing config
        p.error("-m MODULE is required: everything after it is the stage's own")
    split = argv.index("-m")
    args = p.parse_args(argv[:split])  # the stage's arguments never reach this parser
    module, stage_args = argv[split + 1], argv[split + 2:]
    profile = load_params(stage_params_file(stage_args)).profile
    machines = accelerate_config(args.paper_config)["num_machines"] if profile not in IN_PROCESS_PROFILES else 1
    command = resolve(profile, args.paper_config, module, stage_args, dict(os.environ), machines)
    if args.dry:
        print(shlex.join(command))
        return
    sys.stdout.flush()
    os.execvp(command[0], command)

if __name__ == "__main__":
    main()
