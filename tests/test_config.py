"""Strict configuration: each failure kind stops with one line naming file and key, exit code 2,
before any computation; and every config field documents itself."""

import ast
import subprocess
import sys

import pytest

from conftest import REPO
from dpo_vs_ppo.config import ConfigError, load_params
from dpo_vs_ppo.experiment import experiment_files, load_experiment
from dpo_vs_ppo.stages import table1 as table1_stage
from dpo_vs_ppo.stages._cli import main_with_config_errors

PARAMS = "profile: tiny\nseeds: [0, 1, 2]\nablation_seeds: [0]\nconfidence_level: 0.95\n"
EXP = (REPO / "experiments" / "table1.yaml").read_text()


def run_table1(tmp_path, params_text, exp_text, capsys, monkeypatch):
    """Run the table1 stage in-process; fail the test if any computation starts."""
    def forbidden(*args, **kwargs):
        raise AssertionError("computation started despite a bad config")
    monkeypatch.setattr(table1_stage, "counterexample_metrics", forbidden)
    params, exp = tmp_path / "params.yaml", tmp_path / "table1.yaml"
    params.write_text(params_text)
    exp.write_text(exp_text)
    argv = ["--params", str(params), "--experiment", str(exp), "--metrics", str(tmp_path / "m.json"),
            "--run-info", str(tmp_path / "r.json")]
    with pytest.raises(SystemExit) as stop:
        main_with_config_errors(table1_stage.main, argv)
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("params_text, exp_text, file, key", [
    # unknown key
    (PARAMS + "sedes: [1]\n", EXP, "params.yaml", "sedes"),
    (PARAMS, EXP.replace("  beta: 0.1\n", "  beta: 0.1\n  betta: 0.2\n", 1), "table1.yaml", "settings.betta"),
    (PARAMS, EXP.replace("  smoke:\n", "  smoke:\n    gamma: 1\n"), "table1.yaml", "profiles.smoke.gamma"),
    # missing key
    (PARAMS.replace("confidence_level: 0.95\n", ""), EXP, "params.yaml", "confidence_level"),
    (PARAMS, EXP.replace("    ood_mass: 0.9\n", ""), "table1.yaml", "settings.theorem.ood_mass"),
    # wrong type
    (PARAMS.replace("seeds: [0, 1, 2]", "seeds: 3"), EXP, "params.yaml", "seeds"),
    (PARAMS, EXP.replace("instances_per_seed: 50", "instances_per_seed: fifty"), "table1.yaml", "settings.theorem.instances_per_seed"),
    (PARAMS, EXP.replace("preferred: 0", "preferred: true"), "table1.yaml", "settings.preferred"),
    # impossible value
    (PARAMS.replace("profile: tiny", "profile: huge"), EXP, "params.yaml", "profile"),
    (PARAMS.replace("ablation_seeds: [0]", "ablation_seeds: [7]"), EXP, "params.yaml", "ablation_seeds"),
    (PARAMS, EXP.replace("  beta: 0.1", "  beta: -0.1"), "table1.yaml", "settings.beta"),
    (PARAMS, EXP.replace("pi_ref: [0.5, 0.5, 0.0]", "pi_ref: [0.5, 0.6, 0.0]"), "table1.yaml", "settings.pi_ref"),
    (PARAMS, EXP.replace("theorem: {instances_per_seed: 5}", "theorem: {instances_per_seed: 0}"), "table1.yaml", "settings.theorem.instances_per_seed"),
])
def test_bad_config_is_one_line_naming_file_and_key(tmp_path, capsys, monkeypatch, params_text, exp_text, file, key):
    err = run_table1(tmp_path, params_text, exp_text, capsys, monkeypatch)
    assert err.startswith("config error: ") and f"{file}: {key}: " in err


