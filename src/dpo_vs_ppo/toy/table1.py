"""Table 1's counter-example and a numerical check of Theorem 4.1 (paper Sec. 4.1).

Theorem 4.1: every policy PPO can reach from a fitted reward (Pi_PPO) minimises the DPO loss, and
some DPO minimisers are not reachable by PPO (Pi_PPO is a proper subset of Pi_DPO). Table 1 is the
paper's witness for strictness; ``check_theorem`` repeats both halves on random bandit instances.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from ..settings import Table1Settings, TheoremCheckSettings
from .tabular import (Pairs, bradley_terry_loss, dpo_loss, fit_bradley_terry, kl_regularised_optimum,
                      reachable_by_kl_regularised_rl)

POLICIES = ("pi_ref", "pi_dpo", "pi_ppo")


def counterexample_metrics(s: Table1Settings) -> dict:
    """DPO losses, support and PPO-reachability of Table 1's three policies, all in closed form."""
    ref = np.array([s.pi_ref])
    pairs = Pairs(np.array([0]), np.array([s.preferred]), np.array([s.dispreferred]), np.array([1.0]))
    policies = {name: np.array([getattr(s, name)]) for name in POLICIES}
    # With one hard-labelled pair, L_DPO = log(1 + (pi(y_l)/pi(y_w))^beta) >= 0, with equality iff
    # pi(y_l) = 0: the infimum is exactly 0 and it is attained.
    infimum = 0.0
    losses = {name: dpo_loss(pi, ref, pairs, s.beta) for name, pi in policies.items()}
    # Every DPO minimiser is (a, 0, 1 - a) up to the order of actions; PPO reaches only those inside
    # supp(pi_ref). Walk the minimiser set on a grid and count which PPO can reach.
    grid = []
    for a in np.linspace(0.0, 1.0, 101)[1:]:
        pi = np.zeros((1, 3))
        pi[0, s.preferred], pi[0, 3 - s.preferred - s.dispreferred] = a, 1 - a
        grid.append((pi, dpo_loss(pi, ref, pairs, s.beta), reachable_by_kl_regularised_rl(pi, ref)))
    reachable_minimisers = [pi[0].tolist() for pi, loss, ok in grid if ok and loss == infimum]
    by_margin = []
    for margin in s.reward_margins:
        reward = np.zeros((1, 3))
        reward[0, s.preferred] = margin
        pi = kl_regularised_optimum(ref, reward, s.beta)
        by_margin.append({"margin": margin, "policy": pi[0].tolist(), "dpo_loss": dpo_loss(pi, ref, pairs, s.beta)})
    return {
        "beta": s.beta,
        "dpo_loss": {**losses, "infimum": infimum},
        "dpo_loss_gap": {name: losses[name] - infimum for name in POLICIES},
        "mass_outside_ref_support": {name: float(pi[ref == 0].sum()) for name, pi in policies.items()},
        "reachable_by_ppo": {name: reachable_by_kl_regularised_rl(pi, ref) for name, pi in policies.items()},
        "minimiser_grid": {
            "points": len(grid),
            "dpo_optimal": sum(loss == infimum for _, loss, _ in grid),
            "reachable_by_ppo": len(reachable_minimisers),
            "reachable_points": reachable_minimisers,
        },
        "ppo_solution_by_margin": by_margin,
    }


def random_instance(rng: np.random.Generator, s: TheoremCheckSettings) -> tuple[np.ndarray, Pairs]:
    """A random bandit: pi_ref with holes in its support, soft Bradley-Terry labels on a few pairs."""
    n_prompts = int(rng.integers(s.prompts[0], s.prompts[1] + 1))
    n_responses = int(rng.integers(s.responses[0], s.responses[1] + 1))
    gold = rng.normal(size=(n_prompts, n_responses))
    ref = np.zeros((n_prompts, n_responses))
    prompt, winner, loser = [], [], []
    for x in range(n_prompts):
        supported = np.sort(rng.permutation(n_responses)[s.unsupported_per_prompt:])
        ref[x, supported] = rng.dirichlet(np.ones(len(supported)))
        candidates = list(itertools.combinations(supported.tolist(), 2))
        for k in rng.permutation(len(candidates))[: s.pairs_per_prompt]:
            a, b = candidates[k] if rng.random() < 0.5 else candidates[k][::-1]
            prompt.append(x), winner.append(a), loser.append(b)
    prompt, winner, loser = map(np.array, (prompt, winner, loser))
    # Soft labels (the preference of infinitely many annotators) keep the reward MLE finite.
    label = 1.0 / (1.0 + np.exp(-(gold[prompt, winner] - gold[prompt, loser])))
    return ref, Pairs(prompt, winner, loser, label)


