"""Stage evaluate_dialogue: score a policy's sampled responses; mean reward, ΔHelp, harm, safety rate.

Scorers come from the experiment file (evaluation/scorers.py): gold functions at tiny scale, learned
models (``--reward-model`` / ``--cost-model`` folders), or the paper's evaluation models (hub ids).
With ``--baseline-samples`` (the same prompts, answered by the baseline policy: Beaver in the paper's
Table 6), ΔHelp and Safe-RLHF's better/worse x safe/unsafe cells are added.
"""

from __future__ import annotations

from ..evaluation.dialogue_scoring import dialogue_scorers, score_samples, summary_line
from ..evaluation.samples import read_samples
from ..records import write_text
from ._cli import main_with_config_errors, parser
from ._evaluation import add_evaluation_arguments, add_samples_arguments, load_evaluation, write_evaluation_records


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


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
