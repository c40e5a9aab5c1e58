"""Stage sft: supervised fine-tuning of a policy on prompt-completion records (TRL SFTTrainer).

Starts from the base policy of ``--models`` or from ``--init`` (a checkpoint of an earlier stage, e.g.
SFT (Safe) continues SFT (Alpaca), paper Sec. 4.3). Writes the model and tokenizer to ``--out``.
"""

from __future__ import annotations

import time

from ..data.records import CodeProblem, PreferencePair, SFTExample, read_records
from ._cli import main_with_config_errors, parser
from ._training import add_training_arguments, load_training, seed_process


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--train", required=True, nargs="+", metavar="JSONL", help="SFT records (prepare stage), concatenated")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--chosen-of-pairs", action="store_true",
                      help="--train holds preference pairs: imitate their chosen responses (HH-RLHF's SFT data)")
    kind.add_argument("--solutions-of-problems", action="store_true",
                      help="--train holds code problems: imitate their Python solutions (APPS, CodeContests)")
    p.add_argument("--init", metavar="DIR", help="start from this checkpoint instead of the base policy")
    add_training_arguments(p, "sft", "where to write final loss and sizes")
    args = p.parse_args(argv)
    params, exp = load_training(args, "sft")
    train(args, params, exp)


def train(args, params, exp) -> None:
    # The training stack is imported only now, after the config check (stages/_cli.py).
    from .. import trl_bridge
    from ..models import load_policy
    from ..training.datasets import sft_dataset
    from ..training.run_records import (loaded_as_shards, model_refs, save_checkpoint, tokenizer_for,
                                        write_run_records)
    from ..training.step_log import StepLogCallback, last_value
    from ..training import code_training  # noqa: F401  (training_examples uses it; imported before seeding)

    seed_process(exp.settings.seed)

    s, start = exp.settings, time.perf_counter()
    tokenizer = tokenizer_for(args.models)
    config = trl_bridge.sft_config(s, args.out)  # before loading: ZeRO-3 then loads shards (trl_bridge)
    model = load_policy(args.init or model_refs(args.models)["policy"])
    loaded = loaded_as_shards(model)
    examples = [example for path in args.train for example in training_examples(args, path)]
    log = StepLogCallback()
    trainer = trl_bridge.sft_trainer(s, model, tokenizer, sft_dataset(examples), args.out, [log], config)
    trainer.train()
    save_checkpoint(trainer, tokenizer, args.out)
    metrics = {"examples": len(examples), "optimizer_steps": trainer.state.global_step,
               "final_loss": last_value(log.rows, "loss"), "first_loss": log.rows[0].get("loss") if log.rows else None}
    write_run_records(args, params, exp, trainer, log.rows, metrics, start, extra=loaded)
    trainer.accelerator.print(f"sft: {len(examples)} examples, {trainer.state.global_step} steps, "
                              f"loss {metrics['first_loss']:.4f} -> {metrics['final_loss']:.4f}")


def training_examples(args, path: str) -> list[SFTExample]:
    if args.chosen_of_pairs:
        return chosen_examples(path)
    if args.solutions_of_problems:
        from ..training.code_training import code_sft_examples

        return code_sft_examples(read_records(path, CodeProblem))
    return read_records(path, SFTExample)


def chosen_examples(path: str) -> list[SFTExample]:
    """SFT records from the chosen side of preference pairs (one per distinct prompt and response)."""
    pairs = read_records(path, PreferencePair)
    unique = dict.fromkeys((p.prompt, p.chosen, p.source) for p in pairs)
    return [SFTExample(prompt=prompt, completion=chosen, source=source) for prompt, chosen, source in unique]


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
