"""The pinned stack: a TRL upgrade that drops PPOTrainer, or a torch that is not the CPU 2.13 wheel,
must fail here loudly rather than somewhere deep in a training stage."""

import re
from importlib import metadata

from conftest import REPO


def test_trl_still_ships_ppo_trainer():
    # PPOTrainer lives in trl.experimental.ppo up to TRL 1.12.0 and is gone from 1.13 on.
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    assert callable(PPOTrainer) and callable(PPOConfig)
    assert metadata.version("trl") == "1.12.0"


def test_pinned_versions_are_installed():
    pins = dict(re.findall(r'"([a-z-]+)==([\d.]+)"', (REPO / "pyproject.toml").read_text()))
    assert {"torch", "trl", "transformers", "datasets", "accelerate", "peft", "deepspeed", "dvc", "seaborn"} <= set(pins)
    for name, version in pins.items():
        assert metadata.version(name).split("+")[0] == version, name


def test_at_most_one_module_imports_trl():
    importers = [p for p in (REPO / "src").rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+trl\b", p.read_text(), re.MULTILINE)]
    assert len(importers) <= 1, importers
