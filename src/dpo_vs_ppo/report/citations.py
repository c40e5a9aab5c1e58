"""The paper's numbers in claim texts, cited from the experiment's own table rows, never retyped (issue [I]).

A claim or precondition writes ``{row label::paper column}`` where it quotes the paper; the report fills in
that cell of the file's ``report.table`` as printed, so a claim cannot disagree with the table beside it.
The validate stage rejects a citation of no cell (one line, exit 2); tests/test_claim_numbers.py fails on
a table number typed into a claim. This lives on the report side, not in experiment.py: every stage's code
record includes experiment.py, and how the report words a claim reruns no training.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..config import ConfigError
from ..experiment import ReportSpec

#: ``{row label::paper column}``: one cell of the experiment's paper table.
PAPER_CELL = re.compile(r"\{([^{}]+?)::([^{}]+)\}")


def paper_cell(report: ReportSpec, label: str, column: str) -> str | None:
    """The paper's cell of the table row ``label`` under ``column``, or None."""
    row = next((r for r in report.table.rows if r.label == label), None)
    if row is None or column not in report.table.paper_columns:
        return None
    return row.paper[report.table.paper_columns.index(column)]


def _texts(report: ReportSpec):
    for i, claim in enumerate(report.claims):
        yield f"claims[{i}].text", claim.text
    for i, condition in enumerate(report.preconditions):
        yield f"preconditions[{i}].text", condition.text
        yield f"preconditions[{i}].source", condition.source


def problems(report: ReportSpec) -> list[tuple[str, str]]:
    """(key under ``report.``, message) for each citation that names no cell."""
    return [(key, f"{m.group(0)} names no paper cell (rows: {[r.label for r in report.table.rows]}; "
                  f"columns: {list(report.table.paper_columns)})")
            for key, text in _texts(report) for m in PAPER_CELL.finditer(text)
            if paper_cell(report, m.group(1), m.group(2)) is None]


def cite(report: ReportSpec) -> ReportSpec:
    """``report`` with every citation in a claim or precondition replaced by the paper's cell."""
    def fill(text: str) -> str:
        return PAPER_CELL.sub(lambda m: paper_cell(report, m.group(1), m.group(2)) or m.group(0), text)
    return replace(report, claims=tuple(replace(c, text=fill(c.text)) for c in report.claims),
                   preconditions=tuple(replace(p, text=fill(p.text), source=fill(p.source))
                                       for p in report.preconditions))


def checked(report: ReportSpec, file) -> ReportSpec:
    """``report`` with its citations filled in; a ConfigError (one line, naming ``file``) at the first that
    names no cell. The validate stage and the report stage both call it."""
    for key, message in problems(report):
        raise ConfigError(file, f"report.{key}", message)
    return cite(report)
