"""Stage evaluate_code_policy: sample one code policy at every seed and run its programs (PAPER: Sec. 6).

The generate and evaluate_code stages in one process, looped over the seeds params.yaml names
(``--seed-list``), as evaluate_policy does for dialogue. Per seed: APPS-format test problems (pass@k per
difficulty, Tables 3, 7, 9) and CodeContests-format test problems (pass@k and n@k, Tables 3 and 8),
each sampled with its own generate experiment (more samples per problem for n@k).

Writes ``--samples-dir/s<seed>_{apps,contests}.jsonl`` and one metrics file with flat keys such as
``apps_introductory_pass@5`` and ``contests_1@10`` per seed and their means.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..data.records import CodeProblem, read_records
from ..evaluation.code_scoring import code_metrics, judge_all, sandbox_limits
from ..evaluation.samples import write_samples
from ..evaluation.sandbox import Sandbox
from ..evaluation.seeds import checkpoint_for, seed_summary
from ..experiment import load_experiment
from ..records import provenance, write_json
from ._cli import add_record_arguments, load, main_with_config_errors, parser
from ._training import with_seed


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--apps-generate-experiment", required=True, metavar="YAML", help="stage 'generate' file for APPS")
    p.add_argument("--contests-generate-experiment", required=True, metavar="YAML",
                   help="stage 'generate' file for CodeContests (n@k needs more samples per problem)")
    p.add_argument("--experiment", required=True, metavar="YAML", help="an experiment file of stage 'evaluate_code'")
    p.add_argument("--seed-list", required=True, choices=("seeds", "ablation_seeds"),
                   help="which params.yaml seed list to evaluate (the one the policy was trained over)")
    p.add_argument("--policy", required=True, metavar="DIR", help="checkpoint folder: s<seed>/ per seed, or one checkpoint")
    p.add_argument("--apps", required=True, metavar="JSONL", help="APPS-format test problems (records)")
    p.add_argument("--contests", required=True, metavar="JSONL", help="CodeContests-format test problems (records)")
    p.add_argument("--samples-dir", required=True, metavar="DIR", help="where to write the sampled programs")
    add_record_arguments(p, "where to write every seed's pass@k and n@k and their means")
    args = p.parse_args(argv)
    params, evaluate = load(args.params, args.experiment, "evaluate_code")
    generators = {"apps": load_experiment(args.apps_generate_experiment, params.profile, "generate"),
                  "contests": load_experiment(args.contests_generate_experiment, params.profile, "generate")}
    problem_files = {"apps": args.apps, "contests": args.contests}
    problems = {name: read_records(path, CodeProblem) for name, path in problem_files.items()}  # once, not per seed
    seeds = getattr(params, args.seed_list)
    checkpoints = {seed: checkpoint_for(Path(args.policy), seed) for seed in seeds}
    evaluate_seeds(args, params, evaluate, generators, problems, checkpoints)


def evaluate_seeds(args, params, evaluate, generators: dict, problems: dict, checkpoints: dict) -> None:
    # torch and the models are imported only now, after the config check (stages/_cli.py).
    from ..evaluation.generation import generate_samples
    from ..models import PolicyCache
    from ..training.runtime import prepare_process

    problem_files = {"apps": args.apps, "contests": args.contests}
    start, per_seed, models = time.perf_counter(), {}, PolicyCache()  # a checkpoint loads once, not per seed and set
    with Sandbox(sandbox_limits(evaluate.settings), workers=evaluate.settings.workers) as box:
        for seed, checkpoint in checkpoints.items():
            per_seed[str(seed)] = {}
            for name, generate in generators.items():
                prepare_process(seed)
                rows, counts = generate_samples(with_seed(generate, seed).settings, str(checkpoint), str(checkpoint),
                                                problem_files[name], models)
                write_samples(Path(args.samples_dir) / f"s{seed}_{name}.jsonl", rows)
                outcomes, skipped = judge_all(box, problems[name], rows)
                per_seed[str(seed)].update(flat_code_metrics(name, code_metrics(outcomes, evaluate.settings, skipped),
                                                             counts))
            print(f"evaluate_code_policy: {args.policy} seed {seed}: " + ", ".join(
                f"{k} {v:.3f}" for k, v in per_seed[str(seed)].items() if k.endswith(("all_pass@5", "@10"))))
        isolation = box.isolation
    write_json(args.metrics, seed_summary(per_seed))
    record = provenance(params, evaluate, time.perf_counter() - start)
    record.update(generate_settings={k: g.settings for k, g in generators.items()}, sandbox_isolation=isolation,
                  checkpoints={str(k): str(v) for k, v in checkpoints.items()})
    write_json(args.run_info, record)


#: The easiest and the hardest difficulty of each problem set (APPS' levels; CodeContests' A and C tiers).
EASIEST_HARDEST = {"apps": ("introductory", "competition"), "contests": ("A", "C")}


def flat_code_metrics(name: str, metrics: dict, counts: dict) -> dict:
    """evaluate_code's nested metrics as flat ``<set>_<group>_pass@k`` / ``<set>_<n>@<k>`` numbers, and
    ``<set>_difficulty_gap_pass@k``: the easiest level's pass@k minus the hardest's (issue [I] item 8's
    precondition that pass rates fall with difficulty)."""
    table = metrics["pass_at_k"]
    flat = {f"{name}_{group}_{k}": round(v, 6) for group, by_k in table.items() for k, v in by_k.items()}
    easy, hard = EASIEST_HARDEST.get(name, ("", ""))
    if easy in table and hard in table:
        flat.update({f"{name}_difficulty_gap_{k}": round(table[easy][k] - table[hard][k], 6) for k in table[easy]})
    flat.update({f"{name}_{k}": round(v, 6) for k, v in metrics.items() if "@" in k})
    flat.update({f"{name}_problems": metrics["problems"], f"{name}_generated_tokens": counts["generated_tokens"]})
    return flat


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
