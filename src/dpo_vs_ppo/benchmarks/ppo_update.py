"""Benchmark: time per PPO update of one tiny config, through bare TRL and through our stage's trainer.

    python -m dpo_vs_ppo.benchmarks.ppo_update [--updates 30] [--profile tiny]

Builds the dialogue family's tiny models (experiments/models.yaml) from a templated corpus in a
temporary folder, then runs the PPO settings of experiments/ppo_dialogue.yaml for ``--updates``
updates in three arms, each in a fresh process so that no arm inherits another's heap:

* ``bare``: TRL's PPOTrainer as shipped, given the same fields (it ignores ours: one optimizer step per
  PPO epoch instead of per minibatch, no top-k, no reward clip, frozen reference);
* ``ours-no-gc-freeze``: our trainer (trl_bridge.PaperPPOTrainer) with the gc.freeze() speed-up off;
* ``ours``: our trainer as the stage runs it.

Per-update wall time is taken between successive ``on_step_end`` callbacks; the first two updates
(warm-up) are dropped. Prints the median and mean per arm and the ratio bare / ours.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THINGS = ["bread", "tea", "a kite", "a boat", "soup", "a garden", "a letter", "a song", "a chair", "a cake",
          "a map", "a lamp", "a shelf", "a poem", "a fire", "a mask"]
EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"


def corpus() -> tuple[list[str], list[str]]:
    prompts = [f"\n\nHuman: how do i make {t} , step {k} ?\n\nAssistant:" for k in range(8) for t in THINGS]
    texts = [p + f" first find {t} things . then make {t} slowly . i hope this helps ." for p, t in
             zip(prompts, THINGS * 8)]
    return prompts, texts


def build_models(folder: Path, profile: str) -> dict:
    from ..experiment import load_experiment
    from ..models import build_family

    family = load_experiment(EXPERIMENTS / "models.yaml", profile).settings.dialogue
    return build_family(family, corpus()[1], folder)


def run_arm(arm: str, refs: dict, profile: str, updates: int) -> list[float]:
    """One arm, in this process: per-update seconds."""
    import torch
    from transformers import TrainerCallback

    from .. import trl_bridge
    from ..experiment import load_experiment
    from ..models import load_policy, load_scalar_model, load_tokenizer
    from ..training.datasets import ppo_prompt_dataset

    torch.manual_seed(0)
    s = load_experiment(EXPERIMENTS / "ppo_dialogue.yaml", profile).settings
    tokenizer = load_tokenizer(refs["tokenizer"], padding_side="left")
    prompts = ppo_prompt_dataset(corpus()[0], tokenizer, 200)
    s = dataclasses.replace(s, prompt_epochs=updates * s.rollout_batch_size / len(prompts))
    config = trl_bridge.ppo_config(s, tempfile.mkdtemp(), 1, len(prompts))
    stamps: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, *args, **kwargs):
            stamps.append(time.perf_counter())

    models = dict(model=load_policy(refs["policy"]), ref_model=load_policy(refs["policy"]),
                  reward_model=load_scalar_model(refs["reward"]), value_model=load_scalar_model(refs["reward"]),
                  processing_class=tokenizer, train_dataset=prompts, eval_dataset=None, callbacks=[Clock()])
    if arm == "bare":
        trainer = trl_bridge.StockPPOTrainer(args=trl_bridge.stock_ppo_config(config), **models)
    else:
        trainer = trl_bridge.PaperPPOTrainer(args=config, **models)
        trainer.freeze_gc = arm == "ours"
    stamps.append(time.perf_counter())
    trainer.train()
    return [b - a for a, b in zip(stamps, stamps[1:])][2:]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--updates", type=int, default=30, help="PPO updates per arm (the first 2 are not timed)")
    p.add_argument("--profile", default="tiny", choices=("smoke", "tiny"), help="whose model and PPO sizes")
    p.add_argument("--arm", help=argparse.SUPPRESS)  # internal: run one arm and print its times as JSON
    p.add_argument("--refs", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.arm:
        print(json.dumps(run_arm(args.arm, json.loads(args.refs), args.profile, args.updates)))
        return
    with tempfile.TemporaryDirectory() as folder:
        refs = build_models(Path(folder), args.profile)
        times = {}
        for arm in ("bare", "ours-no-gc-freeze", "ours"):
            out = subprocess.run([sys.executable, "-m", __spec__.name, "--arm", arm, "--refs", json.dumps(refs),
                                  "--profile", args.profile, "--updates", str(args.updates)],
                                 capture_output=True, text=True, check=True).stdout
            times[arm] = json.loads(out.strip().splitlines()[-1])
    s_bare, s_ours = statistics.median(times["bare"]), statistics.median(times["ours"])
    print(f"PPO update time, profile {args.profile}, {args.updates - 2} timed updates per arm (ms)")
    print(f"{'arm':<20}{'median':>10}{'mean':>10}")
    for arm, values in times.items():
        print(f"{arm:<20}{1000 * statistics.median(values):>10.1f}{1000 * statistics.mean(values):>10.1f}")
    print(f"ratio bare / ours (median): {s_bare / s_ours:.2f}x")


if __name__ == "__main__":
    main()
