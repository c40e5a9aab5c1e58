"""The whole DVC pipeline, offline, on the smoke profile, in a temporary copy of the repository
(a fresh git repository with no DVC remote, as a new clone has)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import BIN, REPO

pytestmark = pytest.mark.slow


def run(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def smoke_copy(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("repo")
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split()
    for rel in listed:
        if rel.split("/")[0] in {"results", "reports", "artifacts"} or rel == "dvc.lock" or not (REPO / rel).is_file():
            continue  # outputs must come from this run, not from the checkout
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest / rel)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params.update(profile="smoke", seeds=[0], ablation_seeds=[0])  # one seed: the smoke DAG is wiring only
    (dest / "params.yaml").write_text(yaml.safe_dump(params))
    run(["git", "init", "-q"], dest)
    run([sys.executable, "-m", "dpo_vs_ppo.repro"], dest)  # the README's command 1: `dvc repro`, two at a time
    return dest


def test_the_study_command_leaves_what_plain_dvc_repro_would(smoke_copy):
    """The fixture ran stages two at a time (repro.py; OpenMP threads sleep when stages run together). DVC's
    lock is complete, and two training stages rerun alone by plain `dvc repro --force` write the same bytes."""
    assert json.loads(run(["dvc", "status", "dvc.yaml", "--json"], smoke_copy)) == {}
    outputs = ["results/saferlhf/ppo_dialogue/s0/metrics.json", "results/saferlhf/ppo_dialogue/s0/steps.csv",
               "results/saferlhf/dpo_dialogue/s0/metrics.json", "results/saferlhf/dpo_dialogue/s0/steps.csv"]
    before = {name: (smoke_copy / name).read_bytes() for name in outputs}
    for stage in ("saferlhf/ppo_dialogue@0", "saferlhf/dpo_dialogue@0"):
        run(["dvc", "repro", "--force", "--single-item", stage], smoke_copy)
    assert {name: (smoke_copy / name).read_bytes() for name in outputs} == before
    run(["dvc", "repro"], smoke_copy)  # the tables read the runs' folders, whose run.json holds the wall time
    assert json.loads(run(["dvc", "status", "dvc.yaml", "--json"], smoke_copy)) == {}


def test_dvc_repro_on_smoke_writes_the_report(smoke_copy):
    text = (smoke_copy / "reports/README.md").read_text()
    assert "Profile **smoke** · seeds 0" in text
    for heading in ("Table 1 and Theorem 4.1", "Figure 1", "Figure 2", *(f"Table {n}:" for n in range(2, 14))):
        assert f"## {heading}" in text, heading
    claims = sum(len((yaml.safe_load((smoke_copy / f"experiments/{e}.yaml").read_text()).get("report") or {}).get("claims", []))
                 for e in REPORTED)
    classes = re.findall(r"^\| (decided|analytic|shared|out of regime|untestable|exploratory) \| (\d+) \|", text, re.M)
    assert len(classes) == 6 and sum(int(n) for _, n in classes) == claims, classes  # every claim has one class
    for png in ("figure1_heatmaps", "figure1_sweep", "figure1_matched_kl", "table3_overoptimisation",
                "table11_overoptimisation", "figure2_overoptimisation", "table2_help_vs_safety", "table2_cost",
                "table3_bars", "table3_ppo_curves", "table11_ppo_curves", "figure2_batch_sweep", "figure2_ppo_curves", "table3_code_bars", "table7_bars",
                "table8_bars"):
        assert (smoke_copy / f"reports/{png}.png").stat().st_size > 10_000, png
    assert not (smoke_copy / "data").exists()  # data.dvc's data is absent, and nothing needed it


def test_the_code_task_trains_on_test_rewards_and_is_evaluated(smoke_copy):
    ppo = json.loads((smoke_copy / "results/code/ppo_code/s0/run.json").read_text())
    assert "--reward tests" in ppo["command"]
    evaluated = json.loads((smoke_copy / "results/code/ppo_code/eval.json").read_text())
    assert {"apps_all_pass@5", "contests_all_pass@10", "contests_1@10"} <= set(evaluated["mean"])
    assert evaluated["mean"]["apps_problems"] > 0 and evaluated["mean"]["contests_problems"] > 0
    iter_round = json.loads((smoke_copy / "results/code/dpo_iter_code_1/s0/metrics.json").read_text())
    assert iter_round["labeller"] == "tests" and iter_round["pairs"] > 0


def test_dvc_repro_builds_the_synthetic_data_and_the_tiny_models_offline(smoke_copy):
    from dpo_vs_ppo.data.records import CodeProblem, PreferencePair, read_records
    from dpo_vs_ppo.models import load_policy, load_tokenizer

    assert (smoke_copy / "artifacts/synthetic/dialogue/hh-rlhf/helpful-base/train.jsonl").is_file()
    assert (smoke_copy / "artifacts/synthetic/code/code_contests/README.md").is_file()
    pairs = read_records(smoke_copy / "artifacts/records/dialogue/pairs_saferlhf_train.jsonl", PreferencePair)
    assert len(pairs) == 64 and {p.rule for p in pairs} == {"helpfulness", "safety"}
    problems = read_records(smoke_copy / "artifacts/records/code/code_contests_valid.jsonl", CodeProblem)
    assert len(problems) == 3 and all(p.solutions and p.public_tests for p in problems)
    for family in ("dialogue", "code"):
        refs = json.loads((smoke_copy / f"artifacts/models/{family}/model_refs.json").read_text())
        # refs are relative to the repository root, where every stage runs
        assert load_tokenizer(str(smoke_copy / refs["tokenizer"])).pad_token == "<pad>"
        assert load_policy(str(smoke_copy / refs["policy"])).config.hidden_size == 32  # the smoke profile's size
    records = json.loads((smoke_copy / "results/data_code/records.json").read_text())
    assert records["origin"] == "synthetic" and records["files"]["apps_test"]["kept"] == 9


REPORTED = ["table1", "figure1", *(f"table{n}" for n in range(2, 14)), "figure2"]
PPO_VARIANTS = ["ppo_dialogue_baseline", "ppo_dialogue_adv_norm", "ppo_dialogue_large_batch", "ppo_dialogue"]
#: Every trained run (run id -> seed folder or ''), as dvc.yaml names them.
TRAINED = {"dialogue/sft_alpaca": "s0", "saferlhf/sft_safe": "s0", "hh/sft_hh": "s0", "saferlhf/reward": "s0",
           "saferlhf/reward_dual_unsafe": "", "saferlhf/reward_filtered": "", "hh/reward": "", "hh/reward_helpful": "",
           **{f"saferlhf/{r}": "s0" for r in ["dpo_dialogue", "dpo_dual_unsafe", "dpo_filtered", "dpo_from_alpaca",
                                               *PPO_VARIANTS, "ppo_from_alpaca", "ppo_dialogue_batch16",
                                               "ppo_dialogue_batch32", "ppo_dual_unsafe", "ppo_filtered",
                                               "dpo_iter_1", "dpo_iter_2", "dpo_iter_3", "dpo_iter_4", "ppo_gold"]},
           **{f"hh/{r}": "s0" for r in ["dpo_dialogue", "dpo_beta005", "dpo_beta02", "dpo_helpful", "ppo_hh",
                                         "ppo_hh_kl0", "ppo_hh_kl005", "ppo_hh_kl02", "ppo_helpful", "dpo_iter_1",
                                         "dpo_iter_2"]}}


def test_dvc_repro_trains_every_model_of_the_dialogue_chain(smoke_copy):
    from dpo_vs_ppo.models import load_policy, load_scalar_model

    for name, seed in TRAINED.items():
        folder = smoke_copy / "artifacts/checkpoints" / name / seed
        model = (load_scalar_model if "/reward" in name else load_policy)(str(folder))
        assert model.config.hidden_size == 32, name
        run_info = json.loads((smoke_copy / "results" / name / seed / "run.json").read_text())
        assert run_info["seed"] == 0 and run_info["ranks_in_sync"] is True
        assert run_info["versions"]["trl"] == "1.12.0"
    assert not (smoke_copy / ".resume").exists() or not any((smoke_copy / ".resume").iterdir())


def test_each_ppo_factor_switch_is_visible_in_the_logged_metrics(smoke_copy):
    import csv

    expected = {"ppo_dialogue_baseline": (0, 0), "ppo_dialogue_adv_norm": (1, 0), "ppo_dialogue_large_batch": (1, 0),
                "ppo_dialogue": (1, 1)}
    for name, (whiten, ema) in expected.items():
        with open(smoke_copy / f"results/saferlhf/{name}/s0/steps.csv") as handle:
            rows = list(csv.DictReader(handle))
        assert {(int(r["whiten_advantages"]), int(r["ref_ema"])) for r in rows} == {(whiten, ema)}
        assert {int(r["optimizer_steps"]) for r in rows} == {4}  # 1 PPO epoch x 4 minibatches
        assert all(float(r["adv/std_used"]) == pytest.approx(1.0, abs=1e-3) for r in rows) == bool(whiten)
        assert ("ref/distance_from_sft" in rows[0]) == bool(ema)


def test_dvc_metrics_and_plots_are_declared(smoke_copy):
    metrics = json.loads(run(["dvc", "metrics", "show", "--json"], smoke_copy))
    files = next(iter(metrics.values()))["data"]
    assert {"results/table1/metrics.json", "results/figure1/metrics.json"} <= set(files)
    assert {str(Path("results", n, s, "metrics.json")) for n, s in TRAINED.items()} <= set(files)
    assert {f"results/{t}/metrics.json" for t in REPORTED if t not in ("table7", "table8", "table9")} <= set(files)
    plots = run(["dvc", "plots", "show", "--json", "-o", str(smoke_copy / "plots_html")], smoke_copy)
    assert "results/figure1/ood_mass.csv" in plots and "reports/figure1_heatmaps.png" in plots
    assert all(str(Path("results", n, s, "steps.csv")) in plots for n, s in TRAINED.items())
    assert "results/table3/curves.csv" in plots and "results/table2/cost.csv" in plots


SAFERLHF_POLICIES = ["sft_alpaca", "sft_safe", "dpo_dialogue", "dpo_from_alpaca", "dpo_iter_4", *PPO_VARIANTS, "ppo_filtered",
                     "ppo_gold"]


def test_dvc_repro_evaluates_every_dialogue_policy_and_judges_ppo_against_dpo(smoke_copy):
    from dpo_vs_ppo.data.records import PreferencePair, read_records

    test_pairs = read_records(smoke_copy / "artifacts/records/dialogue/pairs_saferlhf_test.jsonl", PreferencePair)
    prompts = min(16, len({p.prompt for p in test_pairs}))  # the smoke profile samples at most 16
    for name in SAFERLHF_POLICIES:
        rows = [json.loads(line) for line in (smoke_copy / f"artifacts/samples/saferlhf/{name}/s0.jsonl").open()]
        assert len(rows) == prompts and all(r["prompt_id"].startswith("PKU-Alignment/PKU-SafeRLHF-30K/test/") for r in rows)
        evaluation = json.loads((smoke_copy / f"results/saferlhf/{name}/eval.json").read_text())
        assert evaluation["seeds"] == [0] and evaluation["mean"]["responses"] == prompts
        metrics = evaluation["per_seed"]["0"]
        assert {"reward_mean", "delta_help", "harm", "safety_rate", "four_cells", "kl_to_sft", "learned_score"} <= set(metrics)
        assert metrics["kl_to_sft"] >= 0 and metrics["learned_score"] == metrics["learned_score"]
        assert sum(metrics["four_cells"].values()) == prompts
    sft_safe = json.loads((smoke_copy / "results/saferlhf/sft_safe/eval.json").read_text())["mean"]
    assert sft_safe["delta_help"] == 0.0 and sft_safe["kl_to_sft"] == pytest.approx(0, abs=1e-6)  # its own SFT
    for pair in ("ppo_vs_dpo", "ppo_vs_dpo_iter", "ppo_vs_chosen", "dpo_vs_sft"):
        judged = json.loads((smoke_copy / f"results/hh/judge_{pair}/metrics.json").read_text())
        assert judged["pairs"] == 8 and judged["win"] + judged["tie"] + judged["lose"] == 8


def test_each_table_collects_its_rows_and_contrasts(smoke_copy):
    table2 = json.loads((smoke_copy / "results/table2/metrics.json").read_text())
    dpo, ppo = table2["rows"]["dpo"]["safety_rate"], table2["rows"]["ppo"]["safety_rate"]
    assert table2["contrasts"]["ppo_vs_dpo_safety"]["per_seed"] == [pytest.approx(ppo["per_seed"][0] - dpo["per_seed"][0])]
    eval_dpo = json.loads((smoke_copy / "results/saferlhf/dpo_from_alpaca/eval.json").read_text())
    assert dpo["per_seed"] == [pytest.approx(eval_dpo["per_seed"]["0"]["safety_rate"])]
    curves = (smoke_copy / "results/table3/curves.csv").read_text().splitlines()
    assert curves[0] == "run,seed,update,episode,score,kl,kl_to_sft,gold_help,gold_harm" and len(curves) > 4
    rows = [dict(zip(curves[0].split(","), line.split(","))) for line in curves[1:]]
    # The rollout monitor ran in every PPO stage: gold scores for dialogue, KL to SFT for both tasks.
    assert all(float(r["kl_to_sft"]) == float(r["kl_to_sft"]) for r in rows)
    assert all((r["gold_help"] == "") == r["run"].startswith("code: ") for r in rows)


def test_changing_one_experiment_reruns_only_its_branch(smoke_copy):
    # dvc.yaml only: data.dvc's data is "not in cache" in a copy with no remote, by design.
    assert json.loads(run(["dvc", "status", "dvc.yaml", "--json"], smoke_copy)) == {}
    path = smoke_copy / "experiments/figure1.yaml"
    original = path.read_text()
    try:
        path.write_text(original.replace("  beta: 0.1\n", "  beta: 0.2\n"))
        # validate reads every experiment file and writes each one's resolved settings: until it reruns,
        # `dvc status` names only it; then exactly the stages whose settings changed.
        assert set(json.loads(run(["dvc", "status", "dvc.yaml", "--json"], smoke_copy))) == {"validate"}
        run(["dvc", "repro", "validate"], smoke_copy)
        stale = run(["dvc", "status", "dvc.yaml", "--json"], smoke_copy)
        # the report names each experiment's settings hash in its provenance, so it follows at once
        assert set(json.loads(stale)) == {"figure1", "report"}
        ran = run(["dvc", "repro"], smoke_copy)
        assert "Running stage 'figure1'" in ran and "Running stage 'report'" in ran
        assert "Running stage 'table1'" not in ran
    finally:
        path.write_text(original)
    run(["dvc", "repro"], smoke_copy)


def test_one_training_overlay_reruns_only_its_run_its_evaluation_and_its_tables(smoke_copy):
    path = smoke_copy / "experiments/dpo_filtered.yaml"
    original = path.read_text()
    try:
        path.write_text(original + "  beta: 0.2\n")
        run(["dvc", "repro", "validate"], smoke_copy)
        stale = json.loads(run(["dvc", "status", "dvc.yaml", "--json"], smoke_copy))
        assert set(stale) == {"saferlhf/dpo_filtered@0", "report"}
        ran = set(re.findall(r"Running stage '([^']+)'", run(["dvc", "repro"], smoke_copy))) - {"validate"}
        # Downstream stages rerun only where an input really changed (a smoke DPO of one warm-up step
        # leaves the weights as they were, so its evaluation may be skipped); nothing outside the branch runs.
        assert "saferlhf/dpo_filtered@0" in ran and {"table2", "table6", "table13"} <= ran
        assert ran <= {"saferlhf/dpo_filtered@0", "evaluate/saferlhf/dpo_filtered", "table2", "table6", "table13",
                       "report"}
    finally:
        path.write_text(original)
    run(["dvc", "repro"], smoke_copy)  # back to the committed settings for the tests that follow


def test_a_bad_config_stops_dvc_repro_at_validate_before_any_output_is_removed(smoke_copy):
    path = smoke_copy / "experiments/ppo_dialogue.yaml"
    original = path.read_text()
    kept = smoke_copy / "results/saferlhf/ppo_dialogue/s0/metrics.json"
    try:
        bad = re.sub(r"(  smoke:\n(?:    .*\n)*?    rollout_batch_size: )\d+", r"\g<1>18", original, count=1)
        assert bad != original
        path.write_text(bad)
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
        done = subprocess.run(["dvc", "repro"], cwd=smoke_copy, env=env, capture_output=True, text=True)
        output = done.stdout + done.stderr
        assert done.returncode != 0
        assert re.findall(r"Running stage '([^']+)'", output) == ["validate"], output
        errors = [line for line in output.splitlines() if line.startswith("config error:")]
        assert len(errors) == 1 and "ppo_dialogue.yaml: settings.num_mini_batches:" in errors[0], output
        assert "(at profile smoke)" in errors[0] and kept.is_file()
        # the README's command 1 checks before DVC starts: the same line, exit 2, no stage started
        study = subprocess.run([sys.executable, "-m", "dpo_vs_ppo.repro"], cwd=smoke_copy, env=env,
                               capture_output=True, text=True)
        assert study.returncode == 2 and study.stderr.strip() == errors[0] and study.stdout == "", study
    finally:
        path.write_text(original)
    run(["dvc", "repro"], smoke_copy)  # validate again; nothing downstream reruns
    assert json.loads(run(["dvc", "status", "dvc.yaml", "--json"], smoke_copy)) == {}


def test_an_ablation_added_as_the_readme_shows_is_exactly_its_branch_in_dvc_status(smoke_copy):
    """The README's worked example (tests/test_pipeline.py holds the files): an overlay, a run-list entry and a
    table row, then the generator; `dvc status` names the new run, its evaluation and its table, nothing else."""
    from test_pipeline import ENTRY, OVERLAY, ROW

    run(["dvc", "repro"], smoke_copy)  # whatever an earlier test left stale
    assert json.loads(run(["dvc", "status", "dvc.yaml", "--json"], smoke_copy)) == {}
    experiments = smoke_copy / "experiments"
    runs, table = experiments / "runs.yaml", experiments / "table11.yaml"
    originals = {path: path.read_text() for path in (runs, table, smoke_copy / "dvc.yaml")}
    try:
        (experiments / "ppo_hh_kl03.yaml").write_text(OVERLAY)
        runs.write_text(originals[runs].replace("  hh/dpo_iter_1:\n", ENTRY + "  hh/dpo_iter_1:\n", 1))
        table.write_text(originals[table].replace("    - {id: dpo_005,", ROW + "    - {id: dpo_005,", 1))
        run(["python", "-m", "dpo_vs_ppo.pipeline", "--write"], smoke_copy)
        stale = json.loads(run(["dvc", "status", "dvc.yaml", "--json"], smoke_copy))
        assert set(stale) == {"validate", "hh/ppo_hh_kl03@0", "evaluate/hh/ppo_hh_kl03", "table11"}, stale
    finally:
        for path, text in originals.items():
            path.write_text(text)
        (experiments / "ppo_hh_kl03.yaml").unlink(missing_ok=True)
    assert json.loads(run(["dvc", "status", "dvc.yaml", "--json"], smoke_copy)) == {}


def test_a_ppo_stage_killed_under_dvc_repro_resumes_on_the_next_dvc_repro(smoke_copy):
    # Last in this file: it leaves the copy's ppo_dialogue stage run under a changed config.
    import csv
    import signal
    import time

    path = smoke_copy / "experiments/ppo_dialogue.yaml"
    text = path.read_text()
    assert "    prompt_epochs: 1.0\n" in text  # the smoke overlay; more updates leave time to kill it mid-run
    # ≈ 17 updates: the kill lands at the first save (update 2), and the resumed run has ≈ 15 left to do
    # (40 epochs, 113 updates, made this the test suite's longest test at 160 s).
    path.write_text(text.replace("    prompt_epochs: 1.0\n", "    prompt_epochs: 6.0\n", 1))
    saved = smoke_copy / ".resume/saferlhf-ppo_dialogue-s0/latest/fingerprint.txt"
    stage = "saferlhf/ppo_dialogue@0"
    run(["dvc", "repro", "validate"], smoke_copy)  # --single-item sees the new settings once validate wrote them
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.Popen(["dvc", "repro", "--single-item", stage], cwd=smoke_copy, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while not saved.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # dvc and the stage it runs, as a kill -9 of the job would
    proc.wait()
    assert saved.exists(), "the PPO stage never saved a resume state"

    ran = run(["dvc", "repro", "--single-item", stage], smoke_copy)
    assert "ppo: resumed from update" in ran
    metrics = json.loads((smoke_copy / "results/saferlhf/ppo_dialogue/s0/metrics.json").read_text())
    assert metrics["resumed_from_update"] >= 2
    with open(smoke_copy / "results/saferlhf/ppo_dialogue/s0/steps.csv") as handle:
        updates = [int(row["update"]) for row in csv.DictReader(handle)]
    assert updates == list(range(1, metrics["updates"] + 1)) and metrics["updates"] > metrics["resumed_from_update"]
    assert json.loads(run(["dvc", "status", stage, "--json"], smoke_copy)) == {}
    assert not saved.exists()
