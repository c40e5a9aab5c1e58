"""Stage validate: the head of the DAG checks every experiment file at every profile, with no torch, and
says in one line which file, key and profile is wrong; what it writes for the other stages (each experiment's
resolved settings, each stage's code hashes) changes only where a change reaches."""

import json
import shutil
import subprocess
import sys

import yaml

from dpo_vs_ppo.stages.validate import family
from dpo_vs_ppo.experiment import load_experiment
from conftest import REPO


def run_validate(root, tmp_path):
    # Its speed (a bad config reported within 2 s) is a budget, measured by `study_budget --checks`, not here.
    out = tmp_path / "validated"
    probe = ("import sys\nfrom dpo_vs_ppo.stages._cli import main_with_config_errors\n"
             "from dpo_vs_ppo.stages import validate\ntry:\n    main_with_config_errors(validate.main, sys.argv[1:])\n"
             "finally:\n    print('torch imported:', 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe, "--params", str(root / "params.yaml"), "--experiments",
                           str(root / "experiments"), "--runs", str(root / "experiments" / "runs.yaml"), "--out", str(out)],
                          capture_output=True, text=True, cwd=root)
    assert "torch imported: False" in done.stdout, done.stdout
    return done, out


def copy_config(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(REPO / "experiments", root / "experiments")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    return root


def outputs(out) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_the_committed_config_is_valid_and_writes_a_file_per_experiment_and_stage(tmp_path):
    done, out = run_validate(REPO, tmp_path)
    assert done.returncode == 0, done.stderr
    written = outputs(out)
    experiments = {p.stem for p in (REPO / "experiments").glob("*.yaml")} - {"runs"}
    assert {k[len("settings/"):-5] for k in written if k.startswith("settings/")} == experiments
    ppo = json.loads(written["settings/ppo_hh_kl02.json"])
    assert ppo["profile"] == "tiny" and ppo["settings"]["kl_coef"] == 0.2  # the overlay's value, resolved
    code = json.loads(written["code/ppo.json"])
    assert code["modules"] == ["dpo_vs_ppo.launch", "dpo_vs_ppo.stages.ppo"]
    assert "src/dpo_vs_ppo/trl_bridge.py" in code["files"]  # imported inside train(), after the config check
    assert "src/dpo_vs_ppo/trl_bridge.py" not in json.loads(written["code/table.json"])["files"]
    assert "table2" in json.loads(written["report.json"])


def test_a_change_reaches_only_the_files_of_what_reads_it(tmp_path):
    """Rerunning with nothing changed writes the same bytes; one run's key changes that run's settings file
    only (and files overlaying it); a paper-only value changes no file at the tiny profile."""
    root = copy_config(tmp_path)
    before = outputs(run_validate(root, tmp_path / "a")[1])
    assert outputs(run_validate(root, tmp_path / "b")[1]) == before
    path = root / "experiments" / "ppo_hh_kl02.yaml"
    path.write_text(path.read_text().replace("kl_coef: 0.2", "kl_coef: 0.3"))
    changed = outputs(run_validate(root, tmp_path / "c")[1])
    assert {k for k in before if before[k] != changed[k]} == {"settings/ppo_hh_kl02.json"}
    path = root / "experiments" / "ppo_dialogue.yaml"
    data = yaml.safe_load(path.read_text())
    data["profiles"]["paper"]["actor_learning_rate"] = 2e-5
    path.write_text(yaml.safe_dump(data))
    assert outputs(run_validate(root, tmp_path / "d")[1]) == changed


def test_a_bad_smoke_value_is_one_line_naming_file_key_and_profile(tmp_path):
    root = copy_config(tmp_path)
    path = root / "experiments" / "ppo_dialogue.yaml"
    data = yaml.safe_load(path.read_text())
    data["profiles"]["smoke"]["rollout_batch_size"] = 18  # not 4 minibatches; tiny's own 64 still is
    path.write_text(yaml.safe_dump(data))
    done, out = run_validate(root, tmp_path)
    err = done.stderr.strip()
    assert done.returncode == 2 and len(err.splitlines()) == 1, err
    assert "ppo_dialogue.yaml" in err and "settings.num_mini_batches" in err and "(at profile smoke)" in err, err
    assert not out.exists()


def test_the_paper_split_uses_the_familys_process_count(tmp_path):
    """120 rollouts split over the 7B config's 8 processes x 4 minibatches? No (120/8 = 15): an error at paper only."""
    root = copy_config(tmp_path)
    path = root / "experiments" / "ppo_dialogue_batch32.yaml"  # a leaf: no other file inherits the change
    data = yaml.safe_load(path.read_text())
    data["profiles"]["paper"].update(rollout_batch_size=120, per_device_batch_size=1)
    path.write_text(yaml.safe_dump(data))
    err = run_validate(root, tmp_path)[0].stderr
    assert "ppo_dialogue_batch32.yaml" in err and "does not split into 8 process(es)" in err, err
    assert "(at profile paper)" in err, err


def test_code_experiments_are_the_code_family():
    assert family(load_experiment(REPO / "experiments/ppo_code_baseline.yaml", "tiny")) == "code"
    assert family(load_experiment(REPO / "experiments/ppo_hh_kl02.yaml", "tiny")) == "dialogue"
