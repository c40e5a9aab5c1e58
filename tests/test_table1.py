"""Table 1's numbers exactly, and the numerical check of Theorem 4.1 (which must be able to fail)."""

import dataclasses
import math

import numpy as np

from conftest import REPO
from dpo_vs_ppo.experiment import load_experiment
from dpo_vs_ppo.toy.table1 import check_instance, check_theorem, counterexample_metrics, random_instance
from dpo_vs_ppo.toy.tabular import bradley_terry_loss, dpo_loss, fit_bradley_terry, kl_regularised_optimum


def settings(profile="tiny"):
    return load_experiment(REPO / "experiments/table1.yaml", profile).settings


def test_experiment_file_holds_the_papers_table1():
    s = settings()
    assert (s.pi_ref, s.pi_dpo, s.pi_ppo, s.beta) == ((0.5, 0.5, 0.0), (0.1, 0.0, 0.9), (1.0, 0.0, 0.0), 0.1)


def test_table1_numbers_exactly():
    m = counterexample_metrics(settings())
    assert m["dpo_loss"] == {"pi_ref": math.log(2), "pi_dpo": 0.0, "pi_ppo": 0.0, "infimum": 0.0}
    assert m["mass_outside_ref_support"] == {"pi_ref": 0.0, "pi_dpo": 0.9, "pi_ppo": 0.0}
    assert m["reachable_by_ppo"] == {"pi_ref": True, "pi_dpo": False, "pi_ppo": True}
    assert m["minimiser_grid"]["dpo_optimal"] == m["minimiser_grid"]["points"] == 100
    assert m["minimiser_grid"]["reachable_points"] == [[1.0, 0.0, 0.0]]


def test_ppo_solution_approaches_1_0_0_as_the_fitted_margin_grows():
    s = settings()
    rows = counterexample_metrics(s)["ppo_solution_by_margin"]
    for row in rows:  # pi(y1) = sigmoid(margin / beta), pi(y3) = 0
        assert row["policy"][0] == np.float64(1 / (1 + math.exp(-row["margin"] / s.beta)))
        assert row["policy"][2] == 0.0
    losses = [row["dpo_loss"] for row in rows]
    assert losses == sorted(losses, reverse=True) and losses[-1] < 1e-2


def test_theorem_holds_on_random_instances():
    s = settings("smoke")
    m = check_theorem(s.theorem, s.beta, seeds=(0, 1))
    assert m["instances"] == 10
    assert m["fraction_included"] == m["fraction_strict"] == m["fraction_direct_matches"] == 1.0
    assert m["max_abs_gap_ppo_optimum"] < 1e-12 and m["ppo_mass_outside_support_max"] == 0.0


def test_theorem_check_can_fail():
    # Negative controls: a policy that is not the KL optimum of the fitted reward, or a reward that
    # was not fitted, leaves a positive gap that the check's tolerance catches.
    s = settings()
    ref, pairs = random_instance(np.random.default_rng(0), s.theorem)
    reward = fit_bradley_terry(pairs, *ref.shape)
    minimum = bradley_terry_loss(reward, pairs)
    wrong_beta = kl_regularised_optimum(ref, reward, 2 * s.beta)
    assert dpo_loss(wrong_beta, ref, pairs, s.beta) - minimum > s.theorem.tolerance
    assert dpo_loss(kl_regularised_optimum(ref, 0.5 * reward, s.beta), ref, pairs, s.beta) - minimum > s.theorem.tolerance
    assert check_instance(ref, pairs, s.beta, 0.9)["gap_ppo_optimum"] <= s.theorem.tolerance


def test_theorem_check_is_deterministic():
    s = dataclasses.replace(settings("smoke").theorem, instances_per_seed=3)
    assert check_theorem(s, 0.1, (5,)) == check_theorem(s, 0.1, (5,))
