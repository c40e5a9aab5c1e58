"""DVC, with ``dvc.lock`` updated in place: the stage DVC wrote is spliced into the file's text.

    python -m dpo_vs_ppo.dvc_lock repro --single-item STAGE    # any `dvc` command line; repro.py runs stages so

Why: after every stage DVC rewrites the whole ``dvc.lock`` (``dvc/dvcfile.py: Lockfile.dump_stages``, through
``dvc/utils/serialize/_yaml.py: modify_yaml``): a round-trip parse of the file in pure Python, then a dump of
all of it. At 204 stages the lock is 430 kB and that costs ≈ 2 s per stage, half of a short stage's wall and
≈ 7 stage-minutes of the tiny study (docs/budgets.md). Here the file is parsed with the C loader and only the
stage entries DVC changed are dumped, with DVC's own YAML settings, and put where their old text was (new
entries at the end, as DVC's dict insertion puts them). The text is the one DVC's own dump would write
(tested against it, `tests/test_dvc_lock.py`); anything but added or changed stage entries (a removed stage,
a new top-level key, a file whose ``stages`` is not its last key) takes DVC's own full dump.

Nothing else of DVC changes: it still checks deps, runs the command, caches outputs and holds its lock.
"""

from __future__ import annotations

import copy
import io
import os
import sys
from contextlib import contextmanager

LOCK_NAME = "dvc.lock"
#: The lock text DVC last parsed in this process -> a private copy of its data. DVC reads the lock before a stage
#: runs (with the same C loader as :func:`_load`); when the text is unchanged at the write, that parse is reused
#: instead of made again (0.2 s of a 430 kB lock; a copy takes 7 ms).
_PARSED: dict[str, dict] = {}


def _load(text: str) -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=False).load(text) or {}  # C loader (ruamel.yaml.clib, pinned)


def _dump(data: dict) -> str:
    from dvc.utils.serialize._yaml import _dump as dvc_dump

    out = io.StringIO()
    dvc_dump(data, out)
    return out.getvalue()


def _block_span(lines: list[str], key_line: str, start: int) -> tuple[int, int] | None:
    """Lines [first, end) of the stage entry whose key line is ``key_line`` (indent 2), at or after ``start``."""
    try:
        first = lines.index(key_line, start)
    except ValueError:
        return None
    end = first + 1
    while end < len(lines) and (lines[end].startswith("   ") or lines[end] == ""):
        end += 1
    return first, end


def splice(text: str, before: dict, after: dict) -> str | None:
    """``after`` as text, made by editing ``text`` (which parses to ``before``); None where DVC's full dump is
    needed: anything but added or changed entries under a trailing ``stages`` key."""
    if not text.endswith("\n") or set(before) != set(after) or list(after)[-1:] != ["stages"]:
        return None
    if any(before[k] != after[k] for k in after if k != "stages"):
        return None
    old, new = before["stages"] or {}, after["stages"] or {}
    if not set(old) <= set(new) or list(new)[:len(old)] != list(old):
        return None
    lines = text.split("\n")[:-1]
    start = lines.index("stages:") + 1 if "stages:" in lines else None
    if start is None:
        return None
    appended: list[str] = []
    for name, entry in new.items():
        if name in old and old[name] == entry:
            continue
        block = _dump({"stages": {name: entry}}).split("\n")[1:-1]  # drop "stages:" and the final ""
        if name not in old:
            appended += block
            continue
        span = _block_span(lines, block[0], start)
        if span is None:
            return None
        lines[span[0]:span[1]] = block
    return "\n".join(lines + appended) + "\n"


@contextmanager
def modify_lock(path, fs=None):
    """``modify_yaml`` for ``dvc.lock``: yield its data, then write it back by :func:`splice`."""
    open_fn = fs.open if fs else open
    exists = fs.exists(os.fspath(path)) if fs else os.path.exists(path)
    text = ""
    if exists:
        with open_fn(path, encoding="utf-8") as f:
            text = f.read()
    data = (copy.deepcopy(_PARSED[text]) if text in _PARSED else _load(text)) if text else {}
    before = copy.deepcopy(data)
    yield data
    new_text = splice(text, before, data) if before else None
    with open_fn(path, "w+", encoding="utf-8") as f:
        f.write(new_text if new_text is not None else _dump(data))


def install() -> None:
    """Route DVC's writes of ``dvc.lock`` through :func:`modify_lock`; ``dvc.yaml`` and the rest keep DVC's. DVC's
    reads of the lock are remembered for the write (``_PARSED``)."""
    import dvc.dvcfile
    import dvc.utils.strictyaml

    if getattr(dvc.dvcfile.modify_yaml, "dpo_vs_ppo", False):
        return  # installed already (a second main() in one process)
    original, parse = dvc.dvcfile.modify_yaml, dvc.utils.strictyaml.parse_yaml

    def modify_yaml(path, fs=None):
        return modify_lock(path, fs) if os.path.basename(os.fspath(path)) == LOCK_NAME else original(path, fs=fs)

    def parse_yaml(text, path, typ="safe"):
        data = parse(text, path, typ=typ)
        if typ == "safe" and os.path.basename(os.fspath(path)) == LOCK_NAME:
            _PARSED.clear()
            _PARSED[text] = copy.deepcopy(data)
        return data

    modify_yaml.dpo_vs_ppo = True
    dvc.dvcfile.modify_yaml = modify_yaml
    dvc.utils.strictyaml.parse_yaml = parse_yaml


def main(argv: list[str] | None = None) -> int:
    from dvc.cli import main as dvc_main

    install()
    return dvc_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
