"""Best-of-n (issue [I] item 5): the choice against a loop, the KL formula against an exact computation, and
the stage on the smoke profile's tiny models."""

import json
import math

import numpy as np
import pytest

from conftest import REPO
from dpo_vs_ppo.evaluation.best_of_n import chosen, kl_bound, summary
from dpo_vs_ppo.stages import best_of_n as stage
from tiny_models import build_tiny_models, write_pairs


def test_the_choice_is_the_best_learned_score_among_the_first_n(rng=np.random.default_rng(0)):
    learned = rng.normal(size=(7, 8)).tolist()
    for n in (1, 3, 8):
        assert chosen(learned, n) == [int(np.argmax(row[:n])) for row in learned]
    assert chosen([[1.0, 1.0, 0.5]], 3) == [0]  # ties: the first sample
    rows = summary(learned, {"help": [[10 * v for v in row] for row in learned]}, (1, 8))
    assert rows[0]["learned_score"] == pytest.approx(np.mean([row[0] for row in learned]))
    assert rows[1]["gold/help"] == pytest.approx(10 * rows[1]["learned_score"])
    assert rows[1]["learned_score"] >= rows[0]["learned_score"] and rows[0]["kl_bound"] == 0.0


def exact_kl(probs: np.ndarray, n: int) -> float:
    """KL(best-of-n || pi) for a categorical pi whose outcomes are ordered by reward (index = rank, no ties):
    best-of-n picks outcome i with probability F(i)^n - F(i-1)^n."""
    cdf = np.cumsum(probs)
    best = cdf ** n - np.concatenate([[0.0], cdf[:-1]]) ** n
    return float(np.sum(np.where(best > 0, best * np.log(best / probs), 0.0)))


@pytest.mark.parametrize("n", [1, 2, 4, 32])
def test_the_kl_formula_bounds_the_exact_kl_and_is_reached_without_ties(n):
    coarse = np.array([0.5, 0.3, 0.2])
    assert exact_kl(coarse, n) <= kl_bound(n) + 1e-12
    fine = np.full(20_000, 1 / 20_000)  # ever finer atoms: ties vanish, the bound is reached
    assert exact_kl(fine, n) == pytest.approx(kl_bound(n), abs=2e-3)
    assert kl_bound(n) == pytest.approx(math.log(n) - (n - 1) / n)


def test_stage_writes_a_row_per_n_and_the_samples(tmp_path):
    refs = build_tiny_models(tmp_path / "models")
    prompts = write_pairs(tmp_path / "pairs.jsonl")
    params = tmp_path / "params.yaml"
    params.write_text("profile: smoke\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    out = tmp_path / "out"
    stage.main(["--params", str(params), "--experiment", str(REPO / "experiments/best_of_n.yaml"), "--seed", "3",
                "--prompts", str(prompts), "--policy", refs["policy"], "--reward", refs["reward"],
                "--models", str(tmp_path / "models"), "--out", str(out), "--steps", str(tmp_path / "steps.csv"),
                "--metrics", str(tmp_path / "m.json"), "--run-info", str(tmp_path / "run.json")])
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert list(metrics["by_n"]) == ["1", "2"] and metrics["samples_per_prompt"] == 2
    assert set(metrics["by_n"]["2"]) == {"n", "learned_score", "kl_bound", "gold/gold_helpfulness", "gold/gold_harm"}
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2 * metrics["prompts"]
    best = np.mean([max(a["learned"], b["learned"]) for a, b in zip(samples[::2], samples[1::2])])
    assert metrics["by_n"]["2"]["learned_score"] == pytest.approx(best)
    assert (tmp_path / "steps.csv").read_text().splitlines()[0].startswith("n,learned_score,kl_bound")
