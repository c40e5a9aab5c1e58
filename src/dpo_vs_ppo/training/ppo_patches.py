"""The patches of TRL's PPO module that trl_bridge.PaperPPOTrainer applies while ``train()`` runs
(additions 2, 4 and 6 of trl_bridge's docstring), and two corrections of its construction.

This module does not import ``trl``: trl_bridge (the one door to TRL) hands it TRL's PPO module. Each
patch swaps a module global that TRL's ``train()`` looks up at call time, so TRL's 350-line loop is not
copied; everything is restored when ``train()`` returns or raises.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import torch

from . import decoding


@contextmanager
def construction_patches(args, ppo_module):
    """While TRL's PPOTrainer is built (``__init__``), two corrections:

    * its own Accelerator takes its precision from ACCELERATE_MIXED_PRECISION, which ``accelerate launch``
      with a DeepSpeed config file sets to "no", so a DeepSpeed "bf16: auto" resolved to fp32 although
      ``bf16=True`` (issue 15): the config's own choice decides instead;
    * under DeepSpeed, TRL wraps the reward model in an inference engine (``prepare_deepspeed``); the code
      task's reward is a function (addition 6: it runs programs, it has no weights nor a model config), so
      it is left as it is.
    """
    key, before = "ACCELERATE_MIXED_PRECISION", os.environ.get("ACCELERATE_MIXED_PRECISION")
    os.environ[key] = "bf16" if args.bf16 else "fp16" if args.fp16 else "no"
    original = ppo_module.prepare_deepspeed
    ppo_module.prepare_deepspeed = lambda model, accelerator: (
        model if hasattr(model, "score_query_responses") else original(model, accelerator))
    try:
        yield
    finally:
        ppo_module.prepare_deepspeed = original
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def _masked_stats(values: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
    kept = values[mask.bool()]
    return kept.mean().item(), kept.std().item() if kept.numel() > 1 else 0.0


@contextmanager
def paper_patches(trainer, ppo_module):
    """Swap four names in TRL's PPO module for the duration of train() (additions 2, 4 and 6)."""
    names = ("masked_whiten", "get_reward", "GenerationConfig", "generate")
    originals = {name: getattr(ppo_module, name) for name in names}
    original_whiten, original_reward = originals["masked_whiten"], originals["get_reward"]
    args = trainer.args

    def masked_whiten(values, mask, shift_mean=True):
        if not shift_mean:  # TRL's reward whitening: not ours to change
            return original_whiten(values, mask, shift_mean=False)
        out = original_whiten(values, mask) if args.whiten_advantages else values
        before, after = _masked_stats(values, mask), _masked_stats(out, mask)
        tokens = int(mask.sum().item())  # response tokens up to EOS on this process
        trainer.advantage_stats.update({"adv/mean_raw": before[0], "adv/std_raw": before[1],
                                        "adv/mean_used": after[0], "adv/std_used": after[1],
                                        "response/tokens": tokens, "response/mean_length": tokens / len(values)})
        return out

    def get_reward(model, query_responses, pad_token_id, context_length):
        if model is trainer.reward_model and trainer.monitor is not None:  # issue [I] item 5: gold and KL to SFT
            trainer.monitor.observe(query_responses, context_length, ppo_module)
        if model is trainer.reward_model and hasattr(model, "score_query_responses"):  # addition 6
            scores = model.score_query_responses(query_responses, context_length)
            trainer.advantage_stats.update(model.stats)
            return None, scores, None  # TRL reads only the scores of the reward model's answer
        logits, scores, lengths = original_reward(model, query_responses, pad_token_id, context_length)
        if model is trainer.reward_model and args.reward_clip > 0:
            trainer.advantage_stats["reward/clipped_fraction"] = (scores.abs() > args.reward_clip).float().mean().item()
            scores = scores.clamp(-args.reward_clip, args.reward_clip)
        return logits, scores, lengths

    def generation_config(**kwargs):
        return originals["GenerationConfig"](**{**kwargs, "top_k": args.top_k})

    # DEVIATION: under top-k, ReaLHF masks the training logits to the same top-k; we keep the full
    # distribution for all three log-probs (the mass outside the top 200 tokens is what differs).
    def generate(lm_backbone, queries, pad_token_id, generation_config):
        # TRL takes rollout log-probs from generate()'s *processed* scores; with top-k those are the
        # truncated distribution while the reference and training forwards use the full one, which biases
        # the KL (measured: 4.5 nats at update 1, where policy == reference) and the PPO ratio. We return the
        # raw logits / T, so all three log-probs are of the same full, tempered distribution; sampling
        # still uses top-k.
        started, context_length = time.perf_counter(), queries.shape[1]
        attention_mask = queries != pad_token_id
        input_ids = torch.masked_fill(queries, ~attention_mask, 0)
        if plain := decoding.plain_sampling(lm_backbone, generation_config):  # same tokens, faster on tiny CPU models
            sequences, raw_logits = decoding.sample(lm_backbone, input_ids, attention_mask, keep_logits=True, **plain)
        else:
            output = lm_backbone.generate(input_ids=input_ids, attention_mask=attention_mask,
                                          generation_config=generation_config, return_dict_in_generate=True,
                                          output_logits=True)
            sequences, raw_logits = output.sequences, output.logits
        logits = torch.stack(raw_logits, 1) / (args.temperature + 1e-7)
        if trainer.monitor is not None:
            trainer.monitor.note_rollout_logits(logits)
        if logits.is_cuda:
            torch.cuda.synchronize()  # kernels run asynchronously: time the work, not its launch
        trainer.generate_seconds += time.perf_counter() - started
        return torch.cat((queries, sequences[:, context_length:]), dim=1), logits

    for name, patched in zip(names, (masked_whiten, get_reward, generation_config, generate)):
        setattr(ppo_module, name, patched)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(ppo_module, name, original)
