"""The README and docs/: short front door, links that resolve, nothing outside the repository, and the
numbers they state (stage counts, budgets) equal to what the pipeline and the budget constants say."""

import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [README, *DOCS]

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
OUTSIDE = ("../shared", "/work/", ".library")


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and with inline code spans emptied (links in code are not links)."""
    text = re.sub(r"^\s*```.*?^\s*```[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "``", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^\s*```.*?^\s*```[^\n]*$", "", page.read_text(), flags=re.S | re.M)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, flags=re.M)}


def _links(page: Path) -> list[str]:
    return [m.group(1) for m in LINK.finditer(_prose(page.read_text()))]


def _relative_links() -> list[tuple[Path, str]]:
    return [(page, link) for page in PAGES for link in _links(page)
            if not re.match(r"[a-z][a-z0-9+.-]*:", link)]  # http:, https:, mailto: ... are not files


# ------------------------------------------------------------------------------------------- shape and links

def test_readme_is_a_front_door_of_at_most_300_lines():
    assert len(README.read_text().splitlines()) <= 300


def test_readme_links_every_docs_page():
    linked = {(README.parent / link.split("#")[0]).resolve() for link in _links(README)}
    assert DOCS, "docs/ holds the README's detail"
    assert [p.name for p in DOCS if p.resolve() not in linked] == []


@pytest.mark.parametrize("page,link", _relative_links(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_every_relative_link_resolves_inside_the_repository(page, link):
    path, _, anchor = link.partition("#")
    target = (page.parent / path).resolve() if path else page.resolve()
    assert target.is_relative_to(REPO), f"{page.name}: {link} points outside the repository"
    assert target.exists(), f"{page.name}: {link} does not exist"
    if anchor and target.suffix == ".md":
        assert anchor in _anchors(target), f"{page.name}: {link}: no heading with anchor #{anchor}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_text_points_outside_the_repository(page):
    text = page.read_text()
    for needle in OUTSIDE:
        assert needle not in text, f"{page.name} mentions {needle!r}"
    for match in re.finditer(r"(?:\.\./)+[\w.\-/]*", text):  # ../x, in links, code spans or prose
        target = (page.parent / match.group(0)).resolve()
        assert target.is_relative_to(REPO), f"{page.name}: {match.group(0)} points outside the repository"


def test_the_deviation_list_is_in_docs_fidelity():
    assert "# DEVIATION:" in (REPO / "docs/fidelity.md").read_text()


# ------------------------------------------------------------------------------------------- stage counts

def _pipeline(root: Path) -> list:
    """The stages DVC expands from ``root``/dvc.yaml (not the .dvc files' stages, e.g. data.dvc)."""
    from dvc.repo import Repo

    repo = Repo(str(root))
    try:
        return [s for s in repo.index.stages if Path(s.path).name == "dvc.yaml"]
    finally:
        repo.close()


@pytest.fixture(scope="module")
def counts(tmp_path_factory) -> dict[str, int]:
    """Stages at the committed seeds, at one seed (what the smoke runs use), and training stages."""
    from dvc.repo import Repo

    stages = _pipeline(REPO)
    one_seed = tmp_path_factory.mktemp("one-seed")
    shutil.copy(REPO / "dvc.yaml", one_seed / "dvc.yaml")
    for name in yaml.safe_load((REPO / "dvc.yaml").read_text()).get("vars", []):
        if isinstance(name, str):  # a params file the stages interpolate from
            shutil.copy(REPO / name.split(":")[0], one_seed / name.split(":")[0])
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params.update(seeds=params["seeds"][:1], ablation_seeds=params["ablation_seeds"][:1])
    (one_seed / "params.yaml").write_text(yaml.safe_dump(params))
    Repo.init(str(one_seed), no_scm=True).close()
    return {"all": len(stages), "one_seed": len(_pipeline(one_seed)),
            "training": sum("dpo_vs_ppo.launch" in (s.cmd or "") for s in stages)}


def test_readme_states_the_pipelines_stage_count(counts):
    match = re.search(r"The pipeline has \*\*(\d+) stages\*\* at the default seeds \((\d+) with one seed", README.read_text())
    assert match, "README: the sentence 'The pipeline has **N stages** at the default seeds (M with one seed' is gone"
    assert (int(match.group(1)), int(match.group(2))) == (counts["all"], counts["one_seed"])


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "budgets.md"], ids=lambda p: p.name)
def test_every_whole_pipeline_stage_count_is_current(page, counts):
    # docs/budgets.md records measured runs, each of the pipeline as it was then; every other page states
    # the pipeline as it is. A count of 100 or more is a whole-pipeline count.
    for match in re.finditer(r"\b(\d{3,}) stages\b", page.read_text().replace(",", "")):
        assert int(match.group(1)) in (counts["all"], counts["one_seed"]), f"{page.name}: {match.group(0)}"
    for match in re.finditer(r"\ball (\d+) training stages\b", page.read_text()):
        assert int(match.group(1)) == counts["training"], f"{page.name}: {match.group(0)}"


# ------------------------------------------------------------------------------------------- budgets

def _budget_table() -> dict[str, tuple[float, str]]:
    """The README's budget table: first cell -> (limit, unit)."""
    section = README.read_text().split("\n## Budgets\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and (limit := re.fullmatch(r"([\d.]+) (min|GiB|s)", cells[1])):
            rows[cells[0]] = (float(limit.group(1)), limit.group(2))
    return rows


def _row(table: dict, prefix: str) -> tuple[float, str]:
    found = [value for name, value in table.items() if name.startswith(prefix)]
    assert len(found) == 1, f"README budget table: expected one row starting {prefix!r}, got {list(table)}"
    return found[0]


def test_readme_budgets_equal_the_benchmark_constants():
    from dpo_vs_ppo.benchmarks import study_budget as b

    table = _budget_table()
    assert _row(table, "tiny study") == (b.BUDGET_S["tiny"] / 60, "min")
    assert _row(table, "with issue [I]'s science") == (b.SCIENCE_BUDGET_S / 60, "min")
    assert _row(table, "smoke profile") == (b.BUDGET_S["smoke"] / 60, "min")
    assert _row(table, "memory of any tiny stage") == (b.MEMORY_BUDGET_MIB / 1024, "GiB")
    assert _row(table, "command 2") == (b.CI_BUDGET_S / 60, "min")
    assert _row(table, "report stage") == (b.REPORT_BUDGET_S, "s")
    assert _row(table, "`dvc status`") == (b.STATUS_TARGET_S, "s")
    assert _row(table, "a bad config") == (b.BAD_CONFIG_TARGET_S, "s")


def test_every_minute_budget_in_the_docs_is_one_of_the_readmes():
    minutes = {value for value, unit in _budget_table().values() if unit == "min"}
    for page in PAGES:
        for match in re.finditer(r"\b(\d+)-minute (?:budget|target)\b", page.read_text()):
            assert float(match.group(1)) in minutes, f"{page.name}: {match.group(0)} is not in README's budget table"
