"""Stage dpo_iter: one round of iterative DPO (paper Sec. 4.3, Table 2's DPO-Iter rows).

A round samples responses from the current policy (``--policy``: SFT for round 1, the previous
round's checkpoint after), labels them with the learned reward model (its highest- and lowest-scored
response per prompt make a pair) or, for code (``--reward tests``), by running them on the problem's
training tests (training/iterative_labels.py), and runs DPO from the current policy with the reference
reset to it.
Each round is its own cached DVC stage; the round's pairs are saved beside its checkpoint.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from ..data.records import CodeProblem, PreferencePair, read_records
from ..records import to_plain
from ._cli import main_with_config_errors, parser
from ._training import add_training_arguments, load_training, seed_process


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--prompts", required=True, metavar="JSONL",
                   help="preference pairs whose distinct prompts are sampled, or code problems (with --reward tests)")
    p.add_argument("--policy", required=True, metavar="DIR", help="the round's starting policy (and its DPO reference)")
    p.add_argument("--reward", required=True, metavar="DIR|tests",
                   help="the learned reward model that labels the samples, or `tests`: run them on the training tests")
    p.add_argument("--round", required=True, type=int, help="round number, 1-based (offsets the sampling seed)")
    add_training_arguments(p, "dpo_iter", "where to write the round's sample scores and DPO summary")
    args = p.parse_args(argv)
    params, exp = load_training(args, "dpo_iter")
    train(args, params, exp)


def train(args, params, exp) -> None:
    # The training stack is imported only now, after the config check (stages/_cli.py).
    from ..training.datasets import unique_prompts
    from ..training.dpo_run import dpo_metrics, train_dpo
    from ..training.iterative_labels import label_samples, label_with_tests
    from ..training.run_records import save_checkpoint, tokenizer_for, write_run_records

    seed_process(exp.settings.seed + args.round)

    s, start = exp.settings, time.perf_counter()
    tokenizer = tokenizer_for(args.models)
    code = args.reward == "tests"
    prompts = read_records(args.prompts, CodeProblem) if code else unique_prompts(read_records(args.prompts, PreferencePair))
    if s.prompts_per_round:
        prompts = random.Random(s.seed + args.round).sample(prompts, min(s.prompts_per_round, len(prompts)))
    label = label_with_tests if code else label_samples
    pairs, scores, tokens = label(s, args.policy, args.reward, tokenizer, prompts)
    trainer, log, loaded = train_dpo(s.dpo, args.policy, tokenizer, pairs, args.out)
    save_checkpoint(trainer, tokenizer, args.out)
    if trainer.accelerator.is_main_process:
        with open(Path(args.out) / "round_pairs.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(f"{_json(pair)}\n" for pair in pairs)
    metrics = {"round": args.round, "prompts": len(prompts), "sampled_tokens": tokens,
               "sample_score_mean": round(sum(scores) / len(scores), 4), "labeller": "tests" if code else "reward_model",
               **dpo_metrics(trainer, log, pairs)}
    write_run_records(args, params, exp, trainer, log.rows, metrics, start, extra=loaded)
    trainer.accelerator.print(f"dpo_iter round {args.round}: {len(pairs)} pairs, mean RM score of the samples "
                              f"{metrics['sample_score_mean']}, DPO loss {metrics['final_loss']:.4f}")


def _json(pair: PreferencePair) -> str:
    return json.dumps(to_plain(pair), ensure_ascii=False)


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
