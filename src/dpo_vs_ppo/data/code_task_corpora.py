"""The `code` task's datasets, written in the hub schemas of APPS (codeparrot/apps) and CodeContests.

Every problem is checked while it is made: each correct program must pass every test (else the
generator has a bug and stops), and a wrong program is kept only if it fails at least one test
(the count of wrong programs dropped is reported). Tests are split into public (shown in the
statement), private (hidden) and generated (CodeContests only); APPS' ``input_output`` holds the
public and private ones, as APPS' tests include the statement's examples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..settings.data import CodeTaskSettings
from .code_task import DIFFICULTIES, FAMILIES, Family, outputs_match, run_trusted
from .local_repo import write_card, write_jsonl

#: CodeContests difficulty codes used for the three tiers (7, 8, 9 = Codeforces A, B, C).
CONTEST_DIFFICULTY = {"introductory": 7, "interview": 8, "competition": 9}
#: C++ versions of the one-formula families, so the data exercise the Python-only filter.
CPP = {"affine": "#include <cstdio>\nint main() {{ long long a; scanf(\"%lld\", &a); printf(\"%lld\\n\", a * {p} + {q}); }}\n",
       "weighted_sum": "#include <cstdio>\nint main() {{ long long a, b; scanf(\"%lld %lld\", &a, &b); printf(\"%lld\\n\", a + {p} * b); }}\n"}


@dataclass(frozen=True)
class Instance:
    """One generated problem: family, parameters, tests, and programs that are known right or wrong."""

    family: Family
    params: dict
    tests: tuple[tuple[str, str], ...]
    programs: tuple[str, ...]
    wrong_programs: tuple[str, ...]
    dropped_wrong: int


def make_instance(rng: np.random.Generator, family: Family, n_tests: int) -> Instance:
    """Draw parameters and ``n_tests`` distinct inputs; check every program against the gold outputs."""
    params = family.params(rng)
    inputs: list[str] = []
    for _ in range(50 * n_tests):
        candidate = family.make_input(rng, params)
        if candidate not in inputs:
            inputs.append(candidate)
        if len(inputs) == n_tests:
            break
    tests = tuple((x, family.gold(x, params)) for x in inputs)
    programs = tuple(p.format(**params) for p in family.programs)
    for program in programs:
        for x, y in tests:
            if not outputs_match(y, run_trusted(program, x)):
                raise AssertionError(f"{family.name}{params}: a correct program fails on {x!r}: a generator bug")
    wrong = tuple(p.format(**params) for p in family.wrong_programs)
    caught = tuple(p for p in wrong if any(not outputs_match(y, run_trusted(p, x)) for x, y in tests))
    return Instance(family, params, tests, programs, caught, len(wrong) - len(caught))


def statement(inst: Instance, n_public: int, style: str) -> str:
    """The problem text in APPS' ('-----Input-----') or CodeContests' ('Input') layout, with the examples."""
    f = inst.family
    text = f.statement.format(**inst.params)
    examples = inst.tests[:n_public]
    if style == "apps":
        shown = "\n".join(f"Input\n{x.rstrip()}\n\nOutput\n{y.rstrip()}\n" for x, y in examples)
        return (f"{text}\n\n-----Input-----\n\n{f.input_spec}\n\n-----Output-----\n\n{f.output_spec}\n\n"
                f"-----Examples-----\n{shown}")
    shown = "\n\n".join(f"Input\n\n{x.rstrip()}\n\nOutput\n\n{y.rstrip()}" for x, y in examples)
    return f"{text}\n\nInput\n\n{f.input_spec}\n\nOutput\n\n{f.output_spec}\n\nExamples\n\n{shown}"


def _instances(rng, difficulty_plan: list[str], n_tests: int):
    """One instance per entry of the plan; each tier cycles through its families."""
    by_tier = {d: [f for f in FAMILIES if f.difficulty == d] for d in DIFFICULTIES}
    seen = dict.fromkeys(DIFFICULTIES, 0)
    for tier in difficulty_plan:
        family = by_tier[tier][seen[tier] % len(by_tier[tier])]
        seen[tier] += 1
        yield make_instance(rng, family, n_tests)


def interleave(counts: tuple[int, ...]) -> list[str]:
    """``counts[i]`` problems of DIFFICULTIES[i], spread evenly through the list (equal counts: round robin)."""
    slots = [((k + 0.5) / n, i) for i, n in enumerate(counts) for k in range(n)]
    return [DIFFICULTIES[i] for _, i in sorted(slots)]


def apps_rows(rng, per_difficulty: tuple[int, ...], cfg: CodeTaskSettings, first_id: int, stats: dict) -> list[dict]:
    """APPS rows: JSON-string ``solutions`` and ``input_output``, standard-input problems."""
    plan = interleave(per_difficulty)
    rows = []
    for k, inst in enumerate(_instances(rng, plan, cfg.public_tests + cfg.private_tests)):
        _count(stats, inst)
        rows.append({"problem_id": first_id + k, "question": statement(inst, cfg.public_tests, "apps"),
                     "solutions": json.dumps(list(inst.programs)),
                     "input_output": json.dumps({"inputs": [x for x, _ in inst.tests], "outputs": [y for _, y in inst.tests]}),
                     "difficulty": inst.family.difficulty, "url": f"https://synthetic.invalid/{inst.family.name}/{first_id + k}",
                     "starter_code": ""})
    return rows


def contest_rows(rng, n: int, cfg: CodeTaskSettings, first_id: int, stats: dict) -> list[dict]:
    """CodeContests rows: test dicts kept apart; solutions with language codes (Python 3, Python 2, C++)."""
    plan = [DIFFICULTIES[k % 3] for k in range(n)]
    rows = []
    n_tests = cfg.public_tests + cfg.private_tests + cfg.generated_tests
    for k, inst in enumerate(_instances(rng, plan, n_tests)):
        _count(stats, inst)
        cut1, cut2 = cfg.public_tests, cfg.public_tests + cfg.private_tests
        block = lambda tests: {"input": [x for x, _ in tests], "output": [y for _, y in tests]}  # noqa: E731
        programs = list(inst.programs)
        # A program that reads only sys.stdin runs alike under Python 2 and 3 (Python 2's input() evaluates
        # its line), so it is labelled PYTHON (code 1): the data then exercise both Python codes.
        codes = [3, 1 if "sys.stdin" in programs[1] else 3]
        if inst.family.name in CPP:
            codes.append(2)
            programs.append(CPP[inst.family.name].format(**inst.params))
        tier = inst.family.difficulty
        rows.append({
            "name": f"{first_id + k}_{chr(ord('A') + DIFFICULTIES.index(tier))}. {inst.family.name.replace('_', ' ')}",
            "description": statement(inst, cfg.public_tests, "contests"),
            "public_tests": block(inst.tests[:cut1]), "private_tests": block(inst.tests[cut1:cut2]),
            "generated_tests": block(inst.tests[cut2:]), "source": 2, "difficulty": CONTEST_DIFFICULTY[tier],
            "solutions": {"language": codes, "solution": programs},
            "incorrect_solutions": {"language": [3] * len(inst.wrong_programs), "solution": list(inst.wrong_programs)},
            "cf_contest_id": first_id + k, "cf_index": chr(ord("A") + DIFFICULTIES.index(tier)), "cf_points": 0.0,
            "cf_rating": {"introductory": 800, "interview": 1400, "competition": 2000}[tier], "cf_tags": [inst.family.name],
            "is_description_translated": False, "untranslated_description": "",
            "time_limit": {"seconds": 2, "nanos": 0}, "memory_limit_bytes": 256000000, "input_file": "", "output_file": ""})
    return rows


def _count(stats: dict, inst: Instance) -> None:
    stats["problems"] = stats.get("problems", 0) + 1
    stats["wrong_programs_kept"] = stats.get("wrong_programs_kept", 0) + len(inst.wrong_programs)
    stats["wrong_programs_dropped"] = stats.get("wrong_programs_dropped", 0) + inst.dropped_wrong


def write_code_task(cfg: CodeTaskSettings, out: str | Path) -> dict:
    """Write the APPS-like and CodeContests-like folders under ``out``; return sizes and checks."""
    rng, out, stats, sizes = np.random.default_rng(cfg.data_seed), Path(out), {}, {}
    for split, per in (("train", cfg.apps_train_per_difficulty), ("test", (cfg.apps_test_per_difficulty,) * 3)):
        sizes[f"apps/{split}"] = write_jsonl(out / f"apps/{split}.jsonl", apps_rows(rng, per, cfg, 0, stats))
    for first_id, split, n in ((10000, "train", cfg.contests_train), (20000, "valid", cfg.contests_valid),
                               (30000, "test", cfg.contests_test)):
        sizes[f"code_contests/{split}"] = write_jsonl(out / f"code_contests/data/{split}-00000-of-00001.jsonl",
                                                      contest_rows(rng, n, cfg, first_id, stats))
    note = f"Synthetic stand-in written by `dpo_vs_ppo` (task code, seed {cfg.data_seed}); same schema as the hub's "
    write_card(out / "apps", "apps (synthetic)", note + "codeparrot/apps.")
    write_card(out / "code_contests", "code_contests (synthetic)", note + "deepmind/code_contests.",
               splits={s: f"data/{s}-*" for s in ("train", "valid", "test")})
    return {"rows": sizes, "checks": stats}
