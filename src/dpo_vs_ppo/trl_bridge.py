"""The one door to TRL 1.12: every trainer config is built here, field by field, and the paper's PPO
factors that TRL lacks are added here, in one place. No other module imports ``trl``.

Every paper-relevant TRL field is set explicitly from our settings (nothing is left to a TRL default
that a release could move; tests/golden/ snapshots the resolved configs). What we add to TRL's
``PPOTrainer`` (trl.experimental.ppo, removed in TRL 1.13), each with its reason:

1. **One optimizer step per minibatch** (the paper; DeepSpeed-Chat, ReaLHF). TRL's Accelerator
   accumulates over the whole local rollout batch, so it steps once per PPO epoch whatever
   ``num_mini_batches`` is (huggingface/trl#5645). We set the accumulation to one minibatch and stop
   accelerate from forcing extra syncs at the end of the prompt dataloader. (After construction,
   ``args.gradient_accumulation_steps`` therefore counts micro-batches per *minibatch*; the rollout
   batch sizes TRL derived from it at construction are unchanged.)
2. **Advantage normalisation switch** (paper Sec. 5, "Adv.Norm."). TRL always whitens advantages
   through the module function ``masked_whiten``; during ``train()`` we swap it for a wrapper that
   records advantage statistics and, when the switch is off, returns the advantages unchanged. The
   wrapper dispatches on ``shift_mean`` so TRL's reward whitening (its only other caller) is untouched.
3. **Reference-model EMA** (paper Sec. 5, "Ref.EMA"): ref <- eta*policy + (1-eta)*ref after each update,
   accumulated in an fp32 master copy (sharded under ZeRO-3), because a bf16 reference updated in place
   does not move at the paper's eta (training/reference_ema.py). TRL's ``SyncRefModelCallback`` updates
   in the reference's own dtype, so it is not used.
4. **Paper sampling and reward settings** TRL hard-codes or lacks: top-k (TRL samples with top_k=0),
   reward clipping to +-clip, and separate actor/critic learning rates (two AdamW parameter groups).
   With top-k on, rollout log-probs are taken from the full tempered distribution (as the reference
   and training forwards are), not from generate()'s truncated scores (see ``generate`` below).
5. **Speed**: TRL calls ``gc.collect()`` twice per update, about half of a tiny CPU update (README,
   "Speed"). We ``gc.freeze()`` the long-lived objects first, so each collection only scans the
   update's own garbage. Results are unchanged: collection never alters tensors.
6. **A reward function in the reward model's place** (paper Sec. 5, code: 10 if the program passes every
   training test, else 0). TRL's PPO only takes a scalar-head model; a reward model object with a
   ``score_query_responses(query_responses, context_length)`` method (training/code_training.py) is
   asked for the scores instead. Reward clipping still applies.

Items 2, 4 and 6 swap module globals of ``trl.experimental.ppo.ppo_trainer`` only while ``train()`` runs
(``training/ppo_patches.py``); ``train()`` looks these names up at call time, so we need not copy its 350 lines.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # PPO lives in trl.experimental, which warns on import

import torch  # noqa: E402
from transformers import TrainerCallback  # noqa: E402
from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer, SFTConfig, SFTTrainer  # noqa: E402
from trl.experimental.ppo import PPOConfig, PPOTrainer  # noqa: E402
from trl.experimental.ppo import ppo_trainer as ppo_module  # noqa: E402

from .settings.training import DPOSettings, Optimisation, PPOSettings, RewardSettings, SFTSettings  # noqa: E402
from .training.ppo_patches import construction_patches, paper_patches  # noqa: E402
from .training.reference_ema import ReferenceEMA  # noqa: E402
from .training.step_log import quiet_progress  # noqa: E402

#: The TRL release this module is written against; tests/test_stack_guard.py fails if it moves.
TRL_VERSION = "1.12.0"

#: TRL's own PPO trainer, for the benchmark's "stock" arms and the tests' comparisons.
StockPPOTrainer = PPOTrainer


def stock_ppo_config(config: PaperPPOConfig) -> PPOConfig:
    """TRL's own PPOConfig with the same values as ``config``, minus the fields we add."""
    return PPOConfig(**{f.name: getattr(config, f.name) for f in dataclasses.fields(PPOConfig) if f.init})


# ----------------------------------------------------------------------------- supervised trainers


