"""Sampling responses from a policy and scoring them with a scalar-head model, outside any trainer."""

from __future__ import annotations

import torch
from transformers import GenerationConfig

from . import decoding


@torch.no_grad()
def sample_responses(policy, tokenizer, prompts: list[str], n: int, max_new_tokens: int, temperature: float,
                     top_k: int, batch_size: int) -> tuple[list[list[str]], int]:
    """``n`` sampled responses per prompt (text after the prompt, up to and without EOS), and the number
    of tokens generated (EOS included, padding not).

    Prompts are left-padded, as for PPO rollouts, and go to the policy's device; sampling uses the global
    torch generator (the CUDA one when the policy is on the GPU), so the caller's seed fixes the result.
    """
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    out: list[list[str]] = []
    generated_tokens = 0
    # use_cache: the KV cache, said explicitly since a checkpoint's config may turn it off. One config for
    # both paths, so the fast one runs only where generate() would resolve it to plain sampling.
    config = GenerationConfig(do_sample=True, temperature=temperature, top_k=top_k, top_p=1.0, use_cache=True,
                              max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                              eos_token_id=tokenizer.eos_token_id)
    try:
        policy.eval()
        for start in range(0, len(prompts), batch_size):
            chunk = prompts[start:start + batch_size]
            enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(policy.device)
            if plain := decoding.plain_sampling(policy, config):  # generate()'s tokens, faster on tiny CPU models
                generated, _ = decoding.sample(policy, enc["input_ids"].repeat_interleave(n, 0),
                                               enc["attention_mask"].repeat_interleave(n, 0), **plain)
            else:
                generated = policy.generate(**enc, generation_config=config, num_return_sequences=n)
            new = generated[:, enc["input_ids"].shape[1]:].cpu()
            generated_tokens += int((new != tokenizer.pad_token_id).sum())
            texts = tokenizer.batch_decode(new, skip_special_tokens=True)
            out += [texts[i * n:(i + 1) * n] for i in range(len(chunk))]
    finally:
        tokenizer.padding_side = side
    return out, generated_tokens


def score_responses(model, tokenizer, prompts: list[str], responses: list[str], batch_size: int) -> list[float]:
    """The scalar model's score of each prompt + response + EOS, read at the EOS (as TRL's RewardTrainer
    trains it and PPO queries it)."""
    return score_texts(model, tokenizer, [p + r + tokenizer.eos_token for p, r in zip(prompts, responses)], batch_size)


@torch.no_grad()
def score_texts(model, tokenizer, texts: list[str], batch_size: int) -> list[float]:
    """A scalar-head model's output on each full text (right padding; the models read their last real
    token), computed on the model's device."""
    side, tokenizer.padding_side = tokenizer.padding_side, "right"
    scores: list[float] = []
    try:
        model.eval()
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(list(texts[start:start + batch_size]), return_tensors="pt", padding=True,
                            add_special_tokens=False).to(model.device)
            out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
            scores += out.logits[:, 0].float().cpu().tolist()
    finally:
        tokenizer.padding_side = side
    return scores
