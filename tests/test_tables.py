"""The table stage: per-seed contrasts, summaries, and dvc.yaml's deps matching each table's rows."""

import json

import pytest
import yaml

from conftest import REPO
from dpo_vs_ppo.experiment import load_experiment
from dpo_vs_ppo.stages import table

TABLES = ["table2", "table3", "table4", "table5", "table6", "table10", "table11", "table12", "table13", "figure2"]


def test_contrast_matches_seeds_and_pairs_a_shared_value_with_every_seed():
    assert table.contrast({"0": 1.0, "1": 3.0}, {"0": 0.5, "1": 1.0}) == {"0": 0.5, "1": 2.0}
    assert table.contrast({"0": 1.0, "2": 3.0}, {"all": 1.0}) == {"0": 0.0, "2": 2.0}
    assert table.contrast({"all": 2.0}, {"all": 0.5}) == {"all": 1.5}
    assert table.contrast({"0": 1.0, "1": 2.0}, {"0": 0.0}) == {"0": 1.0}  # only seeds both sides have


def test_summary_mean_is_the_mean_of_its_per_seed_values():
    summary = table.summarise({"0": 1.0, "1": 2.0, "2": 6.0})
    assert summary == {"mean": 3.0, "per_seed": [1.0, 2.0, 6.0], "seeds": ["0", "1", "2"]}


@pytest.mark.parametrize("name", TABLES)
def test_each_table_stage_depends_on_exactly_its_rows_runs(name):
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][name]
    settings = load_experiment(REPO / f"experiments/{name}.yaml", "tiny", "table").settings
    runs = {f"results/{r.run}" for r in settings.rows} | {f"results/{t.run}" for t in settings.training}
    assert {d for d in stage["deps"] if d.startswith("results/")} == runs
    assert f"--experiment experiments/{name}.yaml" in stage["cmd"]


def test_table_stage_reads_per_seed_and_plain_metrics_files(tmp_path):
    (tmp_path / "results/t/a").mkdir(parents=True)
    (tmp_path / "results/t/j").mkdir(parents=True)
    (tmp_path / "results/t/a/eval.json").write_text(json.dumps({"per_seed": {"0": {"x": 1.0}, "1": {"x": 3.0}}}))
    (tmp_path / "results/t/j/metrics.json").write_text(json.dumps({"x": 0.5, "n": {"y": 2}}))
    (tmp_path / "params.yaml").write_text("profile: tiny\nseeds: [0, 1]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    (tmp_path / "t.yaml").write_text(
        "title: t\npaper_ref: p\nstage: table\nsettings:\n  rows:\n"
        "    - {id: a, run: t/a, file: eval.json, metrics: [x]}\n    - {id: j, run: t/j, file: metrics.json, metrics: [x]}\n"
        "  contrasts:\n    - {id: d, metric: x, a: a, b: j}\n  training: []\n")
    table.main(["--params", str(tmp_path / "params.yaml"), "--experiment", str(tmp_path / "t.yaml"),
                "--results", str(tmp_path / "results"), "--metrics", str(tmp_path / "m.json"),
                "--run-info", str(tmp_path / "r.json")])
    out = json.loads((tmp_path / "m.json").read_text())
    assert out["rows"]["a"]["x"] == {"mean": 2.0, "per_seed": [1.0, 3.0], "seeds": ["0", "1"]}
    assert out["contrasts"]["d"]["per_seed"] == [0.5, 2.5]


def test_cost_rows_give_each_runs_wall_time_tokens_and_optimizer_steps(tmp_path):
    ppo, dpo = tmp_path / "ppo" / "s0", tmp_path / "dpo" / "s0"
    for folder, metrics, wall in ((ppo, {"response_tokens": 900, "optimizer_steps": 180}, 21.456),
                                  (dpo, {"optimizer_steps": 126}, 9.0)):
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps(metrics))
        (folder / "run.json").write_text(json.dumps({"wall_time_s": wall}))
    assert table.cost_rows([("PPO", "0", ppo), ("DPO", "0", dpo)]) == [["PPO", "0", 21.46, 900, 180], ["DPO", "0", 9.0, 0, 126]]


def test_ppo_curves_carry_the_monitor_columns_where_a_run_logged_them(tmp_path):
    header = "update,episode,objective/scores,objective/kl,kl_to_sft,gold/gold_helpfulness,gold/gold_harm\n"
    (tmp_path / "watched").mkdir()
    (tmp_path / "watched/steps.csv").write_text(header + "1,16,0.5,0.0,0.0,-1.5,0.0\n2,32,0.7,0.2,0.3,-1.2,0.0\n")
    (tmp_path / "code").mkdir()
    (tmp_path / "code/steps.csv").write_text("update,episode,objective/scores,objective/kl\n1,8,10.0,0.0\n")
    (tmp_path / "bon").mkdir()
    (tmp_path / "bon/steps.csv").write_text("n,learned_score,kl_bound,gold/gold_helpfulness,gold/gold_harm\n"
                                            "4,2.5,0.636,0.9,0.0\n")
    rows = table.curve_rows([("watched", "0", tmp_path / "watched"), ("code", "0", tmp_path / "code"),
                             ("bon", "0", tmp_path / "bon")])
    assert rows[1] == ["watched", "0", "2", "32", "0.7", "0.2", "0.3", "-1.2", "0.0"]
    assert rows[2] == ["code", "0", "1", "8", "10.0", "0.0", "", "", ""]
    assert rows[3] == ["bon", "0", "4", "", "2.5", "", "0.636", "0.9", "0.0"]  # best-of-n: update = n, no episode
    assert list(table.MONITORED) == ["kl_to_sft", "gold_help", "gold_harm"]