def _training_arguments(optim: Optimisation, seed: int, output_dir: str) -> dict:
    """TrainingArguments fields every supervised stage sets, CPU-sane."""
    return dict(
        output_dir=output_dir, learning_rate=optim.learning_rate, num_train_epochs=optim.epochs,
        per_device_train_batch_size=optim.per_device_batch_size,
        gradient_accumulation_steps=optim.gradient_accumulation_steps, lr_scheduler_type=optim.lr_scheduler,
        warmup_steps=optim.warmup_steps, weight_decay=optim.weight_decay, max_grad_norm=optim.max_grad_norm,
        optim="adamw_torch", adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8,
        seed=seed, data_seed=seed, bf16=optim.bf16, fp16=False, activation_checkpointing=False,
        logging_steps=1, save_strategy="no", eval_strategy="no", report_to="none",
        use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0, disable_tqdm=False,
    )


def sft_config(s: SFTSettings, output_dir: str) -> SFTConfig:
    return SFTConfig(**_training_arguments(s.optim, s.seed, output_dir), max_length=s.max_length,
                     completion_only_loss=s.completion_only_loss, packing=False, truncation_mode="keep_start")


def reward_config(s: RewardSettings, output_dir: str) -> RewardConfig:
    return RewardConfig(**_training_arguments(s.optim, s.seed, output_dir), max_length=s.max_length,
                        center_rewards_coefficient=s.center_rewards_coefficient or None, disable_dropout=True)


def dpo_config(s: DPOSettings, output_dir: str) -> DPOConfig:
    return DPOConfig(**_training_arguments(s.optim, s.seed, output_dir), max_length=s.max_length, beta=s.beta,
                     loss_type=[s.loss_type], label_smoothing=0.0, disable_dropout=True,
                     precompute_ref_log_probs=False, sync_ref_model=False, truncation_mode="keep_start")


# Each builder takes the config it would build, when the stage built it first: under DeepSpeed ZeRO-3 a
# trainer config that exists before from_pretrained makes transformers load each model as ZeRO-3 shards
# (deepspeed.zero.Init, the accelerate config's zero3_init_flag), instead of a whole fp32 copy per process
# (PPO's four 34B models: ~0.5 TB of host memory in each of 8 processes).


def sft_trainer(s, model, tokenizer, dataset, output_dir, callbacks=(), config=None) -> SFTTrainer:
    return quiet_progress(SFTTrainer(model=model, args=config or sft_config(s, output_dir), train_dataset=dataset,
                                     processing_class=tokenizer, callbacks=list(callbacks)))


def reward_trainer(s, model, tokenizer, dataset, output_dir, callbacks=(), config=None) -> RewardTrainer:
    return quiet_progress(RewardTrainer(model=model, args=config or reward_config(s, output_dir),
                                        train_dataset=dataset, processing_class=tokenizer, callbacks=list(callbacks)))


def dpo_trainer(s, model, ref_model, tokenizer, dataset, output_dir, callbacks=(), config=None) -> DPOTrainer:
    # The reference is passed explicitly: with ref_model=None TRL reloads it from the model's
    # config path, which is wrong for a model changed in memory.
    return quiet_progress(DPOTrainer(model=model, ref_model=ref_model, args=config or dpo_config(s, output_dir),
                                     train_dataset=dataset, processing_class=tokenizer, callbacks=list(callbacks)))


# ----------------------------------------------------------------------------- PPO


@dataclass
class PaperPPOConfig(PPOConfig):
    """TRL's PPOConfig plus the fields of the additions listed in the module docstring."""

    whiten_advantages: bool = True
    critic_learning_rate: float = 5e-6
    top_k: int = 0
    reward_clip: float = 0.0
    sync_ref_model: bool = False  # the ref-EMA fields keep DPOConfig's names (ref_model_sync_steps: always 1)
    ref_model_mixup_alpha: float = 0.001
    ref_model_sync_steps: int = 1


