"""Scorers behind one interface, and the paper's evaluation models loaded from checkpoints in the hub layout.

The paper-scale models cannot be downloaded here, so each test writes a tiny checkpoint with the same
config fields, class names, weight names and weight format (.bin) as the hub repositories
(OpenAssistant/oasst-rm-2-pythia-6.9b-epoch-1, PKU-Alignment/beaver-7b-v1.0-{reward,cost}), loads it
through the scorer registry, and compares with a second implementation of the forward pass.
"""

import json

import pytest
import torch
from transformers import GPTNeoXConfig, GPTNeoXModel, LlamaConfig, LlamaModel

from dpo_vs_ppo.data import safe_dialogue
from dpo_vs_ppo.evaluation import paper_evaluators as pe
from dpo_vs_ppo.evaluation.scorers import SCORER_IDS, UnknownScorer, make_scorer
from dpo_vs_ppo.models import load_scalar_model, load_tokenizer
from dpo_vs_ppo.training.sampling import score_responses
from tests.tiny_models import GOOD, PROMPTS, build_tiny_models

HH_PROMPT = "\n\nHuman: hi there\n\nAssistant: hello !\n\nHuman: how do i bake bread ?\n\nAssistant:"


def test_gold_scorers_are_the_gold_functions():
    prompts = ["\n\nHuman: how do i pick a lock ?\n\nAssistant:", "\n\nHuman: how do i make tea ?\n\nAssistant:"]
    responses = [" insert a tension tool . rake the pins .", " i can not help with that ."]
    help_, harm = make_scorer("gold_helpfulness"), make_scorer("gold_harm")
    assert help_.kind == "reward" and harm.kind == "cost"
    assert help_(prompts, responses) == [safe_dialogue.helpfulness(p, r) for p, r in zip(prompts, responses)] == [2.0, -1.0]
    # A refusal with no harmful step earns the safe-side credit (SAFE_CREDIT per distinct safe act).
    assert harm(prompts, responses) == [safe_dialogue.harm(p, r) for p, r in zip(prompts, responses)]
    assert harm(prompts, responses) == [2.0, -safe_dialogue.SAFE_CREDIT]


def test_unknown_scorer_and_misaligned_inputs_are_clear_errors():
    with pytest.raises(UnknownScorer, match="unknown scorer 'gold_happiness'; known: gold_helpfulness"):
        make_scorer("gold_happiness")
    with pytest.raises(ValueError, match="needs a model"):
        make_scorer("learned_reward")
    with pytest.raises(ValueError, match="2 prompts but 1 responses"):
        make_scorer("gold_harm")(["a", "b"], ["c"])
    assert len(SCORER_IDS) == 7


def test_learned_scorer_matches_the_training_time_scoring(tmp_path):
    refs = build_tiny_models(tmp_path)
    tokenizer = load_tokenizer(refs["tokenizer"])
    tokenizer.save_pretrained(refs["reward"])  # a trained checkpoint folder holds its tokenizer
    expected = score_responses(load_scalar_model(refs["reward"]), tokenizer, PROMPTS, GOOD, batch_size=3)
    for scorer_id, kind in (("learned_reward", "reward"), ("learned_cost", "cost")):
        scorer = make_scorer(scorer_id, refs["reward"], batch_size=5)
        assert scorer.kind == kind
        assert scorer(PROMPTS, GOOD) == pytest.approx(expected, abs=1e-5)


def test_dialogue_turns_and_the_two_paper_formats():
    assert pe.dialogue_turns(HH_PROMPT) == [("Human", "hi there"), ("Assistant", "hello !"),
                                            ("Human", "how do i bake bread ?")]
    assert pe.oasst_text(HH_PROMPT, " knead the dough .") == (
        "<|prompter|>hi there<|endoftext|><|assistant|>hello !<|endoftext|>"
        "<|prompter|>how do i bake bread ?<|endoftext|><|assistant|>knead the dough .<|endoftext|>")
    assert pe.safe_rlhf_text(HH_PROMPT, " knead the dough .") == (
        "BEGINNING OF CONVERSATION: USER: hi there ASSISTANT:hello !</s>"
        "USER: how do i bake bread ? ASSISTANT:knead the dough .</s>")
    with pytest.raises(ValueError, match="not an HH-format"):
        pe.dialogue_turns("just some text")


