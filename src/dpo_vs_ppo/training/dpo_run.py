"""One DPO run from a checkpoint, as the dpo and dpo_iter stages both train it."""

from __future__ import annotations

from .. import trl_bridge
from ..data.records import PreferencePair
from ..models import load_policy
from .datasets import preference_dataset
from .run_records import loaded_as_shards
from .step_log import StepLogCallback, last_value


def train_dpo(settings, init: str, tokenizer, pairs: list[PreferencePair], out: str):
    """DPO from the checkpoint ``init`` with a frozen copy of it as reference (paper Eq. 7); returns the
    trainer, the step log, and how the models were loaded (for run.json)."""
    log = StepLogCallback()
    config = trl_bridge.dpo_config(settings, out)  # before loading: ZeRO-3 then loads shards (trl_bridge)
    policy, reference = load_policy(init), load_policy(init)
    loaded = loaded_as_shards(policy, reference)
    trainer = trl_bridge.dpo_trainer(settings, policy, reference, tokenizer, preference_dataset(pairs), out, [log],
                                     config)
    trainer.train()
    return trainer, log, loaded


def dpo_metrics(trainer, log: StepLogCallback, pairs: list) -> dict:
    return {"pairs": len(pairs), "optimizer_steps": trainer.state.global_step,
            "final_loss": last_value(log.rows, "loss"),
            "final_reward_margin": last_value(log.rows, "rewards/margins"),
            "final_reward_accuracy": last_value(log.rows, "rewards/accuracies")}
