"""Evaluating a policy at every seed: which checkpoint each seed samples, and the per-seed summary."""

from __future__ import annotations

from pathlib import Path

from ..config import ConfigError


def checkpoint_for(policy: Path, seed: int) -> Path:
    """The seed's own checkpoint (``s<seed>/``) when the folder holds per-seed runs, else the folder."""
    if (policy / f"s{seed}").is_dir():
        return policy / f"s{seed}"
    if any(policy.glob("s[0-9]*")):
        raise ConfigError("params.yaml", "seeds", f"{policy} has no checkpoint for seed {seed}")
    return policy


def seed_summary(per_seed: dict[str, dict]) -> dict:
    """Every seed's metrics, and the mean over seeds of each numeric one (what `dvc metrics diff` shows first)."""
    numeric = [k for k, v in next(iter(per_seed.values())).items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    mean = {k: round(sum(m[k] for m in per_seed.values()) / len(per_seed), 6) for k in numeric}
    return {"seeds": [int(s) for s in per_seed], "mean": mean, "per_seed": per_seed}
