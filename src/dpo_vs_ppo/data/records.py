"""The project's record types, and the bad-data contract every loader follows.

Three record types cover the paper's data:

* :class:`SFTExample`: a prompt and the completion to imitate (Alpaca, the SafeRLHF safe responses);
* :class:`PreferencePair`: a prompt, the chosen and the rejected completion, plus how the pair was
  labelled (SafeRLHF, HH-RLHF);
* :class:`CodeProblem`: a programming problem with its tests kept apart by kind and its Python
  solutions (APPS, CodeContests).

Bad data never passes silently. A structural fault (a missing column or field, a label out of range,
malformed JSON) raises :class:`DataError` naming dataset, split and row. A fault the real datasets
are known to contain (an empty response, an HH-RLHF row whose two dialogues share no prefix) is a
counted skip when the loader's docstring says so; :class:`SkipCounter` records it for the metrics.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class DataError(Exception):
    """A bad row; ``str()`` names the dataset, split and row (loaders number rows from 1, as the lines of a
    JSON Lines file are numbered: row_checks.bad_row)."""

    def __init__(self, dataset: str, split: str, row: int | None, message: str):
        self.dataset, self.split, self.row, self.message = dataset, split, row, message
        where = f"{dataset} [{split}]" + (f" row {row}" if row is not None else "")
        super().__init__(f"{where}: {message}")


@dataclass
class SkipCounter:
    """Rows skipped under a documented policy, counted by reason, for a stage's metrics."""

    dataset: str
    split: str
    read: int = 0
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def as_metrics(self) -> dict[str, Any]:
        return {"read": self.read, "kept": self.kept, "skipped": dict(sorted(self.skipped.items()))}


@dataclass(frozen=True)
class SFTExample:
    """A supervised fine-tuning example (TRL's prompt-completion format)."""

    prompt: str
    completion: str
    source: str
    """Dataset and row it came from, e.g. 'alpaca/train/17'."""


@dataclass(frozen=True)
class PreferencePair:
    """A preference pair (TRL's prompt/chosen/rejected format) with how it was labelled."""

    prompt: str
    chosen: str
    rejected: str
    source: str
    """Dataset and row it came from."""
    rule: str
    """Which label decided the pair: 'helpfulness' or 'safety' (SafeRLHF), 'annotator' (HH-RLHF)."""
    chosen_safe: bool | None = None
    """SafeRLHF's safety meta-label of the chosen response; None where the dataset has none."""
    rejected_safe: bool | None = None
    """SafeRLHF's safety meta-label of the rejected response; None where the dataset has none."""

    @property
    def kind(self) -> str:
        """'dual_safe', 'dual_unsafe', 'mixed', or 'unlabelled' (no safety labels)."""
        if self.chosen_safe is None or self.rejected_safe is None:
            return "unlabelled"
        if self.chosen_safe and self.rejected_safe:
            return "dual_safe"
        if not self.chosen_safe and not self.rejected_safe:
            return "dual_unsafe"
        return "mixed"


@dataclass(frozen=True)
class TestCase:
    """One test: stdin text and expected stdout (or, for call-based problems, JSON args and result)."""

    __test__ = False  # not a pytest test class
    input: str
    output: str


@dataclass(frozen=True)
class Solution:
    """A program and its language (CodeContests codes: 1 = Python 2, 3 = Python 3)."""

    code: str
    language: str


@dataclass(frozen=True)
class CodeProblem:
    """A programming problem; tests are kept apart by kind (n@k filters on public tests only)."""

    problem_id: str
    source: str
    """Dataset, split and row, e.g. 'apps/test/3'."""
    difficulty: str
    """APPS: introductory / interview / competition. CodeContests: its difficulty enum's name."""
    question: str
    starter_code: str
    fn_name: str
    """APPS call-based problems: the function to call; '' for stdin/stdout programs."""
    public_tests: tuple[TestCase, ...]
    private_tests: tuple[TestCase, ...]
    generated_tests: tuple[TestCase, ...]
    solutions: tuple[Solution, ...]
    incorrect_solutions: tuple[Solution, ...]


def record_from_plain(cls: type, row: dict):
    """Rebuild a record written by ``records.write_json``/``to_plain`` (nested tests and solutions too)."""
    if cls is CodeProblem:
        tests = {k: tuple(TestCase(**t) for t in row[k]) for k in ("public_tests", "private_tests", "generated_tests")}
        sols = {k: tuple(Solution(**s) for s in row[k]) for k in ("solutions", "incorrect_solutions")}
        return CodeProblem(**{**row, **tests, **sols})
    return cls(**row)


def read_records(path, cls: type) -> list:
    """Records of type ``cls`` from a JSON Lines file that a prepare stage wrote; a malformed line (a
    truncated one included) is a DataError naming the file and line, not a traceback."""
    records = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(record_from_plain(cls, json.loads(line)))
            except (ValueError, KeyError, TypeError) as err:
                raise DataError(Path(path).name, cls.__name__, number, f"malformed record: {err}") from None
    return records
