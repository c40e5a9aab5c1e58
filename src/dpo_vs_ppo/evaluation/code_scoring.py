"""Judging sampled programs in the sandbox and summarising them (pass@k per difficulty, n@k, failure causes).
Shared by evaluate_code and evaluate_code_policy. PAPER: Tables 7-9."""

from __future__ import annotations

from collections import Counter

from tqdm import tqdm

from ..data.records import CodeProblem
from .code_metrics import extract_program, hidden_tests, judge_samples, n_at_k, pass_at_k_table
from .sandbox import Sandbox, SandboxLimits


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
