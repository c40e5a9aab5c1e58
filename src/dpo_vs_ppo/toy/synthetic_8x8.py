"""Figure 1 (paper Sec. 4.2): DPO vs reward model + PPO on 8 prompts x 8 responses, with MLPs.

The paper released no code for this (ReaLHF issue #93); what it states is kept and the rest is
ours, named in ``Figure1Settings``. Setting: one-hot prompts; response i is optimal for prompt i;
each prompt has a few preference pairs (the optimal response beats a random other), so most cells
are never seen. pi_ref is an MLP at its (near-uniform) initialisation; DPO and PPO both start from it.

* DPO: full-batch Adam on the DPO loss (Eq. 7) over the pairs.
* Reward model: an MLP trained with the Bradley-Terry loss (Eq. 4) on the same pairs.
* PPO: each update samples responses from the current policy, scores them with
  r_phi(x, y) - beta * log(pi_old / pi_ref) (the KL to pi_ref estimated on the policy's own samples),
  subtracts the per-prompt mean as baseline, normalises advantages, and runs clipped-ratio epochs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..settings import Figure1Settings
from .tabular import kl_regularised_optimum


def one_hot_mlp(n_in: int, hidden: tuple[int, ...], n_out: int) -> nn.Module:
    """ReLU MLP from a one-hot prompt to one score (logit or reward) per response."""
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, n_out))


@dataclass(frozen=True)
class PreferenceSet:
    """Pairs of the 8x8 task: for prompt[k], response winner[k] is preferred to loser[k]."""

    prompt: torch.Tensor
    winner: torch.Tensor
    loser: torch.Tensor

    def coverage(self, n_prompts: int, n_responses: int) -> np.ndarray:
        """(P, R) bool: cells that appear in some pair (dark cells of Figure 1's first panel)."""
        covered = np.zeros((n_prompts, n_responses), dtype=bool)
        covered[self.prompt.numpy(), self.winner.numpy()] = True
        covered[self.prompt.numpy(), self.loser.numpy()] = True
        return covered


def sample_preferences(s: Figure1Settings, gen: torch.Generator) -> PreferenceSet:
    """Each prompt x gets ``pairs_per_prompt`` pairs (x beats y) with distinct random losers y != x."""
    prompt, winner, loser = [], [], []
    for x in range(s.n_prompts):
        others = torch.tensor([y for y in range(s.n_responses) if y != x])
        for y in others[torch.randperm(len(others), generator=gen)[: s.pairs_per_prompt]].tolist():
            prompt.append(x), winner.append(x), loser.append(y)
    return PreferenceSet(torch.tensor(prompt), torch.tensor(winner), torch.tensor(loser))


def log_probs(policy: nn.Module, n_prompts: int) -> torch.Tensor:
    """(P, R) log pi(y|x) for every prompt."""
    return torch.log_softmax(policy(torch.eye(n_prompts)), dim=-1)


def dpo_loss(policy: nn.Module, ref_logp: torch.Tensor, pairs: PreferenceSet, beta: float) -> torch.Tensor:
    """Paper Eq. 7 over the whole preference set."""
    ratio = log_probs(policy, ref_logp.shape[0]) - ref_logp
    margin = ratio[pairs.prompt, pairs.winner] - ratio[pairs.prompt, pairs.loser]
    return -nn.functional.logsigmoid(beta * margin).mean()


def reward_loss(reward_model: nn.Module, pairs: PreferenceSet, n_prompts: int) -> torch.Tensor:
    """Bradley-Terry negative log-likelihood, paper Eq. 4."""
    r = reward_model(torch.eye(n_prompts))
    return -nn.functional.logsigmoid(r[pairs.prompt, pairs.winner] - r[pairs.prompt, pairs.loser]).mean()


def _fit(model: nn.Module, loss_fn, steps: int, lr: float) -> list[float]:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    curve = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        curve.append(float(loss.detach()))
    return curve


def ppo_update(policy: nn.Module, opt: torch.optim.Optimizer, ref_logp: torch.Tensor, reward: torch.Tensor,
               s: Figure1Settings, gen: torch.Generator) -> float:
    """One PPO update on samples of the current policy; returns the batch's mean KL-penalised reward."""
    with torch.no_grad():
        old_logp = log_probs(policy, s.n_prompts)
        prompts = torch.arange(s.n_prompts).repeat_interleave(s.ppo_samples_per_prompt)
        actions = torch.multinomial(old_logp.exp(), s.ppo_samples_per_prompt, replacement=True, generator=gen).reshape(-1)
        old = old_logp[prompts, actions]
        # KL to pi_ref evaluated on the policy's own samples (k1 estimator), as in PPO-RLHF.
        score = reward[prompts, actions] - s.beta * (old - ref_logp[prompts, actions])
        per_prompt = score.reshape(s.n_prompts, -1)
        # DEVIATION: the baseline is the per-prompt mean of the sampled scores, not a learned critic
        # with GAE. A one-step bandit's value is exactly that mean; a critic would only add noise.
        adv = (per_prompt - per_prompt.mean(dim=1, keepdim=True)).reshape(-1)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    for _ in range(s.ppo_epochs):
        ratio = (log_probs(policy, s.n_prompts)[prompts, actions] - old).exp()
        clipped = ratio.clamp(1 - s.ppo_clip, 1 + s.ppo_clip)
        loss = -torch.minimum(ratio * adv, clipped * adv).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(score.mean())


def summarise(values: list[float]) -> dict:
    """Mean, sample standard deviation and the per-seed values (the report builds intervals from these)."""
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0, "per_seed": arr.tolist()}