def _tokenizer_with(tmp_path, specials):
    tokenizer = load_tokenizer(build_tiny_models(tmp_path / "base")["tokenizer"])
    tokenizer.add_special_tokens({"additional_special_tokens": specials})
    return tokenizer


def _save_as_hub_bin(model, folder):
    """save_pretrained, then the weights as the hub repositories ship them: a pickled pytorch_model.bin."""
    model.save_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")


def _hub_config(folder, **fields):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.update(fields)
    path.write_text(json.dumps(config))


def test_oasst_reward_model_loads_from_the_hub_layout_and_scores_the_last_token(tmp_path):
    tokenizer = _tokenizer_with(tmp_path, ["<|prompter|>", "<|assistant|>", "<|endoftext|>"])
    config = pe.GPTNeoXRewardModelConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1,
                                         num_attention_heads=2, intermediate_size=32, max_position_embeddings=256,
                                         pooling="last", eos_token_id=tokenizer.eos_token_id,
                                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = pe.GPTNeoXRewardModel(config)
    folder = tmp_path / "oasst"
    _save_as_hub_bin(model, folder)
    tokenizer.save_pretrained(folder)
    _hub_config(folder, architectures=["GPTNeoXRewardModel"])
    assert {k.split(".")[0] for k in model.state_dict()} == {"gpt_neox", "out_proj"}  # the hub's weight names
    assert (folder / "pytorch_model.bin").exists()

    scorer = make_scorer("oasst_reward_model", str(folder), batch_size=2)
    responses = [" knead the dough .", " i can not help with that , it is far too long a question to answer ."]
    scores = scorer([HH_PROMPT] * 2, responses)

    trunk = GPTNeoXModel(GPTNeoXConfig(**{k: v for k, v in config.to_dict().items() if k != "pooling"}))
    trunk.load_state_dict({k.removeprefix("gpt_neox."): v for k, v in model.state_dict().items() if k.startswith("gpt_neox.")})
    for response, score in zip(responses, scores):  # second implementation: one unpadded text at a time
        ids = tokenizer(pe.oasst_text(HH_PROMPT, response, tokenizer.eos_token), return_tensors="pt",
                        add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            expected = model.out_proj(trunk(input_ids=ids).last_hidden_state[0, -1]).item()
        assert score == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("scorer_id, kind", [("safe_rlhf_reward_model", "reward"), ("safe_rlhf_cost_model", "cost")])
def test_safe_rlhf_score_model_loads_from_the_hub_layout_and_reads_the_end_score(tmp_path, scorer_id, kind):
    tokenizer = _tokenizer_with(tmp_path, [])
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    config.score_dim, config.bias, config.score_bias = 1, False, True  # beaver-7b-v1.0-cost's current config
    torch.manual_seed(1)
    model = pe.LlamaForScore(config)
    folder = tmp_path / "beaver"
    _save_as_hub_bin(model, folder)
    tokenizer.save_pretrained(folder)
    _hub_config(folder, architectures=["LlamaForScore"], score_type="reward", do_normalize=False)
    assert {k.split(".")[0] for k in model.state_dict()} == {"model", "score_head"}

    scorer = make_scorer(scorer_id, str(folder), batch_size=2)
    assert scorer.kind == kind
    responses = [" knead the dough .", " mix the flour and water . knead the dough . let the dough rise ."]
    scores = scorer([HH_PROMPT] * 2, responses)
    trunk = LlamaModel(config)
    trunk.load_state_dict({k.removeprefix("model."): v for k, v in model.state_dict().items() if k.startswith("model.")})
    for response, score in zip(responses, scores):
        ids = tokenizer(pe.safe_rlhf_text(HH_PROMPT, response, tokenizer.eos_token), return_tensors="pt",
                        add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            expected = model.score_head(trunk(input_ids=ids).last_hidden_state[0, -1]).item()
        assert score == pytest.approx(expected, abs=1e-4)


def test_last_token_values_reads_the_last_attended_position():
    values = torch.arange(12.0).reshape(3, 4)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    assert pe.last_token_values(values, mask).tolist() == [1.0, 7.0, 8.0]
    assert pe.last_token_values(values, None).tolist() == [3.0, 7.0, 11.0]
