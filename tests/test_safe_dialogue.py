"""The synthetic safe_dialogue task: gold functions' properties, patterns, labels, determinism."""

import hashlib
import itertools

import numpy as np
import pytest

from dpo_vs_ppo.data import safe_dialogue as world
from dpo_vs_ppo.data.dialogue_sources import saferlhf_pairs
from dpo_vs_ppo.data.records import SkipCounter
from dpo_vs_ppo.data.safe_dialogue_corpora import (QUESTIONS, TEST_QUESTIONS, alpaca_rows, sample_response,
                                                   saferlhf_rows, write_safe_dialogue)
from dpo_vs_ppo.experiment import load_experiment

CFG = load_experiment("experiments/data_dialogue.yaml", "smoke").settings.synthetic
SAFETY_SENTENCES = [world.REFUSAL, world.WARNING] + [t.redirect for t in world.TOPICS]
SAFE_SENTENCES = SAFETY_SENTENCES + [world.OPENER, world.CLOSING] + [s for t in world.BENIGN for s in t.steps]


def ask(topic):
    return f"how do i {topic.name} ?"


@pytest.mark.parametrize("topic", world.TOPICS, ids=lambda t: t.name)
def test_a_response_without_harmful_steps_is_safe_and_graded_by_its_safety_sentences(topic):
    rng = np.random.default_rng(0)
    for _ in range(50):
        sentences = list(rng.choice(SAFE_SENTENCES, size=int(rng.integers(1, 5))))
        credited = len(set(sentences) & set(SAFETY_SENTENCES))  # counted here from the lists, not the module's set
        response = world.render(sentences)
        assert world.harm(ask(topic), response) == -world.SAFE_CREDIT * credited <= 0
        assert world.is_safe(ask(topic), response)


def test_a_harmful_step_outweighs_any_safety_sentence():
    lock = world.RISKY[0]
    hedged = world.render([world.WARNING, lock.steps[0], world.REFUSAL, lock.redirect])
    assert world.harm(ask(lock), hedged) == lock.severity and not world.is_safe(ask(lock), hedged)


@pytest.mark.parametrize("topic", world.RISKY, ids=lambda t: t.name)
def test_risky_prompts_have_real_tension(topic):
    full, safe = world.render(topic.steps), world.render([world.REFUSAL, topic.redirect])
    assert world.helpfulness(ask(topic), full) > world.helpfulness(ask(topic), safe) > 0
    assert world.harm(ask(topic), full) == 4 * topic.severity > 0 > world.harm(ask(topic), safe) == -2 * world.SAFE_CREDIT
    for k in range(1, 5):  # harm grows with every distinct harmful step, wherever it is said
        assert world.harm("how do i bake bread ?", world.render(topic.steps[:k])) == k * topic.severity


@pytest.mark.parametrize("topic", world.BENIGN, ids=lambda t: t.name)
def test_benign_helpfulness_counts_distinct_on_topic_steps(topic):
    scores = [world.helpfulness(ask(topic), world.render(topic.steps[:k])) for k in range(5)]
    assert scores == [0, 1, 2, 3, 4]
    assert world.helpfulness(ask(topic), world.render([world.REFUSAL])) == -1  # refusing a benign request
    assert world.helpfulness(ask(topic), world.render([topic.steps[0]] * 2)) == 0.5  # a repeat costs 0.5
    other = next(t for t in world.BENIGN if t != topic)
    assert world.helpfulness(ask(topic), world.render(other.steps[:2])) == -1  # off-topic
    assert world.helpfulness(ask(topic), "qwerty zxcv .") == -0.5  # outside the closed set


def test_render_and_parse_round_trip():
    sentences = list(world.TOPICS[0].steps)
    assert world.sentences_of(world.render(sentences)) == sentences
    assert world.sentences_of(" mix the  flour and water .knead the dough") == sentences[:2]


@pytest.mark.parametrize("pattern", world.IN_DATA_PATTERNS)
def test_every_sampled_response_is_classified_as_its_pattern(pattern):
    rng = np.random.default_rng(1)
    topics = world.TOPICS if pattern != "off_topic" else world.BENIGN
    if pattern == "warning_steps":
        topics = world.RISKY
    for topic, _ in itertools.product(topics, range(10)):
        assert world.response_pattern(ask(topic), sample_response(rng, topic, pattern)) == pattern


def test_out_of_data_patterns_are_recognised():
    bread, lock = world.TOPICS[0], world.RISKY[0]
    cases = {"steps_then_refusal": [lock.steps[0], world.REFUSAL], "repeated_sentence": [bread.steps[0]] * 2,
             "mixed_topics": [bread.steps[0], lock.steps[1]], "unparseable": ["hello there"], "empty": []}
    for pattern, sentences in cases.items():
        assert world.response_pattern(ask(bread), world.render(sentences)) == pattern
    assert set(cases) <= set(world.OUT_OF_DATA_PATTERNS)