def run_seed(s: Figure1Settings, seed: int) -> dict:
    """Train pi_DPO, r_phi and pi_PPO for one seed; return the five panels and training curves."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    pairs = sample_preferences(s, gen)
    ref = one_hot_mlp(s.n_prompts, s.hidden_sizes, s.n_responses)
    reward_model = one_hot_mlp(s.n_prompts, s.hidden_sizes, s.n_responses)
    with torch.no_grad():
        ref_logp = log_probs(ref, s.n_prompts)

    dpo_policy = copy.deepcopy(ref)
    dpo_curve = _fit(dpo_policy, lambda: dpo_loss(dpo_policy, ref_logp, pairs, s.beta), s.dpo_steps, s.dpo_lr)
    reward_curve = _fit(reward_model, lambda: reward_loss(reward_model, pairs, s.n_prompts), s.reward_steps, s.reward_lr)
    with torch.no_grad():
        reward = reward_model(torch.eye(s.n_prompts))

    ppo_policy = copy.deepcopy(ref)
    opt = torch.optim.Adam(ppo_policy.parameters(), lr=s.ppo_lr)
    ppo_curve = [ppo_update(ppo_policy, opt, ref_logp, reward, s, gen) for _ in range(s.ppo_iterations)]
    with torch.no_grad():
        panels = {
            "coverage": pairs.coverage(s.n_prompts, s.n_responses).astype(float),
            "pi_ref": ref_logp.exp().numpy(),
            "pi_ppo": log_probs(ppo_policy, s.n_prompts).exp().numpy(),
            "pi_dpo": log_probs(dpo_policy, s.n_prompts).exp().numpy(),
            "reward": reward.numpy(),
        }
    return {"seed": seed, "panels": {k: v.tolist() for k, v in panels.items()},
            "curves": {"dpo_loss": dpo_curve, "reward_loss": reward_curve, "ppo_reward": ppo_curve}}


def policy_stats(pi: np.ndarray, ref: np.ndarray, covered: np.ndarray) -> dict:
    """OOD mass, share of prompts whose most likely response is the optimal one, and KL(pi || pi_ref)
    (mean over prompts) of one (P, R) policy."""
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(pi > 0, pi * (np.log(pi) - np.log(ref)), 0.0).sum(axis=1)
    return {"ood_mass": float((pi * ~covered).sum(axis=1).mean()),
            "argmax_optimal": float((pi.argmax(axis=1) == np.arange(pi.shape[0])).mean()),
            "kl_to_ref": float(kl.mean())}


def decomposed(panels: dict, beta: float) -> dict[str, np.ndarray]:
    """Where PPO's and DPO's policies stand against what the learned reward asks for: r_phi's greedy
    policy (its argmax per prompt, beta -> 0) and the KL-regularised optimum of r_phi at ``beta``, the
    policy PPO's objective is maximised by (paper Eq. 8)."""
    ref, reward = np.asarray(panels["pi_ref"]), np.asarray(panels["reward"])
    return {"greedy_reward": np.eye(reward.shape[1])[reward.argmax(axis=1)],
            "pi_kl_opt": kl_regularised_optimum(ref, reward, beta),
            "pi_ppo": np.asarray(panels["pi_ppo"]), "pi_dpo": np.asarray(panels["pi_dpo"]), "pi_ref": ref}


