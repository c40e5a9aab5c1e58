"""Generation and scoring on the accelerator (issue 15, part 3): models go to the GPU in bf16 when there
is one, inputs follow the model's device, and a stage loads each model once. No GPU here, so CUDA is
faked (``torch.cuda.is_available`` patched) and recorded rather than used; on the CPU the results must
be exactly those of the plain fp32 CPU path."""

import gc
import json
import shutil
import weakref
from types import SimpleNamespace

import pytest
import torch

from dpo_vs_ppo import models
from dpo_vs_ppo.evaluation import paper_evaluators as pe
from dpo_vs_ppo.evaluation.scorers import make_scorer
from dpo_vs_ppo.models import (PolicyCache, load_policy, load_policy_for_inference, load_scalar_for_inference,
                               load_scalar_model, load_tokenizer)
from dpo_vs_ppo.evaluation import scorers as scorers_module
from dpo_vs_ppo.stages import evaluate_policy
from dpo_vs_ppo.training import iterative_labels
from dpo_vs_ppo.training.sampling import sample_responses, score_texts
from tiny_models import GOOD, PROMPTS, build_tiny_models, write_pairs


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    return build_tiny_models(tmp_path_factory.mktemp("models"))


# ----------------------------------------------------------------------------- CPU: results unchanged

def test_on_the_cpu_sampling_is_bit_identical_to_the_plain_fp32_path(refs):
    tokenizer = load_tokenizer(refs["tokenizer"], padding_side="left")
    policy = load_policy_for_inference(refs["policy"])
    assert policy.device.type == "cpu" and policy.dtype == torch.float32 and not policy.training
    torch.manual_seed(11)
    texts, tokens = sample_responses(policy, tokenizer, PROMPTS[:5], n=2, max_new_tokens=8, temperature=1.0,
                                     top_k=50, batch_size=3)
    # second implementation: the code path before the device handling, on a freshly loaded fp32 model
    plain, expected, expected_tokens = load_policy(refs["policy"]).eval(), [], 0
    torch.manual_seed(11)
    for start in range(0, 5, 3):
        chunk = PROMPTS[start:min(start + 3, 5)]
        enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = plain.generate(**enc, do_sample=True, temperature=1.0, top_k=50, top_p=1.0, max_new_tokens=8,
                                 num_return_sequences=2, pad_token_id=tokenizer.pad_token_id,
                                 eos_token_id=tokenizer.eos_token_id)[:, enc["input_ids"].shape[1]:]
        expected_tokens += int((out != tokenizer.pad_token_id).sum())
        decoded = tokenizer.batch_decode(out, skip_special_tokens=True)
        expected += [decoded[i * 2:(i + 1) * 2] for i in range(len(chunk))]
    assert (texts, tokens) == (expected, expected_tokens)


def test_on_the_cpu_scores_are_bit_identical_to_the_plain_fp32_path(refs):
    tokenizer = load_tokenizer(refs["tokenizer"])
    model = load_scalar_for_inference(refs["reward"])
    assert model.device.type == "cpu" and model.dtype == torch.float32 and not model.training
    texts = [p + g + tokenizer.eos_token for p, g in zip(PROMPTS, GOOD)]
    plain = load_scalar_model(refs["reward"]).eval()
    enc = tokenizer(texts[:4], return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.no_grad():
        expected = plain(**enc).logits[:, 0].tolist()
    assert score_texts(model, tokenizer, texts[:4], batch_size=4) == expected


# ----------------------------------------------------------------------------- a (faked) GPU

class Recorder:
    """A stand-in for a loaded model: records its load arguments, where it was moved and eval mode."""

    def __init__(self, ref, **kwargs):
        self.ref, self.kwargs, self.placed, self.evaluating = ref, kwargs, None, False
        self.config = SimpleNamespace(pad_token_id=0)

    def to(self, device):
        self.placed = torch.device(device)
        return self

    def eval(self):
        self.evaluating = True
        return self


@pytest.fixture
def fake_cuda(monkeypatch):
    """CUDA reported present; every loader's from_pretrained returns a Recorder; empty_cache calls counted."""
    emptied = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(True))
    for cls in (models.AutoModelForCausalLM, models.AutoModelForSequenceClassification,
                pe.AutoModelForSequenceClassification, pe.LlamaForScore):
        monkeypatch.setattr(cls, "from_pretrained", lambda ref, **kw: Recorder(ref, **kw))
    monkeypatch.setattr(pe.AutoTokenizer, "from_pretrained", lambda ref: SimpleNamespace(pad_token="<pad>"))
    return emptied