def test_cli_exit_code_and_single_line_from_a_real_process(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(PARAMS + "extra: 1\n")
    proc = subprocess.run([sys.executable, "-m", "dpo_vs_ppo.stages.table1", "--params", str(params),
                           "--experiment", str(REPO / "experiments/table1.yaml"), "--metrics", str(tmp_path / "m.json"),
                           "--run-info", str(tmp_path / "r.json")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"config error: {params}: extra: unknown key (expected one of: profile, seeds, ablation_seeds, confidence_level)"
    assert not (tmp_path / "m.json").exists()


def test_overlay_lists_only_what_differs_and_errors_name_the_overlay(write_yaml):
    write_yaml("figure1.yaml", (REPO / "experiments/figure1.yaml").read_text())
    overlay = write_yaml("figure1_wide.yaml", "base: figure1\ntitle: wider\nsettings:\n  hidden_sizes: [128]\n"
                         "profiles:\n  smoke:\n    dpo_steps: 3\n")
    exp = load_experiment(overlay, "tiny")
    assert exp.settings.hidden_sizes == (128,) and exp.settings.dpo_steps == 500 and exp.title == "wider"
    assert load_experiment(overlay, "smoke").settings.dpo_steps == 3
    assert load_experiment(overlay, "smoke").settings.ppo_iterations == 5  # the base's smoke overlay still applies
    bad = write_yaml("figure1_bad.yaml", "base: figure1\nsettings:\n  hidden_size: [128]\n")
    with pytest.raises(ConfigError, match=r"figure1_bad.yaml: settings.hidden_size: unknown key"):
        load_experiment(bad, "tiny")
    typed = write_yaml("figure1_typed.yaml", "base: figure1\nsettings:\n  dpo_lr: fast\n")
    with pytest.raises(ConfigError, match=r"figure1_typed.yaml: settings.dpo_lr: expected a number"):
        load_experiment(typed, "tiny")


def test_a_derived_profile_overlay_changes_one_nested_field_of_its_base_overlay(write_yaml):
    write_yaml("dpo_dialogue.yaml", (REPO / "experiments/dpo_dialogue.yaml").read_text())
    derived = write_yaml("dpo_one_epoch.yaml", "base: dpo_dialogue\nprofiles:\n  paper:\n    optim: {epochs: 1}\n")
    base = load_experiment(REPO / "experiments/dpo_dialogue.yaml", "paper").settings.optim
    optim = load_experiment(derived, "paper").settings.optim
    assert optim.epochs == 1 and base.epochs == 2
    assert (optim.learning_rate, optim.per_device_batch_size, optim.bf16) == (base.learning_rate, base.per_device_batch_size, True)


@pytest.mark.parametrize("text, message", [
    ("base: me\n", "circular base chain"),
    ("base: nowhere\n", "no experiment 'nowhere'"),
    ("titel: x\n", "titel: unknown key"),
    ("title: [unclosed\n", "not valid YAML"),
])
def test_bad_experiment_files(write_yaml, text, message):
    with pytest.raises(ConfigError, match=message):
        load_experiment(write_yaml("me.yaml", text), "tiny")


def test_unknown_profile_and_wrong_stage(write_yaml):
    path = write_yaml("t.yaml", EXP.replace("  smoke:\n", "  huge:\n"))
    with pytest.raises(ConfigError, match=r"profiles.huge: unknown profile"):
        load_experiment(path, "tiny")
    with pytest.raises(ConfigError, match=r"stage: this file is for stage 'table1', not 'figure1'"):
        load_experiment(REPO / "experiments/table1.yaml", "tiny", stage="figure1")


def test_repository_config_loads_under_every_profile():
    assert load_params(REPO / "params.yaml").profile == "tiny"
    for path in experiment_files(REPO / "experiments"):
        for profile in ("smoke", "tiny", "paper"):
            assert load_experiment(path, profile).profile == profile


@pytest.mark.parametrize("module", ["config.py", "settings/toy.py", "settings/data.py", "settings/models.py", "experiment.py"])
def test_every_config_field_has_a_docstring(module):
    tree = ast.parse((REPO / "src/dpo_vs_ppo" / module).read_text())
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        body = cls.body
        for i, node in enumerate(body):
            if isinstance(node, ast.AnnAssign):
                after = body[i + 1] if i + 1 < len(body) else None
                documented = isinstance(after, ast.Expr) and isinstance(getattr(after, "value", None), ast.Constant)
                assert documented, f"{module}: {cls.name}.{node.target.id} has no docstring line under it"
