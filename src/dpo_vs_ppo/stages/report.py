"""Stage report: render reports/ (README.md, figures, results.json) from results files and the
experiment files' table specs only.

Each --experiment takes the experiment file and its results folder (holding metrics.json, run.json
and the data files its figures name), e.g. --experiment experiments/table1.yaml results/table1.
"""

from __future__ import annotations

from pathlib import Path

from ..config import ConfigError, load_params
from ..experiment import load_experiment
from ..records import read_json, write_json, write_text
from ..report.figures import FIGURES
from ..report.markdown import LITERAL, render_report
from ..report.verdicts import judge, lookup
from ._cli import main_with_config_errors, parser


NOT_RUN = "-"


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiment", required=True, nargs=2, action="append", metavar=("YAML", "RESULTS_DIR"),
                   help="an experiment file and its results folder ('-' for a result not run at this scale: the paper's "
                        "numbers only); repeat once per experiment, in report order")
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
        if results == NOT_RUN:
            if exp.report.claims or any(not c.startswith(LITERAL) for r in exp.report.table.rows for c in r.ours):
                raise ConfigError(exp_path, "report", 'a result not run has no claims and only literal cells ("=not run")')
            loaded.append((exp, {}, None))
            continue
        metrics = read_json(Path(results) / "metrics.json")
        cells = [p for r in exp.report.table.rows for p in r.ours if not p.startswith(LITERAL)]
        for path in [c.metric for c in exp.report.claims] + cells + list(exp.report.details):
            try:
                lookup(metrics, path)
            except KeyError as err:  # a spec naming a metric the stage never writes: fail before drawing
                raise ConfigError(exp_path, "report", f"{err.args[0]} in {Path(results) / 'metrics.json'}") from None
        for fig in exp.report.figures:
            if fig.kind not in FIGURES:
                raise ConfigError(exp_path, "report.figures", f"unknown figure kind {fig.kind!r} (known: {', '.join(FIGURES)})")
        loaded.append((exp, metrics, Path(results)))

    out = Path(args.out)
    sections, summary = [], {}
    for exp, metrics, results in loaded:
        verdicts = [judge(c, metrics, params.confidence_level) for c in exp.report.claims]
        sections.append((exp, metrics, verdicts))
        for fig in exp.report.figures:
            FIGURES[fig.kind](results / fig.data, out / fig.file, fig)
        summary[exp.id] = {"title": exp.title, "paper_ref": exp.paper_ref, "metrics": metrics,
                           "verdicts": {v.claim.id: {"verdict": v.verdict, "ours": v.ours, "rule": v.rule} for v in verdicts}}
    versions = read_json(next(r for _, _, r in loaded if r is not None) / "run.json")["versions"]
    write_text(out / "README.md", render_report(params, sections, versions))
    write_json(out / "results.json", {"profile": params.profile, "seeds": list(params.seeds), "versions": versions,
                                      "experiments": summary})
    counts = [v.verdict for _, _, vs in sections for v in vs]
    if args.verdicts:
        write_json(args.verdicts, verdict_counts(sections))
    print(f"report: {out / 'README.md'}: " + ", ".join(f"{counts.count(k)} {k}" for k in ("reproduced", "not reproduced", "inconclusive")))


def verdict_counts(sections) -> dict:
    """{"all": counts, <experiment id>: counts} with counts {reproduced, not_reproduced, inconclusive}."""
    def count(verdicts):
        return {k.replace(" ", "_"): sum(v.verdict == k for v in verdicts)
                for k in ("reproduced", "not reproduced", "inconclusive")}
    every = [v for _, _, vs in sections for v in vs]
    return {"all": count(every), **{exp.id: count(vs) for exp, _, vs in sections if vs}}


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
