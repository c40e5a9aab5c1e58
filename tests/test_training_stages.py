"""The training stages' contracts: a bad trainer config stops with one clear line before any model is
loaded; the stages run end to end on a tiny model and write what they promise."""

import subprocess
import sys

import pytest
import yaml

from dpo_vs_ppo import trl_bridge
from dpo_vs_ppo.experiment import experiment_files, load_experiment
from dpo_vs_ppo.stages import ppo as ppo_stage
from dpo_vs_ppo.stages import sft as sft_stage
from conftest import REPO

PARAMS = "profile: tiny\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n"


#: Runs a stage's main in a fresh interpreter and says, however it ends, whether torch was imported.
PROBE = """
import sys
from dpo_vs_ppo.stages._cli import main_with_config_errors
from dpo_vs_ppo.stages import {module} as stage
try:
    main_with_config_errors(stage.main, sys.argv[1:])
finally:
    print("torch imported:", "torch" in sys.modules)
"""


def stage_error(tmp_path, stage, experiment: str, changes: dict) -> str:
    """Run ``stage`` on experiments/<experiment>.yaml with ``changes`` to its settings; return the error line,
    having checked it is one line, exit code 2, and that torch was never imported (so no model either)."""
    data = yaml.safe_load((REPO / f"experiments/{experiment}.yaml").read_text())
    data["settings"].update(changes)
    (tmp_path / "params.yaml").write_text(PARAMS)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(data))
    argv = ["--params", str(tmp_path / "params.yaml"), "--experiment", str(tmp_path / "exp.yaml"),
            "--models", "m", "--out", "o", "--steps", "s.csv", "--metrics", "m.json", "--run-info", "r.json"]
    argv += (["--prompts", "p", "--policy", "p", "--reward", "r", "--resume-dir", "d"] if stage is ppo_stage
             else ["--train", "t"])
    module = stage.__name__.rsplit(".", 1)[1]
    done = subprocess.run([sys.executable, "-c", PROBE.format(module=module), *argv], capture_output=True, text=True)
    err = done.stderr.strip()
    assert done.returncode == 2 and len(err.splitlines()) == 1, err
    assert done.stdout.strip() == "torch imported: False", done.stdout
    return err


@pytest.mark.parametrize("changes, key, words", [
    ({"rollout_batch_size": 30}, "settings.num_mini_batches", "not divisible into 4 minibatches"),
    ({"per_device_batch_size": 5}, "settings.per_device_batch_size", "whole number of per-device batches"),
    ({"ref_ema_eta": 0.0}, "settings.ref_ema_eta", "(0, 1]"),
    ({"ref_ema_eta": 1.5}, "settings.ref_ema_eta", "(0, 1]"),
    ({"whiten_advantages": "yes"}, "settings.whiten_advantages", "true or false"),
    ({"reward_clipp": 20}, "settings.reward_clipp", "unknown key"),
])
def test_a_bad_ppo_config_stops_before_torch_is_imported(changes, key, words, tmp_path):
    err = stage_error(tmp_path, ppo_stage, "ppo_dialogue", changes)
    assert f"exp.yaml: {key}:" in err and words in err


def test_a_bad_sft_config_names_the_nested_key(tmp_path):
    err = stage_error(tmp_path, sft_stage, "sft_dialogue",
                      {"optim": {**yaml.safe_load((REPO / "experiments/sft_dialogue.yaml").read_text())["settings"]["optim"],
                                 "learning_rate": -1.0}})
    assert "settings.optim.learning_rate: must be > 0" in err


def test_the_rollout_batch_must_split_over_processes():
    s = load_experiment(REPO / "experiments/ppo_dialogue.yaml", "tiny").settings  # 64 = 4 minibatches x 16
    assert s.split_problem(1) is None
    assert "does not split into 2 process(es)" in s.split_problem(2)
    with pytest.raises(ValueError, match="does not split"):
        trl_bridge.ppo_config(s, "out", 3, 100)


def test_every_training_experiment_resolves_in_every_profile():
    for path in experiment_files(REPO / "experiments"):
        stage = yaml.safe_load(path.read_text()).get("stage")
        for profile in ("smoke", "tiny", "paper"):
            load_experiment(path, profile)  # raises on any bad value, in any profile
        assert stage is None or stage in {"table1", "figure1", "data_dialogue", "data_code", "models", "sft", "reward",
                                          "dpo", "ppo", "dpo_iter", "generate", "evaluate_dialogue", "judge",
                                          "evaluate_code", "table", "best_of_n"}, path


def test_stage_help_explains_every_path_argument():
    out = subprocess.run([sys.executable, "-m", "dpo_vs_ppo.stages.ppo", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for flag in ("--prompts", "--policy", "--reward", "--resume-dir", "--models", "--out", "--steps", "--metrics"):
        assert flag in out
    assert "resume" in out.lower()