def minimise_dpo_directly(ref: np.ndarray, pairs: Pairs, beta: float) -> float:
    """min over policies of the DPO loss, by L-BFGS on softmax logits (independent of the Newton fit)."""
    ref_t = torch.tensor(ref, dtype=torch.float64)
    support = ref_t > 0
    logits = torch.zeros_like(ref_t, requires_grad=True)
    idx = [torch.as_tensor(a) for a in (pairs.prompt, pairs.winner, pairs.loser)]
    label = torch.as_tensor(pairs.label)
    log_ref = torch.where(support, ref_t.log(), torch.zeros_like(ref_t))

    def loss_fn() -> torch.Tensor:
        logp = torch.log_softmax(logits.masked_fill(~support, float("-inf")), dim=-1)
        ratio = torch.where(support, logp - log_ref, torch.zeros_like(logp))
        h = beta * (ratio[idx[0], idx[1]] - ratio[idx[0], idx[2]])
        return -(label * torch.nn.functional.logsigmoid(h) + (1 - label) * torch.nn.functional.logsigmoid(-h)).mean()

    opt = torch.optim.LBFGS([logits], lr=1.0, max_iter=500, tolerance_grad=1e-13, tolerance_change=1e-16,
                            history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    return float(loss_fn().detach())


def check_instance(ref: np.ndarray, pairs: Pairs, beta: float, ood_mass: float) -> dict:
    """Both halves of Theorem 4.1 on one instance; gaps are losses minus the minimum reward loss."""
    reward = fit_bradley_terry(pairs, *ref.shape)
    minimum = bradley_terry_loss(reward, pairs)  # = min DPO loss, by the proof's change of variables
    ppo = kl_regularised_optimum(ref, reward, beta)
    # Move `ood_mass` of every prompt onto responses pi_ref never produces: DPO cannot tell.
    outside = (ref == 0) / (ref == 0).sum(axis=-1, keepdims=True)
    ood = (1 - ood_mass) * ppo + ood_mass * outside
    return {
        "gap_ppo_optimum": dpo_loss(ppo, ref, pairs, beta) - minimum,
        "gap_direct_dpo": minimise_dpo_directly(ref, pairs, beta) - minimum,
        "gap_ood_minimiser": dpo_loss(ood, ref, pairs, beta) - minimum,
        "ppo_reachable_ood_minimiser": reachable_by_kl_regularised_rl(ood, ref),
        "ppo_mass_outside_support": float(ppo[ref == 0].sum()),
        "ood_mass_outside_support": float(ood[ref == 0].sum() / ref.shape[0]),
    }


def check_theorem(s: TheoremCheckSettings, beta: float, seeds: tuple[int, ...]) -> dict:
    """Run :func:`check_instance` on ``instances_per_seed`` random instances per seed and count."""
    rows = []
    for seed in seeds:
        rng = np.random.default_rng([seed, 41])  # 41: Theorem 4.1, so seeds differ from other stages'
        for _ in range(s.instances_per_seed):
            rows.append(check_instance(*random_instance(rng, s), beta, s.ood_mass))
    n, tol = len(rows), s.tolerance
    included = sum(abs(r["gap_ppo_optimum"]) <= tol for r in rows)
    direct = sum(-tol <= r["gap_direct_dpo"] <= tol for r in rows)
    strict = sum(abs(r["gap_ood_minimiser"]) <= tol and not r["ppo_reachable_ood_minimiser"] for r in rows)
    return {
        "instances": n,
        "tolerance": tol,
        "ppo_optimum_minimises_dpo": included,
        "direct_dpo_minimum_matches": direct,
        "unreachable_dpo_minimiser_found": strict,
        "fraction_included": included / n,
        "fraction_direct_matches": direct / n,
        "fraction_strict": strict / n,
        "max_abs_gap_ppo_optimum": max(abs(r["gap_ppo_optimum"]) for r in rows),
        "max_abs_gap_direct_dpo": max(abs(r["gap_direct_dpo"]) for r in rows),
        "max_abs_gap_ood_minimiser": max(abs(r["gap_ood_minimiser"]) for r in rows),
        "ppo_mass_outside_support_max": max(r["ppo_mass_outside_support"] for r in rows),
        "ood_minimiser_mass_outside_support": min(r["ood_mass_outside_support"] for r in rows),
    }
