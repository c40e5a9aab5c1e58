"""APPS and CodeContests rows -> code problems (paper Sec. 5, 6; Tables 3, 7-9).

APPS keeps ``solutions`` and ``input_output`` as JSON strings; call-based problems carry ``fn_name``,
with each test's arguments as a JSON list. APPS has one pool of tests: they are the problem's private
tests (the statement's examples are part of the question). CodeContests keeps public, private and
generated tests apart, and solutions in many languages; the paper uses Python only, i.e. both Python
codes (1 = Python 2, 3 = Python 3).

Documented counted skips: ``no_tests`` (an APPS row whose input_output is empty, or a problem with no
test at all: it cannot be scored). Malformed JSON, mismatched input/output counts, unknown difficulty
or language codes are DataErrors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from .records import CodeProblem, SkipCounter, Solution, TestCase
from .row_checks import bad_row, column_names, json_field, numbered_rows, require_columns, text, wrong_field

APPS_COLUMNS = ("problem_id", "question", "solutions", "input_output", "difficulty", "starter_code")
APPS_DIFFICULTIES = ("introductory", "interview", "competition")
CONTESTS_COLUMNS = ("name", "description", "public_tests", "private_tests", "generated_tests", "solutions",
                    "incorrect_solutions", "difficulty")
#: CodeContests' Problem.Solution.Language enum; the paper keeps the two Python codes.
CONTESTS_LANGUAGES = {0: "unknown", 1: "python2", 2: "cpp", 3: "python3", 4: "java"}
PYTHON_CODES = (1, 3)
#: CodeContests' Problem.Difficulty enum: 0-6 named, then Codeforces letters A.. from 7.
CONTESTS_DIFFICULTIES = ("UNKNOWN", "EASY", "MEDIUM", "HARD", "HARDER", "HARDEST", "EXTERNAL")


def apps_problems(rows: Iterable[dict], split: str, counter: SkipCounter, max_rows: int = 0) -> Iterator[CodeProblem]:
    """APPS rows; call-based tests become (JSON args, JSON expected result)."""
    name = counter.dataset
    require_columns(column_names(rows), APPS_COLUMNS, name, split)
    for i, row in numbered_rows(rows, counter, max_rows):
        difficulty = text(row, "difficulty", name, split, i)
        if difficulty not in APPS_DIFFICULTIES:
            raise bad_row(name, split, i, f"difficulty must be one of {list(APPS_DIFFICULTIES)}, got {difficulty!r}")
        solutions = json_field(row, "solutions", name, split, i) or []
        if not isinstance(solutions, list) or not all(isinstance(s, str) for s in solutions):
            raise bad_row(name, split, i, "field 'solutions' must be a JSON list of program strings")
        io = json_field(row, "input_output", name, split, i)
        if io is None:
            counter.skip("no_tests")
            continue
        fn_name, tests = _apps_tests(io, name, split, i)
        if not tests:
            counter.skip("no_tests")
            continue
        counter.kept += 1
        yield CodeProblem(
            problem_id=str(row["problem_id"]), source=f"{name}/{split}/{i}", difficulty=difficulty,
            question=text(row, "question", name, split, i), starter_code=row.get("starter_code") or "",
            fn_name=fn_name, public_tests=(), private_tests=tests, generated_tests=(),
            solutions=tuple(Solution(s, "python3") for s in solutions), incorrect_solutions=())


def _apps_tests(io, name: str, split: str, i: int) -> tuple[str, tuple[TestCase, ...]]:
    if not isinstance(io, dict) or not isinstance(io.get("inputs"), list) or not isinstance(io.get("outputs"), list):
        raise bad_row(name, split, i, "field 'input_output' must be a JSON object with 'inputs' and 'outputs' lists")
    inputs, outputs = io["inputs"], io["outputs"]
    if len(inputs) != len(outputs):
        raise bad_row(name, split, i, f"input_output has {len(inputs)} inputs but {len(outputs)} outputs")
    fn_name = io.get("fn_name") or ""
    if fn_name:  # call-based: each input is the argument list, each output the expected value
        return fn_name, tuple(TestCase(json.dumps(a), json.dumps(o)) for a, o in zip(inputs, outputs))
    # standard input: a test's input or output is sometimes stored as a list of lines
    return "", tuple(TestCase(_lines(a), _lines(o)) for a, o in zip(inputs, outputs))


def _lines(value) -> str:
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)


def code_contests_problems(rows: Iterable[dict], split: str, counter: SkipCounter, max_rows: int = 0) -> Iterator[CodeProblem]:
    """CodeContests rows with Python solutions only; public / private / generated tests kept apart."""
    name = counter.dataset
    require_columns(column_names(rows), CONTESTS_COLUMNS, name, split)
    for i, row in numbered_rows(rows, counter, max_rows):
        tests = {kind: _contest_tests(row, kind, name, split, i) for kind in ("public_tests", "private_tests", "generated_tests")}
        if not any(tests.values()):
            counter.skip("no_tests")
            continue
        difficulty = row.get("difficulty")
        if not isinstance(difficulty, int) or isinstance(difficulty, bool) or difficulty < 0:
            raise bad_row(name, split, i, wrong_field(row, "difficulty", "a non-negative integer"))
        counter.kept += 1
        yield CodeProblem(
            problem_id=text(row, "name", name, split, i), source=f"{name}/{split}/{i}",
            difficulty=CONTESTS_DIFFICULTIES[difficulty] if difficulty < 7 else chr(ord("A") + difficulty - 7),
            question=text(row, "description", name, split, i), starter_code="", fn_name="", **tests,
            solutions=_python_solutions(row, "solutions", name, split, i),
            incorrect_solutions=_python_solutions(row, "incorrect_solutions", name, split, i))


def _paired_lists(row: dict, kind: str, keys: tuple[str, str], mismatch: str, name: str, split: str, i: int) -> tuple[list, list]:
    """CodeContests' {key_a: [...], key_b: [...]} fields: both lists present and of equal length."""
    block = row.get(kind)
    if not isinstance(block, dict) or not all(isinstance(block.get(k), list) for k in keys):
        raise bad_row(name, split, i, wrong_field(row, kind, f"a mapping with {keys[0]!r} and {keys[1]!r} lists"))
    first, second = block[keys[0]], block[keys[1]]
    if len(first) != len(second):
        raise bad_row(name, split, i, f"{kind} has " + mismatch.format(len(first), len(second)))
    return first, second


def _contest_tests(row: dict, kind: str, name: str, split: str, i: int) -> tuple[TestCase, ...]:
    inputs, outputs = _paired_lists(row, kind, ("input", "output"), "{} inputs but {} outputs", name, split, i)
    return tuple(TestCase(str(a), str(b)) for a, b in zip(inputs, outputs))


def _python_solutions(row: dict, kind: str, name: str, split: str, i: int) -> tuple[Solution, ...]:
    languages, programs = _paired_lists(row, kind, ("language", "solution"), "{} language codes for {} programs", name, split, i)
    unknown = sorted({code for code in languages if code not in CONTESTS_LANGUAGES})
    if unknown:
        raise bad_row(name, split, i, f"{kind} has unknown language code(s) {unknown} (known: {sorted(CONTESTS_LANGUAGES)})")
    return tuple(Solution(code, CONTESTS_LANGUAGES[lang]) for lang, code in zip(languages, programs) if lang in PYTHON_CODES)
