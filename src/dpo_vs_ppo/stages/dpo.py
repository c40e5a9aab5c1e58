"""Stage dpo: Direct Preference Optimisation from an SFT checkpoint (TRL DPOTrainer).

The reference model is a frozen copy of the starting policy (paper Eq. 7), loaded explicitly.
"""

from __future__ import annotations

import time

from .. import trl_bridge
from ..data.records import CodeProblem, DataError, PreferencePair, read_records
from ..models import load_policy
from ..training.code_training import solution_pairs
from ..training.datasets import preference_dataset
from ..training.step_log import StepLogCallback, last_value
from ._cli import main_with_config_errors, parser
from ._training import (add_training_arguments, filtered_pairs, load_training, loaded_as_shards, save_checkpoint,
                        tokenizer_for, write_run_records)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--train", required=True, metavar="JSONL", help="preference pairs, or code problems (with --solution-pairs)")
    p.add_argument("--solution-pairs", action="store_true",
                   help="--train holds code problems: pair their correct and incorrect programs (CodeContests)")
    p.add_argument("--init", required=True, metavar="DIR", help="the starting policy (an SFT checkpoint); also the reference")
    add_training_arguments(p, "dpo", "where to write the final loss, reward margin and accuracy")
    args = p.parse_args(argv)
    params, exp = load_training(args, "dpo")

    start = time.perf_counter()
    tokenizer = tokenizer_for(args.models)
    if args.solution_pairs:
        pairs, dropped = solution_pairs(read_records(args.train, CodeProblem)), {}
        if not pairs:
            raise DataError(args.train, "incorrect_solutions", None, "no problem has both a correct and an incorrect program")
    else:
        pairs, dropped = filtered_pairs(args, exp.settings.pair_filter)
    trainer, log, loaded = train_dpo(exp.settings, args.init, tokenizer, pairs, args.out)
    save_checkpoint(trainer, tokenizer, args.out)
    metrics = {**dpo_metrics(trainer, log, pairs), "pair_filter": exp.settings.pair_filter, "pairs_dropped": dropped}
    write_run_records(args, params, exp, trainer, log.rows, metrics, start, extra=loaded)
    trainer.accelerator.print(f"dpo: {len(pairs)} pairs, loss {metrics['final_loss']:.4f}, "
                              f"reward margin {metrics['final_reward_margin']:.3f}")


def train_dpo(settings, init: str, tokenizer, pairs: list[PreferencePair], out: str):
    """DPO from the checkpoint ``init`` with a frozen copy of it as reference; returns the trainer, the step
    log, and how the models were loaded (for run.json)."""
    log = StepLogCallback()
    config = trl_bridge.dpo_config(settings, out)  # before loading: ZeRO-3 then loads shards (trl_bridge)
    policy, reference = load_policy(init), load_policy(init)
    loaded = loaded_as_shards(policy, reference)
    trainer = trl_bridge.dpo_trainer(settings, policy, reference, tokenizer, preference_dataset(pairs), out, [log],
                                     config)
    trainer.train()
    return trainer, log, loaded


def dpo_metrics(trainer, log: StepLogCallback, pairs: list) -> dict:
    return {"pairs": len(pairs), "optimizer_steps": trainer.state.global_step,
            "final_loss": last_value(log.rows, "loss"),
            "final_reward_margin": last_value(log.rows, "rewards/margins"),
            "final_reward_accuracy": last_value(log.rows, "rewards/accuracies")}


if __name__ == "__main__":
    main_with_config_errors(main)
