"""Benchmark: sandboxed programs executed per second, and pass@k / n@k of known-right and known-wrong programs.

    python -m dpo_vs_ppo.benchmarks.sandbox_throughput [--programs 400] [--tests 5]

Problems come from the synthetic code task's families (data/code_task.py), each with ``--tests``
tests (2 public, the rest hidden). Arms, each timed over the same programs:

* ``fresh interpreter``: no sandbox at all, one ``python -c`` process per test: what a naive harness costs;
* ``sandbox, 1 worker`` and ``sandbox, 2 workers``: our fork-server pool (evaluation/sandbox.py) with
  every layer on (own uid, network namespace where allowed, rlimits, audit hook, fresh temp dir), once
  on the synthetic programs and once on the real-program set (evaluation/real_programs/: APPS and
  CodeContests styles, every test of each program, APPS' import block before the APPS ones), side by side.

Then every family's reference programs and its wrong programs are judged as samples, and pass@1,
pass@5 per difficulty and 10@k are printed: they must be 100 % and 0 %.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from ..data.code_task import FAMILIES
from ..data.code_task_corpora import make_instance
from ..data.records import CodeProblem, TestCase
from ..evaluation.code_metrics import judge_samples, n_at_k, pass_at_k_table
from ..evaluation.real_programs import all_problems, judge_all
from ..evaluation.real_programs import jobs as jobs_of
from ..evaluation.sandbox import Sandbox


def problems(n_tests: int, per_family: int, seed: int = 0):
    """(problem, instance) pairs: public = the first 2 tests, hidden = the rest."""
    rng = np.random.default_rng(seed)
    out = []
    for family in FAMILIES:
        for j in range(per_family):
            inst = make_instance(rng, family, n_tests)
            tests = tuple(TestCase(x, y) for x, y in inst.tests)
            out.append((CodeProblem(f"{family.name}/{j}", "benchmark", family.difficulty, "", "", "", tests[:2],
                                    tests[2:], (), (), ()), inst))
    return out


def time_fresh_interpreters(jobs) -> float:
    start = time.perf_counter()
    for code, tests in jobs:
        for t in tests:
            subprocess.run([sys.executable, "-I", "-c", code], input=t.input, capture_output=True, text=True, timeout=10)
    return time.perf_counter() - start


def time_sandbox(jobs, workers: int) -> tuple[float, dict]:
    with Sandbox(workers=workers) as box:
        box.run_many(jobs[:4])  # warm-up
        start = time.perf_counter()
        results = box.run_many(jobs, stop_on_failure=False)
        elapsed = time.perf_counter() - start
        isolation = box.isolation
    failed = [r.statuses for r in results if not r.passed]
    assert not failed, f"{len(failed)} reference programs failed in the sandbox, e.g. {failed[0]}"
    return elapsed, isolation


def real_jobs(n_programs: int) -> list[tuple]:
    """``n_programs`` correct programs of the real-program set, cycled, each with all its tests."""
    correct = jobs_of(all_problems(), "correct")
    return [correct[k % len(correct)] for k in range(n_programs)]


def compare_arms(synthetic: list[tuple], real: list[tuple]) -> dict:
    """Both program sets through the same pools, every layer on: {workers: (synthetic, real) (seconds, tests)}."""
    timed = {}
    for workers in (1, 2):
        arms = []
        for jobs in (synthetic, real):
            elapsed, isolation = time_sandbox(jobs, workers)
            arms.append((elapsed, sum(len(job[1]) for job in jobs)))
        timed[workers] = arms
    timed["isolation"] = isolation
    return timed


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--programs", type=int, default=400, help="programs per sandbox arm")
    p.add_argument("--tests", type=int, default=5, help="tests per program")
    args = p.parse_args(argv)

    pool = problems(args.tests, per_family=4)
    jobs = [(inst.programs[k % len(inst.programs)], prob.public_tests + prob.private_tests, "")
            for k, (prob, inst) in enumerate(pool * (args.programs // len(pool) + 1))][:args.programs]
    real = real_jobs(args.programs)
    print(f"synthetic: {len(jobs)} programs x {args.tests} tests (reference programs of {len(FAMILIES)} families)")
    print(f"real: {len(real)} programs, {sum(len(j[1]) for j in real)} tests (the correct programs of "
          f"{len(all_problems())} real-program problems, cycled)")
    fresh_n = max(20, args.programs // 10)
    fresh = time_fresh_interpreters([(c, t) for c, t, _ in jobs[:fresh_n]])
    print(f"  {'fresh interpreter per test (no sandbox)':34s} synthetic {fresh_n / fresh:7.1f} programs/s")
    timed = compare_arms(jobs, real)
    for workers in (1, 2):
        cells = [f"{name} {len(arm) / s:7.1f} programs/s ({t / s:4.0f} tests/s)"
                 for name, arm, (s, t) in zip(("synthetic", "real"), (jobs, real), timed[workers])]
        print(f"  {f'sandbox, {workers} worker(s)':34s} " + "   ".join(cells))
    print(f"  isolation: {timed['isolation']}")
    report_verdicts(pool)


def report_verdicts(pool) -> None:
    """pass@k / n@k of the synthetic reference and wrong programs, and the real-program set's verdicts."""
    print("\nknown-right and known-wrong programs as samples (5 per problem; 10@k uses 20):")
    with Sandbox(workers=2) as box:
        for label, pick in (("reference", lambda inst: inst.programs), ("incorrect", lambda inst: inst.wrong_programs)):
            judged = [(prob, pick(inst)) for prob, inst in pool if pick(inst)]  # some wrong programs pass 5 tests: dropped
            outcomes = [judge_samples(box, prob, [progs[k % len(progs)] for k in range(5)]) for prob, progs in judged]
            many = [judge_samples(box, prob, [progs[k % len(progs)] for k in range(20)]) for prob, progs in judged[::4]]
            table = pass_at_k_table(outcomes, [1, 5])
            cells = "  ".join(f"{d}: pass@1 {v['pass@1']:.0%} pass@5 {v['pass@5']:.0%}" for d, v in table.items())
            print(f"  {label:9s} ({len(judged)} problems) {cells}  10@20 {n_at_k(many, 10):.0%}")
        real = judge_all(box)
    print(f"  real-program set: {real['correct_passed']}/{real['problems']} correct programs pass, "
          f"{real['wrong_failed']}/{real['problems']} wrong twins fail {real['misjudged'] or ''}")


if __name__ == "__main__":
    main()
