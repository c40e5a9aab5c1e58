"""The code task's reward and metrics: reward 10/0, pass@k (unbiased), n@k with public-test filtering.

* **Reward** (PAPER: Sec. 5): 10 if the program passes every training test, else 0.
* **pass@k** (PAPER: Tables 3, 7, 9, 11; APPS pass@5): the chance that at least one of k programs
  solves the problem, estimated without bias from n >= k samples of which c are correct
  (Chen et al. 2021, https://arxiv.org/abs/2107.03374, Sec. 2.1): 1 - C(n-c, k) / C(n, k).
* **n@k** (PAPER: Table 8, CodeContests 10@1k): sample k programs, keep those that pass the public
  tests of the statement, submit n of the survivors to the hidden tests (private + generated); solved
  if any submission passes. The paper does not say how the n are chosen (Sec. 6,
  UNVERIFIED); we take them uniformly at random and report the expectation over that choice exactly,
  1 - C(s-h, n) / C(s, n) for s survivors of which h pass the hidden tests, so no seed is involved.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..data.records import CodeProblem, TestCase
from .sandbox import ProgramResult, Sandbox

CORRECT_REWARD = 10.0  # PAPER: Sec. 5 ("reward 10 if all unit tests pass, otherwise 0")


def code_reward(result: ProgramResult) -> float:
    """The paper's reward of one program: 10 if it passed every test, else 0."""
    return CORRECT_REWARD if result.passed else 0.0


def extract_program(response: str) -> str:
    """The program in a response: the text after the prompt's ANSWER line, without a Markdown fence."""
    text = response.strip("\n")
    if text.lstrip().startswith("```"):
        body = text.lstrip()[3:]
        body = body.split("\n", 1)[1] if "\n" in body else ""
        text = body.split("```", 1)[0]
    return text.rstrip("\n") + "\n"


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples with ``c`` correct (Chen et al. 2021, Eq. 1, in product form:
    C(n-c, k) / C(n, k) = prod_{i=n-c+1..n} (1 - k/i), which never forms a huge binomial)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def expected_n_at_k(survivors: int, hidden_correct: int, n: int) -> float:
    """Chance that ``n`` submissions drawn uniformly from ``survivors`` (those passing the public tests)
    include one of the ``hidden_correct`` that pass the hidden tests; all survivors are submitted when
    there are at most n."""
    if not 0 <= hidden_correct <= survivors or n < 1:
        raise ValueError(f"need 0 <= hidden_correct <= survivors and n >= 1, got {hidden_correct}, {survivors}, {n}")
    if hidden_correct == 0:
        return 0.0
    if survivors <= n or survivors - hidden_correct < n:
        return 1.0
    return 1.0 - math.comb(survivors - hidden_correct, n) / math.comb(survivors, n)


def hidden_tests(problem: CodeProblem) -> tuple[TestCase, ...]:
    """The tests a submission is judged on: private + generated, or all of them when a problem (APPS)
    does not separate public tests from the rest."""
    hidden = problem.private_tests + problem.generated_tests
    return hidden or problem.public_tests


@dataclass(frozen=True)
class ProblemOutcome:
    """How one problem's samples fared."""

    problem_id: str
    difficulty: str
    samples: int
    correct: int
    """Samples that pass the hidden tests."""
    public_survivors: int
    """Samples that pass the public tests (n@k's filter); equals ``samples`` when there are none."""
    survivors_correct: int
    """Survivors that also pass the hidden tests."""
    failures: dict[str, int]
    """Why samples failed: first failing status -> count (timeouts, denied operations, ...)."""


def harness_of(problem: CodeProblem) -> str:
    """Whose rules judge a problem's programs (evaluation/sandbox_checks.py): CodeContests' for problems
    the CodeContests loader made (their source starts with the dataset id, e.g. 'deepmind/code_contests/test/3'),
    APPS' for every other one."""
    return "code_contests" if "code_contests" in problem.source.split("/")[:2] else "apps"


def judge_samples(box: Sandbox, problem: CodeProblem, programs: Sequence[str]) -> ProblemOutcome:
    """Run every sampled program of one problem on its public, then hidden, tests, under its dataset's rules."""
    if not hidden_tests(problem):
        raise ValueError(f"problem {problem.problem_id} ({problem.source}) has no tests to judge on")
    fn, harness = problem.fn_name, harness_of(problem)
    public = box.run_many([(p, problem.public_tests, fn, harness) for p in programs]) if problem.public_tests else None
    hidden = box.run_many([(p, hidden_tests(problem), fn, harness) for p in programs])
    passes_public = [r.passed for r in public] if public else [True] * len(programs)
    failures: dict[str, int] = defaultdict(int)
    for result in hidden:
        if not result.passed:
            failures[result.failure] += 1
    return ProblemOutcome(problem.problem_id, problem.difficulty, len(programs), sum(r.passed for r in hidden),
                          sum(passes_public), sum(p and r.passed for p, r in zip(passes_public, hidden)), dict(failures))


def pass_at_k_table(outcomes: Iterable[ProblemOutcome], ks: Sequence[int]) -> dict[str, dict[str, float]]:
    """Mean pass@k per difficulty and over all problems ('all'), for each k <= the samples per problem."""
    by_difficulty: dict[str, list[ProblemOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_difficulty[outcome.difficulty].append(outcome)
        by_difficulty["all"].append(outcome)
    return {group: {f"pass@{k}": _mean(pass_at_k(o.samples, o.correct, k) for o in items)
                    for k in ks if all(o.samples >= k for o in items)}
            for group, items in sorted(by_difficulty.items())}


def n_at_k(outcomes: Iterable[ProblemOutcome], n: int) -> float:
    """Mean over problems of the expected n@k (k = the samples per problem)."""
    return _mean(expected_n_at_k(o.public_survivors, o.survivors_correct, n) for o in outcomes)


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")
