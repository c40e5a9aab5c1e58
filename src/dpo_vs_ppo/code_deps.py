"""The code each ``dvc.yaml`` stage runs, computed from its imports when the pipeline runs, so a stage's code
dependency cannot drift from what it imports (tests/test_pipeline_deps.py checks it against DVC's reading of
dvc.yaml).

A stage's code is every in-package module its command runs with ``python -m`` imports, transitively, imports
inside functions included (stages import torch and TRL only after their config check). The validate stage
writes it as one small file per stage module, ``artifacts/validated/code/<stage>.json`` (each file's path and
md5), and the stage depends on that file: one ``dvc.lock`` entry instead of one per source file or folder.
That matters because DVC re-reads and rewrites the whole lock after every stage (docs/budgets.md), and it
keeps the precision of per-file deps: a change to ``training/reference_ema.py`` reruns only the stages that import
it, a change to ``stages/table.py`` only the tables.
"""

from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent
PACKAGE = "dpo_vs_ppo"
#: Files every stage imports that cannot change an output: how a stage process starts (warm.py runs it in a
#: fork of a warm process or not at all; tests/test_warm.py checks a stage's outputs are the same bytes
#: either way). Left out of the code records, so a change to them reruns nothing.
NEUTRAL = ("dpo_vs_ppo/warm.py",)


@lru_cache(maxsize=None)
def module_file(name: str) -> Path | None:
    """The source file of in-package module ``name`` (dotted), or None for anything outside the package."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=None)  # each file is parsed once, not once per stage that imports it (20 stage modules)
def imported_modules(path: Path) -> frozenset[str]:
    """Dotted names of every module ``path`` imports, anywhere in the file, relative imports resolved."""
    package = ".".join(path.relative_to(SRC).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from . import trl_bridge`
    return frozenset(names)


@lru_cache(maxsize=None)
def closure(module: str) -> frozenset[Path]:
    """Every in-package source file that running ``module`` imports (package __init__ files included)."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        parts = todo.pop().split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            path = module_file(".".join(parts[:i]))
            if path is not None and path not in seen:
                seen.add(path)
                todo.extend(imported_modules(path))
    return frozenset(seen)


def fingerprint(modules: list[str]) -> dict:
    """What the code of a stage that runs ``modules`` is: each imported file (relative to the repository
    root) and the md5 of its bytes, sorted; a stage depends on this record instead of on the files."""
    files = sorted(p for p in set().union(*(closure(m) for m in modules))
                   if p.relative_to(SRC).as_posix() not in NEUTRAL)
    return {"modules": list(modules),
            "files": {p.relative_to(SRC.parent).as_posix(): hashlib.md5(p.read_bytes()).hexdigest() for p in files}}
