"""The paper's evaluation models, loadable with plain transformers (no OpenAssistant or safe-rlhf install).

* **HH-RLHF reward** (PAPER: Table 4 footnote): ``OpenAssistant/oasst-rm-2-pythia-6.9b-epoch-1``. Its
  config names ``GPTNeoXRewardModel`` / model_type ``gpt_neox_reward_model``, a class that lives in
  OpenAssistant's training code (LAION-AI/Open-Assistant, model/model_training/models/reward_model.py),
  not in transformers: a GPT-NeoX trunk (``gpt_neox.*``) and a biased linear head (``out_proj``) read
  at the last non-padding token (``pooling: last``). :class:`GPTNeoXRewardModel` re-declares that
  layout, so the hub weights load by name. Input: ``<|prompter|>q<|endoftext|><|assistant|>a<|endoftext|>``
  per turn (model card; OA's formatting.py).
* **SafeRLHF reward and cost** (PAPER: Table 6 footnote, "official" models; most likely
  ``PKU-Alignment/beaver-7b-v1.0-reward`` / ``-cost``, version UNVERIFIED): safe-rlhf's
  ``LlamaForScore`` (older uploads: ``LlamaModelForScore``), a Llama trunk (``model.*``) and a linear
  ``score_head`` read at the last non-padding token (``end_scores``). :class:`LlamaForScore` re-declares
  it. Input: ``BEGINNING OF CONVERSATION: USER: {q} ASSISTANT:{a}`` + EOS (safe-rlhf constants.py and
  datasets/preference.py). Convention: the cost model is trained so that safe answers score < 0
  (safe-rlhf values/cost/trainer.py); its arena evaluation counts cost <= 0 as safe.
"""

from __future__ import annotations

import re

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    GPTNeoXConfig,
    GPTNeoXModel,
    GPTNeoXPreTrainedModel,
    LlamaModel,
    LlamaPreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from ..models import inference_device, inference_dtype

_TURN = re.compile(r"\n\n(Human|Assistant):")


def dialogue_turns(prompt: str) -> list[tuple[str, str]]:
    """An HH-format prompt ("\\n\\nHuman: q\\n\\nAssistant: a ... \\n\\nAssistant:") as (role, text)
    turns; the trailing empty Assistant turn is dropped."""
    parts = _TURN.split(prompt)
    if len(parts) < 3 or parts[0].strip():
        raise ValueError(f"not an HH-format dialogue prompt: {prompt[:80]!r}")
    turns = [(role, text.strip()) for role, text in zip(parts[1::2], parts[2::2])]
    if turns and turns[-1] == ("Assistant", ""):
        turns.pop()
    return turns


def oasst_text(prompt: str, response: str, eos: str = "<|endoftext|>") -> str:
    """A (prompt, response) pair in OpenAssistant's reward-model format."""
    tags = {"Human": "<|prompter|>", "Assistant": "<|assistant|>"}
    history = "".join(f"{tags[role]}{text}{eos}" for role, text in dialogue_turns(prompt))
    return f"{history}<|assistant|>{response.strip()}{eos}"


def safe_rlhf_text(prompt: str, response: str, eos: str = "</s>") -> str:
    """A (prompt, response) pair in Safe-RLHF's conversation format."""
    text = "BEGINNING OF CONVERSATION: "
    for role, turn in dialogue_turns(prompt):
        text += f"USER: {turn} " if role == "Human" else f"ASSISTANT:{turn}{eos}"
    return f"{text}ASSISTANT:{response.strip()}{eos}"


def last_token_values(values: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """values[b, t] at each row's last attended position (OA: cumsum().argmax(); safe-rlhf: nonzero()[-1])."""
    if attention_mask is None:
        return values[:, -1]
    last = attention_mask.shape[1] - 1 - attention_mask.flip(1).long().argmax(1)
    return values[torch.arange(values.shape[0], device=values.device), last]


class GPTNeoXRewardModelConfig(GPTNeoXConfig):
    """OpenAssistant's reward-model config: GPT-NeoX plus a pooling choice."""

    model_type = "gpt_neox_reward_model"

    def __init__(self, pooling: str = "last", **kwargs):
        super().__init__(**kwargs)
        self.pooling = pooling


class GPTNeoXRewardModel(GPTNeoXPreTrainedModel):
    """OpenAssistant's reward model layout: ``gpt_neox`` trunk, ``out_proj`` head, last or mean pooling."""

    config_class = GPTNeoXRewardModelConfig

    def __init__(self, config: GPTNeoXRewardModelConfig):
        super().__init__(config)
        self.gpt_neox = GPTNeoXModel(config)
        self.out_proj = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, **kwargs) -> SequenceClassifierOutput:
        hidden = self.gpt_neox(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.config.pooling == "mean":
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype) if attention_mask is not None else torch.ones_like(hidden[..., :1])
            pooled = (hidden * mask).sum(1) / mask.sum(1)
        else:
            pooled = last_token_values(hidden, attention_mask)
        return SequenceClassifierOutput(logits=self.out_proj(pooled))


class LlamaForScore(LlamaPreTrainedModel):
    """Safe-RLHF's score model layout: ``model`` trunk, ``score_head`` read at the last token (end score)."""

    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        bias = bool(getattr(config, "score_bias", getattr(config, "bias", False)))
        self.score_head = nn.Linear(config.hidden_size, getattr(config, "score_dim", 1), bias=bias)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, **kwargs) -> SequenceClassifierOutput:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return SequenceClassifierOutput(logits=last_token_values(self.score_head(hidden).float(), attention_mask))


AutoConfig.register(GPTNeoXRewardModelConfig.model_type, GPTNeoXRewardModelConfig, exist_ok=True)
AutoModelForSequenceClassification.register(GPTNeoXRewardModelConfig, GPTNeoXRewardModel, exist_ok=True)


def load_oasst_reward_model(ref: str, dtype: torch.dtype | None = None):
    """(model, tokenizer) of an OpenAssistant GPT-NeoX reward model, from a folder or hub id, in eval mode
    on :func:`~dpo_vs_ppo.models.inference_device` (``dtype`` None: that device's inference dtype)."""
    device = inference_device()
    model = AutoModelForSequenceClassification.from_pretrained(ref, dtype=dtype or inference_dtype(device))
    return model.to(device).eval(), AutoTokenizer.from_pretrained(ref)


def load_safe_rlhf_score_model(ref: str, dtype: torch.dtype | None = None):
    """(model, tokenizer) of a Safe-RLHF reward or cost model (LlamaForScore), from a folder or hub id, placed
    as :func:`load_oasst_reward_model` places its model."""
    device = inference_device()
    model = LlamaForScore.from_pretrained(ref, dtype=dtype or inference_dtype(device)).to(device)
    tokenizer = AutoTokenizer.from_pretrained(ref)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token
    return model.eval(), tokenizer
