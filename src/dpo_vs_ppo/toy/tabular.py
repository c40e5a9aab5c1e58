"""Tabular (bandit) RLHF: the losses and solutions behind Table 1 and Theorem 4.1, in float64 numpy.

A tabular instance has P prompts and R responses. Policies are (P, R) arrays of probabilities,
rewards are (P, R) arrays, and a preference set is a :class:`Pairs` of (prompt, winner, loser,
label) where label = P(winner beats loser) in [0, 1] (1 for a hard label).

The identities used (paper Sec. 3 and the proof of Thm. 4.1):
* Bradley-Terry loss (Eq. 4): L_R(r) = mean -[p log s(r_w - r_l) + (1-p) log s(r_l - r_w)];
* KL-regularised optimum (Eq. 5): pi*(y|x) = pi_ref(y|x) exp(r(x,y)/beta) / Z(x);
* DPO loss (Eq. 7) is L_R applied to the implied reward f(pi) = beta log(pi / pi_ref) (Eq. 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Pairs:
    """A labelled preference set over a tabular instance."""

    prompt: Array
    """(N,) int prompt index of each pair."""
    winner: Array
    """(N,) int index of y_w."""
    loser: Array
    """(N,) int index of y_l."""
    label: Array
    """(N,) float P(y_w beats y_l): 1.0 for a hard label, in (0, 1) for a soft (many-annotator) one."""

    def coverage(self, n_prompts: int, n_responses: int) -> Array:
        """(P, R) bool: which (prompt, response) cells appear in some pair."""
        covered = np.zeros((n_prompts, n_responses), dtype=bool)
        covered[self.prompt, self.winner] = True
        covered[self.prompt, self.loser] = True
        return covered


def neg_log_sigmoid(h: Array) -> Array:
    """-log(sigmoid(h)) = log(1 + exp(-h)), exact at h = +-inf and stable for large |h|."""
    return np.logaddexp(0.0, -h)


def bradley_terry_loss(reward: Array, pairs: Pairs) -> float:
    """Mean negative log-likelihood of the labels under Bradley-Terry (paper Eq. 3-4)."""
    with np.errstate(invalid="ignore"):  # inf - inf only arises on cells that no label weighs
        margin = reward[pairs.prompt, pairs.winner] - reward[pairs.prompt, pairs.loser]
    p = pairs.label
    # Terms with zero weight are dropped rather than multiplied, so 0 * inf never becomes NaN.
    win = np.where(p > 0, p * neg_log_sigmoid(np.where(p > 0, margin, 0.0)), 0.0)
    lose = np.where(p < 1, (1 - p) * neg_log_sigmoid(np.where(p < 1, -margin, 0.0)), 0.0)
    return float(np.mean(win + lose))


def implied_reward(policy: Array, ref: Array, beta: float) -> Array:
    """f(pi) = beta log(pi / pi_ref) (paper Eq. 6, with C(x) = 0); -inf where pi = 0 < pi_ref."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return beta * (np.log(policy) - np.log(ref))


def dpo_loss(policy: Array, ref: Array, pairs: Pairs, beta: float) -> float:
    """DPO loss (paper Eq. 7) with soft labels: Bradley-Terry on the implied reward."""
    return bradley_terry_loss(implied_reward(policy, ref, beta), pairs)


def kl_regularised_optimum(ref: Array, reward: Array, beta: float) -> Array:
    """pi* = pi_ref exp(r / beta) / Z (paper Eq. 5/8): the policy PPO converges to on reward r."""
    with np.errstate(divide="ignore"):
        logits = np.log(ref) + reward / beta
    logits = logits - logits.max(axis=-1, keepdims=True)
    unnorm = np.exp(logits)
    return unnorm / unnorm.sum(axis=-1, keepdims=True)


def reachable_by_kl_regularised_rl(policy: Array, ref: Array) -> bool:
    """Whether ``policy`` is pi_ref exp(r/beta)/Z for some reward r, or a limit of such policies.

    Every such policy vanishes where pi_ref does, and any policy that does is the limit of one
    (let r -> -inf on the cells where it is zero), so: supp(policy) must lie inside supp(pi_ref).
    """
    return bool(np.all(policy[ref == 0] == 0))


def fit_bradley_terry(pairs: Pairs, n_prompts: int, n_responses: int, iters: int = 100) -> Array:
    """Minimise the Bradley-Terry loss over a tabular reward by damped Newton's method.

    The loss is convex in r; its Hessian is a weighted graph Laplacian per prompt, singular along
    per-prompt constant shifts and on cells no pair touches, so the step is the least-squares
    (minimum-norm) solution: uncovered cells keep r = 0, the value an untrained model extrapolates
    from. Soft labels in (0, 1) keep the optimum finite; a hard label on a tree edge does not have one.
    """
    reward = np.zeros((n_prompts, n_responses))
    flat_w = pairs.prompt * n_responses + pairs.winner
    flat_l = pairs.prompt * n_responses + pairs.loser
    n = len(pairs.label)
    loss = bradley_terry_loss(reward, pairs)
    for _ in range(iters):
        s = 1.0 / (1.0 + np.exp(-(reward.ravel()[flat_w] - reward.ravel()[flat_l])))
        grad = np.zeros(reward.size)
        np.add.at(grad, flat_w, (s - pairs.label) / n)
        np.add.at(grad, flat_l, -(s - pairs.label) / n)
        if np.abs(grad).max() < 1e-14:
            break
        hess = np.zeros((reward.size, reward.size))
        curv = s * (1 - s) / n
        for a, b in ((flat_w, flat_w), (flat_l, flat_l)):
            np.add.at(hess, (a, b), curv)
        for a, b in ((flat_w, flat_l), (flat_l, flat_w)):
            np.add.at(hess, (a, b), -curv)
        step = np.linalg.lstsq(hess, -grad, rcond=None)[0].reshape(reward.shape)
        t = 1.0
        while t > 1e-8 and bradley_terry_loss(reward + t * step, pairs) > loss:
            t /= 2  # backtracking keeps Newton monotone far from the optimum
        reward = reward + t * step
        loss = bradley_terry_loss(reward, pairs)
    return reward
