"""DPO-Iter's labels for one round: sample the current policy, then pair its samples by the learned reward
model (dialogue) or by the training tests in the sandbox (code). PAPER: Sec. 4.3."""

from __future__ import annotations

import torch

from ..data.records import PreferencePair
from ..evaluation.sandbox import Sandbox
from ..models import load_policy_for_inference, load_scalar_for_inference, release_accelerator_memory
from .code_training import problem_prompt, sandbox_labelled_pairs, test_rewards
from .sampling import sample_responses, score_responses


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
