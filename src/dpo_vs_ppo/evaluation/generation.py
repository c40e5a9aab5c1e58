"""Sampling a policy checkpoint for evaluation (PAPER: Sec. 6). Shared by generate, evaluate_policy and
evaluate_code_policy."""

from __future__ import annotations

import random

from ..models import PolicyCache, load_tokenizer
from ..training.sampling import sample_responses
from .samples import PromptSamples, evaluation_prompts


def generate_samples(s, policy: str, tokenizer: str, prompts_path: str,
                     models: PolicyCache | None = None) -> tuple[list[PromptSamples], dict]:
    """``s.responses_per_prompt`` samples per evaluation prompt, and the counts generate.json records.

    The policy is loaded for inference (on the GPU when there is one) through ``models``, which a stage
    sampling one checkpoint several times passes to load it once.
    """
    prompts = evaluation_prompts(prompts_path)
    if s.max_prompts:
        prompts = sorted(random.Random(s.seed).sample(prompts, min(s.max_prompts, len(prompts))))
    model = (models or PolicyCache())(policy)
    texts, tokens = sample_responses(model, load_tokenizer(tokenizer), [p for _, p in prompts],
                                     s.responses_per_prompt, s.max_new_tokens, s.temperature, s.top_k, s.batch_size)
    rows = [PromptSamples(pid, prompt, tuple(group)) for (pid, prompt), group in zip(prompts, texts)]
    return rows, {"prompts": len(prompts), "responses": sum(map(len, texts)), "generated_tokens": tokens,
                  "empty_responses": sum(not r.strip() for group in texts for r in group)}
