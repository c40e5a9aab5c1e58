"""dvc.yaml's code and config dependencies cannot drift: each stage depends on the code record the validate
stage writes for the modules its command runs (every in-package file they import, walked statically, imports
inside functions included) and on the resolved settings of every experiment file its command reads; DVC's own
expansion of dvc.yaml (templates, foreach) is what is checked."""

import shlex
from functools import lru_cache
from pathlib import Path

from dpo_vs_ppo.code_deps import NEUTRAL, closure, fingerprint
from dpo_vs_ppo.pipeline import VALIDATED
from dpo_vs_ppo.pipeline_runs import load_runs
from dpo_vs_ppo.stages.validate import stage_code
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


def test_the_walk_sees_imports_inside_functions_and_relative_ones():
    found = closure("dpo_vs_ppo.stages.sft")
    assert PACKAGE / "trl_bridge.py" in found  # imported inside train(), after the config check
    assert PACKAGE / "training" / "run_records.py" in found
    assert PACKAGE / "config.py" in found  # through stages/_cli.py


def validated(deps: list[str], kind: str) -> list[str]:
    """The stems of the validate stage's ``kind`` files (code/ or settings/) among ``deps``."""
    prefix = f"{VALIDATED}/{kind}/"
    return sorted(d[len(prefix):-len(".json")] for d in deps if d.startswith(prefix))


def test_every_stage_depends_on_the_code_record_of_the_modules_its_command_runs():
    runs = load_runs(REPO / "experiments" / "runs.yaml")
    records = stage_code(runs)
    problems = {}
    for name, cmd, deps, _ in stages():
        if name == "validate":
            assert {"src/dpo_vs_ppo", "experiments"} <= set(deps), deps  # it hashes them for everyone else
            continue
        code = validated(deps, "code")
        if len(code) != 1 or records.get(code[0]) != stage_modules(cmd):
            problems[name] = (code, stage_modules(cmd))
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_every_stage_depends_on_the_settings_of_every_experiment_file_it_reads():
    problems = {}
    for name, cmd, deps, _ in stages():
        read = sorted(Path(a).stem for a in shlex.split(cmd) if a.startswith("experiments/") and a.endswith(".yaml")
                      and a != "experiments/runs.yaml" and "/launch/" not in a)
        if name == "report":  # it reads each file's title, paper_ref and table spec: report.json holds them
            assert f"{VALIDATED}/report.json" in deps and not validated(deps, "settings") and read, deps
        elif name != "validate" and read != validated(deps, "settings"):
            problems[name] = (read, validated(deps, "settings"))
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_the_code_record_covers_every_file_the_walk_finds():
    record = fingerprint(["dpo_vs_ppo.launch", "dpo_vs_ppo.stages.ppo"])
    walked = {p.relative_to(REPO).as_posix() for p in closure("dpo_vs_ppo.launch") | closure("dpo_vs_ppo.stages.ppo")}
    neutral = {f"src/{n}" for n in NEUTRAL}
    assert neutral <= walked  # every stage imports the warm start ...
    assert set(record["files"]) == walked - neutral  # ... which cannot change an output (tests/test_warm.py)
    assert all(len(h) == 32 for h in record["files"].values())


def test_a_new_import_is_a_new_dep(monkeypatch):
    """The record follows an import added inside a function: stages/table.py importing the sandbox puts the
    sandbox's file into the table stages' code record, so they rerun when it changes."""
    from dpo_vs_ppo import code_deps

    stage = code_deps.SRC / "dpo_vs_ppo" / "stages" / "table.py"
    before = code_deps.fingerprint(["dpo_vs_ppo.stages.table"])["files"]
    original = stage.read_text(encoding="utf-8")
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: original + "\ndef f():\n    from ..evaluation "
                        "import sandbox\n" if self == stage else Path.read_bytes(self).decode(encoding or "utf-8"))
    code_deps.closure.cache_clear(), code_deps.imported_modules.cache_clear()
    try:
        after = code_deps.fingerprint(["dpo_vs_ppo.stages.table"])["files"]
    finally:
        code_deps.closure.cache_clear(), code_deps.imported_modules.cache_clear()
    sandbox = "src/dpo_vs_ppo/evaluation/sandbox.py"
    assert sandbox not in before and sandbox in after


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
    """The validate stage depends on the whole source folder; the .pyc files Python writes there as each stage
    imports must not count, or a finished `dvc repro` would leave validate, and so nothing else, stale."""
    import subprocess
    import sys

    dvc = Path(sys.executable).parent / "dvc"
    for path in ("src/dpo_vs_ppo/training/__pycache__/sampling.cpython-311.pyc", "src/dpo_vs_ppo/x.pyc"):
        done = subprocess.run([str(dvc), "check-ignore", path], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, f"{path} is not ignored by DVC: {done.stdout}{done.stderr}"
