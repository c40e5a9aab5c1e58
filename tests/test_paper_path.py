"""The paper profile's code path in miniature, on CPU: every training stage kind started by the project's
launcher at profile ``paper``, so through ``accelerate launch`` with the 7B DeepSpeed ZeRO-3 config (cut
to one CPU process) and ``bf16: true``, on a tiny Llama; then generation and evaluation of its output.

On a GPU this path failed while PPO's trainer was built, trained PPO in fp32, saved zero-element
checkpoints and crashed on the sharded EMA reference (issue 15). Each of those reproduces in one CPU
process, so each is asserted here: the run finishes, the engine holds bf16 weights, optimizer steps are
epochs x minibatches, and the checkpoint reloads whole. DeepSpeed would JIT-build its CPU shared-memory comm op
at start (about 90 s on 2 cores, once per environment); one process never uses it, so the stages skip it, and
each run here checks that nothing was built (training/runtime.py).
"""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import BIN
from dpo_vs_ppo.benchmarks.paper_path import LEARNED_SCORERS, accelerate_config, paper_experiment
from dpo_vs_ppo.records import to_plain
from tiny_models import build_tiny_models, write_pairs

pytestmark = pytest.mark.slow
PROMPTS = 32  # write_pairs(copies=4): 32 distinct prompts and 32 pairs
BATCH = 4  # supervised per-device batch, one process, no accumulation
SUPERVISED = {"per_device_batch_size": BATCH, "gradient_accumulation_steps": 1, "epochs": 1}
SMALL = {  # per experiment: its paper-profile settings (bf16 included), with these tiny sizes
    "sft_dialogue": {"optim": SUPERVISED, "max_length": 96},
    "reward_dialogue": {"optim": SUPERVISED, "max_length": 96},
    "dpo_dialogue": {"optim": SUPERVISED, "max_length": 96},
    "dpo_iter_dialogue": {"dpo": {"optim": SUPERVISED, "max_length": 96}, "responses_per_prompt": 2,
                          "max_new_tokens": 8, "generation_batch_size": 16},
    "ppo_dialogue": {"rollout_batch_size": 16, "per_device_batch_size": 2, "prompt_epochs": 4.0,
                     "response_length": 8, "save_every": 2},
    "generate_dialogue": {"max_new_tokens": 8, "max_prompts": 8, "batch_size": 8},
    "ppo_code": {"rollout_batch_size": 8, "per_device_batch_size": 2, "prompt_epochs": 1.0, "response_length": 8},
}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("paper_path")
    build_tiny_models(cwd / "models")
    write_pairs(cwd / "pairs.jsonl", copies=4)
    (cwd / "params.yaml").write_text("profile: paper\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    for name, changes in SMALL.items():  # hub models and datasets are not here: the tiny ones stand in
        paper_experiment(cwd, name, name, changes)
    paper_experiment(cwd, "evaluate_dialogue", "evaluate_dialogue",
                     {k: {**v, "model": "out_reward"} for k, v in LEARNED_SCORERS.items()})
    accelerate_config(cwd, 1)
    return cwd


def _env(cwd) -> dict:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "OMP_NUM_THREADS": "2",
           "TORCH_EXTENSIONS_DIR": str(cwd / "torch_extensions")}
    for key in ("ACCELERATE_USE_CPU", "ACCELERATE_MIXED_PRECISION", "WORLD_SIZE", "RANK", "LOCAL_RANK"):
        env.pop(key, None)
    return env


def stage_command(stage: str, experiment: str, out: str, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "dpo_vs_ppo.launch", "--paper-config", "accelerate.yaml",
            "-m", f"dpo_vs_ppo.stages.{stage}", "--params", "params.yaml", "--experiment", f"{experiment}.yaml",
            "--models", "models", "--out", out, "--steps", f"{out}.csv", "--metrics", f"{out}_metrics.json",
            "--run-info", f"{out}_run.json", *extra]


def run(cwd, command: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, cwd=cwd, env=_env(cwd), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    built = cwd / "torch_extensions"
    assert not built.exists() or not any(built.rglob("*.so")), sorted(built.rglob("*.so"))  # no op was JIT-built
    return proc


def records(cwd, out: str) -> tuple[dict, dict, list[dict]]:
    with open(cwd / f"{out}.csv") as handle:
        rows = list(csv.DictReader(handle))
    return (json.loads((cwd / f"{out}_metrics.json").read_text()), json.loads((cwd / f"{out}_run.json").read_text()),
            rows)


def kill_tree(pid: int) -> None:
    """kill -9 a process and every descendant (a dependency of accelerate provides psutil)."""
    import psutil

    root = psutil.Process(pid)
    tree = [root, *root.children(recursive=True)]
    for process in tree:
        process.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree[1:], timeout=30)


def assert_whole_checkpoint(folder, scalar: bool = False) -> None:
    """Every tensor has elements and the model reloads with nothing missing (ZeRO-3 shards were gathered)."""
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    tensors = load_file(folder / "model.safetensors")
    assert tensors and all(t.numel() > 0 for t in tensors.values()), [k for k, t in tensors.items() if not t.numel()]
    cls = AutoModelForSequenceClassification if scalar else AutoModelForCausalLM
    _, info = cls.from_pretrained(folder, output_loading_info=True, **({"num_labels": 1} if scalar else {}))
    assert not info["missing_keys"] and not info["mismatched_keys"], info


def assert_paper_run(run_info: dict) -> None:
    assert run_info["profile"] == "paper" and run_info["precision"] == "bfloat16"
    assert run_info["world_size"] == 1 and run_info["ranks_in_sync"] is True and run_info["zero_stage"] == 3
    assert run_info["loaded_as_zero3_shards"] is True  # not a whole fp32 copy per process first


