"""Shared test set-up: offline, quiet, and paths to the repository's own files."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

# Never reach a hub, never send telemetry: set before anything imports HF code.
os.environ.update({
    "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "TRL_EXPERIMENTAL_SILENCE": "1",
    "DVC_NO_ANALYTICS": "1",
    # datasets caches every local load as Arrow files: keep that out of the user's ~/.cache
    "HF_HOME": tempfile.mkdtemp(prefix="dpo-vs-ppo-hf-home-"),
})

# Under two pytest-xdist workers (pyproject.toml), two torch processes share the 2 cores: OpenMP threads that
# spin while they wait take each other's cores (a ZeRO-3 test ran 11 s alone and 96 s beside another worker).
# Waiting threads sleep instead, as repro.py does for concurrent stages; numbers do not depend on it.
if os.environ.get("PYTEST_XDIST_WORKER"):
    from dpo_vs_ppo.repro import CONCURRENT_ENV  # no torch import: the setting must precede it

    for name, value in CONCURRENT_ENV.items():
        os.environ.setdefault(name, value)

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv running the tests: its dvc and python run the stages


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def write_yaml(tmp_path):
    """Write a YAML text to tmp_path/<name> and return the path."""
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path
    return write


#: Test files that run a whole pipeline or a distributed job: collected first, so that under two workers
#: (pyproject.toml, `-n 2 --dist loadfile`) they start at once instead of being the last thing left running.
SLOW_FIRST = ("test_pipeline_e2e.py", "test_paper_path.py", "test_distributed.py", "test_repro.py",
              "test_ppo_resume.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))  # stable: file order kept otherwise
