"""dvc.yaml is written from the run list (experiments/runs.yaml) and the table files: the committed file is
what they give, a bad run list is one config error, and an ablation is an overlay file, one run-list entry
and one table row (the README's worked example), which adds exactly its stages and changes only its table."""

import shutil

import pytest
import yaml

from dpo_vs_ppo.config import ConfigError
from dpo_vs_ppo.pipeline import render
from dpo_vs_ppo.pipeline_runs import load_runs
from conftest import REPO

#: The README's worked example ("Adding an ablation"): PPO with kl_coef 0.3 on the HH-schema task, in Table 11.
OVERLAY = """base: ppo_hh
title: "PPO on the HH-RLHF-schema task, beta 0.3"
paper_ref: "Appendix C.2, Table 11 (not in the paper's grid)"
settings:
  kl_coef: 0.3
"""
ENTRY = """  hh/ppo_hh_kl03:
    {stage: ppo, experiment: ppo_hh_kl03, seeds: ablation_seeds, prompts: [pairs_hh_train], policy: hh/sft_hh,
     reward: hh/reward, evaluate: {hh: ablation_seeds}}
"""
ROW = "    - {id: ppo_03, run: hh/ppo_hh_kl03, file: eval.json, metrics: [reward_mean]}\n"


def test_the_committed_dvc_yaml_is_what_the_run_list_gives(monkeypatch):
    monkeypatch.chdir(REPO)
    assert (REPO / "dvc.yaml").read_text(encoding="utf-8") == render(), \
        "dvc.yaml is stale: run `python -m dpo_vs_ppo.pipeline --write`"


def copy_experiments(tmp_path, monkeypatch):
    shutil.copytree(REPO / "experiments", tmp_path / "experiments")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "experiments"


def test_an_ablation_is_one_overlay_one_entry_and_one_row(tmp_path, monkeypatch):
    experiments = copy_experiments(tmp_path, monkeypatch)
    before = yaml.safe_load(render())["stages"]
    (experiments / "ppo_hh_kl03.yaml").write_text(OVERLAY)
    runs = experiments / "runs.yaml"
    text = runs.read_text()
    runs.write_text(text.replace("  hh/dpo_iter_1:\n", ENTRY + "  hh/dpo_iter_1:\n", 1))
    table = experiments / "table11.yaml"
    table.write_text(table.read_text().replace("    - {id: dpo_005,", ROW + "    - {id: dpo_005,", 1))
    after = yaml.safe_load(render())["stages"]
    assert set(after) - set(before) == {"hh/ppo_hh_kl03", "evaluate/hh/ppo_hh_kl03"}
    assert not set(before) - set(after)
    assert {name for name in before if before[name] != after[name]} == {"table11"}
    assert "results/hh/ppo_hh_kl03" in after["table11"]["deps"]
    trained = after["hh/ppo_hh_kl03"]
    assert trained["foreach"] == "${ablation_seeds}"
    assert "--experiment experiments/ppo_hh_kl03.yaml" in trained["do"]["cmd"]
    assert "artifacts/validated/settings/ppo_hh_kl03.json" in trained["do"]["deps"]  # its resolved settings
    assert "artifacts/validated/code/ppo.json" in trained["do"]["deps"]


@pytest.mark.parametrize("change, words", [
    (("policy: saferlhf/dpo_iter_1,", "policy: saferlhf/dpo_iter_9,"),
     "'saferlhf/dpo_iter_9' is not a run listed before this one"),
    (("experiment: ppo_hh_kl0,", "experiment: ppo_hh_kl00,"), "no experiment file"),
    (("experiment: ppo_hh_kl0,", "experiment: dpo_dialogue,"), "is not a ppo experiment"),
    (("{stage: ppo, experiment: ppo_hh_kl0, seeds: ablation_seeds,", "{stage: ppo, experiment: ppo_hh_kl0, seeds: all,"),
     "seeds one of"),
    (("{hh: ablation_seeds}}\n  hh/ppo_hh_kl005", "{hh: seeds}}\n  hh/ppo_hh_kl005"), "evaluated over the same list"),
    (("policy: saferlhf/dpo_iter_1, reward: saferlhf/reward,", "policy: saferlhf/dpo_iter_1, reward: gold,"),
     "gold is a reward for PPO only"),
    (("learned_reward: hh/reward}", "learned_reward: hh/rewards}"), "'hh/rewards' is not a run"),
    (("{stage: dpo, experiment: dpo_dialogue, seeds: ablation_seeds, train: [pairs_hh_train], init: hh/sft_hh,",
      "{stage: dpo, experiment: dpo_dialogue, train: [pairs_hh_train], init: hh/sft_hh,"),
     "'hh/sft_hh' runs over ablation_seeds; a run reading it must run over ablation_seeds"),
])
def test_a_bad_run_list_is_one_config_error(tmp_path, monkeypatch, change, words):
    experiments = copy_experiments(tmp_path, monkeypatch)
    runs = experiments / "runs.yaml"
    text = runs.read_text()
    assert change[0] in text, change[0]
    runs.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError, match="runs.yaml") as err:
        load_runs(runs)
    assert words in str(err.value)


