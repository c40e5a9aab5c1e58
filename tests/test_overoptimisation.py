"""Issue [I] item 5's measurements: KL to the SFT model on a policy's own answers (evaluation/policy_kl.py),
and the gold-reward PPO's reward (training/scorer_reward.py, stages/ppo.py), on a tiny Llama."""

import pytest
import torch

from dpo_vs_ppo.evaluation.policy_kl import answer_ids, response_kl
from dpo_vs_ppo.models import load_policy, load_tokenizer
from dpo_vs_ppo.stages.ppo import gold_scorer
from dpo_vs_ppo.training.scorer_reward import ScorerReward
from conftest import REPO
from tiny_models import GOOD, PROMPTS, build_tiny_models


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    refs = build_tiny_models(tmp_path_factory.mktemp("models"))
    policy, sft = load_policy(refs["policy"]).eval(), load_policy(refs["policy"]).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return policy, sft, load_tokenizer(refs["tokenizer"])


def per_answer_kl(policy, sft, tokenizer, prompt, response, max_new_tokens, temperature):
    """A second implementation: one answer at a time, unpadded, with torch.distributions."""
    prompt_ids, answer = answer_ids(tokenizer, prompt, response, max_new_tokens)
    ids = torch.tensor([prompt_ids + answer])
    with torch.no_grad():
        steps = slice(len(prompt_ids) - 1, len(prompt_ids) + len(answer) - 1)
        p, q = (torch.distributions.Categorical(logits=m(ids).logits[0, steps] / temperature) for m in (policy, sft))
    return float(torch.distributions.kl_divergence(p, q).sum())


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_response_kl_matches_an_unbatched_computation(models, temperature):
    policy, sft, tokenizer = models
    prompts, responses = PROMPTS[:5], [GOOD[0], GOOD[1][:9], "", GOOD[3] + GOOD[3], " no ."]
    ours = response_kl(policy, sft, tokenizer, prompts, responses, max_new_tokens=12, batch_size=2,
                       temperature=temperature)
    expected = [per_answer_kl(policy, sft, tokenizer, p, r, 12, temperature) for p, r in zip(prompts, responses)]
    assert ours == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert min(ours) > 0


def test_eos_is_counted_only_where_the_answer_ended_before_the_limit(models):
    _, _, tokenizer = models
    _, short = answer_ids(tokenizer, PROMPTS[0], GOOD[0], max_new_tokens=200)
    _, cut = answer_ids(tokenizer, PROMPTS[0], GOOD[0], max_new_tokens=len(short) - 1)
    assert short[-1] == tokenizer.eos_token_id and cut == short[:-1]


def test_a_policy_is_at_kl_zero_from_itself(models):
    policy, _, tokenizer = models
    assert response_kl(policy, policy, tokenizer, PROMPTS[:3], GOOD[:3], 48, 8) == [0.0, 0.0, 0.0]


def test_scorer_reward_scores_each_rollout_with_its_own_prompt(models):
    _, _, tokenizer = models
    seen = []

    def scorer(prompts, responses):
        seen.extend(zip(prompts, responses))
        return [float(len(r)) for r in responses]
    prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in PROMPTS[:2]]
    reward = ScorerReward(scorer, prompt_ids, PROMPTS[:2], tokenizer)
    tokenizer.padding_side = "left"
    queries = tokenizer(PROMPTS[1::-1], return_tensors="pt", padding=True, add_special_tokens=False)["input_ids"]
    answers = tokenizer([GOOD[1], GOOD[0][:6]], return_tensors="pt", padding=True, add_special_tokens=False)["input_ids"]
    scores = reward.score_query_responses(torch.cat([queries, answers], 1), queries.shape[1])
    assert [p for p, _ in seen] == [PROMPTS[1], PROMPTS[0]]
    assert [r.strip() for _, r in seen] == [GOOD[1].strip(), GOOD[0][:6].strip()]
    assert scores.tolist() == [float(len(r)) for _, r in seen]


@pytest.mark.parametrize("profile, scorer, model", [("tiny", "gold_helpfulness", ""),
                                                    ("paper", "safe_rlhf_reward_model", "PKU-Alignment/beaver-7b-v1.0-reward")])
def test_the_gold_reward_ppo_optimises_the_evaluations_reward_scorer(monkeypatch, profile, scorer, model):
    from dpo_vs_ppo.evaluation import scorers
    built = []
    monkeypatch.setattr(scorers, "make_scorer", lambda sid, m="", batch_size=16: built.append((sid, m)) or sid)
    assert gold_scorer(str(REPO / "experiments/evaluate_dialogue.yaml"), profile)() == scorer
    assert built == [(scorer, model)]
