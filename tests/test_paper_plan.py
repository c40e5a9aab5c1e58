"""The paper profile without running it: how every stage would start (launch.py), with which model and
settings (plan.py), and what it would cost (paper_cost.py)."""

import shlex
import subprocess
import sys

import pytest
import yaml

from dpo_vs_ppo import paper_cost, plan
from dpo_vs_ppo.launch import resolve
from dpo_vs_ppo.experiment import experiment_files
from conftest import REPO

TRAINING = {"sft", "reward", "dpo", "ppo", "dpo_iter"}
CONFIG_7B = "experiments/launch/accelerate_zero3_7b.yaml"
CONFIG_34B = "experiments/launch/accelerate_zero3_34b.yaml"


@pytest.fixture(scope="module")
def paper_plan():
    return plan.build_plan("paper", REPO)


def test_tiny_and_smoke_run_the_stage_as_one_plain_process():
    for profile in ("tiny", "smoke"):
        assert resolve(profile, CONFIG_7B, "dpo_vs_ppo.stages.dpo", ["--params", "p.yaml"], env={}) == [
            sys.executable, "-m", "dpo_vs_ppo.stages.dpo", "--params", "p.yaml"]


def test_paper_runs_under_accelerate_with_the_config_and_the_stage_arguments_unchanged():
    args = ["--params", "params.yaml", "--out", "a dir"]
    assert resolve("paper", CONFIG_7B, "dpo_vs_ppo.stages.dpo", args, env={}) == [
        "accelerate", "launch", "--config_file", CONFIG_7B, "-m", "dpo_vs_ppo.stages.dpo", *args]
    in_a_big_allocation = resolve("paper", CONFIG_7B, "m", args, env={"SLURM_JOB_NUM_NODES": "4"}, machines=1)
    assert in_a_big_allocation[0] == "accelerate"  # a one-node config stays on DVC's node
    on_node_2 = resolve("paper", CONFIG_34B, "m", args, env={"MACHINE_RANK": "2", "MAIN_PROCESS_IP": "10.0.0.1"},
                        machines=4)
    assert on_node_2[4:10] == ["--machine_rank", "2", "--main_process_ip", "10.0.0.1", "-m", "m"]
    with pytest.raises(SystemExit, match="set MACHINE_RANK and MAIN_PROCESS_IP"):
        resolve("paper", CONFIG_34B, "m", args, env={"MACHINE_RANK": "2"}, machines=4)


def test_a_slurm_allocation_of_several_nodes_starts_one_accelerate_per_node():
    env = {"SLURM_JOB_NUM_NODES": "5", "MAIN_PROCESS_IP": "node0"}
    command = resolve("paper", CONFIG_34B, "dpo_vs_ppo.stages.ppo", ["--out", "a dir"], env=env, machines=4)
    assert command[:5] == ["srun", "--nodes=4", "--ntasks-per-node=1", "bash", "-c"]
    inner = shlex.split(command[5].replace("$SLURM_NODEID", "3"))  # what node 3's shell runs
    assert inner == ["accelerate", "launch", "--config_file", CONFIG_34B, "--main_process_ip", "node0",
                     "--machine_rank", "3", "-m", "dpo_vs_ppo.stages.ppo", "--out", "a dir"]
    with pytest.raises(SystemExit, match="needs 4 nodes; this allocation has 2"):
        resolve("paper", CONFIG_34B, "m", [], env={"SLURM_JOB_NUM_NODES": "2"}, machines=4)


