"""dvc.yaml's code dependencies cannot drift: every in-package module a stage's command imports (walked
statically, imports inside functions included) is covered by one of the deps DVC resolves for the stage
(templates and anchors expanded by DVC itself, so this checks code_deps' text rewriting too)."""

import shlex
from functools import lru_cache
from pathlib import Path

from dpo_vs_ppo.code_deps import closure
from conftest import REPO

PACKAGE = REPO / "src" / "dpo_vs_ppo"


def stage_modules(cmd: str) -> list[str]:
    """The modules a stage's command runs with ``python -m`` (the launcher and the stage it starts)."""
    argv = shlex.split(cmd)
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "-m"]


@lru_cache(maxsize=None)
def stages() -> list:
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        return [(s.addressing, s.cmd, [str(Path(d.def_path)) for d in s.deps], s) for s in repo.index.stages
                if getattr(s, "cmd", None)]


def uncovered(files, deps: list[str]) -> list[str]:
    """The files no dep path covers (a dep covers itself and everything under it); empty __init__ files
    are skipped (nothing in them can change a result)."""
    def covered(path: Path) -> bool:
        rel = path.relative_to(REPO)
        return any(rel == Path(d) or Path(d) in rel.parents for d in deps)
    return sorted(str(p.relative_to(REPO)) for p in files
                  if p.read_text(encoding="utf-8").strip() and not covered(p))


def test_the_walk_sees_imports_inside_functions_and_relative_ones():
    found = closure("dpo_vs_ppo.stages.sft")
    assert PACKAGE / "trl_bridge.py" in found  # imported inside train(), after the config check
    assert PACKAGE / "training" / "run_records.py" in found
    assert PACKAGE / "config.py" in found  # through stages/_cli.py


def test_every_stage_depends_on_every_module_its_command_imports():
    problems = {}
    for name, cmd, deps, _ in stages():
        files = set().union(*(closure(m) for m in stage_modules(cmd)))
        assert files, f"{name}: no `python -m` module in its command"
        if missing := uncovered(files, deps):
            problems[name] = missing
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_a_new_import_is_a_new_dep(tmp_path, monkeypatch):
    """The writer follows an import added inside a function: stages/table.py importing the sandbox makes
    the table stages depend on evaluation/."""
    from dpo_vs_ppo import code_deps

    stage = code_deps.SRC / "dpo_vs_ppo" / "stages" / "table.py"
    before = code_deps.declared(["dpo_vs_ppo.stages.table"])
    original = stage.read_text(encoding="utf-8")
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: original + "\ndef f():\n    from ..evaluation "
                        "import sandbox\n" if self == stage else Path.read_bytes(self).decode(encoding or "utf-8"))
    code_deps.closure.cache_clear()
    try:
        after = code_deps.declared(["dpo_vs_ppo.stages.table"])
    finally:
        code_deps.closure.cache_clear()
    assert "src/dpo_vs_ppo/evaluation" not in before and "src/dpo_vs_ppo/evaluation" in after


def test_no_stage_imports_another_stage():
    """Shared code lives in training/, evaluation/, report/; stages/_*.py are the stages' command-line helpers."""
    from dpo_vs_ppo.code_deps import imported_modules

    stages_dir = PACKAGE / "stages"
    names = {p.stem for p in stages_dir.glob("*.py") if not p.stem.startswith("_")}
    offenders = {p.stem: sorted(m for m in imported_modules(p) if m.rpartition(".")[2] in names - {p.stem}
                                and m.startswith("dpo_vs_ppo.stages"))
                 for p in stages_dir.glob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}, offenders


def test_bytecode_does_not_change_a_code_folders_hash():
    """Stages depend on whole code folders (training/, evaluation/, ...); the .pyc files Python writes there
    as each stage imports must not count, or a finished `dvc repro` would leave earlier stages stale."""
    import subprocess
    import sys

    dvc = Path(sys.executable).parent / "dvc"
    for path in ("src/dpo_vs_ppo/training/__pycache__/sampling.cpython-311.pyc", "src/dpo_vs_ppo/x.pyc"):
        done = subprocess.run([str(dvc), "check-ignore", path], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, f"{path} is not ignored by DVC: {done.stdout}{done.stderr}"
