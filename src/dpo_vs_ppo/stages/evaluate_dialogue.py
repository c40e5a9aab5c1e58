"""Stage evaluate_dialogue: score a policy's sampled responses; mean reward, ΔHelp, harm, safety rate.

Scorers come from the experiment file (evaluation/scorers.py): gold functions at tiny scale, learned
models (``--reward-model`` / ``--cost-model`` folders), or the paper's evaluation models (hub ids).
With ``--baseline-samples`` (the same prompts, answered by the baseline policy: Beaver in the paper's
Table 6), ΔHelp and Safe-RLHF's better/worse x safe/unsafe cells are added.
"""

from __future__ import annotations

import json

from ..evaluation.dialogue_metrics import dialogue_metrics
from ..evaluation.samples import aligned, flat_pairs, read_samples
from ..records import write_text
from ._cli import main_with_config_errors, parser
from ._evaluation import (
    add_evaluation_arguments,
    add_samples_arguments,
    configured_scorer,
    load_evaluation,
    write_evaluation_records,
)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    add_samples_arguments(p, baseline_required=False)
    p.add_argument("--cost-model", metavar="DIR", help="folder of a learned cost model (scorer learned_cost)")
    p.add_argument("--scores", required=True, metavar="JSONL", help="where to write every response's scores")
    add_evaluation_arguments(p, "evaluate_dialogue", "where to write the dialogue metrics")
    args = p.parse_args(argv)
    params, exp, start = load_evaluation(args, "evaluate_dialogue")
    s = exp.settings
    rows = read_samples(args.samples)
    baseline = read_samples(args.baseline_samples) if args.baseline_samples else None
    scorers = dialogue_scorers(args.experiment, s, args.reward_model, args.cost_model)
    metrics, scores = score_samples(s, scorers, rows, baseline, args.baseline_samples)
    write_text(args.scores, scores)
    write_evaluation_records(args, params, exp, metrics, start, samples=args.samples, baseline=args.baseline_samples)
    print(f"evaluate_dialogue: {summary_line(metrics)}")


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


if __name__ == "__main__":
    main_with_config_errors(main)