def test_preference_data_never_contain_out_of_data_patterns():
    rows = saferlhf_rows(np.random.default_rng(0), 500, CFG)
    seen = {world.response_pattern(r["prompt"], r[f"response_{i}"]) for r in rows for i in (0, 1)}
    assert seen == set(world.IN_DATA_PATTERNS)


def test_labels_follow_the_gold_functions():
    cfg = CFG.__class__(**{**CFG.__dict__, "helpfulness_temperature": 1e-3, "harm_temperature": 1e-3})
    rows = saferlhf_rows(np.random.default_rng(0), 400, cfg)
    for r in rows:
        h = [world.helpfulness(r["prompt"], r[f"response_{i}"]) for i in (0, 1)]
        c = [world.harm(r["prompt"], r[f"response_{i}"]) for i in (0, 1)]
        assert r["is_response_0_safe"] == (c[0] <= 0) and r["is_response_1_safe"] == (c[1] <= 0)
        if h[0] != h[1]:  # near-zero temperature: the label is the gold argmax
            assert r["better_response_id"] == int(h[1] > h[0])
        if c[0] != c[1]:
            assert r["safer_response_id"] == int(c[1] < c[0])
    # Through the paper's rule, a chosen response is never more harmful than the rejected one unless both are safe.
    pairs = list(saferlhf_pairs(rows, "train", SkipCounter("pku", "train")))
    assert all(world.harm(p.prompt, p.chosen) <= world.harm(p.prompt, p.rejected) for p in pairs if p.rule == "safety")


def test_labels_are_noisy_at_the_configured_temperature():
    rows = saferlhf_rows(np.random.default_rng(0), 2000, CFG)
    disagree = [r for r in rows if world.helpfulness(r["prompt"], r["response_0"]) > world.helpfulness(r["prompt"], r["response_1"]) + 0.9
                and r["better_response_id"] == 1]
    assert 0 < len(disagree) < 0.25 * len(rows)  # Bradley-Terry noise flips some, not most, clear preferences


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    write_safe_dialogue(CFG, tmp_path / "a")
    write_safe_dialogue(CFG, tmp_path / "b")
    write_safe_dialogue(CFG.__class__(**{**CFG.__dict__, "data_seed": 1}), tmp_path / "c")
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert a == b and len(a) == 10  # 7 data files, 3 dataset cards
    assert a["hh-rlhf/helpful-base/train.jsonl"] != c["hh-rlhf/helpful-base/train.jsonl"]


def test_test_prompts_are_phrased_as_no_training_prompt_is(tmp_path):
    import json
    write_safe_dialogue(CFG, tmp_path)
    def prompts(path, key):
        return {json.loads(line)[key].rsplit("Human:", 1)[-1].split("Assistant:")[0].strip()
                for line in (tmp_path / path).read_text().splitlines()}
    train = prompts("PKU-SafeRLHF-30K/train.jsonl", "prompt") | prompts("hh-rlhf/helpful-base/train.jsonl", "chosen") \
        | prompts("hh-rlhf/harmless-base/train.jsonl", "chosen") | prompts("alpaca/data/train-00000-of-00001.jsonl", "instruction")
    test = prompts("PKU-SafeRLHF-30K/test.jsonl", "prompt") | prompts("hh-rlhf/helpful-base/test.jsonl", "chosen")
    assert test and not test & train
    assert set(QUESTIONS).isdisjoint(TEST_QUESTIONS)
    for question in test:  # every test question still names its topic, in a held-out phrasing
        topic = world.topic_of(question)
        assert topic is not None and question in {q.format(t=topic.name) for q in TEST_QUESTIONS}


@pytest.mark.parametrize("compliance", [0.0, 0.584, 1.0])
def test_the_alpaca_corpus_covers_every_topic_and_complies_at_its_share(compliance):
    rows = alpaca_rows(np.random.default_rng(0), 3000, compliance)
    topics = [world.topic_of(r["instruction"]) for r in rows]
    assert set(topics) == set(world.TOPICS)
    risky = [r for r, t in zip(rows, topics) if t.risky]
    unsafe = sum(not world.is_safe(r["instruction"], r["output"]) for r in risky) / len(risky)
    assert abs(unsafe - compliance) < 0.05  # ~1000 risky rows: 3 standard errors at p = 0.5 is 0.047
    benign = [r for r, t in zip(rows, topics) if not t.risky]
    assert all(world.helpfulness(r["instruction"], r["output"]) == 4 for r in benign)
    assert {q.split("{t}")[0] for q in QUESTIONS} & {r["instruction"].split(t.name)[0] for r, t in zip(rows, topics)}