def test_with_a_gpu_every_inference_loader_asks_for_cuda_bf16_and_eval_mode(fake_cuda, monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert models.inference_device() == torch.device("cuda", 0)
    loaded = [load_policy_for_inference("policy"), load_scalar_for_inference("reward"),
              pe.load_oasst_reward_model("oasst")[0], pe.load_safe_rlhf_score_model("beaver")[0]]
    for model in loaded:
        assert model.kwargs["dtype"] == torch.bfloat16, model.ref
        assert model.placed == torch.device("cuda", 0) and model.evaluating, model.ref
    assert loaded[1].kwargs["num_labels"] == 1
    models.release_accelerator_memory()
    assert fake_cuda == [True]


def test_under_a_multi_process_launch_each_process_samples_on_its_own_gpu(fake_cuda, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert models.inference_device() == torch.device("cuda", 3)
    assert load_policy_for_inference("policy").placed == torch.device("cuda", 3)


def test_without_a_gpu_the_training_loaders_are_unchanged_and_nothing_moves(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(models.AutoModelForCausalLM, "from_pretrained", lambda ref, **kw: Recorder(ref, **kw))
    assert load_policy("p").kwargs == {"dtype": torch.float32} and load_policy("p").placed is None
    model = load_policy_for_inference("p")
    assert model.kwargs == {"dtype": torch.float32} and model.placed == torch.device("cpu")


class OffCPUPolicy:
    """A policy on a device other than the CPU (``meta``: shapes without data) that records what its
    ``generate`` receives and answers every prompt with ``answer`` (CPU token ids)."""

    device = torch.device("meta")

    def __init__(self, answer: list[int]):
        self.answer, self.calls = answer, []

    def eval(self):
        return self

    def generate(self, input_ids, attention_mask, **kwargs):
        self.calls.append((input_ids.device, attention_mask.device, kwargs))
        rows = input_ids.shape[0] * kwargs["num_return_sequences"]
        return torch.cat([torch.zeros(rows, input_ids.shape[1], dtype=torch.long),
                          torch.tensor([self.answer] * rows)], dim=1)


def test_sampling_sends_left_padded_prompts_to_the_policy_device_with_the_kv_cache(refs):
    tokenizer = load_tokenizer(refs["tokenizer"])
    answer = tokenizer.encode(" knead it .", add_special_tokens=False) + [tokenizer.eos_token_id]
    policy = OffCPUPolicy(answer)
    texts, tokens = sample_responses(policy, tokenizer, PROMPTS[:3], n=2, max_new_tokens=8, temperature=1.0,
                                     top_k=50, batch_size=2)
    assert [call[:2] for call in policy.calls] == [(torch.device("meta"),) * 2] * 2  # 2 batches: 2 + 1 prompts
    assert all(call[2]["generation_config"].use_cache is True for call in policy.calls)
    assert texts == [[" knead it ."] * 2] * 3 and tokens == 3 * 2 * len(answer)


def test_scoring_sends_its_batches_to_the_model_device(refs):
    tokenizer, seen = load_tokenizer(refs["tokenizer"]), []

    class OffCPUScorer:
        device = torch.device("meta")

        def eval(self):
            return self

        def __call__(self, input_ids, attention_mask):
            seen.append((input_ids.device, attention_mask.device))
            return SimpleNamespace(logits=torch.arange(input_ids.shape[0], dtype=torch.bfloat16)[:, None])

    assert score_texts(OffCPUScorer(), tokenizer, ["a", "bb", "ccc"], batch_size=2) == [0.0, 1.0, 0.0]
    assert seen == [(torch.device("meta"),) * 2] * 2


# ----------------------------------------------------------------------------- loaded once per stage

def test_policy_cache_loads_a_path_once_and_drops_the_last_model_before_the_next(monkeypatch):
    loads, alive = [], []

    def load(ref):
        assert all(r() is None for r in alive), "the previous checkpoint is still held"
        loads.append(ref)
        model = Recorder(ref)
        alive.append(weakref.ref(model))
        return model

    monkeypatch.setattr(models, "load_policy_for_inference", load)
    cache = PolicyCache()
    assert cache("a") is cache("a")
    cache("b")
    cache.clear()
    gc.collect()
    assert loads == ["a", "b"] and all(r() is None for r in alive)


def test_evaluate_policy_loads_one_checkpoint_and_builds_its_scorers_once_for_all_seeds(refs, tmp_path, monkeypatch):
    checkpoint = tmp_path / "sft"
    shutil.copytree(refs["policy"], checkpoint)
    shutil.copytree(refs["tokenizer"], checkpoint, dirs_exist_ok=True)
    params = tmp_path / "params.yaml"
    params.write_text("profile: smoke\nseeds: [0, 1]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    loads, scorers = [], []
    load = models.AutoModelForCausalLM.from_pretrained
    monkeypatch.setattr(models.AutoModelForCausalLM, "from_pretrained",
                        lambda ref, **kw: loads.append(ref) or load(ref, **kw))
    monkeypatch.setattr(scorers_module, "make_scorer", lambda *a: scorers.append(a[0]) or make_scorer(*a))
    out = tmp_path / "out"
    evaluate_policy.main(["--params", str(params), "--generate-experiment", "experiments/generate_dialogue.yaml",
                          "--experiment", "experiments/evaluate_dialogue.yaml", "--seed-list", "seeds",
                          "--policy", str(checkpoint), "--prompts", str(write_pairs(tmp_path / "pairs.jsonl")),
                          "--samples-dir", str(out), "--metrics", str(tmp_path / "m.json"),
                          "--run-info", str(tmp_path / "run.json")])
    assert loads == [str(checkpoint)]  # once, not once per seed
    assert sorted(scorers) == ["gold_harm", "gold_helpfulness"]  # built once each, not once per seed
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["seeds"] == [0, 1] and (out / "s0.jsonl").read_text() != (out / "s1.jsonl").read_text()


def test_dpo_iter_labelling_frees_the_policy_before_the_reward_model_loads(refs, monkeypatch):
    held = {}

    def policy(ref):
        model = load_policy_for_inference(ref)
        held["policy"] = weakref.ref(model)
        return model

    def reward(ref):
        assert held["policy"]() is None, "the sampling policy is still held"
        model = load_scalar_for_inference(ref)
        held["reward"] = weakref.ref(model)
        return model

    monkeypatch.setattr(iterative_labels, "load_policy_for_inference", policy)
    monkeypatch.setattr(iterative_labels, "load_scalar_for_inference", reward)
    s = SimpleNamespace(responses_per_prompt=2, max_new_tokens=6, temperature=1.0, top_k=50, generation_batch_size=4,
                        seed=0)
    torch.manual_seed(0)
    pairs, scores, _ = iterative_labels.label_samples(s, refs["policy"], refs["reward"], load_tokenizer(refs["tokenizer"]),
                                              PROMPTS[:4])
    assert len(scores) == 8 and len(pairs) == 4
    assert held["reward"]() is None  # nothing left behind for DPO's training to share the GPU with
