"""The tiny base model's pretraining (issue [I] item 2): its corpus, and what pretraining leaves behind."""

import shutil
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import torch

from dpo_vs_ppo.config import ConfigError
from dpo_vs_ppo.data import safe_dialogue as world
from dpo_vs_ppo.data.safe_dialogue_corpora import INSTRUCTIONS, QUESTIONS, TEST_QUESTIONS, pretraining_documents
from dpo_vs_ppo.experiment import load_experiment
from dpo_vs_ppo.models import build_family, load_policy, load_scalar_model
from dpo_vs_ppo.training import pretraining

SMOKE = load_experiment("experiments/models.yaml", "smoke").settings


def test_the_corpus_asks_every_topic_in_every_phrasing_and_answers_with_its_steps():
    docs = pretraining_documents(np.random.default_rng(0), 2)
    phrasings = INSTRUCTIONS + QUESTIONS + TEST_QUESTIONS
    asked = Counter(q for q, _ in docs)
    assert asked == {f"\n\nquestion : {p.format(t=t.name)}": 2 for t in world.TOPICS for p in phrasings}
    for question, answer in docs:
        topic = world.topic_of(question.replace("question :", "Human:"))
        said = world.sentences_of(answer.removeprefix(" answer :"))
        assert said[:2] == list(topic.steps[:2]) and set(said) <= set(topic.steps) | {topic.redirect}
        assert "Human:" not in question + answer  # outside the chat format the fine-tuning data use
    harmful = [a for q, a in docs if world.harm(q, a.removeprefix(" answer :")) > 0]
    assert len(harmful) == 2 * len(phrasings) * len(world.RISKY)  # the base has read every risky how-to
    assert docs == pretraining_documents(np.random.default_rng(0), 2)


def test_pretraining_changes_every_policy_weight_and_the_reward_model_starts_from_it(tmp_path):
    family = SMOKE.dialogue
    documents = pretraining.corpus("dialogue", family)
    assert len(documents) == len(world.TOPICS) * 10 * family.pretraining.documents_per_question
    refs = build_family(family, [d.prompt + d.completion for d in documents], tmp_path)
    before = {k: v.clone() for k, v in load_policy(refs["policy"]).state_dict().items()}
    figures = pretraining.pretrain(family, refs, documents)
    after = load_policy(refs["policy"]).state_dict()
    assert [k for k in before if torch.equal(before[k], after[k])] == []
    assert figures["optimizer_steps"] > 0 and figures["final_loss"] < figures["first_loss"]
    reward = load_scalar_model(refs["reward"]).state_dict()
    backbone = [k for k in reward if k.startswith("model.")]
    assert backbone and all(torch.equal(reward[k], after[k]) for k in backbone)
    assert reward["score.weight"].shape == (1, family.size.hidden_size)


def test_pretraining_is_off_for_families_without_a_corpus_and_for_hub_models(tmp_path):
    assert pretraining.corpus("code", SMOKE.code) == []
    on = replace(SMOKE.code, pretraining=SMOKE.dialogue.pretraining)
    with pytest.raises(ValueError, match="code family has no pretraining corpus"):
        pretraining.corpus("code", on)
    assert load_experiment("experiments/models.yaml", "paper").settings.dialogue.pretraining.documents_per_question == 0
    shutil.copy("experiments/models.yaml", tmp_path / "models.yaml")
    (tmp_path / "models_bad.yaml").write_text(
        "base: models\nprofiles:\n  paper:\n    dialogue: {pretraining: {documents_per_question: 3}}\n")
    with pytest.raises(ConfigError, match="hub models come pretrained"):
        load_experiment(str(tmp_path / "models_bad.yaml"), "paper")
