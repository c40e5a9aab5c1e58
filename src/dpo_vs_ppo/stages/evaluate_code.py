"""Stage evaluate_code: run sampled programs in the sandbox; pass@k per difficulty and n@k (PAPER: Tables 7-9).

Every sample of a problem runs on its public tests (n@k's filter) and on its hidden tests
(evaluation/code_metrics.py); the sandbox (evaluation/sandbox.py) confines each run. A problem whose
samples are missing, or which has no tests, is skipped and counted; failures are counted by cause.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict

from tqdm import tqdm

from ..data.records import CodeProblem, read_records
from ..evaluation.code_metrics import (
    extract_program,
    hidden_tests,
    judge_samples,
    n_at_k,
    pass_at_k_table,
)
from ..evaluation.samples import read_samples
from ..evaluation.sandbox import Sandbox, SandboxLimits
from ..records import write_text
from ._cli import main_with_config_errors, parser
from ._evaluation import add_evaluation_arguments, load_evaluation, write_evaluation_records


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--samples", required=True, metavar="JSONL", help="sampled programs (generate stage)")
    p.add_argument("--problems", required=True, metavar="JSONL", help="the code-problem records they answer")
    p.add_argument("--outcomes", required=True, metavar="JSONL", help="where to write each problem's counts")
    add_evaluation_arguments(p, "evaluate_code", "where to write pass@k per difficulty and n@k")
    args = p.parse_args(argv)
    params, exp, start = load_evaluation(args, "evaluate_code", seed=0)
    s = exp.settings

    with Sandbox(sandbox_limits(s), workers=s.workers) as box:
        outcomes, skipped = judge_all(box, read_records(args.problems, CodeProblem), read_samples(args.samples))
        isolation = box.isolation
    write_text(args.outcomes, "".join(json.dumps(asdict(o)) + "\n" for o in outcomes))
    metrics = code_metrics(outcomes, s, skipped)
    write_evaluation_records(args, params, exp, metrics, start, sandbox_isolation=isolation)
    print(f"evaluate_code: {len(outcomes)} problems, pass@k {metrics['pass_at_k'].get('all')}, skipped {dict(skipped)}")


def judge_all(box: Sandbox, problems: list[CodeProblem], samples) -> tuple[list, Counter]:
    """Every samples row judged against its problem; rows of unknown or test-less problems are counted."""
    by_id = {p.problem_id: p for p in problems}
    skipped: Counter = Counter()
    outcomes = []
    for row in tqdm(samples, desc="evaluate_code", unit="problem", mininterval=5):
        problem = by_id.get(row.prompt_id)
        if problem is None or not hidden_tests(problem):
            skipped["unknown problem" if problem is None else "no tests"] += 1
            continue
        outcomes.append(judge_samples(box, problem, [extract_program(r) for r in row.responses]))
    return outcomes, skipped


def sandbox_limits(s) -> SandboxLimits:
    return SandboxLimits(cpu_seconds=s.cpu_seconds, wall_seconds=s.wall_seconds, memory_bytes=s.memory_mb * 2**20,
                         output_bytes=s.output_kb * 2**10)


def code_metrics(outcomes, s, skipped: Counter) -> dict:
    failures: Counter = Counter()
    for o in outcomes:
        failures.update(o.failures)
    metrics = {"problems": len(outcomes), "samples": sum(o.samples for o in outcomes),
               "pass_at_k": pass_at_k_table(outcomes, s.pass_k), "failures": dict(sorted(failures.items())),
               "skipped": dict(sorted(skipped.items()))}
    if s.n_at_k and outcomes:
        k = min(o.samples for o in outcomes)
        metrics[f"{s.n_at_k}@{k}"] = n_at_k(outcomes, s.n_at_k)
    return metrics


if __name__ == "__main__":
    main_with_config_errors(main)
