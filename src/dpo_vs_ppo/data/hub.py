"""One call reads every dataset: the Hugging Face Hub at paper scale, a local folder otherwise.

:func:`load_split` calls ``datasets.load_dataset`` with the hub id and revision of the profile's
config (``experiments/data_*.yaml``), or with a local folder laid out like that hub repository: the
synthetic tasks write such folders, and :func:`fetch_snapshot` mirrors each hub repository's raw
files under ``data/hub`` for ``dvc add``. Because the folder mirrors the repository, the same
arguments (``data_dir``, split names) select the same rows in all three cases.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import datasets

from ..settings.data import HubSource, Origin
from .records import DataError


def load_split(source: HubSource, split: str, local_root: str | Path | None = None) -> datasets.Dataset:
    """One split of ``source``: from the hub when ``local_root`` is None, else from ``local_root/<local_name>``.
    A split the copy lacks, or a file ``datasets`` cannot parse, is a DataError (the stages' one-line
    'data error' and exit code 3), not a ``datasets`` traceback; a missing local copy is FileNotFoundError."""
    try:
        return _load_split(source, split, local_root)
    except FileNotFoundError as err:
        if local_root is not None and not (Path(local_root) / source.local_name).is_dir():
            raise
        raise DataError(_name(source), split, None, f"no data for split '{split}' ({err})") from None
    except ValueError as err:  # datasets: 'Unknown split "test". Should be one of [...]'
        raise DataError(_name(source), split, None, f"no split '{split}' ({err})") from None
    except datasets.exceptions.DatasetGenerationError as err:
        cause = err.__cause__ or err
        where = _first_bad_json_line(Path(local_root) / source.local_name, split) if local_root is not None else ""
        raise DataError(_name(source), split, None, where or f"unreadable data ({cause})") from None


def _name(source: HubSource) -> str:
    """The dataset's name in messages and metrics: its id, and its data_dir if it has one."""
    return f"{source.id}/{source.data_dir}" if source.data_dir else source.id


def _first_bad_json_line(folder: Path, split: str) -> str:
    """'<file> line <n> ...' (lines count from 1) for the first JSON Lines line under ``folder`` that does
    not parse, looking at the split's own files first; '' when none is found (the caller says why else)."""
    files = sorted(p for p in folder.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")))
    for path in [p for p in files if split in p.name] or files:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    if line.strip():
                        json.loads(line)
                except json.JSONDecodeError as err:
                    return f"{path.relative_to(folder)} line {number} is not valid JSON ({err.msg})"
    return ""


def _load_split(source: HubSource, split: str, local_root: str | Path | None) -> datasets.Dataset:
    if local_root is None:
        if source.split_files:  # the repo carries a loading script, which datasets 5 refuses: read its files
            url = f"hf://datasets/{source.id}@{source.revision}/{_file_in_repo(source, split)}"
            return datasets.load_dataset("json", data_files={split: url}, split=split)
        return datasets.load_dataset(source.id, data_dir=source.data_dir or None, revision=source.revision, split=split)
    folder = Path(local_root) / source.local_name
    if not folder.is_dir():
        hint = "run the synthesize stage" if "synthetic" in str(local_root) else "run fetch_hub, or `dvc pull` data.dvc"
        raise FileNotFoundError(f"{source.id}: no local copy at {folder} ({hint})")
    # A cache of its own, dropped after the read: `datasets` keys the cache of a folder whose card declares its
    # splits by the card's file patterns, not by the files, so a machine-wide cache handed one clone (or the
    # smoke profile's copy) another's rows (tests/test_hub_loaders.py). Local copies are small; the hub's keep
    # the shared cache, keyed by the pinned revision.
    with tempfile.TemporaryDirectory(prefix="dpo-vs-ppo-datasets-") as cache:
        if source.split_files:
            return datasets.load_dataset("json", data_files={split: str(folder / _file_in_repo(source, split))},
                                         split=split, cache_dir=cache, keep_in_memory=True)
        return datasets.load_dataset(str(folder), data_dir=source.data_dir or None, split=split, cache_dir=cache,
                                     keep_in_memory=True)


def _file_in_repo(source: HubSource, split: str) -> str:
    name = source.split_files.format(split=split)
    return f"{source.data_dir}/{name}" if source.data_dir else name


def local_root_for(origin: Origin, synthetic_dir: str | None, snapshot_dir: str | None) -> str | None:
    """Which local folder an origin reads (None: the hub itself), with a clear error if it was not given."""
    if origin == "hub":
        return None
    folder = synthetic_dir if origin == "synthetic" else snapshot_dir
    if not folder:
        raise ValueError(f"source '{origin}' needs --{origin}-dir")
    return folder


def resolve_revision(source: HubSource) -> str:
    """The commit sha the hub serves for ``source.revision`` (needs network)."""
    from huggingface_hub import HfApi

    return HfApi().dataset_info(source.id, revision=source.revision).sha


def fetch_snapshot(source: HubSource, out_root: str | Path, resolve=resolve_revision, download=None) -> dict:
    """Mirror the hub repository of ``source`` at one commit into ``out_root/<local_name>`` (the raw files,
    so :func:`load_split` reads it exactly as it reads the hub) and record the commit beside it in
    ``out_root/<local_name>.source.json``. Needs network; everything after it runs offline."""
    from huggingface_hub import snapshot_download

    sha = resolve(source)
    folder = Path(out_root) / source.local_name
    patterns = [f"{source.data_dir}/*", "README.md", "*.py"] if source.data_dir else None
    (download or snapshot_download)(repo_id=source.id, repo_type="dataset", revision=sha,
                                    local_dir=str(folder), allow_patterns=patterns)
    record = {"id": source.id, "requested_revision": source.revision, "revision": sha,
              "data_dir": source.data_dir,
              "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    manifest = Path(out_root) / f"{source.local_name}.source.json"
    known = json.loads(manifest.read_text()) if manifest.is_file() else {}
    known[source.data_dir or "(whole repo)"] = record
    manifest.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    return record
