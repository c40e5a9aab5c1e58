"""Stage dpo_iter: one round of iterative DPO (paper Sec. 4.3, Table 2's DPO-Iter rows).

A round samples responses from the current policy (``--policy``: SFT for round 1, the previous
round's checkpoint after), labels them with the learned reward model (its highest- and lowest-scored
response per prompt make a pair), and runs DPO from the current policy with the reference reset to it.
Each round is its own cached DVC stage; the round's pairs are saved beside its checkpoint.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import torch

from ..data.records import PreferencePair, read_records
from ..models import load_policy, load_scalar_model
from ..records import to_plain
from ..training.datasets import unique_prompts
from ..training.sampling import sample_responses, score_responses
from ._cli import main_with_config_errors, parser
from ._training import add_training_arguments, load_training, save_checkpoint, tokenizer_for, write_run_records
from .dpo import dpo_metrics, train_dpo


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--prompts", required=True, metavar="JSONL", help="preference pairs whose distinct prompts are sampled")
    p.add_argument("--policy", required=True, metavar="DIR", help="the round's starting policy (and its DPO reference)")
    p.add_argument("--reward", required=True, metavar="DIR", help="the learned reward model that labels the samples")
    p.add_argument("--round", required=True, type=int, help="round number, 1-based (offsets the sampling seed)")
    add_training_arguments(p, "dpo_iter", "where to write the round's sample scores and DPO summary")
    args = p.parse_args(argv)
    params, exp = load_training(args, "dpo_iter", seed_offset=args.round)
    s = exp.settings

    start = time.perf_counter()
    tokenizer = tokenizer_for(args.models)
    prompts = unique_prompts(read_records(args.prompts, PreferencePair))
    if s.prompts_per_round:
        prompts = random.Random(s.seed + args.round).sample(prompts, min(s.prompts_per_round, len(prompts)))
    pairs, scores, tokens = label_samples(s, args.policy, args.reward, tokenizer, prompts)
    trainer, log = train_dpo(s.dpo, args.policy, tokenizer, pairs, args.out)
    save_checkpoint(trainer, trainer.model, tokenizer, args.out)
    if trainer.accelerator.is_main_process:
        with open(Path(args.out) / "round_pairs.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(f"{_json(pair)}\n" for pair in pairs)
    metrics = {"round": args.round, "prompts": len(prompts), "sampled_tokens": tokens,
               "sample_score_mean": round(sum(scores) / len(scores), 4),
               **dpo_metrics(trainer, log, pairs)}
    write_run_records(args, params, exp, trainer, log.rows, metrics, start)
    trainer.accelerator.print(f"dpo_iter round {args.round}: {len(pairs)} pairs, mean RM score of the samples "
                              f"{metrics['sample_score_mean']}, DPO loss {metrics['final_loss']:.4f}")


def label_samples(s, policy_dir: str, reward_dir: str, tokenizer, prompts: list[str]):
    """Sample ``responses_per_prompt`` per prompt and pair the RM's best with its worst (ties dropped);
    returns the pairs, every sample's RM score, and the number of tokens generated."""
    policy, reward = load_policy(policy_dir), load_scalar_model(reward_dir)
    samples, tokens = sample_responses(policy, tokenizer, prompts, s.responses_per_prompt, s.max_new_tokens,
                                       s.temperature, s.top_k, s.generation_batch_size)
    flat_prompts = [p for p, group in zip(prompts, samples) for _ in group]
    scores = score_responses(reward, tokenizer, flat_prompts, [r for group in samples for r in group], batch_size=64)
    del policy, reward
    pairs, k = [], s.responses_per_prompt
    for i, (prompt, group) in enumerate(zip(prompts, samples)):
        ranked = sorted(zip(scores[i * k:(i + 1) * k], group), key=lambda t: t[0])
        (low, worst), (high, best) = ranked[0], ranked[-1]
        if high > low and best != worst:
            pairs.append(PreferencePair(prompt=prompt, chosen=best, rejected=worst, source=f"dpo_iter/{i}",
                                        rule="reward_model"))
    if not pairs:
        raise RuntimeError("every sampled pair tied under the reward model; nothing to train on")
    torch.manual_seed(s.seed)  # DPO's data order does not depend on how much sampling consumed
    return pairs, scores, tokens


def _json(pair: PreferencePair) -> str:
    return json.dumps(to_plain(pair), ensure_ascii=False)


if __name__ == "__main__":
    main_with_config_errors(main)
