"""Writing results: atomic JSON/CSV files and the provenance every run records."""

from __future__ import annotations

import csv
import json
import os
import platform
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

#: Packages whose versions every run records (read from metadata: importing trl costs seconds).
RECORDED_PACKAGES = ("dpo-vs-ppo", "numpy", "torch", "trl", "transformers", "datasets", "accelerate",
                     "dvc", "seaborn", "matplotlib")


_UMASK = os.umask(0)
os.umask(_UMASK)


def _atomic_write(path: str | Path, write) -> None:
    """Write via a temporary file in the same folder and rename it into place, so a killed stage
    never leaves a half-written output that DVC would then hash as valid."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write(handle)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the mode a plain open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def staged_folder(path: str | Path):
    """Yield a temporary folder beside ``path``; when the block ends without an error, it replaces ``path``.
    A stage that fails half-way (a bad row in the third dataset) leaves no half-written output folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_UMASK)  # mkdtemp makes it 0700; the folder it replaces had the umask's mode
        shutil.rmtree(path, ignore_errors=True)
        staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_json(path: str | Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON (dataclasses become dicts)."""
    _atomic_write(path, lambda h: (json.dump(to_plain(obj), h, indent=2, ensure_ascii=False), h.write("\n")))


def write_csv(path: str | Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    """Atomically write a CSV with a header row."""
    def write(handle):
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
    _atomic_write(path, write)


def write_text(path: str | Path, text: str) -> None:
    """Atomically write a text file."""
    _atomic_write(path, lambda h: h.write(text))


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a malformed one (e.g. truncated) is a DataError naming it, not a traceback."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        from .data.records import DataError

        raise DataError(Path(path).name, "json", err.lineno, f"not valid JSON ({err.msg}, column {err.colno})") from None


def to_plain(obj: Any) -> Any:
    """Dataclasses and tuples to JSON-ready dicts and lists."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_plain(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results."""
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(params, experiment, wall_time_s: float) -> dict:
    """What a reader needs to trust or rerun a result: resolved config, seeds, versions, time."""
    return {
        "experiment": experiment.id,
        "files": list(experiment.files),
        "profile": params.profile,
        "seeds": list(params.seeds),
        "resolved_settings": to_plain(experiment.settings),
        "versions": package_versions(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "wall_time_s": round(wall_time_s, 3),
        **accelerator_memory(),
    }


def accelerator_memory() -> dict:
    """This process's peak GPU memory in GiB, when it used a GPU (the paper-path benchmark prints it)."""
    torch = sys.modules.get("torch")  # never imported here: a stage that did not load torch used no GPU
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return {}
    return {"peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3)}
