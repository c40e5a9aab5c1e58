"""training/decoding.py against a second implementation: transformers' own generate(). Every sampled token
and every raw logit must be bit-identical (the tiny study's results depend on it), under left padding, n
samples per prompt, temperature, top-k, EOS stops, and the generation config TRL's PPO passes."""

import pytest
import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

from dpo_vs_ppo.models import load_policy, load_tokenizer
from dpo_vs_ppo.training import decoding, sampling
from tiny_models import PROMPTS, build_tiny_models

VOCAB, EOS, PAD = 10, 2, 0  # a small vocabulary, so that EOS comes by chance


def tiny_llama(**overrides) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(**{**dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128,
                                   bos_token_id=1, eos_token_id=EOS, pad_token_id=PAD, attn_implementation="sdpa"),
                            **overrides})
    model = LlamaForCausalLM(config).eval()
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=EOS, pad_token_id=PAD)
    return model


def prompts(left_padding: bool):
    """Six prompts; with left padding, of lengths 3 to 8."""
    torch.manual_seed(1)
    ids = torch.randint(3, VOCAB, (6, 8))
    mask = torch.ones_like(ids)
    if left_padding:
        for row, pads in enumerate((0, 5, 2, 0, 3, 1)):
            ids[row, :pads], mask[row, :pads] = PAD, 0
    return ids, mask


def by_generate(model, ids, mask, n, **kw):
    torch.manual_seed(123)
    out = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, top_p=1.0, num_return_sequences=n,
                         use_cache=True, return_dict_in_generate=True, output_logits=True, **kw)
    return out.sequences, torch.stack(out.logits, 1)


def by_decoding(model, ids, mask, n, **kw):
    torch.manual_seed(123)
    seqs, logits = decoding.sample(model, ids.repeat_interleave(n, 0), mask.repeat_interleave(n, 0),
                                   keep_logits=True, **kw)
    return seqs, torch.stack(logits, 1)


@pytest.mark.parametrize("left_padding", [True, False])
@pytest.mark.parametrize("temperature,top_k", [(1.0, 4), (0.7, 0), (1.0 + 1e-7, 200)])
def test_tokens_and_raw_logits_are_bit_identical_to_generate(left_padding, temperature, top_k):
    model, (ids, mask) = tiny_llama(), prompts(left_padding)
    kw = dict(max_new_tokens=40, temperature=temperature, top_k=top_k, pad_token_id=PAD, eos_token_id=EOS)
    expected, ours = by_generate(model, ids, mask, 3, **kw), by_decoding(model, ids, mask, 3, **kw)
    assert torch.equal(ours[0], expected[0])
    assert torch.equal(ours[1], expected[1])  # the raw logits PPO's log-probs are made of


def test_the_comparison_covers_eos_padding_and_an_early_stop():
    model, (ids, mask) = tiny_llama(), prompts(True)
    seqs, _ = by_decoding(model, ids, mask, 3, max_new_tokens=60, temperature=1.0, top_k=0, pad_token_id=PAD,
                          eos_token_id=EOS)
    new = seqs[:, ids.shape[1]:]
    assert new.shape[1] < 60, "every row reached EOS before the limit"
    assert ((new[:, :-1] == EOS) & (new[:, 1:] == PAD)).any(), "a finished row is padded"
    assert torch.equal(seqs, by_generate(model, ids, mask, 3, max_new_tokens=60, temperature=1.0, top_k=0,
                                         pad_token_id=PAD, eos_token_id=EOS)[0])


def test_trl_ppo_generation_config_resolves_to_the_same_samples():
    # What TRL 1.12's PPOTrainer builds (ppo_patches adds top_k); EOS and padding come from the checkpoint
    model, (ids, mask) = tiny_llama(), prompts(True)
    config = GenerationConfig(max_new_tokens=20, temperature=1.0 + 1e-7, top_k=4, top_p=1.0, do_sample=True)
    plain = decoding.plain_sampling(model, config)
    assert plain == {"max_new_tokens": 20, "temperature": 1.0 + 1e-7, "top_k": 4, "pad_token_id": PAD,
                     "eos_token_id": EOS}
    torch.manual_seed(5)
    out = model.generate(input_ids=ids, attention_mask=mask.bool(), generation_config=config,
                         return_dict_in_generate=True, output_logits=True)
    torch.manual_seed(5)
    seqs, logits = decoding.sample(model, ids, mask.bool(), keep_logits=True, **plain)
    assert torch.equal(seqs, out.sequences) and torch.equal(torch.stack(logits, 1), torch.stack(out.logits, 1))


@pytest.mark.parametrize("change", [dict(top_p=0.9), dict(repetition_penalty=1.2), dict(num_beams=2),
                                    dict(min_new_tokens=3), dict(do_sample=False)])
