"""Typed settings of the two results that need no language model: Table 1 and Figure 1.

Each field's docstring says what it is and where its value comes from:
``PAPER: <section>`` when the paper states it, ``NOT IN PAPER`` plus the fallback's source when it
does not. Values live in ``experiments/*.yaml`` (no defaults here: a missing key is an error).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TheoremCheckSettings:
    """Random tabular instances on which Theorem 4.1 is checked numerically."""

    instances_per_seed: int
    """Instances drawn per study seed. NOT IN PAPER (the paper proves it; ours is a numerical check)."""
    prompts: tuple[int, int]
    """Inclusive range of the number of prompts per instance. NOT IN PAPER; ours."""
    responses: tuple[int, int]
    """Inclusive range of the number of responses per prompt. NOT IN PAPER; ours."""
    pairs_per_prompt: int
    """Distinct labelled pairs per prompt: partial coverage of the response space. NOT IN PAPER; ours."""
    unsupported_per_prompt: int
    """Responses per prompt with pi_ref = 0 (outside the reference's support, as y3 in Table 1). Ours."""
    ood_mass: float
    """Mass the constructed DPO minimiser moves outside supp(pi_ref); 0.9 mirrors Table 1's pi_DPO(y3)."""
    tolerance: float
    """Absolute gap in loss under which two losses count as equal (float64 arithmetic)."""

    def problems(self):
        if self.instances_per_seed < 1:
            yield "instances_per_seed", "must be >= 1"
        if not 2 <= self.prompts[0] <= self.prompts[1]:
            yield "prompts", f"need 2 <= min <= max, got {list(self.prompts)}"
        if not 3 <= self.responses[0] <= self.responses[1]:
            yield "responses", f"need 3 <= min <= max, got {list(self.responses)}"
        if self.unsupported_per_prompt < 1 or self.responses[0] - self.unsupported_per_prompt < 2:
            yield "unsupported_per_prompt", "need >= 1, leaving >= 2 supported responses per prompt"
        supported = self.responses[0] - self.unsupported_per_prompt
        if not 1 <= self.pairs_per_prompt <= supported * (supported - 1) // 2:
            yield "pairs_per_prompt", f"need 1..{supported * (supported - 1) // 2} (distinct pairs of supported responses)"
        if not 0 < self.ood_mass < 1:
            yield "ood_mass", f"must be in (0, 1), got {self.ood_mass}"
        if not 0 < self.tolerance < 1e-3:
            yield "tolerance", f"must be in (0, 1e-3), got {self.tolerance}"


@dataclass(frozen=True)
class Table1Settings:
    """Table 1 (Section 4.1): the stateless three-action counter-example, and Theorem 4.1."""

    beta: float
    """KL coefficient beta of Eq. 2 / Eq. 7. PAPER: symbolic in Sec. 4.1; 0.1 is the paper's default (App. A.1)."""
    pi_ref: tuple[float, float, float]
    """Reference policy over (y1, y2, y3). PAPER: Table 1."""
    pi_dpo: tuple[float, float, float]
    """The DPO solution Table 1 prints. PAPER: Table 1."""
    pi_ppo: tuple[float, float, float]
    """The PPO solution Table 1 prints. PAPER: Table 1."""
    preferred: int
    """Index of y_w in the single preference pair. PAPER: Table 1 (y1 preferred to y2)."""
    dispreferred: int
    """Index of y_l in the single preference pair. PAPER: Table 1."""
    reward_margins: tuple[float, ...]
    """Gaps r(y_w) - r(y_l) at which the PPO solution pi_ref*exp(r/beta)/Z is evaluated. The Bradley-Terry
    fit to one pair has no finite optimum, so PPO's (1, 0, 0) is the limit of these. NOT IN PAPER; ours."""
    theorem: TheoremCheckSettings
    """The numerical check of Theorem 4.1 (Pi_PPO is a proper subset of Pi_DPO)."""

    def problems(self):
        for name in ("pi_ref", "pi_dpo", "pi_ppo"):
            probs = getattr(self, name)
            if min(probs) < 0 or abs(sum(probs) - 1) > 1e-9:
                yield name, f"must be a probability vector (>= 0, sums to 1), got {list(probs)}"
        if self.beta <= 0:
            yield "beta", f"must be > 0, got {self.beta}"
        for name in ("preferred", "dispreferred"):
            if not 0 <= getattr(self, name) < 3:
                yield name, "must be an action index 0, 1 or 2"
        if self.preferred == self.dispreferred:
            yield "dispreferred", "must differ from preferred"
        if not self.reward_margins or min(self.reward_margins) <= 0:
            yield "reward_margins", "need at least one margin, all > 0"


@dataclass(frozen=True)
class Figure1Settings:
    """Figure 1 (Section 4.2): 8 prompts x 8 responses, MLP policy and reward on one-hot prompts."""

    n_prompts: int
    """Number of discrete prompts. PAPER: Sec. 4.2 (8)."""
    n_responses: int
    """Number of discrete responses; response i is optimal for prompt i (the diagonal). PAPER: Sec. 4.2 (8)."""
    pairs_per_prompt: int
    """Preference pairs per prompt, each (y_w = the optimal response, y_l = a random other). PAPER: 'a few'
    (Sec. 4.2); the count and the pair rule are NOT IN PAPER (ours)."""
    hidden_sizes: tuple[int, ...]
    """Hidden widths of every MLP (policy, reference, reward). NOT IN PAPER (code unreleased, ReaLHF #93); ours."""
    beta: float
    """KL coefficient for DPO and for the PPO objective. NOT IN PAPER for Sec. 4.2; 0.1 = paper default (App. A.1)."""
    reward_steps: int
    """Full-batch Adam steps of Bradley-Terry reward learning (Eq. 4). NOT IN PAPER; ours."""
    reward_lr: float
    """Adam learning rate of reward learning. NOT IN PAPER; ours."""
    dpo_steps: int
    """Full-batch Adam steps on the DPO loss (Eq. 7), from pi_ref. NOT IN PAPER; ours."""
    dpo_lr: float
    """Adam learning rate of DPO. NOT IN PAPER; ours."""
    ppo_iterations: int
    """PPO updates: sample from the current policy, score with r_phi minus the KL to pi_ref, clip-optimise.
    NOT IN PAPER; ours."""
    ppo_samples_per_prompt: int
    """Responses sampled per prompt in each PPO update. NOT IN PAPER; ours."""
    ppo_epochs: int
    """Optimisation passes over each PPO batch. NOT IN PAPER; ours (TRL's default num_ppo_epochs is 4)."""
    ppo_lr: float
    """Adam learning rate of PPO. NOT IN PAPER; ours."""
    ppo_clip: float
    """PPO ratio clip epsilon. NOT IN PAPER; 0.2 = ReaLHF/TRL default."""
    sweep_pairs_per_prompt: tuple[int, ...]
    """Pairs per prompt of the decomposition sweep (issue [I] item 7: 1-4). NOT IN PAPER; it asks where the
    paper's picture holds as coverage grows. The sweep reruns every seed at each (pairs, beta) cell."""
    sweep_betas: tuple[float, ...]
    """KL coefficients of the sweep: beta against a learned reward of scale ~10 (r_phi / beta from ~100 to
    ~1) moves the KL optimum from r_phi's argmax towards pi_ref, so DPO and PPO meet at several KLs. Ours."""

    def problems(self):
        if not self.sweep_pairs_per_prompt or not all(1 <= k <= self.n_responses - 1 for k in self.sweep_pairs_per_prompt):
            yield "sweep_pairs_per_prompt", f"need one or more values, each in 1..{self.n_responses - 1}"
        if not self.sweep_betas or min(self.sweep_betas) <= 0:
            yield "sweep_betas", "need one or more values, each > 0"
        for name in ("n_prompts", "n_responses", "reward_steps", "dpo_steps", "ppo_iterations",
                     "ppo_samples_per_prompt", "ppo_epochs"):
            if getattr(self, name) < 1:
                yield name, "must be >= 1"
        if self.n_prompts > self.n_responses:
            yield "n_prompts", "the diagonal optimum needs n_prompts <= n_responses"
        if not 1 <= self.pairs_per_prompt <= self.n_responses - 1:
            yield "pairs_per_prompt", f"must be in 1..{self.n_responses - 1} (distinct losers per prompt)"
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            yield "hidden_sizes", "need at least one hidden layer, widths >= 1"
        for name in ("beta", "reward_lr", "dpo_lr", "ppo_lr"):
            if getattr(self, name) <= 0:
                yield name, "must be > 0"
        if not 0 < self.ppo_clip < 1:
            yield "ppo_clip", "must be in (0, 1)"
