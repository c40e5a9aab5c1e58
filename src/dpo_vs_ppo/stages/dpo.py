"""Stage dpo: Direct Preference Optimisation from an SFT checkpoint (TRL DPOTrainer).

The reference model is a frozen copy of the starting policy (paper Eq. 7), loaded explicitly
(training/dpo_run.py, which DPO-Iter's rounds share).
"""

from __future__ import annotations

import time

from ..data.records import CodeProblem, DataError, read_records
from ._cli import main_with_config_errors, parser
from ._training import add_training_arguments, load_training, seed_process


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--train", required=True, metavar="JSONL", help="preference pairs, or code problems (with --solution-pairs)")
    p.add_argument("--solution-pairs", action="store_true",
                   help="--train holds code problems: pair their correct and incorrect programs (CodeContests)")
    p.add_argument("--init", required=True, metavar="DIR", help="the starting policy (an SFT checkpoint); also the reference")
    add_training_arguments(p, "dpo", "where to write the final loss, reward margin and accuracy")
    args = p.parse_args(argv)
    params, exp = load_training(args, "dpo")
    train(args, params, exp)


def train(args, params, exp) -> None:
    # The training stack is imported only now, after the config check (stages/_cli.py).
    from ..training.code_training import solution_pairs
    from ..training.dpo_run import dpo_metrics, train_dpo
    from ..training.run_records import filtered_pairs, save_checkpoint, tokenizer_for, write_run_records

    seed_process(exp.settings.seed)

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


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