def seed_metrics(panels: dict, beta: float) -> dict:
    """Per-seed numbers behind Figure 1's message, from the five panels of one seed."""
    covered = np.asarray(panels["coverage"], dtype=bool)
    ref, dpo, ppo, reward = (np.asarray(panels[k]) for k in ("pi_ref", "pi_dpo", "pi_ppo", "reward"))
    n_prompts = covered.shape[0]
    diag = np.zeros_like(covered)
    diag[np.arange(n_prompts), np.arange(n_prompts)] = True
    losers = covered & ~diag
    policies = decomposed(panels, beta)
    out = {}
    for name, pi in policies.items():
        stats = policy_stats(pi, ref, covered)
        out[f"ood_mass_{name}"], out[f"argmax_optimal_{name}"] = stats["ood_mass"], stats["argmax_optimal"]
        if name != "pi_ref":  # 0 by definition
            out[f"kl_to_ref_{name}"] = stats["kl_to_ref"]
    for name in ("pi_ref", "pi_dpo", "pi_ppo"):
        out[f"optimal_mass_{name}"] = float(policies[name][diag].mean())
    out["reward_ood_minus_winners"] = float(reward[~covered].mean() - reward[diag].mean())
    gain = np.where(~covered, dpo - ref, -np.inf)
    cell = np.unravel_index(np.argmax(gain), gain.shape)
    out.update({
        "ood_mass_gain_dpo": out["ood_mass_pi_dpo"] - out["ood_mass_pi_ref"],
        "ood_mass_gain_ppo": out["ood_mass_pi_ppo"] - out["ood_mass_pi_ref"],
        "ood_mass_dpo_minus_ppo": out["ood_mass_pi_dpo"] - out["ood_mass_pi_ppo"],
        "ood_cells_dpo_above_ref": float(((dpo > ref) & ~covered).sum()),
        "ood_cells_ppo_above_ref": float(((ppo > ref) & ~covered).sum()),
        "largest_dpo_ood_cell_ref": float(ref[cell]),
        "largest_dpo_ood_cell_dpo": float(dpo[cell]),
        # Gold reward is equal (zero) on unseen and on dispreferred responses; a positive gap means
        # the learned reward rates responses it never saw above ones it saw lose.
        "reward_ood_minus_losers": float(reward[~covered].mean() - reward[losers].mean()),
        # Convergence diagnostic, not a claim: how far PPO ended from the optimum of its own objective
        # (largest total-variation distance over prompts). Sample-based policy gradient can collapse
        # onto an action before it has sampled the optimum, and then never sees it again.
        "ppo_tv_to_kl_optimum": float(0.5 * np.abs(ppo - policies["pi_kl_opt"]).sum(axis=1).max()),
    })
    return out
