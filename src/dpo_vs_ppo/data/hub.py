"""One call reads every dataset: the Hugging Face Hub at paper scale, a local folder otherwise.

:func:`load_split` calls ``datasets.load_dataset`` with the hub id and revision of the profile's
config (``experiments/data_*.yaml``), or with a local folder laid out like that hub repository: the
synthetic tasks write such folders, and :func:`fetch_snapshot` mirrors each hub repository's raw
files under ``data/hub`` for ``dvc add``. Because the folder mirrors the repository, the same
arguments (``data_dir``, split names) select the same rows in all three cases.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import datasets

from ..settings.data import HubSource, Origin


def load_split(source: HubSource, split: str, local_root: str | Path | None = None) -> datasets.Dataset:
    """One split of ``source``: from the hub when ``local_root`` is None, else from ``local_root/<local_name>``."""
    if local_root is None:
        if source.split_files:  # the repo carries a loading script, which datasets 5 refuses: read its files
            url = f"hf://datasets/{source.id}@{source.revision}/{_file_in_repo(source, split)}"
            return datasets.load_dataset("json", data_files={split: url}, split=split)
        return datasets.load_dataset(source.id, data_dir=source.data_dir or None, revision=source.revision, split=split)
    folder = Path(local_root) / source.local_name
    if not folder.is_dir():
        hint = "run the synthesize stage" if "synthetic" in str(local_root) else "run fetch_hub, or `dvc pull` data.dvc"
        raise FileNotFoundError(f"{source.id}: no local copy at {folder} ({hint})")
    if source.split_files:
        return datasets.load_dataset("json", data_files={split: str(folder / _file_in_repo(source, split))}, split=split)
    return datasets.load_dataset(str(folder), data_dir=source.data_dir or None, split=split)


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
