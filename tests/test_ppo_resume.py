"""PPO resume: TRL's PPOTrainer cannot resume; our stage must, even after ``kill -9``. The stage runs as
the real command line (what `dvc repro` runs), killed mid-run, then run again."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import REPO
from tiny_models import build_tiny_models, write_pairs

pytestmark = pytest.mark.slow
UPDATES = 80


@pytest.fixture
def ppo_command(tmp_path):
    models = tmp_path / "models"
    refs = build_tiny_models(models)
    data = yaml.safe_load((REPO / "experiments/ppo_dialogue.yaml").read_text())
    data.pop("profiles")
    # 8 prompts, rollout 8: one update per prompt epoch; a save every 5 updates.
    data["settings"].update(rollout_batch_size=8, per_device_batch_size=2, prompt_epochs=float(UPDATES),
                            response_length=8, save_every=5)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "params.yaml").write_text("profile: tiny\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    cmd = [sys.executable, "-m", "dpo_vs_ppo.stages.ppo", "--params", "params.yaml", "--experiment", "exp.yaml",
           "--prompts", str(write_pairs(tmp_path / "pairs.jsonl")), "--policy", refs["policy"], "--reward", refs["reward"],
           "--models", str(models), "--resume-dir", "resume", "--out", "out", "--steps", "steps.csv",
           "--metrics", "metrics.json", "--run-info", "run.json"]
    return cmd, tmp_path


def test_a_killed_ppo_stage_resumes_from_its_last_state_and_finishes(ppo_command):
    cmd, cwd = ppo_command
    saved = cwd / "resume" / "latest" / "fingerprint.txt"
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not saved.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # kill -9: no handler, no cleanup
    proc.wait()
    assert saved.exists(), "the stage never saved a resume state"
    assert not (cwd / "metrics.json").exists()  # it really was interrupted before the end

    rerun = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    resumed = json.loads((cwd / "metrics.json").read_text())["resumed_from_update"]
    assert resumed >= 5 and resumed % 5 == 0 and f"ppo: resumed from update {resumed}" in rerun.stdout
    with open(cwd / "steps.csv") as handle:
        updates = [int(row["update"]) for row in csv.DictReader(handle)]
    assert updates == list(range(1, UPDATES + 1))  # every update exactly once, none lost or repeated
    assert (cwd / "out" / "model.safetensors").is_file() and not (cwd / "resume").exists()


def test_a_resume_state_from_another_config_is_discarded(ppo_command):
    cmd, cwd = ppo_command
    stale = cwd / "resume" / "latest"
    stale.mkdir(parents=True)
    (stale / "fingerprint.txt").write_text("saved under another config")
    rerun = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "discarding resume state" in rerun.stdout
    assert json.loads((cwd / "metrics.json").read_text())["resumed_from_update"] == 0