def test_the_launcher_replaces_itself_with_the_stage(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text())
    out = subprocess.run([sys.executable, "-m", "dpo_vs_ppo.launch", "--paper-config", CONFIG_7B, "-m",
                          "dpo_vs_ppo.stages.table", "--params", str(params), "--help"],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0 and out.stdout.startswith("usage: table.py")  # the stage's own --help
    params.write_text(params.read_text().replace("profile: tiny", "profile: paper"))
    dry = subprocess.run([sys.executable, "-m", "dpo_vs_ppo.launch", "--paper-config", CONFIG_7B, "--dry", "-m",
                          "dpo_vs_ppo.stages.dpo", "--params", str(params)], capture_output=True, text=True, cwd=REPO)
    assert dry.stdout.split()[:4] == ["accelerate", "launch", "--config_file", CONFIG_7B]


def test_every_training_stage_of_the_paper_profile_runs_on_the_gpus_with_the_papers_model(paper_plan):
    training = {name: s for name, s in paper_plan.items() if s["module"] in TRAINING}
    assert len(training) >= 70  # 78 at the time of writing: every SFT, RM, DPO, PPO and DPO-Iter run
    for name, stage in training.items():
        if stage["family"] == "code":  # 4 nodes: one accelerate per node through srun
            assert stage["command"][:2] == ["srun", "--nodes=4"], name
            assert shlex.split(stage["command"][-1])[:4] == ["accelerate", "launch", "--config_file", CONFIG_34B], name
        else:
            assert stage["command"][:4] == ["accelerate", "launch", "--config_file", CONFIG_7B], name
        assert stage["model"] == ("codellama/CodeLlama-34b-hf" if stage["family"] == "code"
                                  else "meta-llama/Llama-2-7b-hf"), name
    assert {s["family"] for s in training.values()} == {"dialogue", "code"}
    others = [s for s in paper_plan.values() if s["module"] not in TRAINING]
    assert all(s["command"][0] not in ("accelerate", "srun") for s in others)


def test_the_paper_plan_resolves_the_papers_hyperparameters(paper_plan):
    """Spot checks against the paper (App. A.1, A.2; Tables 3, 8, 11)."""
    def settings(name):
        return paper_cost.flatten(paper_plan[name]["settings"])
    ppo = settings("saferlhf/ppo_dialogue@0")
    assert (ppo["actor_learning_rate"], ppo["critic_learning_rate"], ppo["rollout_batch_size"],
            ppo["num_mini_batches"], ppo["response_length"], ppo["prompt_epochs"], ppo["kl_coef"]) == (
        1e-5, 5e-6, 512, 4, 256, 5.0, 0.1)
    assert ppo["whiten_advantages"] and ppo["ref_ema"]
    code = next(s for n, s in paper_plan.items() if n.startswith("code/ppo_code@"))
    assert (code["settings"].response_length, code["settings"].prompt_epochs) == (1024, 16.0)
    baseline = next(s for n, s in paper_plan.items() if "ppo_code_baseline" in n)["settings"]
    assert (baseline.rollout_batch_size, baseline.whiten_advantages, baseline.ref_ema) == (64, False, False)
    dpo = settings("saferlhf/dpo_dialogue@0")
    assert (dpo["learning_rate"], dpo["beta"], dpo["epochs"]) == (1e-6, 0.1, 2)
    assert settings("code/dpo_code@0")["epochs"] == 1  # PAPER: App. A.1, code trains one epoch
    betas = {paper_cost.flatten(s["settings"])["beta"] for n, s in paper_plan.items() if n.startswith(("hh/dpo_dialogue@", "hh/dpo_beta"))}
    assert {0.05, 0.1, 0.2} <= betas  # Table 11
    assert {s["model"] for n, s in paper_plan.items() if n.startswith("models@")} == {
        "meta-llama/Llama-2-7b-hf", "codellama/CodeLlama-34b-hf"}


def _leaves(mapping, prefix=""):
    out = {}
    for key, value in (mapping or {}).items():
        out.update(_leaves(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def _paper_overlay_of_chain(stem):
    raw = yaml.safe_load((REPO / f"experiments/{stem}.yaml").read_text())
    inherited = _paper_overlay_of_chain(raw["base"]) if raw.get("base") else {}
    return {**inherited, **_leaves((raw.get("profiles") or {}).get("paper"))}


def test_no_derived_experiment_loses_its_own_setting_to_its_bases_paper_overlay():
    """A base's paper overlay is applied after a derived file's settings: a derived file that changes a value
    its base's paper profile also sets must restate it for paper (dpo_code's 1 epoch once silently became 2)."""
    for path in experiment_files(REPO / "experiments"):
        raw = yaml.safe_load(path.read_text())
        if not raw or not raw.get("base"):
            continue
        inherited = _paper_overlay_of_chain(raw["base"])
        restated = _leaves((raw.get("profiles") or {}).get("paper"))
        for key, value in _leaves(raw.get("settings")).items():
            assert key not in inherited or key in restated or inherited[key] == value, (path.name, key)


def test_at_tiny_scale_nothing_needs_accelerate_or_the_hub():
    tiny = plan.build_plan("tiny", REPO)
    assert all(s["command"][0] == sys.executable or s["command"][:2] == ["python", "-m"] for s in tiny.values())
    assert all(s["model"].startswith("tiny ") for s in tiny.values())


def test_a_stage_costs_its_tokens_times_six_n_at_the_assumed_throughput(paper_plan):
    sft = paper_plan["dialogue/sft_alpaca@0"]  # one seed's run of a per-seed stage
    s = paper_cost.flatten(sft["settings"])
    flops = 6 * 6.74e9 * 52_002 * s["epochs"] * s["max_length"]  # Alpaca's rows, trained on for its epochs
    assert sft["cost"].gpu_hours == pytest.approx(flops / (312e12 * 0.40) / 3600)
    assert sft["cost"].wall_hours == pytest.approx(sft["cost"].gpu_hours / 8)
    code, dialogue = dict(sft, family="code"), sft
    assert paper_cost.estimate(code, 8).gpu_hours == pytest.approx(
        paper_cost.estimate(dialogue, 8).gpu_hours * 33.7 / 6.74)  # same tokens, 5x the parameters


def test_an_evaluation_is_costed_once_per_seed_of_its_seed_list(paper_plan):
    name, stage = next((n, s) for n, s in paper_plan.items() if s["module"] == "evaluate_policy"
                       and s["args"][s["args"].index("--seed-list") + 1] == "seeds")
    one_seed = dict(stage, args=[a if a != "seeds" else "ablation_seeds" for a in stage["args"]])
    seeds = len(yaml.safe_load((REPO / "params.yaml").read_text())["seeds"])
    assert paper_cost.estimate(stage, 1).gpu_hours == pytest.approx(seeds * paper_cost.estimate(one_seed, 1).gpu_hours)


def test_every_table_with_stages_has_a_gpu_estimate(paper_plan):
    costs = {result: gpu_h for result, gpu_h, _, _ in plan.table_costs(paper_plan, REPO)}
    assert costs["figure1"] == 0  # the synthetic 8x8 task runs on CPU at every scale
    for result in ("table2", "table3", "table4", "table5", "table6", "table7", "table8", "table10", "table11",
                   "table12", "table13", "figure2"):
        assert costs[result] > 10, result
    assert costs["table7"] > costs["table6"]  # 34B code models dwarf the 7B dialogue ones
