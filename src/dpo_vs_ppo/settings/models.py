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

    def problems(self):
        if self.origin == "hub" and ("/" not in self.policy_id or "/" not in self.reward_id):
            yield "policy_id", "origin 'hub' needs 'owner/name' ids for policy_id and reward_id"
        if not 300 <= self.vocab_size <= 65536:  # 256 byte tokens and 4 special tokens come first
            yield "vocab_size", f"must be in 300..65536, got {self.vocab_size}"


@dataclass(frozen=True)
class ModelSettings:
    """Stage build_models: one family of models per task."""

    dialogue: ModelFamily
    """safe_dialogue task (Llama-2-7B at paper scale). PAPER: Sec. 4.3, 6."""
    code: ModelFamily
    """code task (CodeLlama at paper scale). PAPER: Sec. 5, 6."""
