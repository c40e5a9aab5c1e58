"""Tokenizer and Llama-architecture models: built locally at tiny scale, loaded by hub id at paper scale.

Both paths end in the same calls: ``AutoTokenizer.from_pretrained``, ``AutoModelForCausalLM
.from_pretrained`` and ``AutoModelForSequenceClassification.from_pretrained(num_labels=1)``, given a
folder (tiny: what :func:`build_family` saved) or a hub id (paper). The scalar-head model is the
initialisation of the reward, cost and value models, as in TRL's PPO examples.

Tokenizer choices, all for TRL (docs/models.md):

* ``<pad>`` is its own token, never the EOS: TRL's PPOTrainer masks every position equal to the pad id,
  so a pad equal to EOS would mask the EOS token and shift sequence lengths by one;
* no BOS is added automatically, so a prompt tokenised alone is a prefix of prompt + completion;
* the chat template writes HH-RLHF's "\\n\\nHuman: ... \\n\\nAssistant: ..." format, ending each
  assistant turn with EOS, so conversational and plain-text data give the same tokens.
"""

from __future__ import annotations

import copy
import gc
import os
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, LlamaConfig,
                          LlamaForCausalLM, LlamaForSequenceClassification, PreTrainedTokenizerFast)

from .settings.models import ModelFamily

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '\n\nHuman: ' + message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{{ '\n\nAssistant: ' + message['content'] + eos_token }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '\n\nAssistant:' }}{% endif %}"
)


def train_tokenizer(texts: list[str], vocab_size: int, max_length: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts`` (any text encodes: unseen bytes stay bytes)."""
    bpe = Tokenizer(models.BPE(unk_token=UNK))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, BOS, EOS, UNK],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token=PAD, bos_token=BOS, eos_token=EOS,
                                        unk_token=UNK, model_max_length=max_length)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def llama_config(family: ModelFamily, tokenizer) -> LlamaConfig:
    """The architecture of ``family`` with the tokenizer's vocabulary and special-token ids."""
    s = family.size
    return LlamaConfig(vocab_size=len(tokenizer), hidden_size=s.hidden_size, intermediate_size=s.intermediate_size,
                       num_hidden_layers=s.num_hidden_layers, num_attention_heads=s.num_attention_heads,
                       num_key_value_heads=s.num_key_value_heads, max_position_embeddings=s.max_position_embeddings,
                       pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                       eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False)


def build_family(family: ModelFamily, texts: list[str], out: str | Path) -> dict:
    """Train the tokenizer, initialise policy and scalar-head model, save all three under ``out``."""
    out = Path(out)
    tokenizer = train_tokenizer(texts, family.vocab_size, family.size.max_position_embeddings)
    config = llama_config(family, tokenizer)
    torch.manual_seed(family.init_seed)
    policy = LlamaForCausalLM(config)
    scalar_config = copy.deepcopy(config)
    scalar_config.num_labels = 1  # the setter also resets the label maps
    torch.manual_seed(family.init_seed + 1)
    scalar = LlamaForSequenceClassification(scalar_config)
    tokenizer.save_pretrained(out / "tokenizer")
    policy.save_pretrained(out / "policy")
    scalar.save_pretrained(out / "reward")
    return {"tokenizer": str(out / "tokenizer"), "policy": str(out / "policy"), "reward": str(out / "reward")}


def load_tokenizer(ref: str, padding_side: str = "right"):
    """The tokenizer at ``ref`` (folder or hub id). PPO prompts need ``padding_side='left'``."""
    tokenizer = AutoTokenizer.from_pretrained(ref, padding_side=padding_side)
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        # Llama-2's tokenizer has no pad token. Reusing EOS would make PPO mask the EOS (see module doc);
        # the unknown token never occurs in tokenised text and is a safe pad.
        tokenizer.pad_token = tokenizer.unk_token
    return tokenizer


def load_policy(ref: str, dtype: torch.dtype = torch.float32):
    """A causal LM (policy or reference) from a folder or hub id."""
    return AutoModelForCausalLM.from_pretrained(ref, dtype=dtype)


def load_scalar_model(ref: str, dtype: torch.dtype = torch.float32):
    """A one-output sequence classifier (reward, cost or value model) from a folder or hub id."""
    model = AutoModelForSequenceClassification.from_pretrained(ref, num_labels=1, dtype=dtype)
    if model.config.pad_token_id is None:  # it finds each sequence's last token through the pad id
        model.config.pad_token_id = load_tokenizer(ref).pad_token_id
    return model


def inference_device() -> torch.device:
    """Where generation and scoring run: the GPU when there is one (a real-GPU trial found a 1B policy
    sampling on the CPU beside an idle GPU), else the CPU. Under ``accelerate launch`` it is this process's
    own GPU (LOCAL_RANK): DPO-Iter samples before its trainer sets the device, when plain "cuda" would put
    every process's 7B copy on GPU 0."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def inference_dtype(device: torch.device) -> torch.dtype:
    # bf16 on the GPU: half a 7B model's memory and the dtype paper-scale training writes. fp32 on the CPU,
    # so tiny-scale results stay exactly what they were (CPU bf16 rounds differently, and is slower).
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def load_policy_for_inference(ref: str):
    """:func:`load_policy` on :func:`inference_device` in its :func:`inference_dtype`, in eval mode."""
    device = inference_device()
    return load_policy(ref, inference_dtype(device)).to(device).eval()


def load_scalar_for_inference(ref: str):
    """:func:`load_scalar_model` on :func:`inference_device` in its :func:`inference_dtype`, in eval mode."""
    device = inference_device()
    return load_scalar_model(ref, inference_dtype(device)).to(device).eval()


def release_accelerator_memory() -> None:
    """Hand the CUDA cache back once the caller has dropped its models: the allocator otherwise keeps a
    dropped 7B model's blocks, and the next model of the same process (DPO-Iter's trainer) may not fit."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class PolicyCache:
    """Inference policies by checkpoint path, one held at a time: sampling one checkpoint at every seed
    loads it once, and sampling per-seed checkpoints never holds two 7B models at once."""

    def __init__(self):
        self._ref: str | None = None
        self._model = None

    def __call__(self, ref: str):
        if ref != self._ref:
            self.clear()  # before the next load, so two checkpoints are never resident together
            self._model, self._ref = load_policy_for_inference(ref), ref
        return self._model

    def clear(self) -> None:
        self._model = self._ref = None
        release_accelerator_memory()


def parameter_count(model) -> int:
    """Number of parameters (all trainable here)."""
    return sum(p.numel() for p in model.parameters())
