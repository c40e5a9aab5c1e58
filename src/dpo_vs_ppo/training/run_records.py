"""What the training stages do once a trainer exists: the tokenizer, whole checkpoints (ZeRO-3 shards gathered),
and the run record (metrics, step log, provenance). Imported by a stage only after its config is checked."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..config import ConfigError
from ..data.records import PreferencePair, read_records
from ..models import load_tokenizer
from ..records import provenance, read_json, to_plain, write_json
from .datasets import filter_pairs
from .reference_ema import is_zero3
from .step_log import write_step_log


def model_refs(models_dir: str) -> dict[str, str]:
    """Folder-or-hub-id of the tokenizer, base policy and base reward model (models stage)."""
    path = Path(models_dir) / "model_refs.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the models stage first (dvc repro models)")
    return read_json(path)


def filtered_pairs(args, pair_filter: str):
    """The ``--train`` pairs after the experiment's pair filter, and the counts it dropped."""
    try:
        return filter_pairs(read_records(args.train, PreferencePair), pair_filter)
    except ValueError as err:
        raise ConfigError(args.experiment, "settings.pair_filter", f"{err} ({args.train} has none)") from None


def tokenizer_for(models_dir: str, padding_side: str = "right"):
    return load_tokenizer(model_refs(models_dir)["tokenizer"], padding_side=padding_side)


def prepared_model(trainer):
    """The model as the trainer's accelerator prepared it: the DeepSpeed engine, or the (wrapped) module."""
    engine = getattr(trainer, "deepspeed", None)
    return trainer.model if engine is None else engine


def save_checkpoint(trainer, tokenizer, out: str, part: str = "") -> None:
    """The trained model (or its submodule ``part``, e.g. PPO's ``policy``) and the tokenizer, loadable with
    from_pretrained. Every process must call it: under ZeRO-3 each holds a shard of every weight, which are
    gathered first (saving the unwrapped module wrote zero-element tensors, issue 15); the main process writes."""
    accelerator = trainer.accelerator
    engine = prepared_model(trainer)
    state = accelerator.get_state_dict(engine)  # gathers ZeRO-3 shards (stage3_gather_16bit_weights_on_model_save)
    model = accelerator.unwrap_model(engine)
    if part:
        model, state = getattr(model, part), {k[len(part) + 1:]: v for k, v in (state or {}).items()
                                              if k.startswith(part + ".")}
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        model.save_pretrained(out, state_dict=state)
        tokenizer.save_pretrained(out)


def loaded_as_shards(*models) -> dict:
    """Whether every model was loaded as ZeRO-3 shards (the trainer config existed first; trl_bridge), for
    run.json: a whole copy per process is what runs a paper-scale node out of host memory."""
    return {"loaded_as_zero3_shards": all(is_zero3(m) for m in models)}


def ranks_in_sync(trainer, model) -> bool:
    """Whether every process ends with the same weights (a checksum gathered from each): the proof that a
    multi-process run trained one model, not unsynchronised copies (docs/training.md, "Distributed runs"). Under ZeRO-3 there
    is one copy, sharded, by construction: it is one model when its shards span every launched process."""
    import torch

    accelerator = trainer.accelerator
    unwrapped = accelerator.unwrap_model(model)
    if is_zero3(unwrapped):
        return prepared_model(trainer).dp_world_size == int(os.environ.get("WORLD_SIZE", "1"))
    checksum = sum(p.detach().double().sum() for p in unwrapped.parameters())
    sums = accelerator.gather(torch.tensor([float(checksum)], dtype=torch.float64, device=accelerator.device))
    return bool(torch.allclose(sums, sums[0].expand_as(sums), rtol=1e-9, atol=0.0))


def zero_stage(trainer) -> int | None:
    """The DeepSpeed ZeRO stage the trainer ran under (None without DeepSpeed)."""
    plugin = getattr(trainer.accelerator.state, "deepspeed_plugin", None)
    return plugin.zero_stage if plugin is not None else None


def training_precision(trainer) -> str:
    """The dtype the trained weights are held in, as the engine holds them (e.g. "bfloat16")."""
    model = trainer.accelerator.unwrap_model(prepared_model(trainer))
    return str(next(model.parameters()).dtype).removeprefix("torch.")


def supervised_sizes(trainer) -> dict:
    """The batch arithmetic a supervised trainer actually ran with."""
    a = trainer.args
    world = trainer.accelerator.num_processes
    return {"world_size": world, "per_device_batch_size": a.per_device_train_batch_size,
            "gradient_accumulation_steps": a.gradient_accumulation_steps,
            "global_batch_size": a.per_device_train_batch_size * a.gradient_accumulation_steps * world}


def write_run_records(args, params, exp, trainer, rows: list[dict], metrics: dict, start: float,
                      derived: dict | None = None, model=None, attempts: list[float] | None = None,
                      extra: dict | None = None) -> None:
    """Metrics, step log and provenance (resolved settings, the TRL config dict, derived sizes, seed, the
    training precision and ZeRO stage, and whether all processes hold the same weights). Every process must
    call it (it gathers). ``attempts``: the wall time of each process of a run that was resumed (PPO);
    ``extra``: more provenance (e.g. PPO's per-update timings)."""
    in_sync = ranks_in_sync(trainer, model if model is not None else trainer.model)
    if not trainer.accelerator.is_main_process:
        return
    wall = time.perf_counter() - start if attempts is None else sum(attempts)
    write_step_log(args.steps, rows)
    write_json(args.metrics, metrics)  # no wall time here: same seed, same metrics
    record = provenance(params, exp, wall)
    record.update(seed=exp.settings.seed, world_size=trainer.accelerator.num_processes, ranks_in_sync=in_sync,
                  precision=training_precision(trainer), zero_stage=zero_stage(trainer),
                  derived=derived or supervised_sizes(trainer), trl_config=to_plain(trainer.args.to_dict()))
    if attempts is not None:
        record["attempt_wall_times_s"] = attempts
    record.update(extra or {})
    write_json(args.run_info, record)