def test_a_table_row_of_a_run_never_evaluated_is_a_config_error_before_anything_runs(tmp_path, monkeypatch):
    experiments = copy_experiments(tmp_path, monkeypatch)
    runs = experiments / "runs.yaml"
    evaluated = "policy: hh/sft_hh, reward: hh/reward, evaluate: {hh: ablation_seeds}}\n  hh/dpo_iter_2"
    assert evaluated in runs.read_text()
    runs.write_text(runs.read_text().replace(evaluated, "policy: hh/sft_hh, reward: hh/reward}\n  hh/dpo_iter_2"))
    with pytest.raises(ConfigError, match="table11.yaml: settings.rows.dpo_iter_1: hh/dpo_iter_1 is no evaluation"):
        render(str(runs))


def test_seeded_inputs_follow_the_seed_and_shared_ones_do_not(monkeypatch):
    monkeypatch.chdir(REPO)
    stages = yaml.safe_load(render())["stages"]
    second_round = stages["saferlhf/dpo_iter_2"]["do"]["cmd"]
    assert "--policy artifacts/checkpoints/saferlhf/dpo_iter_1/s${item}" in second_round
    assert "--reward artifacts/checkpoints/saferlhf/reward/s${item} " in second_round  # per seed (issue [I] item 3)
    hh_ppo = stages["hh/ppo_hh"]["do"]["cmd"]  # a one-seed ablation reads the seeded SFT's same seed
    assert "--policy artifacts/checkpoints/hh/sft_hh/s${item} --reward artifacts/checkpoints/hh/reward " in hh_ppo
    table13 = stages["saferlhf/ppo_dual_unsafe"]["do"]["cmd"]
    assert "--policy artifacts/checkpoints/saferlhf/sft_safe/s${item} --reward artifacts/checkpoints/saferlhf/reward_dual_unsafe " in table13


def test_every_dialogue_evaluation_measures_kl_to_the_sft_run_it_started_from(monkeypatch):
    monkeypatch.chdir(REPO)
    runs, stages = load_runs("experiments/runs.yaml"), yaml.safe_load(render())["stages"]
    assert runs.sft_of("saferlhf/dpo_iter_3") == runs.sft_of("saferlhf/ppo_gold") == "saferlhf/sft_safe"
    assert runs.sft_of("saferlhf/ppo_from_alpaca") == "dialogue/sft_alpaca"
    assert runs.sft_of("hh/dpo_beta02") == runs.sft_of("hh/sft_hh") == "hh/sft_hh"
    third_round = stages["evaluate/saferlhf/dpo_iter_3"]
    assert "--kl-reference artifacts/checkpoints/saferlhf/sft_safe " in third_round["cmd"]
    assert {"artifacts/checkpoints/saferlhf/sft_safe", "artifacts/checkpoints/saferlhf/reward"} <= set(third_round["deps"])
    assert "--learned-reward artifacts/checkpoints/hh/reward " in stages["evaluate/hh/ppo_hh"]["cmd"]
    gold = stages["saferlhf/ppo_gold"]["do"]
    assert "--reward gold --gold-experiment experiments/evaluate_dialogue.yaml " in gold["cmd"]
    assert "artifacts/validated/settings/evaluate_dialogue.json" in gold["deps"]
