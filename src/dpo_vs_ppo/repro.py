"""`dvc repro`, two stages at a time: DVC runs each stage; this module only picks which ones may run together.

    python -m dpo_vs_ppo.repro                # the whole study: what `dvc repro` runs, two stages at a time
    python -m dpo_vs_ppo.repro table3         # one result and whatever upstream of it is stale
    python -m dpo_vs_ppo.repro --dry          # the stages that would run, in order; run nothing
    python -m dpo_vs_ppo.repro --jobs 1       # one at a time, DVC's own output streamed

Why: `dvc repro` runs one stage at a time, and a tiny stage keeps little more than one core busy (small
matrices, token-by-token generation), so on 2 cores much of the machine idles (docs/budgets.md).

How, in order:
1. the config check of the validate stage (its dvc.yaml command, ``--check-only``): a bad config is one
   line, exit 2, before DVC starts;
2. the plan: the stages ``dvc status`` lists (after the validate stage, if it is stale, has run) and every
   stage downstream of them; ``--force`` takes every stage the targets need;
3. each stage is DVC's own ``dvc --wait-for-lock repro --single-item STAGE`` (run by ``dvc_lock.py``, which
   writes the stage's ``dvc.lock`` entry in place of DVC's whole-file rewrite), started once the stages it
   depends on have finished; of the ready stages, the one heading the longest chain of estimated seconds
   (``ESTIMATES``) starts first. DVC checks the stage's deps itself (a stage whose inputs came out unchanged is
   skipped), runs it, caches its outputs and writes its ``dvc.lock`` entry. DVC releases its repository
   lock while a stage's command runs and holds it to read and write ``dvc.lock``
   (``dvc/stage/decorators.py: unlocked_repo``); ``--wait-for-lock`` makes one stage wait out another's.
   With more than one job each stage's output goes to ``.dvc/tmp/repro/<stage>.log``; a failed stage's last
   lines are printed, no new stage starts, and the running ones finish.

Results are the same bytes as plain `dvc repro` gives (tested): a stage's numbers do not depend on what runs
beside it, as its torch thread count is fixed (``training/runtime.py``). When stages run together, threads that
wait for work sleep instead of spinning (``OMP_WAIT_POLICY``,
https://gcc.gnu.org/onlinedocs/libgomp/OMP_005fWAIT_005fPOLICY.html): two 2-thread stages with spinning
threads took each other's cores and ran 17x slower (measured); alone, a stage spins, which is faster.
At the paper profile stages span GPUs and nodes (launch.py): one at a time (the default there).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import dvc_fork
from .config import load_params

LOGS = Path(".dvc/tmp/repro")
#: Each stage's wall seconds as last measured at the tiny profile (``benchmarks/study_budget.py`` merges in the
#: stages it ran): the planner's estimates. Without them Figure 1 (2.6 min, nothing but the report waits on it) started last and
#: ran alone; replayed on that study's walls, this order takes 52.0 min against 53.1 (docs/budgets.md).
ESTIMATES = Path("results/stage_seconds.csv")
#: The environment of concurrent stages (see above). setdefault: a value the user set wins.
CONCURRENT_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def check_config(pipeline: str = "dvc.yaml") -> None:
    """Run the validate stage's check (nothing written); exit with its code and one line if it fails."""
    with open(pipeline, encoding="utf-8") as f:
        cmd = shlex.split(yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["stages"]["validate"]["cmd"])
    if cmd[0] == "python":
        cmd[0] = sys.executable
    done = subprocess.run([*cmd, "--check-only"], capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr or done.stdout)
        sys.exit(done.returncode)


