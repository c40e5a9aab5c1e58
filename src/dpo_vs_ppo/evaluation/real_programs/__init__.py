"""Real programs with known verdicts: the styles people write for APPS and CodeContests, each with a
wrong twin (issue 16). Every correct program must pass its tests and every wrong one fail, in the
sandbox, whoever runs it; tests/test_real_programs.py checks that, and the sandbox benchmark
(benchmarks/sandbox_throughput.py) times them beside the synthetic programs.

* :mod:`.apps_stdin`: APPS standard-input solutions using typing, collections, heapq, bisect,
  itertools, functools, math, fractions, decimal, datetime, re, string, threading and numpy; some
  print in forms APPS' checker accepts though the text differs (extra spaces, blank lines, floats to
  other precision).
* :mod:`.apps_call`: APPS call-based (LeetCode-style) solutions: ``class Solution`` with typed
  signatures that use ``List`` and ``Counter`` without importing them (APPS' import block does), and
  plain functions returning tuples.
* :mod:`.contests`: CodeContests solutions, run as written (no import block), token-wise output,
  floats within a tolerance.

The programs are ours, written for this set in the styles of those datasets; none is copied from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...data.records import CodeProblem, Solution, TestCase


@dataclass(frozen=True)
class RealProblem:
    """One problem: its harness, tests, a correct program and a wrong twin."""

    name: str
    harness: str
    """'apps' or 'code_contests' (evaluation/sandbox_checks.py)."""
    fn_name: str
    """APPS call-based: the function or ``Solution`` method to call; '' for standard input."""
    tests: tuple[TestCase, ...]
    correct: str
    wrong: str
    accepted_variant: str = ""
    """What the correct program's output differs from the expected text in, where the checker must accept it."""

    def as_code_problem(self) -> CodeProblem:
        """The problem as the loaders would write it: its source names the dataset, so code_metrics judges
        it under that dataset's harness."""
        dataset = "deepmind/code_contests" if self.harness == "code_contests" else "codeparrot/apps"
        return CodeProblem(self.name, f"{dataset}/real/{self.name}", "real", "", "", self.fn_name, (), self.tests, (),
                           (Solution(self.correct, "python3"),), (Solution(self.wrong, "python3"),))


def problem(name: str, harness: str, tests: list[tuple[str, str]], correct: str, wrong: str, fn_name: str = "",
            accepted_variant: str = "") -> RealProblem:
    """A RealProblem from (input, expected output) pairs."""
    return RealProblem(name, harness, fn_name, tuple(TestCase(i, o) for i, o in tests), correct, wrong, accepted_variant)


def all_problems() -> list[RealProblem]:
    from . import apps_call, apps_stdin, contests

    return [*apps_stdin.PROBLEMS, *apps_call.PROBLEMS, *contests.PROBLEMS]


def jobs(problems: list[RealProblem], which: str) -> list[tuple]:
    """Sandbox.run_many jobs for the ``which`` ('correct' or 'wrong') program of each problem."""
    return [(getattr(p, which), p.tests, p.fn_name, p.harness) for p in problems]


def judge_all(box) -> dict:
    """Run every correct and every wrong program on all its tests: how many passed / failed, and which
    did not behave (a correct one that failed, with its statuses; a wrong one that passed)."""
    problems = all_problems()
    correct = box.run_many(jobs(problems, "correct"), stop_on_failure=False)
    wrong = box.run_many(jobs(problems, "wrong"), stop_on_failure=False)
    return {"problems": len(problems), "correct_passed": sum(r.passed for r in correct),
            "wrong_failed": sum(not r.passed for r in wrong),
            "misjudged": [f"{p.name} correct: {r.statuses}" for p, r in zip(problems, correct) if not r.passed]
            + [f"{p.name} wrong: passed" for p, r in zip(problems, wrong) if r.passed],
            "isolation": box.isolation}
