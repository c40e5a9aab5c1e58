"""Stage reward: a Bradley-Terry reward model on preference pairs (TRL RewardTrainer).

Starts from the scalar-head base model of ``--models`` (paper: Llama-2-7B with a score head). Reports
the training loss and the pairwise accuracy on ``--test`` pairs (chosen scored above rejected).
"""

from __future__ import annotations

import time

from ..data.records import PreferencePair, read_records
from ._cli import main_with_config_errors, parser
from ._training import add_training_arguments, load_training, seed_process


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--train", required=True, metavar="JSONL", help="preference pairs to fit")
    p.add_argument("--test", required=True, metavar="JSONL", help="held-out pairs for the accuracy")
    add_training_arguments(p, "reward", "where to write loss and held-out pairwise accuracy")
    args = p.parse_args(argv)
    params, exp = load_training(args, "reward")
    train(args, params, exp)


def train(args, params, exp) -> None:
    # The training stack is imported only now, after the config check (stages/_cli.py).
    from .. import trl_bridge
    from ..models import load_scalar_model
    from ..training.datasets import preference_dataset
    from ..training.run_records import (filtered_pairs, loaded_as_shards, model_refs, save_checkpoint, tokenizer_for,
                                        write_run_records)
    from ..training.sampling import score_responses
    from ..training.step_log import StepLogCallback, last_value

    seed_process(exp.settings.seed)

    s, start = exp.settings, time.perf_counter()
    tokenizer = tokenizer_for(args.models)
    config = trl_bridge.reward_config(s, args.out)  # before loading: ZeRO-3 then loads shards (trl_bridge)
    model = load_scalar_model(model_refs(args.models)["reward"])
    loaded = loaded_as_shards(model)
    pairs, dropped = filtered_pairs(args, s.pair_filter)
    log = StepLogCallback()
    trainer = trl_bridge.reward_trainer(s, model, tokenizer, preference_dataset(pairs), args.out, [log], config)
    trainer.train()
    save_checkpoint(trainer, tokenizer, args.out)
    test = read_records(args.test, PreferencePair)
    model = trainer.accelerator.unwrap_model(trainer.model)
    prompts = [t.prompt for t in test]
    chosen = score_responses(model, tokenizer, prompts, [t.chosen for t in test], batch_size=64)
    rejected = score_responses(model, tokenizer, prompts, [t.rejected for t in test], batch_size=64)
    accuracy = sum(c > r for c, r in zip(chosen, rejected)) / len(test)
    metrics = {"pairs": len(pairs), "optimizer_steps": trainer.state.global_step,
               "final_loss": last_value(log.rows, "loss"),
               "pair_filter": s.pair_filter, "pairs_dropped": dropped, "test_pairs": len(test), "test_accuracy": round(accuracy, 4)}
    write_run_records(args, params, exp, trainer, log.rows, metrics, start, extra=loaded)
    trainer.accelerator.print(f"reward: {len(pairs)} pairs, loss {metrics['final_loss']:.4f}, "
                              f"held-out accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