@dataclass
class Plan:
    """The stages to run in a valid order, and for each the planned stages it waits for."""
    order: list[str] = field(default_factory=list)
    needs: dict[str, set[str]] = field(default_factory=dict)

    def priority(self, seconds: dict[str, float] | None = None) -> dict[str, float]:
        """Each stage's critical path: its estimated seconds plus the longest chain of planned stages waiting on it.
        The ready stage with the longest starts first (a list schedule, "highest level first"), so long stages
        and long chains do not end up alone at the end. A stage without an estimate counts the median one; with
        none, every stage counts 1 and the path is the longest chain in stages."""
        seconds = seconds or {}
        known = sorted(seconds[s] for s in self.order if s in seconds)
        default = known[len(known) // 2] if known else 1.0
        waiting: dict[str, list[str]] = {s: [] for s in self.order}
        for stage in self.order:
            for need in self.needs[stage]:
                waiting[need].append(stage)
        path: dict[str, float] = {}
        for stage in reversed(self.order):  # the order is topological: what waits on a stage comes after it
            path[stage] = seconds.get(stage, default) + max((path[w] for w in waiting[stage]), default=0.0)
        return path


def load_estimates(path: Path = ESTIMATES) -> dict[str, float]:
    """Stage -> wall seconds from the last whole tiny study, or {} where there is none."""
    try:
        rows = path.read_text(encoding="utf-8").splitlines()[1:]
    except OSError:
        return {}
    return {stage: float(seconds) for stage, seconds in (row.rsplit(",", 1) for row in rows if row)}


def make_plan(targets: list[str], force: bool) -> Plan:
    """Ask DVC for the graph and the stale stages; keep those and everything downstream of them."""
    import networkx as nx
    from dvc.repo import Repo

    with Repo() as repo, repo.lock:  # stage.status reads under the lock (DVC asserts it)
        graph = repo.index.graph  # an edge runs from a stage to a stage it depends on
        # no target: dvc.yaml's stages, as `dvc repro` (not data.dvc: a data source only DVC's add/pull update)
        wanted = {s for t in targets or ["dvc.yaml"] for s in repo.stage.collect(t, with_deps=True)}
        sub = graph.subgraph(wanted)
        stale = set(wanted) if force else {s for s in wanted if s.status(check_updates=True)}
        for stage in list(stale):
            stale |= nx.ancestors(sub, stage)  # ancestors: the stages that depend on it
        place = {s: i for i, s in enumerate(repo.index.stages)}  # dvc.yaml's order, where the graph leaves it free
        order = [s for s in nx.lexicographical_topological_sort(sub.reverse(copy=False), key=place.get) if s in stale]
        return Plan([s.addressing for s in order],
                    {s.addressing: {d.addressing for d in sub.successors(s) if d in stale} for s in order})


@dataclass
class Job:
    stage: str
    process: dvc_fork.Forked | subprocess.Popen
    log: Path | None
    started: float


def dvc_arguments(stage: str, force: bool) -> list[str]:
    """DVC's `repro --single-item`, run by dvc_lock.py: the same lock text, written in a fraction of the time."""
    return ["--wait-for-lock", "repro", "--single-item", *(["--force"] if force else []), stage]


def job_env(concurrent: bool) -> dict[str, str]:
    """This interpreter's bin first (the stages' `python -m`), and sleeping OpenMP threads if concurrent."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if concurrent:
        for name, value in CONCURRENT_ENV.items():
            env.setdefault(name, value)
    return env


def start(stage: str, jobs: int, force: bool, env: dict[str, str]) -> Job:
    """The stage's DVC call in a fork of this process (``dvc_fork.py``); its output to a log if concurrent."""
    log = None
    if jobs > 1:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = LOGS / (stage.replace("/", "__").replace("@", "-") + ".log")
    return Job(stage, dvc_fork.start(dvc_arguments(stage, force), env, log), log, time.perf_counter())


def outcome(job: Job, code: int) -> str:
    if code:
        return f"FAILED (exit {code})"
    text = job.log.read_text(encoding="utf-8", errors="replace") if job.log else ""
    return "unchanged, skipped" if "didn't change, skipping" in text else "done"


def run_plan(plan: Plan, jobs: int, force: bool = False, on_start=None, on_end=None) -> int:
    """Run the plan, ``jobs`` stages at a time; return 0, or the first failed stage's exit code.
    ``on_start(job)`` and ``on_end(job, code)`` are for benchmarks (study_budget.py measures each stage)."""
    rank = plan.priority(load_estimates())
    pending, running, ended, failed = list(plan.order), {}, set(), 0
    try:
        while pending or running:
            while not failed and len(running) < jobs and (
                    ready := [s for s in pending if plan.needs[s] <= ended]):
                stage = max(ready, key=rank.__getitem__)  # ties: the first in the plan's order
                pending.remove(stage)
                # A stage that starts with nothing running and nothing else ready stays alone until it ends (only
                # an ending makes a stage ready): its threads may spin, which is faster alone.
                alone = jobs == 1 or (not running and len(ready) == 1)
                running[stage] = job = start(stage, jobs, force, job_env(concurrent=not alone))
                if on_start:
                    on_start(job)
            if not running:
                break  # a stage failed: no other starts
            time.sleep(0.05)
            for stage, job in [(s, j) for s, j in running.items() if j.process.poll() is not None]:
                code = running.pop(stage).process.returncode
                if on_end:
                    on_end(job, code)
                print(f"[{len(ended) + 1:>3}/{len(plan.order)}] {time.perf_counter() - job.started:6.1f} s  "
                      f"{stage}: {outcome(job, code)}", flush=True)
                ended.add(stage)
                if code:
                    failed = failed or code
                    _print_tail(job)
    except KeyboardInterrupt:  # the terminal signalled the whole group: let DVC stop each stage cleanly
        for job in running.values():
            job.process.wait()
        print(f"repro: interrupted; stopped {', '.join(running) or 'nothing'}", file=sys.stderr, flush=True)
        return 130
    return failed


def _print_tail(job: Job, lines: int = 30) -> None:
    if job.log:
        tail = job.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        print(f"--- the last {len(tail)} lines of {job.log}:", *tail, "---", sep="\n", file=sys.stderr, flush=True)


def default_jobs() -> int:
    """2, or 1 at the paper profile (its stages hold every GPU) or on a one-core machine."""
    try:
        paper = load_params("params.yaml").profile == "paper"
    except Exception:  # a bad params.yaml: the config check reports it
        paper = False
    return 1 if paper or (os.cpu_count() or 1) < 2 else 2


def validate_first(plan: Plan, force: bool) -> bool:
    """Whether validate is stale among others: then it runs first, alone, as the files it writes decide which
    of the others are stale."""
    return "validate" in plan.order and len(plan.order) > 1 and not force


def reproduce(targets: list[str], force: bool, jobs: int, on_start=None, on_end=None) -> tuple[int, bool]:
    """Check the configs, plan, run; return the exit code and whether any stage was planned."""
    check_config()
    plan = make_plan(targets, force)
    code, anything = 0, bool(plan.order)
    if anything and dvc_fork.enabled():
        dvc_fork.preload()
    if validate_first(plan, force):
        code = run_plan(Plan(["validate"], {"validate": set()}), jobs, on_start=on_start, on_end=on_end)
        plan = make_plan(targets, False) if not code else plan
    if not code and plan.order:
        print(f"repro: {len(plan.order)} stage{'' if len(plan.order) == 1 else 's'} to run, {jobs} at a time"
              + (f" (each stage's output: {LOGS}/)" if jobs > 1 else ""), flush=True)
        code = run_plan(plan, jobs, force, on_start=on_start, on_end=on_end)
    return code, anything


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="*", help="stages or results to reproduce, with what they need "
                   "(default: every stage, as `dvc repro`)")
    p.add_argument("-j", "--jobs", type=int, metavar="N", help="stages at a time (default: 2; 1 at the paper "
                   "profile or on one core)")
    p.add_argument("-f", "--force", action="store_true", help="rerun every stage the targets need, stale or not")
    p.add_argument("--dry", action="store_true", help="print the plan, run nothing")
    args = p.parse_args(argv)
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        p.error("--jobs must be at least 1")
    if args.dry:
        check_config()
        plan = make_plan(args.targets, args.force)
        if validate_first(plan, args.force):
            print("repro: validate is stale, so this lists everything downstream of it; the files it writes "
                  "decide which of them run", file=sys.stderr)
        print("\n".join(plan.order) or "every stage is up to date")
        return
    began = time.perf_counter()
    code, anything = reproduce(args.targets, args.force, jobs)
    minutes = (time.perf_counter() - began) / 60
    print(f"repro: {'FAILED' if code else 'done'} after {minutes:.1f} min" if anything
          else "repro: every stage is up to date", flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
