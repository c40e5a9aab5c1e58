"""GPU check of the paper profile's code path at reduced size: does every stage run, how fast, in how much memory.

    python -m dpo_vs_ppo.benchmarks.paper_path [--out DIR] [--layers 20] [--gpus 1] [--timeout 240]

In a scratch folder, with nothing from the hub, it builds the tiny dialogue tokenizer, 128 templated
prompts with preference pairs, and a random-init Llama-2-layout policy and scalar model (hidden 2048,
MLP 5504, 16 heads, 20 layers: about 1.0 B parameters). Then it runs the stages through the project's own
launcher at profile ``paper`` (``accelerate launch``, DeepSpeed ZeRO-3 from experiments/launch/, bf16),
with the paper profile's settings cut to a few steps:

  sft -> reward -> ppo (all three factors, 3 updates of 64 rollouts x 128 tokens) -> dpo -> evaluate_policy
  (generate 128 responses of up to 128 tokens, score them with the learned reward model), and two KL
  sanity runs of PPO with a frozen reference: learning rate 0 (nothing trains, so the KL to the reference
  must stay at 0 at every update) and the paper's learning rate.

It prints, per stage: wall time (start-up included), the stage's own time, response tokens/s, model
FLOP utilisation (6N FLOPs per trained token, 2N per forward or sampled token, over the GPUs' dense bf16
peak), peak GPU memory, and PPO's seconds per update and their share in generation; then the KL rows.
Each stage has its own timeout, so one failure cannot eat the others' time; a stage whose input failed is
skipped. Without a GPU it says so and exits 0 (``--allow-cpu --layers 1 --hidden 64`` checks the wiring).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from .ppo_update import THINGS

REPO = Path(__file__).resolve().parents[3]
#: The launcher execs `accelerate` from PATH: this interpreter's, even without an activated venv.
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
#: Dense bf16 peak FLOP/s by GPU name (vendors' data sheets); --peak-tflops overrides.
PEAKS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", metavar="DIR", help="scratch folder (default: a new temporary one, kept for inspection)")
    p.add_argument("--layers", type=int, default=20, help="decoder layers (20: about 1.0 B parameters)")
    p.add_argument("--hidden", type=int, default=2048, help="hidden size (MLP 2.6875x, heads hidden/128, as Llama-2)")
    p.add_argument("--gpus", type=int, default=1, help="processes of the accelerate config (one per GPU)")
    p.add_argument("--timeout", type=int, default=240, help="seconds each stage may run")
    p.add_argument("--peak-tflops", type=float, help="dense bf16 peak per GPU (default: from the GPU's name)")
    p.add_argument("--allow-cpu", action="store_true", help="run without a GPU (a wiring check; figures meaningless)")
    args = p.parse_args(argv)
    import torch

    if not torch.cuda.is_available() and not args.allow_cpu:
        print("paper_path: no GPU here (torch.cuda.is_available() is False); nothing to measure. "
              "Run it on a machine with an accelerator, or pass --allow-cpu to check the wiring.")
        return 0
    work = Path(args.out or tempfile.mkdtemp(prefix="paper-path-"))
    work.mkdir(parents=True, exist_ok=True)
    n = prepare(work, args)
    peak = (args.peak_tflops * 1e12 if args.peak_tflops else gpu_peak()) * max(args.gpus, 1)
    print(f"paper_path: {n:,} policy parameters, {args.gpus} process(es), work folder {work}", flush=True)
    results = [run_stage(work, stage, args.timeout) for stage in STAGES]
    print(table(work, results, n, peak))
    print(kl_table(work))
    return 0 if all(r["status"] == "ok" for r in results) else 1


def gpu_peak() -> float:
    import torch

    if not torch.cuda.is_available():
        return float("nan")
    name = torch.cuda.get_device_name(0)
    return next((peak for key, peak in PEAKS.items() if key in name), float("nan"))


# ----------------------------------------------------------------------------- the scratch study


def prepare(work: Path, args) -> int:
    """Data, models, experiment overlays and the accelerate config; returns the policy's parameter count."""
    from ..data.records import PreferencePair
    from ..models import build_family
    from ..records import to_plain
    from ..settings.models import LlamaSize, ModelFamily

    prompts = [f"\n\nHuman: how do i make {t} , step {k} ?\n\nAssistant:" for k in range(8) for t in THINGS]
    pairs = [PreferencePair(prompt=q, chosen=f" first find {t} things . then make {t} slowly . i hope this helps .",
                            rejected=" no .", source=f"bench/{i}", rule="annotator")
             for i, (q, t) in enumerate(zip(prompts, THINGS * 8))]
    (work / "pairs.jsonl").write_text("".join(json.dumps(to_plain(x)) + "\n" for x in pairs))
    size = LlamaSize(hidden_size=args.hidden, intermediate_size=int(args.hidden * 2.6875),
                     num_hidden_layers=args.layers, num_attention_heads=max(1, args.hidden // 128),
                     num_key_value_heads=max(1, args.hidden // 128), max_position_embeddings=512)
    family = ModelFamily(origin="build", policy_id="", reward_id="", vocab_size=512, init_seed=0, size=size)
    refs = build_family(family, [x.prompt + x.chosen for x in pairs] + [" no ."], work / "models")
    (work / "models" / "model_refs.json").write_text(json.dumps(refs))
    (work / "params.yaml").write_text("profile: paper\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    for name, (source, changes) in OVERLAYS.items():
        paper_experiment(work, source, name, changes)
    paper_experiment(work, "evaluate_dialogue", "evaluate_dialogue", LEARNED_SCORERS)
    accelerate_config(work, args.gpus)
    from safetensors import safe_open

    with safe_open(str(work / "models" / "policy" / "model.safetensors"), "pt") as f:
        return sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())


SUPERVISED = {"per_device_batch_size": 8, "gradient_accumulation_steps": 1, "epochs": 1}  # bf16: the paper value
PPO = {"rollout_batch_size": 64, "num_mini_batches": 4, "per_device_batch_size": 4, "response_length": 128,
       "prompt_epochs": 1.5, "save_every": 100}  # 128 prompts x 1.5 / 64 = 3 updates; no resume saves
OVERLAYS = {  # file written -> (experiment it resolves at paper, changes to those settings)
    "sft_dialogue": ("sft_dialogue", {"optim": SUPERVISED, "max_length": 256}),
    "reward_dialogue": ("reward_dialogue", {"optim": SUPERVISED, "max_length": 256}),
    "dpo_dialogue": ("dpo_dialogue", {"optim": SUPERVISED, "max_length": 256}),
    "ppo_dialogue": ("ppo_dialogue", PPO),
    "ppo_dialogue_lr0": ("ppo_dialogue", {**PPO, "actor_learning_rate": 0.0, "critic_learning_rate": 0.0,
                                          "ref_ema": False, "prompt_epochs": 1.0}),
    "ppo_dialogue_frozen": ("ppo_dialogue", {**PPO, "ref_ema": False, "prompt_epochs": 1.0}),
    "generate_dialogue": ("generate_dialogue", {"max_new_tokens": 128, "batch_size": 64}),
}


#: The paper's evaluation scorers are 7B hub models: the learned reward model (the reward stage's output,
#: folder ``reward``) stands in for both.
LEARNED_SCORERS = {"reward": {"scorer": "learned_reward", "model": "reward"},
                   "cost": {"scorer": "learned_cost", "model": "reward"}}


def paper_experiment(work: Path, source: str, name: str, changes: dict) -> Path:
    """``experiments/<source>.yaml`` as the paper profile resolves it (base and overlays applied), then
    ``changes`` (sizes cut to a check), written as ``<work>/<name>.yaml`` with nothing left to overlay."""
    from ..experiment import load_experiment
    from ..records import to_plain

    exp = load_experiment(REPO / "experiments" / f"{source}.yaml", "paper")
    data = {"title": exp.title, "paper_ref": exp.paper_ref, "stage": exp.stage,
            "settings": _merged(to_plain(exp.settings), changes)}
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def accelerate_config(work: Path, processes: int) -> Path:
    """The 7B accelerate + DeepSpeed ZeRO-3 config of experiments/launch/, cut to ``processes`` processes."""
    config = yaml.safe_load((REPO / "experiments/launch/accelerate_zero3_7b.yaml").read_text())
    config["num_processes"] = processes
    config["deepspeed_config"]["deepspeed_config_file"] = str(REPO / "experiments/launch/zero3_llama2_7b.json")
    path = work / "accelerate.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _merged(base: dict, overlay: dict) -> dict:
    return {**base, **{k: _merged(base[k], v) if isinstance(v, dict) else v for k, v in overlay.items()}}


def _train(stage: str, experiment: str, out: str, *extra: str) -> dict:
    command = ["-m", f"dpo_vs_ppo.stages.{stage}", "--params", "params.yaml", "--experiment", f"{experiment}.yaml",
               "--models", "models", "--out", out, "--steps", f"{out}.csv", "--metrics", f"{out}.json",
               "--run-info", f"{out}_run.json", *extra]
    return {"name": out, "kind": stage, "needs": [a for a in extra if a in ("sft", "reward", "ppo")],
            "command": [sys.executable, "-m", "dpo_vs_ppo.launch", "--paper-config", "accelerate.yaml", *command]}


_PPO_ARGS = ("--prompts", "pairs.jsonl", "--policy", "sft", "--reward", "reward")
STAGES = [
    _train("sft", "sft_dialogue", "sft", "--train", "pairs.jsonl", "--chosen-of-pairs"),
    _train("reward", "reward_dialogue", "reward", "--train", "pairs.jsonl", "--test", "pairs.jsonl"),
    _train("ppo", "ppo_dialogue", "ppo", *_PPO_ARGS, "--resume-dir", "resume_ppo"),
    _train("dpo", "dpo_dialogue", "dpo", "--train", "pairs.jsonl", "--init", "sft"),
    {"name": "evaluate", "kind": "evaluate_policy", "needs": ["ppo", "reward"],
     "command": [sys.executable, "-m", "dpo_vs_ppo.stages.evaluate_policy", "--params", "params.yaml",
                 "--seed-list", "seeds", "--generate-experiment", "generate_dialogue.yaml",
                 "--experiment", "evaluate_dialogue.yaml", "--policy", "ppo", "--prompts", "pairs.jsonl",
                 "--samples-dir", "samples", "--metrics", "evaluate.json", "--run-info", "evaluate_run.json"]},
    _train("ppo", "ppo_dialogue_lr0", "ppo_lr0", *_PPO_ARGS, "--resume-dir", "resume_lr0"),
    _train("ppo", "ppo_dialogue_frozen", "ppo_frozen", *_PPO_ARGS, "--resume-dir", "resume_frozen"),
]


def run_stage(work: Path, stage: dict, timeout: int) -> dict:
    missing = [need for need in stage["needs"] if not (work / need / "config.json").is_file()]
    if missing:
        return {**stage, "status": f"skipped (no {', '.join(missing)})", "wall_s": 0.0}
    print(f"paper_path: {stage['name']} ...", flush=True)
    started = time.perf_counter()
    try:
        proc = subprocess.run(stage["command"], cwd=work, capture_output=True, text=True, timeout=timeout, env=ENV)
        status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        log = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as err:
        status, log = f"timeout ({timeout} s)", (err.stdout or b"").decode() + (err.stderr or b"").decode()
    (work / f"{stage['name']}.log").write_text(log)
    if status != "ok":
        print(f"paper_path: {stage['name']} {status}; last lines of {work / (stage['name'] + '.log')}:\n"
              + "\n".join(log.splitlines()[-15:]), flush=True)
    return {**stage, "status": status, "wall_s": time.perf_counter() - started}


# ----------------------------------------------------------------------------- the tables


def measures(work: Path, result: dict, n: int) -> dict:
    """The stage's own time, FLOPs, response tokens and peak memory, from the records it wrote."""
    name, kind = result["name"], result["kind"]
    run = _read(work / f"{name}_run.json")
    metrics = _read(work / f"{name}.json")
    own = run.get("wall_time_s", float("nan"))
    tokens, flops = 0.0, float("nan")
    if kind == "ppo":
        tokens = metrics.get("response_tokens", 0)
        s = run.get("resolved_settings", {})
        episodes, sequence = metrics.get("updates", 0) * s.get("rollout_batch_size", 0), 2 * s.get("response_length", 0)
        # sample; forward policy, reference, reward, value; train policy and value (seq: prompt ~ response)
        flops = 2 * n * tokens + episodes * sequence * (4 * 2 * n + 2 * 6 * n * s.get("ppo_epochs", 1))
    elif kind in ("sft", "reward", "dpo"):
        s = run.get("resolved_settings", {})
        examples = metrics.get("examples") or metrics.get("pairs") or 0
        trained = examples * s.get("max_length", 0) * (1 if kind == "sft" else 2)  # padded-length upper bound
        flops = (8 if kind == "dpo" else 6) * n * trained
    elif kind == "evaluate_policy":
        tokens = sum(seed.get("generated_tokens", 0) for seed in metrics.get("per_seed", {}).values())
        flops = 2 * n * tokens + 2 * 2 * n * 2 * tokens  # sample, then two scorers read prompt + response
    timings = run.get("update_timings") or []
    later = timings[1:] or timings  # the first update includes warm-up
    per_update = sum(t["wall_s"] for t in later) / len(later) if later else None
    generating = sum(t["generate_s"] for t in later) / sum(t["wall_s"] for t in later) if later else None
    return {"own_s": own, "tokens_per_s": tokens / own if tokens and own else None, "flops": flops,
            "memory_gib": run.get("peak_gpu_memory_gib"), "s_per_update": per_update, "generate_share": generating}


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _cell(value, spec: str) -> str:
    return "-" if value is None or value != value else format(value, spec)


def table(work: Path, results: list[dict], n: int, peak: float) -> str:
    lines = ["| stage | status | wall s | own s | response tok/s | MFU | peak GiB | s/update | in generation |",
             "|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        m = measures(work, result, n) if result["status"] == "ok" else {}
        mfu = m.get("flops", float("nan")) / (m["own_s"] * peak) if m else None
        lines.append(f"| {result['name']} | {result['status']} | {result['wall_s']:.1f} | {_cell(m.get('own_s'), '.1f')} "
                     f"| {_cell(m.get('tokens_per_s'), '.0f')} | {_cell(mfu, '.1%')} | {_cell(m.get('memory_gib'), '.1f')} "
                     f"| {_cell(m.get('s_per_update'), '.2f')} | {_cell(m.get('generate_share'), '.0%')} |")
    return "\n".join(lines)


def kl_table(work: Path) -> str:
    """Per-sequence KL to the reference at each update (objective/kl), and the per-token approx-KL."""
    import csv

    lines = ["| PPO run | update | KL to reference (per sequence) | approx-KL (per token) | mean response length |",
             "|---|---|---|---|---|"]
    for name in ("ppo_lr0", "ppo_frozen", "ppo"):
        path = work / f"{name}.csv"
        if path.is_file():
            with open(path) as handle:
                for row in csv.DictReader(handle):
                    lines.append(f"| {name} | {row['update']} | {float(row['objective/kl']):.4f} | "
                                 f"{float(row['policy/approxkl_avg']):.5f} | {float(row['response/mean_length']):.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
