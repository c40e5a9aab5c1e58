"""Pretraining a built base model on its world's web-like corpus (tiny and smoke; hub models come pretrained).

The paper's policies and reward models all start from Llama-2, which has read how people ask for things
and how-tos on every subject before any fine-tuning. A randomly initialised tiny model has read nothing, so
its SFT only learns the fine-tuning prompts' phrasings and breaks on held-out ones (issue [I] item 2). Here
the built policy is trained as a causal LM on the world's corpus (every token, no chat format), and the
reward/value model is rebuilt from its weights with a fresh scalar head, as the paper's start from Llama-2.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from ..data.records import SFTExample
from ..settings.models import ModelFamily
from ..settings.training import Optimisation, SFTSettings

#: The task families whose world has a pretraining corpus (``safe_dialogue_corpora.pretraining_documents``).
PRETRAINABLE = ("dialogue",)


def corpus(family_name: str, family: ModelFamily) -> list[SFTExample]:
    """The family's pretraining documents (empty when its pretraining is off)."""
    if not family.pretraining.documents_per_question:
        return []
    if family_name not in PRETRAINABLE:
        raise ValueError(f"models: the {family_name} family has no pretraining corpus; "
                         f"set pretraining.documents_per_question: 0")
    from ..data.safe_dialogue_corpora import pretraining_documents

    # A generator of its own: the corpus does not move when the synthetic datasets' streams change.
    rng = np.random.default_rng(family.init_seed)
    docs = pretraining_documents(rng, family.pretraining.documents_per_question)
    return [SFTExample(prompt=q, completion=a, source=f"pretraining/{i}") for i, (q, a) in enumerate(docs)]


def sft_settings(family: ModelFamily) -> SFTSettings:
    """The pretraining run as SFT settings: every token is trained (no prompt masking), linear decay."""
    p = family.pretraining
    optim = Optimisation(learning_rate=p.learning_rate, epochs=p.epochs, per_device_batch_size=p.batch_size,
                         gradient_accumulation_steps=1, lr_scheduler="linear", warmup_steps=10, weight_decay=0.0,
                         max_grad_norm=1.0, bf16=False)
    return SFTSettings(optim=optim, max_length=family.size.max_position_embeddings, completion_only_loss=False,
                       seed=family.init_seed)


def pretrain(family: ModelFamily, refs: dict, documents: list[SFTExample]) -> dict:
    """Train ``refs['policy']`` on ``documents`` in place, rebuild ``refs['reward']`` from it; return figures."""
    from .. import trl_bridge
    from ..models import load_policy, load_tokenizer
    from .datasets import sft_dataset
    from .run_records import save_checkpoint
    from .step_log import StepLogCallback, last_value

    settings, log = sft_settings(family), StepLogCallback()
    tokenizer = load_tokenizer(refs["tokenizer"])
    with tempfile.TemporaryDirectory() as scratch:
        config = trl_bridge.sft_config(settings, scratch)
        trainer = trl_bridge.sft_trainer(settings, load_policy(refs["policy"]), tokenizer, sft_dataset(documents),
                                         scratch, [log], config)
        trainer.train()
        save_checkpoint(trainer, tokenizer, refs["policy"])
    scalar_from_policy(refs["policy"], refs["reward"], family.init_seed + 1)
    return {"documents": len(documents), "optimizer_steps": trainer.state.global_step,
            "first_loss": log.rows[0].get("loss") if log.rows else None, "final_loss": last_value(log.rows, "loss")}


def scalar_from_policy(policy_dir: str, out: str, seed: int) -> None:
    """A scalar-head model with the policy's backbone and a fresh head (seeded), saved at ``out``."""
    from transformers import LlamaForSequenceClassification

    torch.manual_seed(seed)
    scalar = LlamaForSequenceClassification.from_pretrained(policy_dir, num_labels=1)
    scalar.save_pretrained(Path(out))
