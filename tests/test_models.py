"""The tiny model factory: tokenizer as TRL needs it, Llama models saved and reloaded by from_pretrained."""

import json

import pytest
import torch

from dpo_vs_ppo.experiment import load_experiment
from dpo_vs_ppo.models import build_family, load_policy, load_scalar_model, load_tokenizer, parameter_count, train_tokenizer

TEXTS = [f"\n\nHuman: how do i bake bread {i} ?\n\nAssistant: knead the dough . let the dough rise ." for i in range(200)]
FAMILY = load_experiment("experiments/models.yaml", "smoke").settings.dialogue


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    return out, build_family(FAMILY, TEXTS, out)


def test_tokenizer_special_tokens_and_no_automatic_bos_or_eos(built):
    _, refs = built
    tok = load_tokenizer(refs["tokenizer"])
    assert tok.pad_token_id != tok.eos_token_id and tok.pad_token == "<pad>" and tok.eos_token == "</s>"
    prompt, completion = TEXTS[0].split("Assistant:")
    ids_prompt = tok(prompt + "Assistant:")["input_ids"]
    ids_full = tok(TEXTS[0])["input_ids"]
    assert ids_full[: len(ids_prompt)] == ids_prompt  # a prompt's tokens are a prefix of prompt + completion
    assert tok.eos_token_id not in ids_full and tok.bos_token_id not in ids_full
    assert tok.decode(ids_full) == TEXTS[0]
    assert load_tokenizer(refs["tokenizer"], padding_side="left").padding_side == "left"


def test_chat_template_writes_the_hh_format_with_eos(built):
    tok = load_tokenizer(built[1]["tokenizer"])
    messages = [{"role": "user", "content": "how do i bake bread ?"}, {"role": "assistant", "content": "knead the dough ."}]
    assert tok.apply_chat_template(messages, tokenize=False) == "\n\nHuman: how do i bake bread ?\n\nAssistant: knead the dough .</s>"
    assert tok.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True) == "\n\nHuman: how do i bake bread ?\n\nAssistant:"


def test_models_reload_with_identical_outputs_and_configured_sizes(built, tmp_path):
    out, refs = built
    tok = load_tokenizer(refs["tokenizer"])
    batch = tok(TEXTS[:3], return_tensors="pt", padding=True)
    policy, scalar = load_policy(refs["policy"]), load_scalar_model(refs["reward"])
    assert policy.config.hidden_size == FAMILY.size.hidden_size and policy.config.num_hidden_layers == FAMILY.size.num_hidden_layers
    assert policy.config.pad_token_id == tok.pad_token_id and scalar.config.num_labels == 1
    assert scalar(**batch).logits.shape == (3, 1)
    policy.save_pretrained(tmp_path / "again")
    again = load_policy(str(tmp_path / "again"))
    with torch.no_grad():
        assert torch.equal(policy(**batch).logits, again(**batch).logits)
    assert 0 < parameter_count(scalar) < parameter_count(policy)  # the LM head is the larger one


def test_building_twice_gives_the_same_files(built, tmp_path):
    out, _ = built
    build_family(FAMILY, TEXTS, tmp_path)
    for rel in ("tokenizer/tokenizer.json", "policy/model.safetensors", "reward/model.safetensors"):
        assert (out / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_the_tokenizer_encodes_text_it_never_saw():
    tok = train_tokenizer(TEXTS, 300, 64)
    text = "ünïcode { } def f(x): return x"
    assert tok.decode(tok(text)["input_ids"]) == text and tok.unk_token_id not in tok(text)["input_ids"]
    assert json.loads(tok.backend_tokenizer.to_str())["model"]["type"] == "BPE"