# DEVIATION: no value normalisation. The paper uses "advantage normalisation + value normalisation"
# (App. A.2; ReaLHF's running-moment value_norm). TRL 1.12 has none, and adding it means rewriting the
# value loss inside PPOTrainer.train(), which this bridge deliberately does not copy. docs/fidelity.md.
def ppo_config(s: PPOSettings, output_dir: str, world_size: int, prompts: int) -> PaperPPOConfig:
    """Map our settings to TRL's batch arithmetic: rollout = per_device x grad_accum x world."""
    if problem := s.split_problem(world_size):
        raise ValueError(problem)
    per_rank = s.rollout_batch_size // world_size
    updates = math.ceil(int(s.prompt_epochs * prompts) / s.rollout_batch_size)  # TRL's num_total_batches
    return PaperPPOConfig(
        output_dir=output_dir, learning_rate=s.actor_learning_rate, critic_learning_rate=s.critic_learning_rate,
        per_device_train_batch_size=s.per_device_batch_size,
        gradient_accumulation_steps=per_rank // s.per_device_batch_size, num_mini_batches=s.num_mini_batches,
        num_ppo_epochs=s.ppo_epochs, total_episodes=int(s.prompt_epochs * prompts),
        local_rollout_forward_batch_size=min(64, per_rank), response_length=s.response_length,
        temperature=s.temperature, top_k=s.top_k, stop_token="eos", missing_eos_penalty=s.missing_eos_penalty or None,
        kl_coef=s.kl_coef, kl_estimator=s.kl_estimator, gamma=s.gamma, lam=s.lam, cliprange=s.cliprange,
        cliprange_value=s.cliprange_value, vf_coef=s.vf_coef, whiten_rewards=False, reward_clip=s.reward_clip,
        whiten_advantages=s.whiten_advantages, sync_ref_model=s.ref_ema, ref_model_mixup_alpha=s.ema_eta(updates),
        ref_model_sync_steps=1, lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0,
        optim="adamw_torch", adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8, seed=s.seed, bf16=s.bf16,
        fp16=False, activation_checkpointing=False, num_sample_generations=0, logging_steps=1, save_strategy="no",
        report_to="none", use_cpu=not torch.cuda.is_available(), disable_tqdm=False, dataloader_num_workers=0,
    )


class _ReferenceEMACallback(TrainerCallback):
    """Addition 3 after each update (PPO fires on_step_end once per update)."""

    def __init__(self, ema: ReferenceEMA):
        self.ema = ema

    def on_step_end(self, args, state, control, **kwargs):
        self.ema.step()


class _UpdateEndCallback(TrainerCallback):
    """Runs after the EMA callback, so the row and any checkpoint see this update's reference."""

    def __init__(self, trainer: PaperPPOTrainer):
        self.trainer = trainer

    def on_step_end(self, args, state, control, **kwargs):
        self.trainer.finish_update()


