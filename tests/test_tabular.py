"""The tabular losses and solutions, each against a second implementation or a property."""

import math

import numpy as np
import pytest

from dpo_vs_ppo.toy.tabular import (Pairs, bradley_terry_loss, dpo_loss, fit_bradley_terry, implied_reward,
                                    kl_regularised_optimum, reachable_by_kl_regularised_rl)


def one_pair(label=1.0):
    return Pairs(np.array([0]), np.array([0]), np.array([1]), np.array([label]))


@pytest.mark.parametrize("a, b, beta", [(0.5, 0.5, 0.1), (0.1, 0.0, 0.1), (0.7, 0.2, 0.5), (0.3, 0.6, 1.0), (1e-9, 0.5, 0.1)])
def test_dpo_loss_matches_the_closed_form_of_table1(a, b, beta):
    # Sec. 4.1: with pi_ref = (0.5, 0.5, 0) and y1 > y2, L_DPO = log(1 + (b/a)^beta).
    ref = np.array([[0.5, 0.5, 0.0]])
    policy = np.array([[a, b, 1 - a - b]])
    assert dpo_loss(policy, ref, one_pair(), beta) == pytest.approx(math.log1p((b / a) ** beta), abs=1e-15)


def test_bradley_terry_loss_matches_a_loop(rng=np.random.default_rng(0)):
    reward = rng.normal(size=(3, 5))
    pairs = Pairs(rng.integers(0, 3, 20), rng.integers(0, 5, 20), rng.integers(0, 5, 20), rng.uniform(0, 1, 20))
    total = 0.0
    for x, w, l, p in zip(pairs.prompt, pairs.winner, pairs.loser, pairs.label):
        s = 1 / (1 + math.exp(-(reward[x, w] - reward[x, l])))
        total += -(p * math.log(s) + (1 - p) * math.log(1 - s))
    assert bradley_terry_loss(reward, pairs) == pytest.approx(total / 20, rel=1e-12)


def test_hard_label_with_infinite_margin_is_zero_not_nan():
    reward = np.array([[0.0, -np.inf, 0.0]])
    assert bradley_terry_loss(reward, one_pair()) == 0.0


def test_fit_recovers_log_odds_on_a_tree():
    # On a spanning tree with soft labels the MLE matches every label exactly: r_w - r_l = logit(p).
    pairs = Pairs(np.zeros(3, int), np.array([0, 1, 1]), np.array([1, 2, 3]), np.array([0.8, 0.3, 0.6]))
    r = fit_bradley_terry(pairs, 1, 5)
    margins = r[0, pairs.winner] - r[0, pairs.loser]
    np.testing.assert_allclose(margins, np.log(pairs.label / (1 - pairs.label)), atol=1e-10)
    assert r[0, 4] == 0.0  # uncovered response: untouched


def test_fit_is_a_minimum(rng=np.random.default_rng(1)):
    pairs = Pairs(rng.integers(0, 2, 12), rng.integers(0, 4, 12), rng.integers(0, 4, 12), rng.uniform(0.05, 0.95, 12))
    pairs = Pairs(pairs.prompt, pairs.winner, np.where(pairs.winner == pairs.loser, (pairs.loser + 1) % 4, pairs.loser), pairs.label)
    r = fit_bradley_terry(pairs, 2, 4)
    best = bradley_terry_loss(r, pairs)
    for _ in range(200):
        assert bradley_terry_loss(r + rng.normal(scale=0.3, size=r.shape), pairs) >= best - 1e-12


def test_kl_optimum_maximises_the_rlhf_objective(rng=np.random.default_rng(2)):
    # Eq. 2 per prompt: E_pi[r] - beta KL(pi || pi_ref); Eq. 5's pi* beats every other policy.
    ref = rng.dirichlet(np.ones(6), size=3)
    reward, beta = rng.normal(size=(3, 6)), 0.3

    def objective(pi):
        return (pi * reward).sum(-1) - beta * (pi * np.log(pi / ref)).sum(-1)

    best = objective(kl_regularised_optimum(ref, reward, beta))
    for _ in range(300):
        assert np.all(objective(rng.dirichlet(np.ones(6), size=3)) <= best + 1e-12)


def test_implied_reward_of_the_optimum_is_the_reward_up_to_a_constant(rng=np.random.default_rng(3)):
    # Eq. 6: beta log(pi*/pi_ref) = r - beta log Z(x).
    ref, reward, beta = rng.dirichlet(np.ones(5), size=4), rng.normal(size=(4, 5)), 0.1
    shift = implied_reward(kl_regularised_optimum(ref, reward, beta), ref, beta) - reward
    np.testing.assert_allclose(shift, shift[:, :1].repeat(5, axis=1), atol=1e-10)


def test_reachability_is_support_inclusion():
    ref = np.array([[0.5, 0.5, 0.0]])
    assert reachable_by_kl_regularised_rl(np.array([[1.0, 0.0, 0.0]]), ref)
    assert not reachable_by_kl_regularised_rl(np.array([[0.1, 0.0, 0.9]]), ref)
    # and every Boltzmann policy of ref is reachable, whatever the reward
    assert reachable_by_kl_regularised_rl(kl_regularised_optimum(ref, np.array([[0.0, 3.0, 100.0]]), 0.1), ref)
