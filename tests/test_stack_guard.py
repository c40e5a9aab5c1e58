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
    assert {"torch", "trl", "transformers", "datasets", "accelerate", "deepspeed", "dvc", "seaborn"} <= set(pins)
    for name, version in pins.items():
        assert metadata.version(name).split("+")[0] == version, name


def test_only_trl_bridge_imports_trl():
    importers = [p.relative_to(REPO).as_posix() for p in (REPO / "src").rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+trl\b", p.read_text(), re.MULTILINE)]
    assert importers == ["src/dpo_vs_ppo/trl_bridge.py"]


def test_the_trl_names_our_ppo_additions_swap_are_still_there_and_used():
    # training/ppo_patches.paper_patches swaps these module globals while PPOTrainer.train() runs; if TRL renames or
    # inlines one, the swap would silently do nothing. Fail here instead.
    import inspect

    from dpo_vs_ppo import trl_bridge
    from trl.experimental.ppo import ppo_trainer

    assert trl_bridge.TRL_VERSION == metadata.version("trl")
    train = inspect.getsource(ppo_trainer.PPOTrainer.train)
    for call in ("masked_whiten(advantages, ~padding_mask)", "masked_whiten(rewards, mask=~padding_mask_p1, shift_mean=False)",
                 "get_reward(\n                        reward_model", "GenerationConfig(**generation_kwargs)",
                 "batch_generation(", "self.log(metrics)", "self.lr_scheduler.step()",
                 "stats_shape = (args.num_ppo_epochs, args.num_mini_batches, args.gradient_accumulation_steps)"):
        assert call in train, call
    assert "generate(" in inspect.getsource(ppo_trainer.batch_generation)
    for name in ("masked_whiten", "get_reward", "GenerationConfig", "generate", "prepare_deepspeed"):
        assert callable(getattr(ppo_trainer, name)), name
    # construction_patches swaps prepare_deepspeed while __init__ runs: it must be where the reward model goes
    assert "self.reward_model = prepare_deepspeed(self.reward_model, accelerator)" in inspect.getsource(
        ppo_trainer.PPOTrainer.__init__)
