"""Writing a local folder laid out like a hub dataset repository (what ``hub.load_split`` reads).

Files are JSON Lines written byte-for-byte deterministically (fixed key order, no timestamps, no
compression headers), so the same seed gives the same bytes and DVC sees no change on a rerun.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..records import write_text


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    """Write ``rows`` as JSON Lines (atomically); returns the row count."""
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def write_card(folder: str | Path, title: str, body: str, splits: dict[str, str] | None = None) -> None:
    """A README.md dataset card; ``splits`` (split -> file glob) becomes the YAML ``configs`` block the hub
    uses to name splits, needed where a split's name is not one `datasets` infers (CodeContests' 'valid')."""
    header = ""
    if splits:
        files = "".join(f"  - split: {split}\n    path: \"{glob}\"\n" for split, glob in splits.items())
        header = f"---\nconfigs:\n- config_name: default\n  data_files:\n{files}---\n"
    write_text(Path(folder) / "README.md", f"{header}# {title}\n\n{body.strip()}\n")
