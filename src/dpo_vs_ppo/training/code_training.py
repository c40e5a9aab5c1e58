"""Training data and the reward of the code task (PAPER: Sec. 4.3, 5 and 6).

* **SFT**: each problem's Python solutions, after the APPS prompt (data/formats.py ``code_prompt``).
* **DPO** (PAPER: Sec. 4.3, CodeContests): pairs of a correct (``solutions``) and an incorrect
  (``incorrect_solutions``) program of the same problem.
* **DPO-Iter** (PAPER: Sec. 4.3, APPS): the policy's own samples, labelled by running the training
  tests; a correct sample is chosen, an incorrect one rejected, and when no sample is correct the
  dataset's solution stands in as the chosen one.
* **PPO's reward** (PAPER: Sec. 5): 10 if the sampled program passes every training test, else 0,
  computed in the sandbox. ``ProgramTestReward`` takes the place of TRL's reward model; trl_bridge.py
  asks it for scores instead of running a scalar head.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..data.formats import code_prompt
from ..data.records import CodeProblem, PreferencePair, SFTExample, TestCase
from ..evaluation.code_metrics import code_reward, extract_program
from ..evaluation.sandbox import Sandbox

#: Python 3 as CodeContests (language 3) and our records (python3) name it: the sandbox runs Python 3 only.
PYTHON = {"3", "python3"}


def problem_prompt(problem: CodeProblem) -> str:
    return code_prompt(problem.question, problem.starter_code, problem.fn_name)


def training_tests(problem: CodeProblem) -> tuple[TestCase, ...]:
    """Every test of a training problem: the paper rewards passing all of them."""
    return problem.public_tests + problem.private_tests + problem.generated_tests


def python_programs(solutions) -> list[str]:
    return [s.code for s in solutions if s.language.lower() in PYTHON]


def code_sft_examples(problems: Sequence[CodeProblem]) -> list[SFTExample]:
    """One prompt-completion example per Python solution."""
    return [SFTExample(prompt=problem_prompt(p), completion=code, source=p.source)
            for p in problems for code in python_programs(p.solutions)]


def solution_pairs(problems: Sequence[CodeProblem]) -> list[PreferencePair]:
    """Each incorrect Python program against a correct one of the same problem (cycling the correct ones);
    problems lacking either kind give no pair."""
    pairs = []
    for p in problems:
        right, wrong = python_programs(p.solutions), python_programs(p.incorrect_solutions)
        for i, rejected in enumerate(wrong if right else []):
            pairs.append(PreferencePair(prompt=problem_prompt(p), chosen=right[i % len(right)], rejected=rejected,
                                        source=f"{p.source}/pair{i}", rule="solutions_vs_incorrect_solutions"))
    return pairs


def test_rewards(box: Sandbox, problems: Sequence[CodeProblem], responses: Sequence[str]) -> list[float]:
    """The paper's reward of each response to its problem (10 / 0), run in the sandbox in parallel."""
    results = box.run_many([(extract_program(r), training_tests(p), p.fn_name) for p, r in zip(problems, responses)])
    return [code_reward(result) for result in results]


def sandbox_labelled_pairs(problems: Sequence[CodeProblem], samples: Sequence[Sequence[str]],
                           rewards: Sequence[float]) -> tuple[list[PreferencePair], dict[str, int]]:
    """DPO-Iter's pairs: per problem, the first correct sample (or the dataset's first solution when none
    is correct) against the first incorrect one. Problems whose samples are all correct give no pair."""
    pairs, counts, flat = [], {"all_correct": 0, "none_correct": 0, "mixed": 0}, iter(rewards)
    for i, (problem, group) in enumerate(zip(problems, samples)):
        scored = [(next(flat), response) for response in group]
        right = [r for score, r in scored if score > 0]
        wrong = [r for score, r in scored if score <= 0]
        if not wrong:
            counts["all_correct"] += 1
            continue
        counts["mixed" if right else "none_correct"] += 1
        chosen = right[0] if right else next(iter(python_programs(problem.solutions)), None)
        if chosen is not None:
            pairs.append(PreferencePair(prompt=problem_prompt(problem), chosen=chosen, rejected=wrong[0],
                                        source=f"dpo_iter/{i}", rule="sandbox_tests"))
    return pairs, counts


class ProgramTestReward(torch.nn.Module):
    """PPO's reward model for code: decodes each rollout's response, runs it on its problem's training
    tests in the sandbox, and scores 10 or 0. Queries are matched to problems by their token ids, so no
    text round trip is involved. ``stats`` holds the latest batch's pass rate for the step log."""

    def __init__(self, problems: Sequence[CodeProblem], prompt_ids: Sequence[Sequence[int]], tokenizer, box: Sandbox):
        super().__init__()
        self._anchor = torch.nn.Parameter(torch.zeros(()), requires_grad=False)  # .to(device) needs a tensor
        self.by_prompt = {tuple(ids): p for ids, p in zip(prompt_ids, problems)}
        self.tokenizer, self.box, self.stats = tokenizer, box, {}

    @torch.no_grad()
    def score_query_responses(self, query_responses: torch.Tensor, context_length: int) -> torch.Tensor:
        pad = self.tokenizer.pad_token_id
        problems = [self.by_prompt[tuple(t for t in row.tolist() if t != pad)]
                    for row in query_responses[:, :context_length]]
        responses = self.tokenizer.batch_decode(query_responses[:, context_length:], skip_special_tokens=True)
        rewards = test_rewards(self.box, problems, responses)
        self.stats = {"reward/pass_rate": sum(r > 0 for r in rewards) / len(rewards)}
        return torch.tensor(rewards, dtype=torch.float32, device=query_responses.device)
