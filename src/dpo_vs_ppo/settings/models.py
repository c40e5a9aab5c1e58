"""Typed settings of the model stage: the tokenizer and the Llama-architecture policy and reward models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class LlamaSize:
    """A Llama architecture's sizes (transformers' LlamaConfig fields of the same names)."""

    hidden_size: int
    """Width of the residual stream. Llama-2-7B: 4096. Ours at tiny scale."""
    intermediate_size: int
    """Width of the MLP. Llama-2-7B: 11008."""
    num_hidden_layers: int
    """Decoder layers. Llama-2-7B: 32."""
    num_attention_heads: int
    """Attention heads. Llama-2-7B: 32."""
    num_key_value_heads: int
    """Key/value heads (grouped-query attention when fewer than the heads). Llama-2-7B: 32."""
    max_position_embeddings: int
    """Longest sequence, prompt plus response, in tokens. Llama-2: 4096."""

    def problems(self):
        for name in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                     "num_key_value_heads", "max_position_embeddings"):
            if getattr(self, name) < 1:
                yield name, "must be >= 1"
        if self.hidden_size % self.num_attention_heads:
            yield "num_attention_heads", f"must divide hidden_size {self.hidden_size}"
        if self.num_attention_heads % self.num_key_value_heads:
            yield "num_key_value_heads", f"must divide num_attention_heads {self.num_attention_heads}"


@dataclass(frozen=True)
class Pretraining:
    """Causal-LM pretraining of a built policy on its world's web-like corpus: the tiny analog of the base
    model having read the language before any fine-tuning (Llama-2 at paper scale). Issue [I] item 2."""

    documents_per_question: int
    """Documents per (topic, phrasing) of the world's pretraining corpus; 0: no pretraining (hub models,
    and worlds with no corpus). Ours."""
    epochs: float
    """Passes over the corpus. Ours."""
    learning_rate: float
    """Peak AdamW learning rate, linear decay. Ours (as the tiny SFT's)."""
    batch_size: int
    """Documents per optimizer step. Ours."""

    def problems(self):
        if self.documents_per_question < 0:
            yield "documents_per_question", "must be >= 0 (0: no pretraining)"
        if self.documents_per_question and (self.epochs <= 0 or self.learning_rate <= 0 or self.batch_size < 1):
            yield "epochs", "pretraining needs epochs > 0, learning_rate > 0 and batch_size >= 1"


@dataclass(frozen=True)
class ModelFamily:
    """The models of one task family: a policy and a scalar-head model (reward, cost and value init)."""

    origin: Literal["build", "hub"]
    """'build': train a tokenizer on the family's corpora and initialise models from `size` (tiny, smoke);
    'hub': use `policy_id` / `reward_id` as they are (paper)."""
    policy_id: str
    """Hub id of the base policy when origin is 'hub'. PAPER: Sec. 6 (Llama-2-7B; CodeLlama-34B for code)."""
    reward_id: str
    """Hub id the reward/cost/value models start from when origin is 'hub'. NOT IN PAPER (RM recipe not
    given); the base model, as ReaLHF does."""
    vocab_size: int
    """Size of the locally trained BPE vocabulary (build only), special tokens included. Ours."""
    size: LlamaSize
    """Architecture sizes (build only)."""
    init_seed: int
    """Seed of the weight initialisation (build only). Ours."""
    pretraining: Pretraining
    """Pretraining of the built policy before any stage reads it (build only); the reward/value models then
    start from its weights, as the paper's start from Llama-2's. Ours; the corpus is the world's."""

    def problems(self):
        if self.origin == "hub" and ("/" not in self.policy_id or "/" not in self.reward_id):
            yield "policy_id", "origin 'hub' needs 'owner/name' ids for policy_id and reward_id"
        if self.origin == "hub" and self.pretraining.documents_per_question:
            yield "pretraining.documents_per_question", "hub models come pretrained: must be 0 with origin 'hub'"
        if not 300 <= self.vocab_size <= 65536:  # 256 byte tokens and 4 special tokens come first
            yield "vocab_size", f"must be in 300..65536, got {self.vocab_size}"


@dataclass(frozen=True)
class ModelSettings:
    """Stage build_models: one family of models per task."""

    dialogue: ModelFamily
    """safe_dialogue task (Llama-2-7B at paper scale). PAPER: Sec. 4.3, 6."""
    code: ModelFamily
    """code task (CodeLlama at paper scale). PAPER: Sec. 5, 6."""
