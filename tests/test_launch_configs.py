"""The paper profile's launch files: each DeepSpeed ZeRO-3 config resolves against our trainer configs
(transformers fills its "auto" fields) and passes DeepSpeed's own parser; each accelerate config loads
and points at an existing DeepSpeed file."""

import json
import types

import pytest

from dpo_vs_ppo import trl_bridge
from dpo_vs_ppo.experiment import load_experiment
from conftest import REPO

LAUNCH = REPO / "experiments" / "launch"
WORLD = 8


def data_parallel(world: int):
    """DeepSpeed's view of the process group, without starting one."""
    return types.SimpleNamespace(get_data_parallel_world_size=lambda: world, get_model_parallel_world_size=lambda: 1,
                                 get_data_parallel_rank=lambda: 0, get_model_parallel_rank=lambda: 0)


@pytest.mark.parametrize("file, hidden", [("zero3_llama2_7b.json", 4096), ("zero3_codellama_34b.json", 8192)])
@pytest.mark.parametrize("experiment", ["sft_dialogue", "reward_dialogue", "dpo_dialogue"])
def test_zero3_config_resolves_against_the_paper_trainer_config(file, hidden, experiment):
    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers.integrations import HfTrainerDeepSpeedConfig

    settings = load_experiment(REPO / f"experiments/{experiment}.yaml", "paper").settings
    args = getattr(trl_bridge, experiment.split("_")[0] + "_config")(settings, "OUT")
    hf = HfTrainerDeepSpeedConfig(str(LAUNCH / file))
    hf.trainer_config_process(args)
    hf.trainer_config_finalize(args, types.SimpleNamespace(config=types.SimpleNamespace(hidden_size=hidden)), 1000)
    config = hf.config
    assert "auto" not in json.dumps(config)
    assert config["zero_optimization"]["stage"] == 3 and config["bf16"]["enabled"] is True
    parsed = DeepSpeedConfig(config, mpu=data_parallel(1))  # DeepSpeed's own validation
    assert parsed.zero_optimization_stage == 3
    assert parsed.train_batch_size == args.per_device_train_batch_size * args.gradient_accumulation_steps


@pytest.mark.parametrize("file, processes", [("accelerate_zero3_7b.yaml", 8), ("accelerate_zero3_34b.yaml", 32)])
def test_accelerate_configs_load_and_name_an_existing_deepspeed_file(file, processes):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(LAUNCH / file))
    assert config.distributed_type == "DEEPSPEED" and config.num_processes == processes
    assert (REPO / config.deepspeed_config["deepspeed_config_file"]).is_file()


def test_the_paper_ppo_batch_splits_over_the_launch_configs_processes():
    for name in ("ppo_dialogue", "ppo_dialogue_baseline", "ppo_dialogue_large_batch"):
        settings = load_experiment(REPO / f"experiments/{name}.yaml", "paper").settings
        assert settings.split_problem(WORLD) is None, name
