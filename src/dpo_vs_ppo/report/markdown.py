"""The markdown of ``reports/README.md``: a summary of verdicts, then one section per experiment."""

from __future__ import annotations

from ..config import StudyParams
from ..experiment import Experiment
from .verdicts import Verdict, format_value, lookup

#: An "ours" cell starting with this is text, not a metric path (e.g. "=not run" for a column we do not run).
LITERAL = "="

VERDICT_MARK = {"reproduced": "✅ reproduced", "not reproduced": "❌ not reproduced", "inconclusive": "❔ inconclusive"}


def _row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _table(header: list[str], rows: list[list]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def cell(metrics: dict, path: str, level: float) -> str:
    return path[len(LITERAL):] if path.startswith(LITERAL) else format_value(lookup(metrics, path), level)


def render_section(exp: Experiment, metrics: dict, verdicts: list[Verdict], level: float) -> list[str]:
    """One experiment: summary, the paper's table beside ours, claims with verdicts, details, figures."""
    spec = exp.report
    lines = [f"## {exp.title}", "", f"*{exp.paper_ref}* · experiment file `experiments/{exp.id}.yaml`", "",
             spec.summary.strip(), ""]
    header = ["", *(f"{c} (paper)" for c in spec.table.paper_columns), *(f"{c} (ours)" for c in spec.table.our_columns)]
    rows = [[r.label, *r.paper, *(cell(metrics, p, level) for p in r.ours)] for r in spec.table.rows]
    lines += _table(header, rows) + [""]
    lines += _table(["claim (paper)", "ours", "verdict", "rule"],
                    [[v.claim.text, v.ours, VERDICT_MARK[v.verdict], v.rule] for v in verdicts]) + [""]
    if spec.details:
        lines += _table(["check", "value"], [[f"`{p}`", format_value(lookup(metrics, p), level)] for p in spec.details])
        lines.append("")
    for fig in spec.figures:
        lines += [f"![{exp.title}]({fig.file})", "", f"*{fig.caption.strip()}*", ""]
    return lines


def render_report(params: StudyParams, sections: list[tuple[Experiment, dict, list[Verdict]]],
                  versions: dict[str, str]) -> str:
    """The whole report; deterministic for fixed inputs (no clock, no paths outside the repo)."""
    pct = f"{100 * params.confidence_level:g} %"
    lines = [
        "# Is DPO superior to PPO? Xu et al. (ICML 2024), rerun",
        "",
        "> Written by the `report` stage of `dvc repro` from `results/*/metrics.json` and the table specs in",
        "> `experiments/*.yaml`. Do not edit by hand; rerun the pipeline.",
        "",
        f"Profile **{params.profile}** · seeds {', '.join(map(str, params.seeds))} · cells with ± are mean ± half-width "
        f"of the {pct} Student-t interval over seeds · verdict rules are stated beside each verdict.",
        "",
        "## Summary",
        "",
    ]
    summary = [[exp.title.split(":")[0], v.claim.text, v.ours, VERDICT_MARK[v.verdict]]
               for exp, _, verdicts in sections for v in verdicts]
    counts = {k: sum(v.verdict == k for _, _, vs in sections for v in vs) for k in VERDICT_MARK}
    lines += [", ".join(f"{n} {k}" for k, n in counts.items()) + f" (of {sum(counts.values())} claims).", ""]
    lines += _table(["result", "claim", "ours", "verdict"], summary) + [""]
    for exp, metrics, verdicts in sections:
        lines += render_section(exp, metrics, verdicts, params.confidence_level)
    lines += ["## Provenance", "", *_table(["package", "version"], sorted(versions.items())), ""]
    return "\n".join(lines)
