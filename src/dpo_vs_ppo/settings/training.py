"""Typed settings of the training stages: SFT, reward model, DPO, PPO and DPO-Iter.

Field docstrings say where a value comes from: ``PAPER: <section>`` when the paper states it;
``NOT IN PAPER`` plus the fallback's source (ReaLHF default, DeepSpeed-Chat, TRL default) when it
does not. The tiny and smoke values are ours and say so in the experiment files; the paper profile's
overlays cite the paper line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..evaluation.scorers import GOLD


@dataclass(frozen=True)
class Optimisation:
    """Optimiser and schedule of a supervised trainer (AdamW, as TRL's trainers use)."""

    learning_rate: float
    """Peak learning rate."""
    epochs: float
    """Passes over the training set."""
    per_device_batch_size: int
    """Examples per forward/backward on one process."""
    gradient_accumulation_steps: int
    """Micro-batches per optimizer step; global batch = per_device_batch_size x this x processes."""
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"]
    """Learning-rate schedule after warm-up (transformers' lr_scheduler_type)."""
    warmup_steps: int
    """Optimizer steps of linear warm-up."""
    weight_decay: float
    """AdamW decoupled weight decay."""
    max_grad_norm: float
    """Gradient-norm clipping threshold (transformers' default 1.0)."""
    bf16: bool
    """bfloat16 mixed precision (GPU). False on CPU, where bf16 is slower (a bf16 step of the tiny model took
    20.0 ms against 12.9 ms in fp32)."""

    def problems(self):
        if self.learning_rate <= 0:
            yield "learning_rate", "must be > 0"
        if self.epochs <= 0:
            yield "epochs", "must be > 0"
        for name in ("per_device_batch_size", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                yield name, "must be >= 1"
        if self.warmup_steps < 0 or self.weight_decay < 0 or self.max_grad_norm <= 0:
            yield "warmup_steps", "warmup_steps and weight_decay must be >= 0, max_grad_norm > 0"


@dataclass(frozen=True)
class SFTSettings:
    """Stage sft: supervised fine-tuning on prompt-completion records (TRL SFTTrainer)."""

    optim: Optimisation
    """NOT IN PAPER (the SFT recipe is not given); values are ours (tiny) or TRL/Alpaca defaults (paper)."""
    max_length: int
    """Longest prompt + completion in tokens; longer examples are truncated."""
    completion_only_loss: bool
    """Train on completion tokens only (TRL's prompt-completion default), not on the prompt."""
    seed: int
    """Seed of initialisation-free randomness (data order)."""


@dataclass(frozen=True)
class RewardSettings:
    """Stage reward: a Bradley-Terry reward model on preference pairs (TRL RewardTrainer)."""

    optim: Optimisation
    """NOT IN PAPER (the RM recipe is not given); ours (tiny) or common defaults (paper)."""
    max_length: int
    """Longest prompt + response in tokens."""
    center_rewards_coefficient: float
    """Weight of the (r_chosen + r_rejected)^2 centring term; 0 disables it (TRL default None)."""
    seed: int
    """Seed of data order."""
    pair_filter: Literal["none", "dual_unsafe", "dual_unsafe_and_dual_safe"]
    """Which SafeRLHF pairs to drop before training: 'dual_unsafe' (both responses unsafe), or that and then
    'dual_safe' (both safe). PAPER: Sec. 4.3, Table 2 and App. C.3, Table 13 (dual-safe after dual-unsafe)."""


@dataclass(frozen=True)
class DPOSettings:
    """Stage dpo: Direct Preference Optimisation (TRL DPOTrainer), reference = the initial policy."""

    optim: Optimisation
    """PAPER: App. A.1 (lr 1e-6; 2 epochs dialogue, 1 code; batch swept, value not given)."""
    beta: float
    """KL coefficient beta. PAPER: App. A.1 (0.1); App. C.2 sweeps 0.05 and 0.2."""
    loss_type: Literal["sigmoid", "ipo", "hinge"]
    """DPO loss; 'sigmoid' is the paper's Eq. 7. PAPER: Sec. 3."""
    max_length: int
    """Longest prompt + response in tokens."""
    seed: int
    """Seed of data order."""
    pair_filter: Literal["none", "dual_unsafe", "dual_unsafe_and_dual_safe"]
    """Which SafeRLHF pairs to drop before training: 'dual_unsafe' (both responses unsafe), or that and then
    'dual_safe' (both safe). PAPER: Sec. 4.3, Table 2 and App. C.3, Table 13 (dual-safe after dual-unsafe)."""

    def problems(self):
        if self.beta <= 0:
            yield "beta", "must be > 0"


@dataclass(frozen=True)
class PPOSettings:
    """Stage ppo: TRL's PPOTrainer with the paper's three factors (trl_bridge.py adds what TRL lacks)."""

    actor_learning_rate: float
    """Policy learning rate. PAPER: App. A.2 (1e-5). 0 freezes the policy (the KL sanity check of
    benchmarks/paper_path.py: with nothing trained, the KL to a frozen reference must stay at 0)."""
    critic_learning_rate: float
    """Value-model learning rate (own parameter group). PAPER: App. A.2 (5e-6). 0 freezes the critic."""
    rollout_batch_size: int
    """Global rollouts per PPO update, over all processes. PAPER: App. A.2 (512); Sec. 5 baseline 64."""
    num_mini_batches: int
    """Minibatches per rollout batch, one optimizer step each. PAPER: App. A.2 (4)."""
    per_device_batch_size: int
    """Sequences per forward/backward on one process (memory knob only). Ours."""
    ppo_epochs: int
    """Passes over each rollout batch. NOT IN PAPER; ReaLHF uses each minibatch once (1)."""
    prompt_epochs: float
    """Passes over the prompt set (total episodes = this x prompts). PAPER: App. A.2 (5 dialogue, 16 code)."""
    response_length: int
    """Most tokens generated per response. PAPER: App. A.2 (256 dialogue, 1024 code)."""
    temperature: float
    """Rollout sampling temperature. PAPER: App. A.2 (1.0)."""
    top_k: int
    """Rollout top-k sampling; 0 = off. PAPER: App. A.2 (200)."""
    kl_coef: float
    """Per-token KL penalty coefficient. PAPER: App. A.2 (0.1)."""
    kl_estimator: Literal["k1", "k3"]
    """Per-token KL estimator. NOT IN PAPER; ReaLHF and TRL default k1 (log-ratio)."""
    gamma: float
    """GAE discount. PAPER: App. A.2 (1)."""
    lam: float
    """GAE lambda. PAPER: App. A.2 (1)."""
    cliprange: float
    """PPO ratio clip epsilon. NOT IN PAPER; ReaLHF default 0.2."""
    cliprange_value: float
    """Value clip range around the rollout values. NOT IN PAPER; ReaLHF default 0.2."""
    vf_coef: float
    """Weight of the value loss in the joint loss (separate parameter groups, so it scales the critic's
    gradient only). NOT IN PAPER; TRL default 0.1."""
    reward_clip: float
    """The reward model's score is clipped to [-this, this]. PAPER: App. A.2 (20)."""
    missing_eos_penalty: float
    """Subtracted from the score of a response that never emits EOS; 0 = none. NOT IN PAPER; TRL default
    (None)."""
    whiten_advantages: bool
    """Advantage normalisation over the rollout batch. PAPER: Sec. 5 ('Adv.Norm.'), App. A.2."""
    ref_ema: bool
    """Reference-model EMA: ref <- eta*policy + (1-eta)*ref after each update. PAPER: Sec. 5 ('Ref.EMA')."""
    ref_ema_eta: float
    """EMA rate eta, in (0, 1]. NOT IN PAPER; ReaLHF's ppo-ref-ema example uses 0.001."""
    bf16: bool
    """bfloat16 for the rollout models. TRL's PPO Accelerator ignores it: mixed precision comes from the
    `accelerate launch` config (experiments/launch/)."""
    save_every: int
    """Updates between resume checkpoints (TRL's PPOTrainer cannot resume; our stage can). Ours."""
    seed: int
    """Seed of rollouts and data order."""
    monitor_scorers: tuple[str, ...]
    """Gold scorers run on every rollout batch and logged per update as ``gold/<id>`` (issue [I] item 5: the
    over-optimisation the learned reward hides). Ours; the tiny world's gold functions only (the paper
    profile's scorers are 7B models: empty there)."""
    log_kl_to_sft: bool
    """Log ``kl_to_sft`` per update: the rollouts' KL to the starting (SFT) policy, as TRL's objective/kl is
    to the reference, which the EMA moves (issue [I] item 5). Ours. A second policy copy in memory; skipped
    under DeepSpeed, where it is not proven."""
    ref_ema_retain: float = 0.0
    """When > 0: the share of the SFT weights left in the reference after the last update, (1 - eta)^updates,
    which then sets eta = 1 - retain^(1/updates) for the run's own number of updates (so a run with 4x the
    updates gets a 4x slower EMA). 0: use ref_ema_eta as given. Ours (issue [I]): it puts the tiny runs in the
    paper profile's regime, whatever their batch size."""

    def ema_eta(self, updates: int) -> float:
        """The EMA rate the run uses over ``updates`` updates."""
        return 1 - self.ref_ema_retain ** (1 / max(1, updates)) if self.ref_ema_retain else self.ref_ema_eta

    def problems(self):
        for name in ("prompt_epochs", "temperature"):
            if getattr(self, name) <= 0:
                yield name, "must be > 0"
        for name in ("actor_learning_rate", "critic_learning_rate"):
            if getattr(self, name) < 0:
                yield name, "must be >= 0"
        for name in ("rollout_batch_size", "num_mini_batches", "per_device_batch_size", "ppo_epochs",
                     "response_length", "save_every"):
            if getattr(self, name) < 1:
                yield name, "must be >= 1"
        if self.rollout_batch_size % self.num_mini_batches:
            yield "num_mini_batches", (f"rollout_batch_size {self.rollout_batch_size} is not divisible into "
                                       f"{self.num_mini_batches} minibatches")
        elif (self.rollout_batch_size // self.num_mini_batches) % self.per_device_batch_size:
            yield "per_device_batch_size", (f"a minibatch of {self.rollout_batch_size // self.num_mini_batches} "
                                            f"is not a whole number of per-device batches of {self.per_device_batch_size}")
        if not 0 < self.ref_ema_eta <= 1:
            yield "ref_ema_eta", f"must be in (0, 1], got {self.ref_ema_eta}"
        if not 0 <= self.ref_ema_retain < 1:
            yield "ref_ema_retain", f"must be in [0, 1) (0: use ref_ema_eta), got {self.ref_ema_retain}"
        if self.top_k < 0 or self.reward_clip <= 0 or self.missing_eos_penalty < 0:
            yield "top_k", "top_k and missing_eos_penalty must be >= 0, reward_clip > 0"
        if not (0 <= self.gamma <= 1 and 0 <= self.lam <= 1):
            yield "gamma", "gamma and lam must be in [0, 1]"
        if unknown := [sid for sid in self.monitor_scorers if sid not in GOLD]:
            yield "monitor_scorers", f"unknown gold scorer(s) {', '.join(unknown)}; known: {', '.join(GOLD)}"

    def split_problem(self, world_size: int) -> str | None:
        """Why the rollout batch cannot be split over ``world_size`` processes, or None if it can
        (TRL: rollout = per-device batch x accumulation steps x processes)."""
        per_rank, rest = divmod(self.rollout_batch_size, world_size)
        if rest or per_rank % self.num_mini_batches or (per_rank // self.num_mini_batches) % self.per_device_batch_size:
            return (f"rollout_batch_size {self.rollout_batch_size} does not split into {world_size} process(es) x "
                    f"{self.num_mini_batches} minibatches x whole per-device batches of {self.per_device_batch_size}")
        return None


@dataclass(frozen=True)
class DPOIterSettings:
    """Stage dpo_iter: one round of iterative DPO (PAPER: Sec. 4.3, Table 2)."""

    dpo: DPOSettings
    """The DPO step of each round; its reference is the round's starting policy. PAPER: Sec. 4.3."""
    responses_per_prompt: int
    """Responses sampled per prompt; the learned RM's best and worst make a pair. NOT IN PAPER; 2 (a pair)."""
    prompts_per_round: int
    """Prompts sampled from the prompt set each round; 0 = all. NOT IN PAPER; ours."""
    max_new_tokens: int
    """Most tokens per sampled response. PAPER: App. A.2 (256, as PPO's rollouts)."""
    temperature: float
    """Sampling temperature. NOT IN PAPER; PPO's rollout setting (1.0)."""
    top_k: int
    """Top-k sampling; 0 = off. NOT IN PAPER; PPO's rollout setting (200)."""
    generation_batch_size: int
    """Prompts per generate() call (memory knob only). Ours."""
    seed: int
    """Seed of sampling (each round adds its index)."""

    def problems(self):
        if self.responses_per_prompt < 2:
            yield "responses_per_prompt", "need >= 2 responses to make a pair"
        if self.prompts_per_round < 0 or self.max_new_tokens < 1 or self.generation_batch_size < 1:
            yield "prompts_per_round", "prompts_per_round must be >= 0, max_new_tokens and generation_batch_size >= 1"
