"""A very small tokenizer, policy and scalar model built in a temporary folder, for trainer tests."""

import json
from pathlib import Path

from dpo_vs_ppo.data.records import PreferencePair
from dpo_vs_ppo.models import build_family
from dpo_vs_ppo.records import to_plain
from dpo_vs_ppo.settings.models import LlamaSize, ModelFamily, Pretraining

TOPICS = ["bread", "tea", "a kite", "a boat", "soup", "a garden", "a letter", "a song"]
PROMPTS = [f"\n\nHuman: how do i make {t} ?\n\nAssistant:" for t in TOPICS]
GOOD = [f" first get {t} things . then make {t} . i hope this helps ." for t in TOPICS]
BAD = [" no ." for _ in TOPICS]


def build_tiny_models(out: Path) -> dict:
    """Tokenizer, policy and reward/value init under ``out`` (models-stage layout, with model_refs.json)."""
    family = ModelFamily(origin="build", policy_id="", reward_id="", vocab_size=300, init_seed=0,
                         size=LlamaSize(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=96),
                         pretraining=Pretraining(documents_per_question=0, epochs=0, learning_rate=0, batch_size=1))
    refs = build_family(family, [p + g for p, g in zip(PROMPTS, GOOD)] * 4 + BAD, out)
    (out / "model_refs.json").write_text(json.dumps(refs))
    return refs


def pairs(copies: int = 1) -> list[PreferencePair]:
    """The pairs; ``copies`` > 1 repeats them with distinct prompts ("... ? (2)") for more prompts."""
    out = []
    for k in range(copies):
        suffix = f" ({k})" if k else ""
        out += [PreferencePair(prompt=p.replace(" ?", f" ?{suffix}"), chosen=g, rejected=b, source=f"test/{k * len(TOPICS) + i}",
                               rule="annotator") for i, (p, g, b) in enumerate(zip(PROMPTS, GOOD, BAD))]
    return out


def write_pairs(path: Path, copies: int = 1) -> Path:
    path.write_text("".join(json.dumps(to_plain(p)) + "\n" for p in pairs(copies)))
    return path