def test_any_other_generation_setting_falls_back_to_generate(change):
    config = GenerationConfig(**{**dict(max_new_tokens=5, temperature=1.0, top_k=4, do_sample=True), **change})
    assert decoding.plain_sampling(tiny_llama(), config) is None


def test_models_it_was_not_checked_on_use_generate():
    assert decoding.supports(tiny_llama())
    assert not decoding.supports(tiny_llama(num_key_value_heads=2))  # grouped-query attention
    assert not decoding.supports(tiny_llama(attention_bias=True))
    eager = tiny_llama()
    eager.config._attn_implementation = "eager"
    assert not decoding.supports(eager)


def test_sample_responses_gives_the_same_texts_either_way(monkeypatch, tmp_path):
    refs = build_tiny_models(tmp_path)
    policy, tokenizer = load_policy(refs["policy"]), load_tokenizer(refs["tokenizer"])
    assert decoding.supports(policy)
    runs = []
    for fast in (True, False):
        monkeypatch.setattr(decoding, "supports", lambda model, fast=fast: fast)
        torch.manual_seed(9)
        runs.append(sampling.sample_responses(policy, tokenizer, PROMPTS[:5], n=3, max_new_tokens=12,
                                              temperature=1.0, top_k=50, batch_size=4))
    assert runs[0] == runs[1]


def test_sample_responses_takes_the_fast_path_only_where_generate_would_sample_plainly(monkeypatch, tmp_path):
    refs = build_tiny_models(tmp_path)
    policy, tokenizer = load_policy(refs["policy"]), load_tokenizer(refs["tokenizer"])
    calls, sample = [], decoding.sample
    monkeypatch.setattr(decoding, "sample", lambda *a, **kw: calls.append(1) or sample(*a, **kw))
    args = dict(n=2, max_new_tokens=6, temperature=1.0, top_k=50, batch_size=4)
    sampling.sample_responses(policy, tokenizer, PROMPTS[:3], **args)
    assert calls == [1]
    # A setting the checkpoint carries (here a repetition penalty) is one generate() would apply: the fast
    # loop does not, so it must step aside.
    policy.generation_config.repetition_penalty = 1.3
    sampling.sample_responses(policy, tokenizer, PROMPTS[:3], **args)
    assert calls == [1]


def masked_probs(rows: int, vocab: int, top_k: int, seed: int) -> torch.Tensor:
    """Softmax of top-k-masked logits, as _sample makes them (zeros outside the top k)."""
    logits = torch.randn(rows, vocab, generator=torch.Generator().manual_seed(seed)) * 3
    kth = torch.topk(logits, min(top_k, vocab))[0][..., -1, None]
    return torch.softmax(logits.masked_fill(logits < kth, -float("inf")), dim=-1)


@pytest.mark.parametrize("rows,vocab,top_k", [(32, 1024, 200), (64, 512, 200), (3, 7, 7), (1, 10, 4)])
def test_the_fast_draw_is_torch_multinomial_and_leaves_the_generator_where_it_does(rows, vocab, top_k):
    for seed in range(25):
        probs = masked_probs(rows, vocab, top_k, seed)
        torch.manual_seed(seed)
        expected = torch.multinomial(probs, num_samples=1), torch.rand(3)
        torch.manual_seed(seed)
        assert all(torch.equal(a, b) for a, b in zip(expected, (decoding.multinomial_one(probs), torch.rand(3))))


def test_draws_recomputed_with_the_c_librarys_log1p_are_torchs(monkeypatch):
    # Near a float32 rounding edge a draw is recomputed with math.log1p. Such draws are about one in 10^6, and
    # torch's vectorised log1p rounds them right anyway in every sample tried, so a margin of 1 sends *every*
    # entry down that path: each must still be the draw torch.exponential_ makes.
    monkeypatch.setattr(decoding, "_MARGIN", 1.0)
    torch.manual_seed(3)
    expected = torch.empty(16, 64).exponential_()
    torch.manual_seed(3)
    assert torch.equal(decoding.exponential_draws((16, 64)), expected)


def test_exponential_draws_are_torchs_over_two_million_entries():
    torch.manual_seed(11)
    expected = torch.empty(2048, 1024).exponential_()
    torch.manual_seed(11)
    assert torch.equal(decoding.exponential_draws((2048, 1024)), expected)


def test_kthvalue_threshold_is_topks_last_value():
    logits = torch.randn(40, 1024) * 3
    logits[0, :300] = 1.5  # ties across the threshold
    assert torch.equal(torch.kthvalue(logits, 1024 - 200 + 1, dim=-1, keepdim=True).values,
                       torch.topk(logits, 200)[0][..., -1, None])


def test_this_torch_build_takes_the_fast_draw():
    # If a torch upgrade changes multinomial's algorithm, sampling falls back to it (slower, still correct);
    # this test says so, so that the fallback is a decision, not a surprise.
    assert decoding._fast_draw_agrees()
