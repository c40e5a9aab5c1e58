"""The README's promises that a test can hold it to."""

import re

from conftest import REPO


def test_ci_runs_the_readme_test_command_verbatim():
    readme, ci = (REPO / "README.md").read_text(), (REPO / ".ci/run").read_text()
    ci_command = [line for line in ci.splitlines() if "pytest" in line and not line.startswith("#")]
    assert len(ci_command) == 1
    assert ci_command[0] in readme.splitlines()


def test_readme_lists_every_deviation_marked_in_code():
    marked = [p for p in (REPO / "src").rglob("*.py") if "# DEVIATION:" in p.read_text()]
    readme = (REPO / "README.md").read_text()
    assert marked, "expected at least the Figure 1 PPO baseline deviation"
    for path in marked:
        assert path.name in readme, f"{path} marks a DEVIATION the README does not list"


def test_readme_first_command_runs_dvc_repro_offline():
    first = re.search(r"# 1\..*\n(.*)\n", (REPO / "README.md").read_text()).group(1)
    assert first.startswith("python3 -m venv .venv") and first.endswith("dvc repro")
