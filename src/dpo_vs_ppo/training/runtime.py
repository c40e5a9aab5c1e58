"""Process set-up shared by the training stages: offline, quiet, seeded, and honest about processes."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

#: torch's threads in a process without a GPU (see prepare_process).
CPU_THREADS = 2
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TRL_EXPERIMENTAL_SILENCE": "1",
               "TOKENIZERS_PARALLELISM": "false", "WANDB_DISABLED": "true"}


def prepare_process(seed: int, offline: bool = True) -> None:
    """Seed every generator, keep the process off the network unless the profile loads hub ids, and fix torch's
    thread count when there is no GPU."""
    if offline:
        for key, value in OFFLINE_ENV.items():
            os.environ.setdefault(key, value)
    if not torch.cuda.is_available():
        # torch's default is a thread per core, and a CPU matmul's sums are split by thread, so the numbers
        # would depend on the machine's core count. A fixed count gives the same numbers on 2 cores or 64; 2 is
        # what the committed results were made with (a 2-core machine), and it beat 1 thread (docs/budgets.md).
        torch.set_num_threads(CPU_THREADS)
        _skip_deepspeed_shm_op_in_one_process()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _skip_deepspeed_shm_op_in_one_process() -> None:
    """Under DeepSpeed on a CPU accelerator (the paper path in miniature), DeepSpeed's torch backend JIT-compiles a
    shared-memory all-reduce op when it starts: 88-98 s on 2 cores, once per environment (docs/budgets.md). A single
    process never reduces across processes, so the op is marked unavailable and DeepSpeed keeps torch.distributed's
    own collectives (what it does wherever the op cannot build). Several CPU processes still get the op."""
    if (os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() not in ("1", "true")
            or int(os.environ.get("WORLD_SIZE", "1")) != 1):
        return
    import deepspeed.ops

    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False  # read by deepspeed.comm.torch.build_shm_op


def world_size() -> int:
    """Processes taking part, as accelerate sees them; refuses a launch it would silently split.

    Under torchrun or ``accelerate launch`` on CPU without ACCELERATE_USE_CPU=1, accelerate reports one
    process per rank, and TRL's PPOTrainer then runs unsynchronised copies (docs/training.md, "Distributed runs").
    """
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    from ..config import ConfigError

    launched = int(os.environ.get("WORLD_SIZE", "1"))
    # As accelerate's AcceleratorState (which TRL's PPOTrainer builds) reads it: only this flag selects
    # the multi-process CPU (gloo) state.
    seen = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU")).num_processes
    if launched != seen:
        raise ConfigError("environment", "ACCELERATE_USE_CPU", f"launched with WORLD_SIZE={launched} but accelerate "
                          f"sees {seen} process(es); on CPU set ACCELERATE_USE_CPU=1 (docs/training.md, 'Distributed runs')")
    return seen

