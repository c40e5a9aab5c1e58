"""Benchmark: one training stage's fixed cost, started cold (a fresh interpreter imports torch, transformers
and TRL) and warm (handed to a fork of a process that has imported them, warm.py).

    python -m dpo_vs_ppo.benchmarks.warm_start [--rounds 3]

Builds the dialogue family's tiny models and 64 preference pairs in a temporary folder, starts a warm-start
server for it, then runs the reward stage (experiments/reward_dialogue.yaml at tiny) with the command line
DVC would use, interleaved cold / warm for ``--rounds`` rounds so a noisy neighbour hits both arms. Prints each
run's wall time, the time the stage itself measured (run.json ``wall_time_s``, from its config check to its
records) and the difference, which is the start-up: interpreter, imports, process exit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .ppo_update import EXPERIMENTS, build_models, corpus

PARAMS = "profile: tiny\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n"


def setup(folder: Path) -> None:
    refs = build_models(folder / "models", "tiny")
    (folder / "models" / "model_refs.json").write_text(json.dumps(refs))  # as the models stage writes it
    prompts, texts = corpus()
    rows = [{"prompt": p, "chosen": t[len(p):], "rejected": " no .", "source": f"bench/{i}", "rule": "annotator"}
            for i, (p, t) in enumerate(zip(prompts, texts))]
    (folder / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "params.yaml").write_text(PARAMS)


def run_stage(folder: Path, env: dict, out: str) -> tuple[float, float]:
    """(wall seconds of the whole process, seconds the stage measured itself)."""
    cmd = [sys.executable, "-m", "dpo_vs_ppo.stages.reward", "--params", "params.yaml",
           "--experiment", str(EXPERIMENTS / "reward_dialogue.yaml"), "--train", "pairs.jsonl", "--test", "pairs.jsonl",
           "--models", "models", "--out", f"{out}/ck", "--steps", f"{out}/steps.csv", "--metrics", f"{out}/metrics.json",
           "--run-info", f"{out}/run.json"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return wall, json.loads((folder / out / "run.json").read_text())["wall_time_s"]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="cold / warm pairs to run (default 3)")
    args = p.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="warm-start-bench-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    setup(folder)
    subprocess.run([sys.executable, "-m", "dpo_vs_ppo.warm", "start", "--wait"], cwd=folder, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    results: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
    print(f"{'arm':<6} {'wall s':>7} {'stage s':>8} {'start-up s':>11}")
    for i in range(args.rounds):
        for arm in ("cold", "warm"):
            arm_env = {**env, "DPO_VS_PPO_WARM": "0"} if arm == "cold" else env
            wall, inner = run_stage(folder, arm_env, f"{arm}{i}")
            results[arm].append((wall, inner))
            print(f"{arm:<6} {wall:7.2f} {inner:8.2f} {wall - inner:11.2f}", flush=True)
    for arm, runs in results.items():
        print(f"{arm}: median wall {statistics.median(w for w, _ in runs):.2f} s, median start-up "
              f"{statistics.median(w - s for w, s in runs):.2f} s")


if __name__ == "__main__":
    main()
