"""Benchmark: the study's budgets. Runs ``dvc repro`` and prints each stage's wall time and peak memory.

    python -m dpo_vs_ppo.benchmarks.study_budget                 # whatever is stale in this checkout
    python -m dpo_vs_ppo.benchmarks.study_budget --force         # the whole study from scratch
    python -m dpo_vs_ppo.benchmarks.study_budget --smoke DIR     # the smoke profile in a fresh clone at DIR
    python -m dpo_vs_ppo.benchmarks.study_budget --checks DIR    # `dvc status` and a bad config, in a clone at DIR

Budgets (README, "Budgets"; docs/budgets.md): the tiny study within 20 min on 2 cores, the smoke profile within 3 min,
and every tiny stage under 4 GiB. A stage's memory is the peak of the summed proportional set size (PSS) of
the whole process tree under ``dvc repro`` while it runs (DVC itself, the stage, sandbox workers) and of the
warm-start server that runs it, sampled every 0.2 s: an upper bound on the stage's own (it includes DVC and
the idle server). Stage times come from DVC's "Running stage" lines.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

BUDGET_S = {"tiny": 20 * 60, "smoke": 3 * 60}
MEMORY_BUDGET_MIB = 4096
#: `.ci/run` from a fresh clone (install and the test suite).
CI_BUDGET_S = 10 * 60
#: The report stage, timed like any other stage.
REPORT_BUDGET_S = 10.0
#: The quick checks (``--checks``): `dvc status` in a clone, and a bad config reported by `dvc repro`.
STATUS_TARGET_S = 2.0
BAD_CONFIG_TARGET_S = 2.0


def tree_memory_mib(root: int) -> float:
    """Proportional set size (PSS) of ``root`` and all its descendants, from /proc (Linux), plus every
    warm-start server and its forks (warm.py: a stage's worker is the server's child, not DVC's). PSS splits
    each shared page between the processes that map it, so the forks' copy-on-write pages are counted once,
    not once per process as a sum of RSS would."""
    children: dict[int, list[int]] = {}
    roots = [root]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            if b"dpo_vs_ppo.warm_server" in (entry / "cmdline").read_bytes():
                roots.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    total, todo = 0, roots
    while todo:
        pid = todo.pop()
        total += _pss_kib(pid)
        todo += children.get(pid, [])
    return total / 1024


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass  # ended while we looked
    return 0


def run_repro(command: list[str], cwd: Path) -> tuple[list[tuple[str, float, float]], float, int]:
    """Run ``command``; return (stage, seconds, peak MiB) per stage in order, the total seconds, the exit code."""
    start = time.perf_counter()
    # The stages' `python -m ...` and `dvc` must be this interpreter's, even when its venv is not activated.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stages: list[list] = []  # [name, start, peak]
    done = threading.Event()

    def sample():
        while not done.wait(0.2):
            if stages:
                stages[-1][2] = max(stages[-1][2], tree_memory_mib(process.pid))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for line in process.stdout:
        sys.stdout.write(line)
        if line.startswith("Running stage '"):
            stages.append([line.split("'")[1], time.perf_counter(), 0.0])
    code = process.wait()
    end = time.perf_counter()
    done.set()
    sampler.join()
    bounds = [s[1] for s in stages[1:]] + [end]
    return [(name, stop - begun, peak) for (name, begun, peak), stop in zip(stages, bounds)], end - start, code


def report(rows: list[tuple[str, float, float]], total: float, profile: str) -> str:
    lines = [f"{'stage':<58} {'wall s':>8} {'peak MiB':>9}"]
    lines += [f"{name:<58} {seconds:8.1f} {peak:9.0f}" for name, seconds, peak in rows]
    peak = max((r[2] for r in rows), default=0.0)
    budget = BUDGET_S[profile]
    lines += ["", f"stages run: {len(rows)}",
              f"total wall: {total / 60:.1f} min ({total:.0f} s); budget {budget / 60:.0f} min: "
              f"{'met' if total <= budget else 'MISSED'}",
              f"largest stage peak: {peak:.0f} MiB; budget {MEMORY_BUDGET_MIB} MiB: "
              f"{'met' if peak <= MEMORY_BUDGET_MIB else 'MISSED'}"]
    if report_stage := [r[1] for r in rows if r[0] == "report"]:
        lines.append(f"report stage: {report_stage[0]:.1f} s; budget {REPORT_BUDGET_S:.0f} s: "
                     f"{'met' if report_stage[0] <= REPORT_BUDGET_S else 'MISSED'}")
    return "\n".join(lines)


def smoke_clone(target: Path) -> Path:
    """A fresh clone of this checkout's HEAD at ``target``, set to the smoke profile with one seed."""
    subprocess.run(["git", "clone", "--quiet", str(Path.cwd()), str(target)], check=True)
    params = target / "params.yaml"
    text = params.read_text().replace("profile: tiny", "profile: smoke").replace("seeds: [0, 1, 2]", "seeds: [0]")
    params.write_text(text)
    return target


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, done


def quick_checks(root: Path) -> str:
    """In the clone ``root``: `dvc status` (median of 3), then `dvc repro` with a bad smoke-profile value in
    experiments/ppo_dialogue.yaml: its wall time, exit code, last line and the stages it started."""
    status = sorted(timed(["dvc", "status", "-q"], root)[0] for _ in range(3))[1]
    path = root / "experiments" / "ppo_dialogue.yaml"
    original = path.read_text()
    bad = re.sub(r"(  smoke:\n(?:    .*\n)*?    rollout_batch_size: )\d+", r"\g<1>18", original, count=1)
    if bad == original:
        raise SystemExit("study_budget: could not plant the bad value (experiments/ppo_dialogue.yaml changed shape)")
    path.write_text(bad)
    try:
        seconds, done = timed(["dvc", "repro"], root)
    finally:
        path.write_text(original)
    output = (done.stdout + done.stderr).strip().splitlines()
    started = [line.split("'")[1] for line in output if line.startswith("Running stage '")]
    errors = [line for line in output if "config error" in line]
    return "\n".join([
        f"dvc status: {status:.2f} s (median of 3); target {STATUS_TARGET_S} s: "
        f"{'met' if status <= STATUS_TARGET_S else 'MISSED'}",
        f"bad config under dvc repro: exit {done.returncode} after {seconds:.2f} s; target {BAD_CONFIG_TARGET_S} s: "
        f"{'met' if seconds <= BAD_CONFIG_TARGET_S else 'MISSED'}",
        f"  stages started: {started}",
        f"  error: {errors[0] if errors else output[-1] if output else '(none)'}"])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="*", help="stages to reproduce (default: the whole pipeline)")
    p.add_argument("--force", action="store_true", help="rerun every stage, cached or not")
    p.add_argument("--smoke", metavar="DIR", type=Path, help="clone HEAD to DIR (must not exist) and run the smoke profile")
    p.add_argument("--checks", metavar="DIR", type=Path, help="clone HEAD to DIR (must not exist): time `dvc status` and "
                   "a bad config under `dvc repro`")
    args = p.parse_args(argv)
    if args.checks:
        subprocess.run(["git", "clone", "--quiet", str(Path.cwd()), str(args.checks)], check=True)
        print(quick_checks(args.checks))
        return
    cwd, profile = (smoke_clone(args.smoke), "smoke") if args.smoke else (Path.cwd(), "tiny")
    command = ["dvc", "repro", *args.targets] + (["--force"] if args.force or args.smoke else [])
    rows, total, code = run_repro(command, cwd)
    print("\n" + report(rows, total, profile))
    sys.exit(code)


if __name__ == "__main__":
    main()
