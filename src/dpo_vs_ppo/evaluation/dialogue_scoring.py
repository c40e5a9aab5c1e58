"""Scoring a policy's dialogue samples: the experiment's reward and cost scorers, and the dialogue metrics
(mean reward, ΔHelp against a baseline, harm, safety rate). Shared by evaluate_dialogue and evaluate_policy."""

from __future__ import annotations

import json

from .dialogue_metrics import dialogue_metrics
from .samples import aligned, flat_pairs
from .scorers import configured_scorer


def summary_line(metrics: dict) -> str:
    return ", ".join(f"{k} {metrics[k]:.3f}" for k in ("reward_mean", "delta_help", "harm", "safety_rate") if k in metrics)


def dialogue_scorers(file: str, s, reward_model: str | None, cost_model: str | None) -> tuple:
    """The experiment's reward scorer and cost scorer (None without one). A model scorer loads its model
    (7B at paper scale) when built, so a stage builds them once, not once per seed."""
    reward = configured_scorer(file, "reward", s.reward, reward_model, s.batch_size)
    cost = configured_scorer(file, "cost", s.cost, cost_model, s.batch_size) if s.cost.scorer else None
    return reward, cost


def score_samples(s, scorers: tuple, rows, baseline, baseline_name) -> tuple[dict, str]:
    """The dialogue metrics of ``rows`` under ``scorers`` (:func:`dialogue_scorers`; with ΔHelp when
    ``baseline`` samples are given) and every response's scores as JSON Lines."""
    reward, cost = scorers
    prompts, responses = flat_pairs(rows)
    rewards, costs = reward(prompts, responses), cost(prompts, responses) if cost else None
    base_rewards = None
    if baseline is not None:
        base = aligned(rows, baseline, baseline_name)
        if [len(b.responses) for b in base] != [len(r.responses) for r in rows]:
            raise ValueError("policy and baseline must have the same number of responses per prompt")
        base_rewards = reward(*flat_pairs(base))
    metrics = dialogue_metrics(rewards, costs, s.safety_threshold, base_rewards)
    metrics.update(prompts=len(rows), reward_scorer=s.reward.scorer, cost_scorer=s.cost.scorer)
    ids = [r.prompt_id for r in rows for _ in r.responses]
    scores = "".join(json.dumps({"prompt_id": i, "reward": rw, "cost": None if costs is None else costs[k]}) + "\n"
                     for k, (i, rw) in enumerate(zip(ids, rewards)))
    return metrics, scores
