"""Benchmark: the study's budgets. Runs the study as ``python -m dpo_vs_ppo.repro`` does (``dvc repro``, two
stages at a time) and prints each stage's wall time and peak memory.

    python -m dpo_vs_ppo.benchmarks.study_budget                 # whatever is stale in this checkout
    python -m dpo_vs_ppo.benchmarks.study_budget --force         # the whole study from scratch
    python -m dpo_vs_ppo.benchmarks.study_budget --smoke DIR     # the smoke profile in a fresh clone at DIR
    python -m dpo_vs_ppo.benchmarks.study_budget --checks DIR    # `dvc status` and a bad config, in a clone at DIR
    python -m dpo_vs_ppo.benchmarks.study_budget --jobs 1        # one stage at a time, as plain `dvc repro`

Budgets (README, "Budgets"; docs/budgets.md): the tiny study within 20 min on 2 cores, the smoke profile within
3 min, and every tiny stage under 4 GiB. A stage's memory is the peak of the summed proportional set size (PSS)
of its ``dvc repro --single-item`` process tree (DVC itself, the stage, sandbox workers), the warm-start forks
that run it and the warm-start servers, sampled every second: an upper bound on the stage's own. The peak of all
running stages together is printed as well (with two at a time, what the machine must hold).
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

from .. import repro

BUDGET_S = {"tiny": 20 * 60, "smoke": 3 * 60}
#: The tiny study's budget once issue [I]'s science is in (DEVELOPERS.md, "Performance").
SCIENCE_BUDGET_S = 30 * 60
#: Seconds between memory samples. Scanning /proc and reading PSS every 0.2 s took a fifth of one of the two
#: cores (328 s of CPU in a study's first 25 min, measured from the sampler thread's /proc stat), slowing the
#: stages it measured.
SAMPLE_EVERY_S = 1.0
MEMORY_BUDGET_MIB = 4096
#: `.ci/run` from a fresh clone (install and the test suite).
CI_BUDGET_S = 10 * 60
#: The report stage, timed like any other stage.
REPORT_BUDGET_S = 10.0
#: The quick checks (``--checks``): `dvc status` in a clone, and a bad config reported by the study's command.
STATUS_TARGET_S = 2.0
BAD_CONFIG_TARGET_S = 2.0


def _process_table() -> tuple[dict[int, list[int]], list[int]]:
    """parent pid -> child pids, and the pids of warm-start servers (their forks run the stages, warm.py)."""
    children: dict[int, list[int]] = {}
    servers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            if b"dpo_vs_ppo.warm_server" in (entry / "cmdline").read_bytes():
                servers.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return children, servers


def _tree(roots: list[int], children: dict[int, list[int]]) -> set[int]:
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    return found


def _writes_to(pid: int, log: Path) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/fd/1") == str(log.resolve())
    except OSError:
        return False


def job_memory_mib(jobs: list, children: dict[int, list[int]], servers: list[int]) -> dict[str, float]:
    """Each running stage's proportional set size (PSS): the process tree of its ``dvc repro`` (DVC, the stage,
    sandbox workers), the warm-start forks that run it (found by their stdout, the stage's log; with one job at
    a time and no log, every fork) and the servers themselves. PSS splits each shared page between the processes
    that map it, so copy-on-write pages of the forks count once, not once per process as a sum of RSS would."""
    forks = _tree(servers, children) - set(servers)
    out = {}
    for job in jobs:
        mine = {p for p in forks if job.log is None or _writes_to(p, job.log)}
        pids = _tree([job.process.pid, *mine], children) | set(servers)
        out[job.stage] = sum(_pss_kib(pid) for pid in pids) / 1024
    return out


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass  # ended while we looked
    return 0


def run_study(targets: list[str], force: bool, jobs: int) -> tuple[list[tuple[str, float, float]], float, float, int]:
    """What `python -m dpo_vs_ppo.repro` does, measured: (stage, seconds, peak MiB) per stage in the order they
    ended, the total seconds, the peak MiB of all running stages together, and the exit code. The memory
    sampler's own CPU seconds are printed at the end: they are taken from the stages it measures."""
    start, running, rows, peaks, together = time.perf_counter(), {}, [], {}, [0.0]
    done = threading.Event()

    def sample():
        while not done.wait(SAMPLE_EVERY_S):
            memory = job_memory_mib(list(running.values()), *_process_table()) if running else {}
            for stage, mib in memory.items():
                peaks[stage] = max(peaks.get(stage, 0.0), mib)
            together[0] = max(together[0], sum(memory.values()))
        print(f"study_budget: the memory sampler used {time.thread_time():.0f} s of CPU", flush=True)

    def on_end(job, code):
        running.pop(job.stage, None)
        if repro.outcome(job, code) == "done":  # not a stage DVC skipped as unchanged: its wall is no estimate
            rows.append((job.stage, time.perf_counter() - job.started, peaks.get(job.stage, 0.0)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code, _ = repro.reproduce(targets, force, jobs, on_start=lambda job: running.__setitem__(job.stage, job),
                              on_end=on_end)
    done.set()
    sampler.join()
    return rows, time.perf_counter() - start, together[0], code


def write_estimates(rows: list[tuple[str, float, float]], path: Path = repro.ESTIMATES) -> None:
    """Merge the measured walls into the planner's estimates (repro.py), one ``stage,seconds`` row each."""
    estimates = {**repro.load_estimates(path), **{name: seconds for name, seconds, _ in rows}}
    path.write_text("stage,seconds\n" + "".join(f"{k},{v:.1f}\n" for k, v in sorted(estimates.items())),
                    encoding="utf-8")


def report(rows: list[tuple[str, float, float]], total: float, together: float, profile: str, jobs: int) -> str:
    lines = [f"{'stage (in the order they ended)':<58} {'wall s':>8} {'peak MiB':>9}"]
    lines += [f"{name:<58} {seconds:8.1f} {peak:9.0f}" for name, seconds, peak in rows]
    peak = max((r[2] for r in rows), default=0.0)
    budget = BUDGET_S[profile]
    lines += ["", f"stages run: {len(rows)}, {jobs} at a time; their walls add up to {sum(r[1] for r in rows) / 60:.1f} min",
              f"total wall: {total / 60:.1f} min ({total:.0f} s); budget {budget / 60:.0f} min: "
              f"{'met' if total <= budget else 'MISSED'}"
              + (f"; with issue [I]'s science {SCIENCE_BUDGET_S / 60:.0f} min: "
                 f"{'met' if total <= SCIENCE_BUDGET_S else 'MISSED'}" if profile == "tiny" else ""),
              f"largest stage peak: {peak:.0f} MiB; budget {MEMORY_BUDGET_MIB} MiB: "
              f"{'met' if peak <= MEMORY_BUDGET_MIB else 'MISSED'}",
              f"all running stages together, peak: {together:.0f} MiB"]
    if report_stage := [r[1] for r in rows if r[0] == "report"]:
        lines.append(f"report stage: {report_stage[0]:.1f} s; budget {REPORT_BUDGET_S:.0f} s: "
                     f"{'met' if report_stage[0] <= REPORT_BUDGET_S else 'MISSED'}")
    return "\n".join(lines)


def smoke_clone(target: Path) -> Path:
    """A fresh clone of this checkout's HEAD at ``target``, set to the smoke profile with one seed."""
    subprocess.run(["git", "clone", "--quiet", str(Path.cwd()), str(target)], check=True)
    params = target / "params.yaml"
    text = re.sub(r"(?m)^seeds: .*$", "seeds: [0]", params.read_text().replace("profile: tiny", "profile: smoke"))
    params.write_text(text)
    return target


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=repro.job_env(concurrent=False), capture_output=True, text=True)
    return time.perf_counter() - start, done


def bad_config(root: Path, command: list[str]) -> str:
    """``command`` in ``root`` with a bad smoke-profile value planted in experiments/ppo_dialogue.yaml: its wall
    time, exit code, the stages it started and its error line."""
    path = root / "experiments" / "ppo_dialogue.yaml"
    original = path.read_text()
    bad = re.sub(r"(  smoke:\n(?:    .*\n)*?    rollout_batch_size: )\d+", r"\g<1>18", original, count=1)
    if bad == original:
        raise SystemExit("study_budget: could not plant the bad value (experiments/ppo_dialogue.yaml changed shape)")
    path.write_text(bad)
    try:
        seconds, done = timed(command, root)
    finally:
        path.write_text(original)
    output = (done.stdout + done.stderr).strip().splitlines()
    started = [line.split("'")[1] for line in output if line.startswith("Running stage '")]
    errors = [line for line in output if "config error" in line]
    name = "python -m dpo_vs_ppo.repro" if "dpo_vs_ppo.repro" in command else " ".join(command)
    return "\n".join([
        f"bad config under `{name}`: exit {done.returncode} after {seconds:.2f} s; target {BAD_CONFIG_TARGET_S} s: "
        f"{'met' if seconds <= BAD_CONFIG_TARGET_S else 'MISSED'}",
        f"  stages started: {started}",
        f"  error: {errors[0] if errors else output[-1] if output else '(none)'}"])


def quick_checks(root: Path) -> str:
    """In the clone ``root``: `dvc status` (median of 3), then a bad config under the study's command (the README's
    command 1) and under plain `dvc repro`."""
    status = sorted(timed(["dvc", "status", "-q"], root)[0] for _ in range(3))[1]
    return "\n".join([f"dvc status: {status:.2f} s (median of 3); target {STATUS_TARGET_S} s: "
                      f"{'met' if status <= STATUS_TARGET_S else 'MISSED'}",
                      bad_config(root, [sys.executable, "-m", "dpo_vs_ppo.repro"]),
                      bad_config(root, ["dvc", "repro"])])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="*", help="stages to reproduce (default: the whole pipeline)")
    p.add_argument("--force", action="store_true", help="rerun every stage, cached or not")
    p.add_argument("--jobs", type=int, default=None, metavar="N", help="stages at a time (default: repro.py's)")
    p.add_argument("--smoke", metavar="DIR", type=Path, help="clone HEAD to DIR (must not exist) and run the smoke profile")
    p.add_argument("--checks", metavar="DIR", type=Path, help="clone HEAD to DIR (must not exist): time `dvc status` and "
                   "a bad config")
    args = p.parse_args(argv)
    if args.checks:
        subprocess.run(["git", "clone", "--quiet", str(Path.cwd()), str(args.checks)], check=True)
        print(quick_checks(args.checks))
        return
    profile = "tiny"
    if args.smoke:
        os.chdir(smoke_clone(args.smoke))
        profile = "smoke"
    jobs = repro.default_jobs() if args.jobs is None else max(1, args.jobs)
    rows, total, together, code = run_study(args.targets, args.force or bool(args.smoke), jobs)
    print("\n" + report(rows, total, together, profile, jobs))
    if profile == "tiny" and rows:
        write_estimates(rows)
        print(f"study_budget: wrote the walls of {len(rows)} stages to {repro.ESTIMATES} (the planner's estimates)")
    sys.exit(code)


if __name__ == "__main__":
    main()
