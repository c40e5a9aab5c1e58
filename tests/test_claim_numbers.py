"""The paper's numbers in claim texts come from the table rows ({row label::paper column}), never retyped
(issue [I], item 9): a retyped number can disagree with the table beside it."""

import re
import shutil

import pytest
import yaml

from dpo_vs_ppo.config import ConfigError
from dpo_vs_ppo.experiment import experiment_files, load_experiment
from dpo_vs_ppo.report.citations import PAPER_CELL, cite, paper_cell
from dpo_vs_ppo.stages import validate
from conftest import REPO

REPORTED = [p for p in experiment_files(REPO / "experiments")
            if isinstance((yaml.safe_load(p.read_text()) or {}).get("report"), dict)
            and "table" in yaml.safe_load(p.read_text())["report"]]


def _number(cell: str) -> str | None:
    """The number a paper cell prints ('55.4%' -> '55.4'), or None for '–', 'N/A' and compound cells."""
    core = cell.replace("%", "").strip()
    return core if re.fullmatch(r"[−+-]?\d+(\.\d+)?", core) else None


@pytest.mark.parametrize("path", REPORTED, ids=lambda p: p.stem)
def test_no_claim_retypes_a_number_of_its_table(path):
    report = yaml.safe_load(path.read_text())["report"]
    numbers = {n for row in report["table"]["rows"] for cell in row["paper"] if (n := _number(cell)) and "." in n}
    for item in report.get("claims", []) + report.get("preconditions", []):
        for key in ("text", "source"):
            text = PAPER_CELL.sub("", item.get(key, ""))
            retyped = [n for n in numbers if re.search(rf"(?<![\d.]){re.escape(n.lstrip('+'))}(?![\d])", text)]
            assert not retyped, f"{path.name} {item['id']}.{key} retypes {retyped}: cite {{row::column}} instead"


def test_a_cited_cell_is_filled_in_from_the_table():
    report = load_experiment(REPO / "experiments" / "table2.yaml", "tiny").report
    claim = next(c for c in cite(report).claims if c.id == "ppo_safer_than_dpo")
    assert "99.5% vs 55.4%" in claim.text and "::" not in claim.text
    assert paper_cell(report, "PPO", "S.R.") == "99.5%"


def test_a_citation_of_no_cell_is_a_one_line_config_error(tmp_path):
    folder = tmp_path / "experiments"
    shutil.copytree(REPO / "experiments", folder)
    path = folder / "table2.yaml"
    path.write_text(path.read_text().replace("{DPO::S.R.}", "{DPO::Safety}", 1))
    with pytest.raises(ConfigError, match=r"report\.claims\[0\]\.text: \{DPO::Safety\} names no paper cell"):
        validate.validate(str(REPO / "params.yaml"), str(folder), str(folder / "runs.yaml"))


def test_the_committed_report_shows_cells_not_citations():
    text = (REPO / "reports" / "README.md").read_text()
    assert not PAPER_CELL.search(text), PAPER_CELL.search(text).group(0)
