"""Figure 1's synthetic experiment on the smoke profile, its metrics against a loop, and the PPO
update against the analytic optimum it should reach."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from conftest import REPO
from dpo_vs_ppo.experiment import load_experiment
from dpo_vs_ppo.stages import figure1 as figure1_stage
from dpo_vs_ppo.toy import figure1_sweep, tabular
from dpo_vs_ppo.toy.synthetic_8x8 import (decomposed, dpo_loss, one_hot_mlp, policy_stats, ppo_update, run_seed,
                                          sample_preferences, seed_metrics)


def settings(profile="smoke"):
    return load_experiment(REPO / "experiments/figure1.yaml", profile).settings


def test_smoke_run_shapes_and_determinism():
    s = settings()
    a, b = run_seed(s, 3), run_seed(s, 3)
    assert a == b  # same seed on CPU -> identical panels and curves
    panels = {k: np.asarray(v) for k, v in a["panels"].items()}
    assert all(p.shape == (8, 8) for p in panels.values())
    for key in ("pi_ref", "pi_dpo", "pi_ppo"):
        np.testing.assert_allclose(panels[key].sum(axis=1), 1.0, atol=1e-6)
    assert (panels["coverage"].sum(axis=1) == s.pairs_per_prompt + 1).all()
    assert (np.diag(panels["coverage"]) == 1).all()  # the optimal response is in every prompt's data
    assert np.abs(panels["pi_ref"] - 1 / 8).max() < 0.1  # the reference MLP is near uniform


def test_preferences_put_the_optimal_response_first():
    pairs = sample_preferences(settings(), torch.Generator().manual_seed(0))
    assert torch.equal(pairs.prompt, pairs.winner) and not (pairs.winner == pairs.loser).any()


def test_mlp_dpo_loss_matches_the_tabular_implementation():
    s, gen = settings(), torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    policy, ref = one_hot_mlp(8, (16,), 8), one_hot_mlp(8, (16,), 8)
    pairs = sample_preferences(s, gen)
    with torch.no_grad():
        pi, pi_ref = (torch.softmax(m(torch.eye(8)), -1).double().numpy() for m in (policy, ref))
        ours = float(dpo_loss(policy, torch.log_softmax(ref(torch.eye(8)), -1), pairs, 0.1))
    table = tabular.Pairs(pairs.prompt.numpy(), pairs.winner.numpy(), pairs.loser.numpy(), np.ones(len(pairs.prompt)))
    assert ours == pytest.approx(tabular.dpo_loss(pi, pi_ref, table, 0.1), rel=1e-5)


def test_ppo_update_converges_to_the_kl_regularised_optimum():
    # With a fixed, moderate reward, KL-penalised PPO must end near pi_ref exp(r/beta)/Z (Eq. 5).
    s = dataclasses.replace(settings("tiny"), ppo_lr=3e-3, ppo_samples_per_prompt=256, beta=0.5)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    policy = one_hot_mlp(8, (32,), 8)
    with torch.no_grad():
        ref_logp = torch.log_softmax(policy(torch.eye(8)), -1)
    reward = torch.linspace(0, 1, 8).repeat(8, 1) + torch.eye(8)
    opt = torch.optim.Adam(policy.parameters(), lr=s.ppo_lr)
    for _ in range(300):
        ppo_update(policy, opt, ref_logp, reward, s, gen)
    with torch.no_grad():
        pi = torch.softmax(policy(torch.eye(8)), -1).numpy()
    target = tabular.kl_regularised_optimum(ref_logp.exp().numpy(), reward.numpy(), s.beta)
    assert 0.5 * np.abs(pi - target).sum(axis=1).max() < 0.05


def test_seed_metrics_match_a_loop(rng=np.random.default_rng(0)):
    covered = rng.random((8, 8)) < 0.3
    np.fill_diagonal(covered, True)
    panels = {"coverage": covered.astype(float), "reward": rng.normal(size=(8, 8))}
    for key in ("pi_ref", "pi_dpo", "pi_ppo"):
        panels[key] = rng.dirichlet(np.ones(8), size=8)
    m = seed_metrics(panels, beta=0.1)
    for key in ("pi_ref", "pi_dpo", "pi_ppo"):
        loop = sum(panels[key][x, y] for x in range(8) for y in range(8) if not covered[x, y]) / 8
        assert m[f"ood_mass_{key}"] == pytest.approx(loop)
    cells = [(x, y) for x in range(8) for y in range(8) if not covered[x, y]]
    assert m["ood_cells_dpo_above_ref"] == sum(panels["pi_dpo"][c] > panels["pi_ref"][c] for c in cells)
    losers = [panels["reward"][x, y] for x in range(8) for y in range(8) if covered[x, y] and x != y]
    assert m["reward_ood_minus_losers"] == pytest.approx(np.mean([panels["reward"][c] for c in cells]) - np.mean(losers))
    m_self = seed_metrics({**panels, "pi_ppo": tabular.kl_regularised_optimum(panels["pi_ref"], panels["reward"], 0.1)}, 0.1)
    assert m_self["ppo_tv_to_kl_optimum"] < 1e-12


def test_stage_on_smoke_profile_writes_its_outputs(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("profile: smoke\nseeds: [0, 1]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    out = {k: tmp_path / f"{k}" for k in ("metrics.json", "panels.json", "ood.csv", "sweep.csv", "run.json")}
    figure1_stage.main(["--params", str(params), "--experiment", str(REPO / "experiments/figure1.yaml"),
                        "--metrics", str(out["metrics.json"]), "--panels", str(out["panels.json"]),
                        "--ood-csv", str(out["ood.csv"]), "--sweep-csv", str(out["sweep.csv"]),
                        "--run-info", str(out["run.json"])])
    metrics = json.loads(out["metrics.json"].read_text())
    assert len(metrics["ood_mass_pi_dpo"]["per_seed"]) == 2 and metrics["seeds"] == [0, 1]
    assert out["ood.csv"].read_text().splitlines()[0] == "seed,policy,ood_mass"
    sweep = [line.split(",") for line in out["sweep.csv"].read_text().splitlines()]
    assert tuple(sweep[0]) == figure1_sweep.COLUMNS
    s = settings()
    assert len(sweep) - 1 == len(s.sweep_pairs_per_prompt) * len(s.sweep_betas) * 2 * 5  # cells x seeds x policies
    # The sweep's cell at the file's own settings holds the headline numbers, per seed.
    main_cell = [r for r in sweep[1:] if (int(r[0]), float(r[1]), r[3]) == (s.pairs_per_prompt, s.beta, "pi_dpo")]
    assert [float(r[4]) for r in main_cell] == pytest.approx(metrics["ood_mass_pi_dpo"]["per_seed"])
    run = json.loads(out["run.json"].read_text())
    assert run["profile"] == "smoke" and run["resolved_settings"]["dpo_steps"] == 20 and run["versions"]["trl"] == "1.12.0"


def test_policy_stats_against_a_second_implementation(rng=np.random.default_rng(3)):
    ref, pi = rng.dirichlet(np.ones(8), size=8), rng.dirichlet(np.ones(8) * 0.3, size=8)
    covered = rng.random((8, 8)) < 0.4
    stats = policy_stats(pi, ref, covered)
    kl = torch.distributions.kl_divergence(torch.distributions.Categorical(torch.tensor(pi)),
                                           torch.distributions.Categorical(torch.tensor(ref)))
    assert stats["kl_to_ref"] == pytest.approx(float(kl.mean()))
    assert stats["argmax_optimal"] == pytest.approx(np.mean([np.argmax(pi[x]) == x for x in range(8)]))
    assert policy_stats(ref, ref, covered)["kl_to_ref"] == 0.0
    one_hot = np.eye(8)[[1, 1, 2, 3, 4, 5, 6, 0]]  # zeros in pi: 0 log 0 = 0, not nan
    assert np.isfinite(policy_stats(one_hot, ref, covered)["kl_to_ref"])


def test_the_kl_optimum_follows_the_reward_argmax_as_beta_shrinks(rng=np.random.default_rng(4)):
    reward = rng.normal(size=(8, 8)) * 10
    panels = {"pi_ref": rng.dirichlet(np.ones(8) * 50, size=8), "reward": reward,
              "coverage": np.eye(8) + np.roll(np.eye(8), 1, 1), "pi_ppo": np.eye(8), "pi_dpo": np.eye(8)}
    small, large = decomposed(panels, 1e-3), decomposed(panels, 1e3)
    np.testing.assert_array_equal(small["pi_kl_opt"].argmax(axis=1), reward.argmax(axis=1))
    np.testing.assert_allclose(large["pi_kl_opt"], panels["pi_ref"], atol=0.05)  # beta -> inf: back to pi_ref
    m = seed_metrics(panels, 1e-3)
    assert m["argmax_optimal_greedy_reward"] == m["argmax_optimal_pi_kl_opt"] == np.mean(reward.argmax(axis=1) == np.arange(8))
    assert m["kl_to_ref_pi_ppo"] == pytest.approx(float(np.mean(-np.log(np.diag(panels["pi_ref"])))))


def test_the_sweep_reuses_the_headline_run_only_where_it_is_the_same_run():
    s = settings()
    main = run_seed(s, 2)
    reused = figure1_sweep.cell_rows(s, s.pairs_per_prompt, s.beta, 2, main)
    assert reused == figure1_sweep.cell_rows(s, s.pairs_per_prompt, s.beta, 2)  # rerunning gives the same rows
    other = figure1_sweep.cell_rows(s, 1, s.beta, 2, main)
    assert other != reused and {r[0] for r in other} == {1}
    assert {r[3] for r in other} == {"greedy_reward", "pi_kl_opt", "pi_ppo", "pi_dpo", "pi_ref"}
