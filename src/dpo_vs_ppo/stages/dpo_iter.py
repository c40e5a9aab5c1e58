"""Stage dpo_iter: one round of iterative DPO (paper Sec. 4.3, Table 2's DPO-Iter rows).

A round samples responses from the current policy (``--policy``: SFT for round 1, the previous
round's checkpoint after), labels them with the learned reward model (its highest- and lowest-scored
response per prompt make a pair) or, for code (``--reward tests``), by running them on the problem's
training tests (training/code_training.py), and runs DPO from the current policy with the reference
reset to it.
Each round is its own cached DVC stage; the round's pairs are saved beside its checkpoint.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import torch

from ..data.records import CodeProblem, PreferencePair, read_records
from ..evaluation.sandbox import Sandbox
from ..models import load_policy_for_inference, load_scalar_for_inference, release_accelerator_memory
from ..records import to_plain
from ..training.code_training import problem_prompt, sandbox_labelled_pairs, test_rewards
from ..training.datasets import unique_prompts
from ..training.sampling import sample_responses, score_responses
from ._cli import main_with_config_errors, parser
from ._training import add_training_arguments, load_training, save_checkpoint, tokenizer_for, write_run_records
from .dpo import dpo_metrics, train_dpo


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
    params, exp = load_training(args, "dpo_iter", seed_offset=args.round)
    s = exp.settings

    start = time.perf_counter()
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


def label_samples(s, policy_dir: str, reward_dir: str, tokenizer, prompts: list[str]):
    """Sample ``responses_per_prompt`` per prompt and pair the RM's best with its worst (ties dropped);
    returns the pairs, every sample's RM score, and the number of tokens generated."""
    # One model at a time, each freed before the next (and before DPO trains in this process): at paper
    # scale each is a 7B model on the GPU.
    samples, tokens = sample_responses(load_policy_for_inference(policy_dir), tokenizer, prompts,
                                       s.responses_per_prompt, s.max_new_tokens, s.temperature, s.top_k,
                                       s.generation_batch_size)
    release_accelerator_memory()
    flat_prompts = [p for p, group in zip(prompts, samples) for _ in group]
    scores = score_responses(load_scalar_for_inference(reward_dir), tokenizer, flat_prompts,
                             [r for group in samples for r in group], batch_size=64)
    release_accelerator_memory()
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


def label_with_tests(s, policy_dir: str, _reward: str, tokenizer, problems: list) -> tuple[list, list, int]:
    """The code task's labels (PAPER: Sec. 4.3, APPS): samples that pass every training test are chosen,
    failing ones rejected; with no passing sample, the dataset's solution is the chosen one."""
    samples, tokens = sample_responses(load_policy_for_inference(policy_dir), tokenizer,
                                       [problem_prompt(p) for p in problems], s.responses_per_prompt,
                                       s.max_new_tokens, s.temperature, s.top_k, s.generation_batch_size)
    release_accelerator_memory()  # the sampling policy is dropped; DPO trains next in this process
    flat_problems = [p for p, group in zip(problems, samples) for _ in group]
    with Sandbox() as box:
        rewards = test_rewards(box, flat_problems, [r for group in samples for r in group])
    pairs, counts = sandbox_labelled_pairs(problems, samples, rewards)
    print(f"dpo_iter: problems by sample outcome {counts}")
    if not pairs:
        raise RuntimeError("every problem's samples all passed their tests; nothing to train on")
    torch.manual_seed(s.seed)
    return pairs, rewards, tokens


def _json(pair: PreferencePair) -> str:
    return json.dumps(to_plain(pair), ensure_ascii=False)


if __name__ == "__main__":
    main_with_config_errors(main)