class PaperPPOTrainer(PPOTrainer):
    """TRL's PPOTrainer with the additions of the module docstring; ``on_update(trainer, row)`` is
    called after each update with that update's logged metrics (the stage writes logs and checkpoints)."""

    def __init__(self, *args, on_update: Callable[[PaperPPOTrainer, dict], None] | None = None,
                 keep_reference_start: bool = False, **kwargs):
        with construction_patches(kwargs["args"], ppo_module):
            super().__init__(*args, **kwargs)
        a = self.args
        # Addition 1: one optimizer step per minibatch (see module docstring).
        # The same count sizes train()'s per-micro-batch stats arrays, which TRL allocates per *local batch*
        # and fills per minibatch: without this, every "_avg" metric is diluted by num_mini_batches.
        a.gradient_accumulation_steps = a.local_mini_batch_size // a.per_device_train_batch_size
        self.accelerator.gradient_accumulation_steps = a.gradient_accumulation_steps
        self.accelerator.gradient_state.plugin_kwargs["sync_with_dataloader"] = False
        if self.is_deepspeed_enabled:
            # DeepSpeed scales each micro-batch's loss by 1/its own accumulation count, and accelerate sized
            # its micro-batch from the *rollout* loader (a whole local batch): set both to what train() runs.
            self.model.set_train_micro_batch_size(a.per_device_train_batch_size)
            self.model.set_train_batch_size(a.mini_batch_size)
        else:
            self.optimizer.optimizer.register_step_post_hook(self._count_optimizer_step)
        self._hooked_steps = 0
        self.ref_ema = None
        if a.sync_ref_model:  # addition 3
            policy = self.accelerator.unwrap_model(self.model).policy
            self.ref_ema = ReferenceEMA(self.ref_model, policy, a.ref_model_mixup_alpha, keep_start=keep_reference_start)
            self.add_callback(_ReferenceEMACallback(self.ref_ema))
        self.add_callback(_UpdateEndCallback(self))
        self.on_update, self.update_offset, self.advantage_stats, self._row = on_update, 0, {}, {}
        #: A training.rollout_monitor.RolloutMonitor the stage may set: gold scores and KL to SFT per update.
        self.monitor = None
        #: Seconds per update of this process, whole and in rollout generation (for run.json, not the step
        #: log: wall-clock figures would make two identical runs' logs differ).
        self.update_timings: list[dict] = []
        self.generate_seconds, self._clock = 0.0, (time.perf_counter(), 0.0)

    @property
    def optimizer_steps(self) -> int:
        """Real optimizer steps so far. DeepSpeed's ZeRO optimizer has no step hooks, and its inner torch
        optimizer steps once per parameter sub-group, so under DeepSpeed the engine's own count is read."""
        return self.model.global_steps if self.is_deepspeed_enabled else self._hooked_steps

    def _count_optimizer_step(self, *_):
        self._hooked_steps += 1

    def create_optimizer(self, model=None):
        """Addition 4: actor and critic in separate AdamW parameter groups with their own learning rates."""
        if self.optimizer is None:
            a, wrapper = self.args, self.model
            groups = [{"params": [p for p in wrapper.policy.parameters() if p.requires_grad], "lr": a.learning_rate},
                      {"params": [p for p in wrapper.value_model.parameters() if p.requires_grad],
                       "lr": a.critic_learning_rate}]
            self.optimizer = torch.optim.AdamW(groups, betas=(a.adam_beta1, a.adam_beta2), eps=a.adam_epsilon,
                                               weight_decay=a.weight_decay)
        return self.optimizer

    def train(self, remaining_updates: int | None = None):
        """Run TRL's loop with the additions; ``remaining_updates`` shortens it after a resume."""
        if remaining_updates is not None:
            self.args.num_total_batches = remaining_updates
        self._steps_at_update_start = self.optimizer_steps  # a resumed engine has counted the earlier steps
        self._clock = (time.perf_counter(), self.generate_seconds)
        gc.collect()
        gc.freeze()  # addition 5
        try:
            with paper_patches(self, ppo_module):
                return super().train()
        finally:
            gc.unfreeze()

    def log(self, logs: dict, start_time: float | None = None) -> None:
        steps_before, self._steps_at_update_start = self._steps_at_update_start, self.optimizer_steps
        # TRL's "eps" (episodes per second) stays out of the row: a wall-clock figure would make the step
        # logs of two identical runs differ. Wall time is in run.json.
        logged = {k: v for k, v in logs.items() if k != "eps"}
        if "episode" in logged:  # TRL counts episodes from 0 in each train() call; a resumed run continues
            logged["episode"] += self.update_offset * self.args.batch_size
        monitored = self.monitor.flush() if self.monitor is not None else {}
        self._row = {"update": self.update_offset + self.state.global_step, **logged, **self.advantage_stats, **monitored,
                     "lr_critic": self.optimizer.param_groups[1]["lr"],
                     "optimizer_steps": self.optimizer_steps - steps_before,
                     "whiten_advantages": int(self.args.whiten_advantages), "ref_ema": int(self.args.sync_ref_model),
                     "rollout_batch_size": self.args.batch_size, "num_mini_batches": self.args.num_mini_batches}
        super().log(logs, start_time)

    def finish_update(self) -> None:
        (last, generated_before), now = self._clock, time.perf_counter()
        self.update_timings.append({"update": self._row["update"], "wall_s": round(now - last, 4),
                                    "generate_s": round(self.generate_seconds - generated_before, 4)})
        self._clock = (now, self.generate_seconds)
        if self.on_update is not None:
            self.on_update(self, self._row)


def ppo_trainer(s: PPOSettings, policy, ref_policy, reward_model, value_model, tokenizer, prompts, output_dir,
                world_size: int, on_update=None, keep_reference_start: bool = False, config=None) -> PaperPPOTrainer:
    """The paper's PPO on ``prompts`` (a dataset with only ``input_ids``; tokenizer padding on the left).
    ``keep_reference_start``: keep a copy of the starting reference, to log the EMA's distance from it."""
    return quiet_progress(PaperPPOTrainer(
        args=config or ppo_config(s, output_dir, world_size, len(prompts)), processing_class=tokenizer, model=policy,
        ref_model=ref_policy, reward_model=reward_model, value_model=value_model, train_dataset=prompts,
        eval_dataset=None, on_update=on_update, keep_reference_start=keep_reference_start))
