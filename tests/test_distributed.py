"""Two CPU processes (gloo) through `accelerate launch`, as the paper profile launches on GPUs: DPO and
PPO must run as one synchronised job (global batch = 2 x local, identical weights on both ranks), and
a launch that accelerate would silently split into unsynchronised copies must be refused."""

import json
import os
import socket
import subprocess

import pytest
import yaml

from conftest import BIN, REPO
from tiny_models import build_tiny_models, write_pairs

pytestmark = pytest.mark.slow
LAUNCH = ["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
          "--mixed_precision", "no", "--dynamo_backend", "no"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("dist")
    build_tiny_models(cwd / "models")
    write_pairs(cwd / "pairs.jsonl", copies=4)  # 32 distinct prompts: a full rollout batch on each rank
    (cwd / "params.yaml").write_text("profile: tiny\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    for name, changes in {"ppo": dict(rollout_batch_size=16, per_device_batch_size=2, prompt_epochs=2.0,
                                      response_length=8),
                          "dpo": dict(max_length=96)}.items():
        data = yaml.safe_load((REPO / f"experiments/{name}_dialogue.yaml").read_text())
        data.pop("profiles")
        data["settings"].update(changes)
        if name == "dpo":
            data["settings"]["optim"].update(per_device_batch_size=4, epochs=1)
        (cwd / f"{name}.yaml").write_text(yaml.safe_dump(data))
    return cwd


def free_port() -> int:
    """A port nothing listens on now: a fixed one let two runs of this file (or a killed run's leftover
    processes) join each other's process group, and a rank died mid-run."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(cwd, stage: str, extra: list[str], use_cpu: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    env.pop("ACCELERATE_USE_CPU", None)
    if use_cpu:
        env["ACCELERATE_USE_CPU"] = "1"
    cmd = [*LAUNCH, "--main_process_port", str(free_port()), "-m", f"dpo_vs_ppo.stages.{stage}", "--params", "params.yaml",
           "--experiment", f"{stage}.yaml", "--models", "models", "--out", f"out_{stage}", "--steps", f"{stage}.csv",
           "--metrics", f"{stage}_metrics.json", "--run-info", f"{stage}_run.json", *extra]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_ppo_in_two_processes_is_one_synchronised_run(workdir):
    proc = launch(workdir, "ppo", ["--prompts", "pairs.jsonl", "--policy", "models/policy",
                                         "--reward", "models/reward", "--resume-dir", "resume"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads((workdir / "ppo_run.json").read_text())
    assert run["world_size"] == 2 and run["ranks_in_sync"] is True
    assert run["derived"]["batch_size"] == 16 == 2 * run["derived"]["local_batch_size"]
    assert json.loads((workdir / "ppo_metrics.json").read_text())["optimizer_steps"] == 4 * 4  # 4 updates x 4 minibatches


def test_dpo_in_two_processes_is_one_synchronised_run(workdir):
    proc = launch(workdir, "dpo", ["--train", "pairs.jsonl", "--init", "models/policy"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads((workdir / "dpo_run.json").read_text())
    assert run["world_size"] == 2 and run["ranks_in_sync"] is True
    assert run["derived"]["global_batch_size"] == 8 == 2 * run["derived"]["per_device_batch_size"]
    assert json.loads((workdir / "dpo_metrics.json").read_text())["optimizer_steps"] == 32 // 8


def test_a_cpu_launch_without_accelerate_use_cpu_is_refused_not_split(workdir):
    proc = launch(workdir, "ppo", ["--prompts", "pairs.jsonl", "--policy", "models/policy",
                                         "--reward", "models/reward", "--resume-dir", "resume2"], use_cpu=False)
    assert proc.returncode != 0
    assert "config error: environment: ACCELERATE_USE_CPU: launched with WORLD_SIZE=2 but accelerate sees 1" in proc.stderr
