"""The code task's training data and reward (training/code_training.py), against the sandbox and by hand."""

import pytest
import torch

from dpo_vs_ppo.data.formats import code_prompt
from dpo_vs_ppo.data.records import CodeProblem, Solution, TestCase
from dpo_vs_ppo.evaluation.sandbox import Sandbox
from dpo_vs_ppo.training.code_training import (
    ProgramTestReward,
    code_sft_examples,
    sandbox_labelled_pairs,
    solution_pairs,
    training_tests,
)
from dpo_vs_ppo.training.code_training import test_rewards as program_rewards  # renamed: pytest collects test_*

DOUBLE, TRIPLE, SQUARE = "print(int(input()) * 2)\n", "print(int(input()) * 3)\n", "print(int(input()) ** 2)\n"


def problem(pid: str, question: str, right=(DOUBLE,), wrong=(TRIPLE,), language="python3") -> CodeProblem:
    tests = (TestCase("1\n", "2\n"), TestCase("5\n", "10\n"), TestCase("-3\n", "-6\n"))
    return CodeProblem(pid, f"contests/train/{pid}", "A", question, "", "", tests[:1], tests[1:2], tests[2:],
                       tuple(Solution(c, language) for c in right), tuple(Solution(c, language) for c in wrong))


@pytest.fixture(scope="module")
def box():
    with Sandbox(workers=2) as sandbox:
        yield sandbox


def test_training_tests_are_every_test_of_the_problem():
    p = problem("0", "double it")
    assert training_tests(p) == p.public_tests + p.private_tests + p.generated_tests and len(training_tests(p)) == 3


def test_sft_examples_are_the_python3_solutions_after_the_apps_prompt():
    examples = code_sft_examples([problem("0", "double it", right=(DOUBLE, SQUARE)),
                                  problem("1", "py2 only", language="python2")])
    assert [e.completion for e in examples] == [DOUBLE, SQUARE]  # Python 2 programs are not imitated
    assert {e.prompt for e in examples} == {code_prompt("double it", "", "")}


def test_solution_pairs_put_a_correct_program_against_each_incorrect_one(box):
    problems = [problem("0", "double it", right=(DOUBLE,), wrong=(TRIPLE, SQUARE)),
                problem("1", "no correct program", right=(), wrong=(TRIPLE,))]
    pairs = solution_pairs(problems)
    assert [(p.chosen, p.rejected) for p in pairs] == [(DOUBLE, TRIPLE), (DOUBLE, SQUARE)]
    # the labels agree with the tests: chosen programs pass them all, rejected ones do not
    assert program_rewards(box, [problems[0]] * 4, [DOUBLE, DOUBLE, TRIPLE, SQUARE]) == [10.0, 10.0, 0.0, 0.0]


def test_test_reward_reads_the_program_out_of_a_fenced_response(box):
    p = problem("0", "double it")
    assert program_rewards(box, [p, p], ["```python\n" + DOUBLE + "```\n", "print(input())\n"]) == [10.0, 0.0]


def test_dpo_iter_labels_follow_the_papers_rule():
    problems = [problem(str(i), f"q{i}") for i in range(3)]
    samples = [["a", "b"], ["c", "d"], ["e", "f"]]
    rewards = [0.0, 10.0,  # mixed: the passing sample is chosen
               0.0, 0.0,  # none passes: the dataset's solution is chosen
               10.0, 10.0]  # all pass: nothing to prefer
    pairs, counts = sandbox_labelled_pairs(problems, samples, rewards)
    assert [(p.chosen, p.rejected) for p in pairs] == [("b", "a"), (DOUBLE, "c")]
    assert counts == {"mixed": 1, "none_correct": 1, "all_correct": 1}


class CharTokenizer:
    """Token id = code point + 1, pad = 0: enough to check how queries are matched and responses decoded."""

    pad_token_id = 0

    def encode(self, text: str) -> list[int]:
        return [ord(c) + 1 for c in text]

    def batch_decode(self, rows, skip_special_tokens=True):
        return ["".join(chr(t - 1) for t in row.tolist() if t != self.pad_token_id) for row in rows]


def test_program_test_reward_matches_left_padded_queries_to_their_problems(box):
    tok = CharTokenizer()
    short, long = problem("s", "x2"), problem("l", "a longer statement, still x2")
    long = CodeProblem(**{**long.__dict__, "public_tests": (TestCase("2\n", "4\n"),), "private_tests": (),
                          "generated_tests": ()})
    prompts = [tok.encode(p.question) for p in (short, long)]
    reward = ProgramTestReward([short, long], prompts, tok, box)
    width = max(map(len, prompts))
    rows = []
    for prompt, program in [(prompts[0], DOUBLE), (prompts[1], TRIPLE), (prompts[1], DOUBLE)]:
        response = tok.encode(program)
        rows.append([0] * (width - len(prompt)) + prompt + response + [0] * (30 - len(response)))
    scores = reward.score_query_responses(torch.tensor(rows), width)
    assert scores.tolist() == [10.0, 0.0, 10.0]
    assert reward.stats == {"reward/pass_rate": pytest.approx(2 / 3)}
