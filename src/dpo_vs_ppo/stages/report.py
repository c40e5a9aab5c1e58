"""Stage report: render reports/ (README.md, figures, results.json) from results files and the
experiment files' table specs only.

Each --experiment takes the experiment file and its results folder (holding metrics.json, run.json
and the data files its figures name), e.g. --experiment experiments/table1.yaml results/table1.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

from ..config import ConfigError, load_params
from ..experiment import load_experiment
from ..records import read_json, write_json, write_text
from ..report import citations
from ..report.classes import CLASSES, classify, counts, preconditions
from ..report.figures import FIGURES, draw_all
from ..report.markdown import LITERAL, render_report
from ..report.verdicts import judge, lookup
from ._cli import main_with_config_errors, parser


NOT_RUN = "-"
#: What decides a result besides the data: a change here, not yet committed, is flagged in the provenance.
CODE_PATHS = ("src", "experiments", "params.yaml", "dvc.yaml", "pyproject.toml")


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiment", required=True, nargs=2, action="append", metavar=("YAML", "RESULTS_DIR"),
                   help="an experiment file and its results folder ('-' for a result not run at this scale: the paper's "
                        "numbers only); repeat once per experiment, in report order")
    p.add_argument("--settings", metavar="DIR", help="the validate stage's resolved settings, one file per experiment "
                   "(artifacts/validated/settings): the report's provenance names each file's sha256")
    p.add_argument("--out", required=True, metavar="DIR", help="report folder (reports/)")
    p.add_argument("--verdicts", metavar="JSON", help="where to write the verdict counts, overall and per result: a "
                   "DVC metrics file small enough for `dvc exp show` to print (README, 'Review in pull requests')")
    args = p.parse_args(argv)
    params = load_params(args.params)
    loaded = []
    for exp_path, results in args.experiment:
        exp = load_experiment(exp_path, params.profile)
        if exp.report is None:
            raise ConfigError(exp_path, "report", "missing key (this file configures a pipeline part, not a result)")
        exp = replace(exp, report=citations.checked(exp.report, exp_path))
        if results == NOT_RUN:
            if exp.report.claims or any(not c.startswith(LITERAL) for r in exp.report.table.rows for c in r.ours):
                raise ConfigError(exp_path, "report", 'a result not run has no claims and only literal cells ("=not run")')
            loaded.append((exp, {}, None))
            continue
        metrics = read_json(Path(results) / "metrics.json")
        cells = [p for r in exp.report.table.rows for p in r.ours if not p.startswith(LITERAL)]
        paths = [c.metric for c in exp.report.claims] + [c.metric for c in exp.report.preconditions]
        for path in paths + cells + list(exp.report.details):
            try:
                lookup(metrics, path)
            except KeyError as err:  # a spec naming a metric the stage never writes: fail before drawing
                raise ConfigError(exp_path, "report", f"{err.args[0]} in {Path(results) / 'metrics.json'}") from None
        for fig in exp.report.figures:
            if fig.kind not in FIGURES:
                raise ConfigError(exp_path, "report.figures", f"unknown figure kind {fig.kind!r} (known: {', '.join(FIGURES)})")
        loaded.append((exp, metrics, Path(results)))

    out = Path(args.out)
    sections, summary, seen, drawings = [], {}, {}, []
    for exp, metrics, results in loaded:
        level = params.confidence_level
        conditions = preconditions(exp, metrics, level) if results else []
        classified = classify(exp, metrics, [judge(c, metrics, level) for c in exp.report.claims], conditions,
                              level, seen)
        sections.append((exp, metrics, classified, conditions))
        drawings += [(fig.kind, results / fig.data, out / fig.file, fig) for fig in exp.report.figures]
        summary[exp.id] = {
            "title": exp.title, "paper_ref": exp.paper_ref, "metrics": metrics,
            "preconditions": {v.claim.id: {"met": v.verdict == "reproduced", "ours": v.ours, "rule": v.rule,
                                           "source": v.claim.source} for v in conditions},
            "verdicts": {c.verdict.claim.id: {"verdict": c.verdict.verdict, "class": c.kind, "why": c.why,
                                              "seeds_for_80pct_power": c.seeds_needed, "ours": c.verdict.ours,
                                              "rule": c.verdict.rule} for c in classified}}
    versions = read_json(next(r for _, _, r in loaded if r is not None) / "run.json")["versions"]
    origin = {"code": source_commit(), "seeds": list(params.seeds), "ablation_seeds": list(params.ablation_seeds),
              "versions": versions, "settings_sha256": settings_hashes(args.settings)}
    draw_all(drawings)
    write_text(out / "README.md", render_report(params, sections, origin))
    write_json(out / "results.json", {"profile": params.profile, **origin, "experiments": summary})
    every = [c for _, _, cs, _ in sections for c in cs]
    if args.verdicts:
        write_json(args.verdicts, verdict_counts(sections))
    headline = counts(every)["decided"]
    print(f"report: {out / 'README.md'}: headline " + ", ".join(f"{n} {k}" for k, n in headline.items())
          + "; " + ", ".join(f"{sum(c.kind == k for c in every)} {k}" for k in CLASSES[1:]))


def source_commit() -> dict:
    """The commit the run's code came from, its date, and whether its code or configuration differed from it
    (git; results and reports are left out: the run itself rewrites them)."""
    def git(*args):
        done = subprocess.run(["git", *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None
    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": "unknown (not a git checkout)"}
    return {"commit": commit, "date": git("log", "-1", "--format=%cI", "HEAD"),
            "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS))}


def settings_hashes(folder: str | None) -> dict[str, str]:
    """experiment -> sha256 of its resolved settings as the stages ran them (validate's files)."""
    if not folder:
        return {}
    return {p.stem: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).glob("*.json"))}


def verdict_counts(sections) -> dict:
    """{"all": counts, <experiment id>: counts}: the headline (decided claims) by verdict, then every other
    class's size; small enough for `dvc exp show` to print."""
    def count(classified):
        by_class = counts(classified)
        return {**{k.replace(" ", "_"): n for k, n in by_class["decided"].items()},
                **{k.replace(" ", "_"): sum(by_class[k].values()) for k in CLASSES[1:]}}
    every = [c for _, _, cs, _ in sections for c in cs]
    return {"all": count(every), **{exp.id: count(cs) for exp, _, cs, _ in sections if cs}}


if __name__ == "__main__":
    # Not handed to the warm-start server (warm.py): the report imports no torch, so a fork of the server buys
    # nothing, and as the study's last stage it would start one for nothing. Under DVC, in the study's clone,
    # no server running: 6.1 and 4.9 s this way, 8.4 and 7.4 s warm-capable (docs/budgets.md, fourth session).
    main_with_config_errors(main)
