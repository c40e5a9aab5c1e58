"""The README's promises that a test can hold it to (docs/: tests/test_docs.py)."""

import re

from conftest import REPO


def test_ci_runs_the_readme_test_command_verbatim():
    readme, ci = (REPO / "README.md").read_text(), (REPO / ".ci/run").read_text()
    ci_command = [line for line in ci.splitlines() if "pytest" in line and not line.startswith("#")]
    assert len(ci_command) == 1
    assert ci_command[0] in readme.splitlines()


def test_docs_fidelity_lists_every_deviation_marked_in_code():
    # The README's "Read more" points to docs/fidelity.md, which holds the list of departures.
    marked = [p for p in (REPO / "src").rglob("*.py") if "# DEVIATION:" in p.read_text()]
    fidelity = (REPO / "docs/fidelity.md").read_text()
    assert marked, "expected at least the Figure 1 PPO baseline deviation"
    for path in marked:
        assert path.relative_to(REPO / "src/dpo_vs_ppo").as_posix() in fidelity, \
            f"{path} marks a DEVIATION that docs/fidelity.md does not list"


def test_readme_first_command_is_the_study_command_the_smoke_pipeline_test_runs():
    first = re.search(r"# 1\..*\n(.*)\n", (REPO / "README.md").read_text()).group(1)
    assert first.startswith("python3 -m venv .venv") and first.endswith("python -m dpo_vs_ppo.repro")
    assert '[sys.executable, "-m", "dpo_vs_ppo.repro"]' in (REPO / "tests/test_pipeline_e2e.py").read_text()
