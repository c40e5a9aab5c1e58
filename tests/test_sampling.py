"""Sampling and scoring outside the trainers (DPO-Iter's labelling): properties against one-at-a-time
computation and against the seed."""

import pytest
import torch

from dpo_vs_ppo.models import load_policy, load_scalar_model, load_tokenizer
from dpo_vs_ppo.training.sampling import sample_responses, score_responses
from tiny_models import BAD, GOOD, PROMPTS, build_tiny_models


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    return build_tiny_models(tmp_path_factory.mktemp("models"))


def test_batched_right_padded_scores_equal_one_at_a_time_scores_at_the_eos(refs):
    model, tokenizer = load_scalar_model(refs["reward"]), load_tokenizer(refs["tokenizer"])
    responses = GOOD[:4] + BAD[:4]  # different lengths, so the batch is padded
    batched = score_responses(model, tokenizer, PROMPTS, responses, batch_size=8)
    for prompt, response, score in zip(PROMPTS, responses, batched):
        ids = tokenizer(prompt + response + tokenizer.eos_token, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            alone = model(**ids).logits[0, 0].item()
        assert ids["input_ids"][0, -1].item() == tokenizer.eos_token_id
        assert score == pytest.approx(alone, abs=1e-5)


def test_sampling_is_seeded_counts_its_tokens_and_strips_the_eos(refs):
    policy, tokenizer = load_policy(refs["policy"]), load_tokenizer(refs["tokenizer"])
    runs = []
    for _ in range(2):
        torch.manual_seed(7)
        runs.append(sample_responses(policy, tokenizer, PROMPTS[:3], n=2, max_new_tokens=6, temperature=1.0,
                                     top_k=50, batch_size=2))
    (texts, tokens), (again, _) = runs
    assert texts == again and [len(group) for group in texts] == [2, 2, 2]
    assert 0 < tokens <= 3 * 2 * 6
    assert all(tokenizer.eos_token not in t for group in texts for t in group)
    assert tokenizer.padding_side == "right"  # restored
