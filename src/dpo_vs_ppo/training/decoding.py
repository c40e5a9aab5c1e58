"""Top-k / temperature sampling from a tiny Llama on the CPU, the same tokens and logits as
``model.generate`` but about 1.5x faster.

Why: at tiny scale (2 layers, 128 wide) a decoding step of ``generate`` is mostly Python around a few small
matmuls (measured: 1.2 ms a step, 0.45 ms of it in kernels), and its KV cache grows by ``torch.cat`` every
step, which is quadratic in the response length (9.7 s of a 56 s code evaluation stage). Sampling is about
40 % of the tiny study. This loop keeps the KV cache in preallocated buffers and calls the model's own
submodules, in the order and with the arguments transformers 5.23's Llama uses, so every floating-point
operation is the one ``generate`` runs: tests/test_decoding.py checks tokens and logits are bit-identical.

It is used only where that equivalence was checked (:func:`plain_sampling`): a ``LlamaForCausalLM`` on the
CPU with as many key/value heads as heads and the sdpa attention, and a generation config of plain
top-k / temperature sampling as ``generate`` resolves it; everything else (the paper profile's GPUs, other
generation settings, a DeepSpeed engine) calls ``generate``. Under the CPU ZeRO-3 miniature of the paper
path TRL hands the sampler the unwrapped model with its parameters gathered, so this loop runs there too.
The prefill is ``generate``'s own forward call.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from transformers import DynamicCache, LlamaForCausalLM
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb


def supports(model) -> bool:
    """True where this loop is proven equal to ``model.generate`` (see the module docstring)."""
    config = getattr(model, "config", None)
    return (type(model) is LlamaForCausalLM and model.device.type == "cpu"
            and config.num_key_value_heads == config.num_attention_heads
            and config._attn_implementation == "sdpa" and not config.attention_bias and not config.mlp_bias)


def _positions(attention_mask: torch.Tensor) -> torch.Tensor:
    # As generate() makes them: left padding shifts each row's positions (pads get 0)
    return (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)


def _prefill(model, input_ids, attention_mask, padded: bool, cache_length: int):
    """generate()'s first forward call (logits of the last position), and the KV cache moved into buffers
    of ``cache_length`` positions."""
    cache = DynamicCache(config=model.config)
    out = model(input_ids=input_ids.clone(memory_format=torch.contiguous_format),
                attention_mask=attention_mask if padded else None,  # generate drops an all-ones mask
                position_ids=_positions(attention_mask), past_key_values=cache, use_cache=True, logits_to_keep=1)
    buffers = []
    for layer in cache.layers:
        keys = layer.keys.new_empty((*layer.keys.shape[:2], cache_length, layer.keys.shape[3]))
        values = torch.empty_like(keys)
        keys[:, :, :input_ids.shape[1]], values[:, :, :input_ids.shape[1]] = layer.keys, layer.values
        buffers.append((keys, values))
    return out.logits[:, -1, :].to(copy=True, dtype=torch.float32), buffers


def _decode_step(model, tokens, positions, buffers, t: int, mask):
    """Logits after feeding ``tokens`` at cache slot ``t``: LlamaModel.forward for one new position."""
    core, batch = model.model, tokens.shape[0]
    hidden = core.embed_tokens(tokens[:, None])
    cos, sin = core.rotary_emb(hidden, position_ids=positions)
    for layer, (keys, values) in zip(core.layers, buffers):
        attn = layer.self_attn
        residual, x = hidden, layer.input_layernorm(hidden)
        shape = (batch, 1, -1, attn.head_dim)
        q = attn.q_proj(x).view(shape).transpose(1, 2)
        k = attn.k_proj(x).view(shape).transpose(1, 2)
        v = attn.v_proj(x).view(shape).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        keys[:, :, t], values[:, :, t] = k[:, :, 0], v[:, :, 0]
        out = F.scaled_dot_product_attention(q, keys[:, :, :t + 1], values[:, :, :t + 1], attn_mask=mask,
                                             dropout_p=0.0, scale=attn.scaling, is_causal=False)
        out = out.reshape(batch, -1, 1, out.shape[-1]).transpose(1, 2).contiguous()
        hidden = residual + attn.o_proj(out.reshape(batch, 1, -1).contiguous())
        hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
    return model.lm_head(core.norm(hidden))[:, -1, :].to(copy=True, dtype=torch.float32)


def _sample(logits, temperature: float, top_k: int) -> torch.Tensor:
    # generate()'s warpers in its order (temperature, then top-k), then softmax and one multinomial draw. The k-th
    # largest logit is found by kthvalue: the value topk's last column holds, 5x faster at a 1,024-token vocabulary.
    if temperature != 1.0:
        logits = logits / temperature
    if top_k and top_k < logits.size(-1):
        kth = torch.kthvalue(logits, logits.size(-1) - top_k + 1, dim=-1, keepdim=True).values
        logits = logits.masked_fill(logits < kth, -float("inf"))
    probs = F.softmax(logits, dim=-1)
    return (multinomial_one(probs) if _fast_draw_agrees() else torch.multinomial(probs, num_samples=1)).squeeze(1)


#: Relative margin around a draw within which two log1p implementations (each within ~1 ulp of the truth) might
#: round to different float32 values: 2**-44 is 256 double ulps.
_MARGIN = 2.0 ** -44


def multinomial_one(probs: torch.Tensor) -> torch.Tensor:
    """``torch.multinomial(probs, 1)`` for CPU float32 rows: the same indices and the same generator state after,
    in under half the time (measured: 0.40 against 0.89 ms for 32 x 1,024).

    Why it is the same: for one sample torch's CPU multinomial takes argmax(p / q) over q ~ Exp(1), one per entry
    (ATen native/Distributions.cpp, the fast path of https://github.com/pytorch/pytorch/issues/11931). Each q is
    -log1p(-u) in double by the C library, u a 53-bit uniform from the generator's random64, rounded to float32
    (ATen core/DistributionsHelper.h); that scalar loop is the cost. A float64 ``uniform_`` draws the same u in the
    same order, torch's vectorised log1p is within an ulp of the C library's, and the draws whose float32 rounding
    that could change are recomputed with ``math.log1p`` (the C library's)."""
    q = exponential_draws(probs.shape)
    return torch.div(probs, q, out=q).argmax(-1, keepdim=True)


def exponential_draws(shape) -> torch.Tensor:
    """``torch.empty(shape).exponential_()`` on the CPU, bit for bit and with the same generator use (see
    :func:`multinomial_one`)."""
    u = torch.empty(shape, dtype=torch.float64).uniform_()
    q64 = u.neg().log1p_().neg_()
    q = q64.to(torch.float32)
    unsure = (q64 * (1 - _MARGIN)).to(torch.float32) != (q64 * (1 + _MARGIN)).to(torch.float32)
    for index in map(tuple, unsure.nonzero().tolist()):  # about one entry in 10^6
        q[index] = torch.tensor(-math.log1p(-u[index].item()), dtype=torch.float64).to(torch.float32)
    return q


@functools.cache
def _fast_draw_agrees() -> bool:
    """Whether :func:`multinomial_one` draws what torch.multinomial draws in this torch build (checked once per
    process on a fixed input, the global generator's state restored); if not, torch.multinomial is used."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        probs = F.softmax(torch.randn(8, 300) * 4, dim=-1)
        torch.manual_seed(1)
        expected = torch.multinomial(probs, 1), torch.rand(2)
        torch.manual_seed(1)
        ours = multinomial_one(probs), torch.rand(2)
    return all(torch.equal(a, b) for a, b in zip(expected, ours))


@torch.no_grad()
def sample(model, input_ids, attention_mask, *, max_new_tokens: int, temperature: float, top_k: int,
           pad_token_id: int, eos_token_id: int | None, keep_logits: bool = False):
    """(prompt + sampled tokens, the raw logits of each step or None), as ``generate(do_sample=True,
    top_p=1.0, output_logits=True)`` returns them: rows that reached EOS get padding, and sampling stops
    once every row has or after ``max_new_tokens``. Left-padded prompts; the global torch generator."""
    batch, prompt_length = input_ids.shape
    padded = not bool(attention_mask.all())
    logits, buffers = _prefill(model, input_ids, attention_mask, padded, prompt_length + max_new_tokens)
    mask2d = torch.ones(batch, prompt_length + max_new_tokens, dtype=torch.bool)
    mask2d[:, :prompt_length] = attention_mask.bool()
    positions = _positions(attention_mask)[:, -1:]
    unfinished = torch.ones(batch, dtype=torch.long)
    tokens, raw = [], []
    for t in range(prompt_length, prompt_length + max_new_tokens):
        if keep_logits:
            raw.append(logits)
        token = _sample(logits, temperature, top_k)
        if eos_token_id is not None:
            token = token * unfinished + pad_token_id * (1 - unfinished)
            unfinished = unfinished & (token != eos_token_id)
        tokens.append(token)
        if t + 1 == prompt_length + max_new_tokens or (eos_token_id is not None and unfinished.max() == 0):
            break
        positions = positions + 1
        mask = mask2d[:, None, None, :t + 1] if padded else None
        logits = _decode_step(model, token, positions, buffers, t, mask)
    return torch.cat((input_ids, torch.stack(tokens, 1)), 1), (raw if keep_logits else None)


#: Resolved generation settings under which generate() samples with no logits processor but temperature and
#: top-k (any other value makes plain_sampling answer None, and the caller uses generate()).
_PLAIN = {"do_sample": (True,), "num_beams": (None, 1), "top_p": (None, 1.0), "min_p": (None,), "top_h": (None,),
          "typical_p": (None, 1.0), "epsilon_cutoff": (None, 0.0), "eta_cutoff": (None, 0.0),
          "repetition_penalty": (None, 1.0), "no_repeat_ngram_size": (None, 0), "min_length": (None, 0),
          "min_new_tokens": (None, 0), "bad_words_ids": (None,), "suppress_tokens": (None,),
          "begin_suppress_tokens": (None,), "forced_bos_token_id": (None,), "forced_eos_token_id": (None,),
          "sequence_bias": (None,), "stop_strings": (None,), "renormalize_logits": (None, False),
          "guidance_scale": (None, 1.0), "watermarking_config": (None,), "num_return_sequences": (None, 1),
          "exponential_decay_length_penalty": (None,), "max_time": (None,)}


def plain_sampling(model, generation_config) -> dict | None:
    """:func:`sample`'s keyword arguments for ``model.generate(generation_config=...)``, or None when this
    loop is not proven equal to it there. The config is resolved as generate() resolves it (the model's own
    generation config fills what is unset: EOS and padding come from the checkpoint)."""
    if not supports(model):
        return None
    config, _ = model._prepare_generation_config(generation_config)
    eos = config.eos_token_id
    eos = eos[0] if isinstance(eos, list) and len(eos) == 1 else eos
    if (not config.max_new_tokens or isinstance(eos, list)
            or any(getattr(config, name, None) not in allowed for name, allowed in _PLAIN.items())):
        return None
    pad = config.pad_token_id if config.pad_token_id is not None else eos
    return {"max_new_tokens": config.max_new_tokens, "temperature": config.temperature or 1.0,
            "top_k": config.top_k or 0, "pad_token_id": pad, "eos_token_id": eos}
