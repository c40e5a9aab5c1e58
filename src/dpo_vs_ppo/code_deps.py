"""The code each ``dvc.yaml`` stage depends on, computed from its imports, so the declared deps cannot drift
(``pipeline.py`` writes them; tests/test_pipeline_deps.py checks them against DVC's reading of dvc.yaml).

A stage's code is every in-package module its command runs with ``python -m`` imports, transitively, imports
inside functions included (stages import torch and TRL only after their config check). They are declared as
files for the package's top-level modules and ``stages/`` (a stage must not rerun because another stage's file
changed), and as whole folders for the subpackages (``training/``, ``evaluation/``, ...): one lock entry per
folder keeps ``dvc.lock`` small, which is what DVC re-reads and rewrites after every stage.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent
PACKAGE = "dpo_vs_ppo"
#: Folders of the package (relative to it; "." is the package itself) whose files are declared one by one.
FILE_LEVEL = (".", "stages")


def module_file(name: str) -> Path | None:
    """The source file of in-package module ``name`` (dotted), or None for anything outside the package."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
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
    return names


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


def declared(modules: list[str]) -> list[str]:
    """The deps entries (relative to the repository root) that cover what ``modules`` import."""
    entries = set()
    for path in set().union(*(closure(m) for m in modules)):
        folder = path.parent.relative_to(SRC / PACKAGE).as_posix()
        if path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip():
            continue
        target = path if folder in FILE_LEVEL else path.parent
        entries.add(target.relative_to(SRC.parent).as_posix())
    return sorted(entries)
