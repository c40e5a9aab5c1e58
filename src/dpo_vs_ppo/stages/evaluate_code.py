"""Stage evaluate_code: run sampled programs in the sandbox; pass@k per difficulty and n@k (PAPER: Tables 7-9).

Every sample of a problem runs on its public tests (n@k's filter) and on its hidden tests
(evaluation/code_metrics.py); the sandbox (evaluation/sandbox.py) confines each run. A problem whose
samples are missing, or which has no tests, is skipped and counted; failures are counted by cause.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from ..data.records import CodeProblem, read_records
from ..evaluation.code_scoring import code_metrics, judge_all, sandbox_limits
from ..evaluation.samples import read_samples
from ..evaluation.sandbox import Sandbox
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


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
