"""The synthetic code task: reference programs pass all their tests and wrong ones fail one, checked
by running real Python processes (not the generator's in-process runner); schema round trips."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from dpo_vs_ppo.data.code_sources import apps_problems, code_contests_problems
from dpo_vs_ppo.data.code_task import DIFFICULTIES, FAMILIES, outputs_match, run_trusted
from dpo_vs_ppo.data.code_task_corpora import apps_rows, contest_rows, interleave, make_instance, write_code_task
from dpo_vs_ppo.data.records import SkipCounter
from dpo_vs_ppo.experiment import load_experiment

CFG = load_experiment("experiments/data_code.yaml", "smoke").settings.synthetic


def run_python(program: str, stdin: str) -> str:
    proc = subprocess.run([sys.executable, "-I", "-c", program], input=stdin, capture_output=True, text=True, timeout=20)
    return proc.stdout if proc.returncode == 0 else f"<exit {proc.returncode}>"


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_reference_passes_every_test_and_each_wrong_program_fails_one(family):
    inst = make_instance(np.random.default_rng(7), family, n_tests=6)
    assert len(inst.tests) == 6
    for program in inst.programs:
        assert all(outputs_match(y, run_python(program, x)) for x, y in inst.tests)
    assert inst.wrong_programs, "every family's wrong programs should be caught by 6 random tests at seed 7"
    for program in inst.wrong_programs:
        assert any(not outputs_match(y, run_python(program, x)) for x, y in inst.tests)


def test_three_families_per_difficulty():
    assert sorted(f.difficulty for f in FAMILIES) == sorted(DIFFICULTIES * 3)


def test_a_wrong_program_that_passes_every_test_is_dropped_and_counted():
    family = FAMILIES[0]  # a "wrong" program that is in fact correct cannot be caught by any test
    sneaky = family.__class__(**{**family.__dict__, "wrong_programs": ("a = int(input())\nprint(a * {p} + {q})\n",)})
    inst = make_instance(np.random.default_rng(0), sneaky, n_tests=3)
    assert inst.wrong_programs == () and inst.dropped_wrong == 1


def test_in_process_runner_agrees_with_a_real_process_and_survives_crashes():
    program = "a = int(input())\nprint(a * 2)\nprint('done')\n"
    assert run_trusted(program, "21\n") == run_python(program, "21\n") == "42\ndone\n"
    assert run_trusted("raise SystemError('x')", "") == "<error: SystemError>"
    assert outputs_match("1\n2\n", "1  \n2") and not outputs_match("1\n2\n", "1\n3\n")


def test_apps_and_contests_rows_load_through_the_hub_converters():
    stats: dict = {}
    apps = apps_rows(np.random.default_rng(0), (2, 2, 2), CFG, 0, stats)
    problems = list(apps_problems(apps, "train", SkipCounter("apps", "train")))
    assert [p.difficulty for p in problems] == list(DIFFICULTIES) * 2
    assert all(len(p.private_tests) == CFG.public_tests + CFG.private_tests for p in problems)
    assert all(run_trusted(p.solutions[0].code, t.input).strip() == t.output.strip() for p in problems for t in p.private_tests)
    contests = contest_rows(np.random.default_rng(0), 3, CFG, 100, stats)
    problems = list(code_contests_problems(contests, "test", SkipCounter("cc", "test")))
    assert [p.difficulty for p in problems] == ["A", "B", "C"]
    assert all(len(p.generated_tests) == CFG.generated_tests for p in problems)
    assert {s.language for p in problems for s in p.solutions} == {"python2", "python3"}  # the C++ program is dropped
    assert all(any(c == 2 for c in row["solutions"]["language"]) for row in contests[:1])  # ... but was in the data
    assert stats["problems"] == 9


def test_the_training_split_follows_apps_proportions_spread_evenly_and_cycling_families():
    plan = interleave((158, 120, 22))
    assert [plan.count(d) for d in DIFFICULTIES] == [158, 120, 22]
    competition = [k for k, d in enumerate(plan) if d == "competition"]
    assert max(b - a for a, b in zip(competition, competition[1:])) <= 2 * 300 / 22  # spread, not bunched
    rows = apps_rows(np.random.default_rng(0), (4, 1, 6), CFG, 0, {})
    families = [r["url"].split("/")[-2] for r in rows if r["difficulty"] == "competition"]
    names = [f.name for f in FAMILIES if f.difficulty == "competition"]
    assert families == (names * 2)[:6]  # each level cycles through its own families, whatever the others hold


def test_same_seed_same_bytes(tmp_path):
    digest = lambda d: {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()}  # noqa: E731
    write_code_task(CFG, tmp_path / "a")
    write_code_task(CFG, tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
