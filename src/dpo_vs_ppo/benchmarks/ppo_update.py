"""Benchmark: time per PPO update of one tiny config, through stock TRL and through our stage's trainer.

    python -m dpo_vs_ppo.benchmarks.ppo_update [--updates 30] [--rounds 2] [--profile tiny]

Builds the dialogue family's tiny models (experiments/models.yaml) from a templated corpus in a
temporary folder, then runs the PPO settings of experiments/ppo_dialogue.yaml for ``--updates``
updates in three arms, each in a fresh process so that no arm inherits another's heap, interleaved
(A B C A B C ...) for ``--rounds`` rounds so that a noisy neighbour on a shared machine hits every arm:

* ``stock``: TRL's PPOTrainer as shipped, given the same fields (it ignores ours: one optimizer step per
  PPO epoch instead of per minibatch, no top-k, no reward clip, frozen reference);
* ``stock+gc.freeze``: the same, with ``gc.collect(); gc.freeze()`` before ``train()``: the one speed
  change of ours, alone, so the table says where a speed-up comes from;
* ``ours``: our trainer (trl_bridge.PaperPPOTrainer) as the stage runs it, with the paper's additions.

Per-update wall time is taken between successive ``on_step_end`` callbacks; the first two updates
(warm-up) are dropped. Prints per arm the median and mean over every round's updates and the optimizer
steps each update took (a different count is different work, not a different speed).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
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
    steps = [0]

    class Clock(TrainerCallback):
        def on_step_end(self, *args, **kwargs):
            stamps.append(time.perf_counter())

    models = dict(model=load_policy(refs["policy"]), ref_model=load_policy(refs["policy"]),
                  reward_model=load_scalar_model(refs["reward"]), value_model=load_scalar_model(refs["reward"]),
                  processing_class=tokenizer, train_dataset=prompts, eval_dataset=None, callbacks=[Clock()])
    if arm == "ours":
        trainer = trl_bridge.PaperPPOTrainer(args=config, **models)
    else:
        trainer = trl_bridge.StockPPOTrainer(args=trl_bridge.stock_ppo_config(config), **models)
        trainer.optimizer.optimizer.register_step_post_hook(lambda *_: steps.__setitem__(0, steps[0] + 1))
        if arm == "stock+gc.freeze":
            gc.collect()
            gc.freeze()
    stamps.append(time.perf_counter())
    trainer.train()
    updates = len(stamps) - 1
    per_update = (trainer.optimizer_steps if arm == "ours" else steps[0]) / updates
    return {"seconds": [b - a for a, b in zip(stamps, stamps[1:])][2:], "optimizer_steps_per_update": per_update}


ARMS = ("stock", "stock+gc.freeze", "ours")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--updates", type=int, default=30, help="PPO updates per arm and round (the first 2 are not timed)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of the interleaved arms (A B C A B C ...)")
    p.add_argument("--profile", default="tiny", choices=("smoke", "tiny"), help="whose model and PPO sizes")
    p.add_argument("--arm", help=argparse.SUPPRESS)  # internal: run one arm and print its times as JSON
    p.add_argument("--refs", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.arm:
        print(json.dumps(run_arm(args.arm, json.loads(args.refs), args.profile, args.updates)))
        return
    times: dict[str, list[float]] = {arm: [] for arm in ARMS}
    steps: dict[str, set] = {arm: set() for arm in ARMS}
    with tempfile.TemporaryDirectory() as folder:
        refs = build_models(Path(folder), args.profile)
        for _ in range(args.rounds):
            for arm in ARMS:
                out = subprocess.run([sys.executable, "-m", __spec__.name, "--arm", arm, "--refs", json.dumps(refs),
                                      "--profile", args.profile, "--updates", str(args.updates)],
                                     capture_output=True, text=True, check=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
                times[arm] += result["seconds"]
                steps[arm].add(result["optimizer_steps_per_update"])
    print(f"PPO update time, profile {args.profile}, {args.rounds} interleaved rounds x {args.updates - 2} timed "
          "updates per arm (ms)")
    print(f"{'arm':<18}{'median':>10}{'mean':>10}{'optimizer steps / update':>27}")
    for arm in ARMS:
        counts = "/".join(f"{c:g}" for c in sorted(steps[arm]))
        print(f"{arm:<18}{1000 * statistics.median(times[arm]):>10.1f}{1000 * statistics.mean(times[arm]):>10.1f}"
              f"{counts:>27}")
    ours = statistics.median(times["ours"])
    for arm in ARMS[:2]:
        print(f"ratio {arm} / ours (median): {statistics.median(times[arm]) / ours:.2f}x")


if __name__ == "__main__":
    main()
