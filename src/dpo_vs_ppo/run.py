"""Run one result of the paper on its own: its DVC stages (and nothing else), then its report section.

    python -m dpo_vs_ppo.run table3          # repro.py table3, then reports/single/table3/README.md
    python -m dpo_vs_ppo.run --list          # every result and the stage that produces it
    python -m dpo_vs_ppo.run table7 --dry    # print the commands only

``python -m dpo_vs_ppo.repro <stage>`` (``dvc repro``, two stages at a time) runs the stage and whatever
upstream of it is stale, so a result reuses every cached checkpoint it shares with others. The section is
rendered into ``reports/single/<result>/`` (git-ignored); ``reports/`` itself is the whole study's report,
rendered by the ``report`` stage.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from .experiment import load_experiment

#: Paper results in the paper's order; each is experiments/<id>.yaml and the dvc.yaml stage of that name.
RESULTS = ("table1", "figure1", "table2", "table3", "table4", "table5", "table6", "table7", "table8", "table9",
           "table10", "table11", "table12", "table13", "figure2")


def commands(result: str) -> list[list[str]]:
    """The commands that reproduce ``result``: its stage, then its report section."""
    return [[sys.executable, "-m", "dpo_vs_ppo.repro", result],
            [sys.executable, "-m", "dpo_vs_ppo.stages.report", "--params", "params.yaml",
             "--experiment", f"experiments/{result}.yaml", f"results/{result}", "--out", f"reports/single/{result}"]]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("result", nargs="?", choices=RESULTS, metavar="RESULT", help=f"one of: {', '.join(RESULTS)}")
    p.add_argument("--list", action="store_true", help="list the results and their titles")
    p.add_argument("--dry", action="store_true", help="print the commands, run nothing")
    args = p.parse_args(argv)
    if args.list or not args.result:
        for result in RESULTS:
            print(f"{result:<8} {load_experiment(f'experiments/{result}.yaml', 'tiny').title}")
        return
    exp = load_experiment(f"experiments/{args.result}.yaml", "tiny")
    if not getattr(exp.settings, "rows", True):  # tables marked "not run" have no rows and no stage
        print(f"{args.result} is not run at tiny scale:\n{exp.report.summary.strip()}")
        return
    for command in commands(args.result):
        print("+ " + " ".join(["python", *command[1:]] if command[0] == sys.executable else command), flush=True)
        if not args.dry and subprocess.run(command).returncode:
            sys.exit(f"run {args.result}: '{' '.join(command[:3])} ...' failed")
    if not args.dry:
        print(f"run {args.result}: report section in {Path('reports/single') / args.result / 'README.md'}")


if __name__ == "__main__":
    main()