@pytest.mark.parametrize("stage, experiment, extra, scalar", [
    ("sft", "sft_dialogue", ["--train", "pairs.jsonl", "--chosen-of-pairs"], False),
    ("reward", "reward_dialogue", ["--train", "pairs.jsonl", "--test", "pairs.jsonl"], True),
    ("dpo", "dpo_dialogue", ["--train", "pairs.jsonl", "--init", "models/policy"], False),
])
def test_supervised_stages_train_in_bf16_under_zero3_and_save_whole_checkpoints(work, stage, experiment, extra, scalar):
    run(work, stage_command(stage, experiment, f"out_{stage}", extra))
    metrics, run_info, rows = records(work, f"out_{stage}")
    assert_paper_run(run_info)
    assert metrics["optimizer_steps"] == math.ceil(PROMPTS / BATCH) == len([r for r in rows if "loss" in r and r["loss"]])
    assert_whole_checkpoint(work / f"out_{stage}", scalar)


def test_dpo_iter_round_samples_labels_and_trains_under_zero3(work):
    run(work, stage_command("dpo_iter", "dpo_iter_dialogue", "out_dpo_iter",
                            ["--prompts", "pairs.jsonl", "--policy", "models/policy", "--reward", "models/reward",
                             "--round", "1"]))
    metrics, run_info, _ = records(work, "out_dpo_iter")
    assert_paper_run(run_info)
    assert metrics["optimizer_steps"] == math.ceil(metrics["pairs"] / BATCH) and metrics["pairs"] > 0
    assert_whole_checkpoint(work / "out_dpo_iter")


def test_ppo_with_all_three_factors_survives_a_kill_and_resumes_under_zero3(work):
    command = stage_command("ppo", "ppo_dialogue", "out_ppo", ["--prompts", "pairs.jsonl", "--policy", "models/policy",
                                                              "--reward", "models/reward", "--resume-dir", "resume"])
    saved = work / "resume" / "latest" / "fingerprint.txt"
    first = subprocess.Popen(command, cwd=work, env=_env(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not saved.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    kill_tree(first.pid)  # torch's elastic agent starts the stage in a session of its own: a group kill misses it
    first.wait()
    assert saved.exists(), "the first attempt never saved a resume state"
    assert not (work / "out_ppo_metrics.json").exists()  # it really was interrupted

    proc = run(work, command)
    metrics, run_info, rows = records(work, "out_ppo")
    assert_paper_run(run_info)
    updates = 4 * PROMPTS // 16  # prompt_epochs 4 over 32 prompts, 16 per rollout
    assert metrics["resumed_from_update"] >= 2 and "resumed from update" in proc.stdout
    assert [int(r["update"]) for r in rows] == list(range(1, updates + 1))
    assert [int(r["episode"]) for r in rows] == [16 * u for u in range(1, updates + 1)]  # continues after the resume
    assert {int(r["optimizer_steps"]) for r in rows} == {1 * 4}  # paper: 1 PPO epoch x 4 minibatches per update
    assert metrics["whiten_advantages"] and metrics["ref_ema"] and metrics["num_mini_batches"] == 4
    distances = [float(r["ref/distance_from_sft"]) for r in rows]
    assert 0 < distances[0] and all(b > a for a, b in zip(distances, distances[1:])), distances  # the EMA moves, on
    attempts = run_info["attempt_wall_times_s"]
    assert len(attempts) == 2 and min(attempts) > 0 and run_info["wall_time_s"] == pytest.approx(sum(attempts))
    assert_whole_checkpoint(work / "out_ppo")
    assert not (work / "resume").exists()


def test_code_ppo_rewarded_by_the_sandbox_runs_under_zero3(work):
    """The code task's reward is a function, not a model: DeepSpeed must not wrap it (it did, and failed)."""
    from test_code_training import problem

    (work / "problems.jsonl").write_text("".join(json.dumps(to_plain(problem(f"p{i}", f"double {i}"))) + "\n"
                                                 for i in range(16)))
    run(work, stage_command("ppo", "ppo_code", "out_ppo_code", ["--prompts", "problems.jsonl", "--policy", "models/policy",
                                                               "--reward", "tests", "--value-init", "models/policy",
                                                               "--resume-dir", "resume_code"]))
    metrics, run_info, rows = records(work, "out_ppo_code")
    assert_paper_run(run_info)
    assert metrics["updates"] == 2 and {int(r["optimizer_steps"]) for r in rows} == {4}  # 16 problems / 8 per update
    assert all(0 <= float(r["reward/pass_rate"]) <= 1 for r in rows)
    assert_whole_checkpoint(work / "out_ppo_code")


def test_generate_and_evaluate_run_on_the_paper_path_outputs(work):
    if not all((work / out / "model.safetensors").is_file() for out in ("out_ppo", "out_reward")):
        pytest.skip("needs the PPO and reward tests' checkpoints")
    run(work, [sys.executable, "-m", "dpo_vs_ppo.stages.evaluate_policy", "--params", "params.yaml",
               "--seed-list", "seeds", "--generate-experiment", "generate_dialogue.yaml",
               "--experiment", "evaluate_dialogue.yaml", "--policy", "out_ppo", "--prompts", "pairs.jsonl",
               "--samples-dir", "samples", "--metrics", "eval.json", "--run-info", "eval_run.json"])
    evaluation = json.loads((work / "eval.json").read_text())
    assert evaluation["seeds"] == [0] and evaluation["per_seed"]["0"]["responses"] == 8
    samples = [json.loads(line) for line in (work / "samples" / "s0.jsonl").read_text().splitlines()]
    assert len(samples) == 8
