"""The markdown of ``reports/README.md``: a summary of verdicts, then one section per experiment."""

from __future__ import annotations

from ..config import StudyParams
from ..experiment import Experiment
from .classes import CLASSES, Classified, counts
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


def render_section(exp: Experiment, metrics: dict, classified: list[Classified], conditions: list[Verdict],
                   level: float) -> list[str]:
    """One experiment: summary, the paper's table beside ours, preconditions, claims with verdicts and classes,
    details, figures."""
    spec = exp.report
    lines = [f"## {exp.title}", "", f"*{exp.paper_ref}* · experiment file `experiments/{exp.id}.yaml`", "",
             spec.summary.strip(), ""]
    header = ["", *(f"{c} (paper)" for c in spec.table.paper_columns), *(f"{c} (ours)" for c in spec.table.our_columns)]
    rows = [[r.label, *r.paper, *(cell(metrics, p, level) for p in r.ours)] for r in spec.table.rows]
    lines += _table(header, rows) + [""]
    if conditions:
        lines += _table(["precondition (the paper's starting point)", "source", "ours", "met?", "rule"],
                        [[v.claim.text, v.claim.source, v.ours, "yes" if v.verdict == "reproduced" else "**no**", v.rule]
                         for v in conditions]) + [""]
    if classified:
        lines += _table(["claim (paper)", "ours", "verdict", "class", "seeds for 80 % power", "rule"],
                        [[c.verdict.claim.text, c.verdict.ours, VERDICT_MARK[c.verdict.verdict], f"{c.kind}: {c.why}",
                          c.seeds_needed or "—", c.verdict.rule] for c in classified]) + [""]
    if spec.details:
        lines += _table(["check", "value"], [[f"`{p}`", format_value(lookup(metrics, p), level)] for p in spec.details])
        lines.append("")
    for fig in spec.figures:
        lines += [f"![{exp.title}]({fig.file})", "", f"*{fig.caption.strip()}*", ""]
    return lines


CLASS_MEANING = {
    "decided": "enough seeds, a testable metric, preconditions met: the headline",
    "analytic": "identities computed exactly (Table 1)",
    "shared": "the same numbers as an earlier claim, counted there",
    "out of regime": "a precondition failed: the tiny analog does not start where the paper does",
    "untestable": "the metric has one value in every row and seed (or in both rows a contrast compares)",
    "exploratory": "fewer seeds than the file asks for",
}


def render_report(params: StudyParams, sections: list[tuple[Experiment, dict, list[Classified], list[Verdict]]],
                  origin: dict) -> str:
    """The whole report; deterministic for fixed inputs (no clock, no paths outside the repo)."""
    pct = f"{100 * params.confidence_level:g} %"
    lines = [
        "# Is DPO superior to PPO? Xu et al. (ICML 2024), rerun",
        "",
        "> Written by the `report` stage of `dvc repro` from `results/*/metrics.json` and the table specs in",
        "> `experiments/*.yaml`. Do not edit by hand; rerun the pipeline.",
        "",
        f"Profile **{params.profile}** · seeds {', '.join(map(str, params.seeds))} (ablations: "
        f"{', '.join(map(str, params.ablation_seeds))}) · cells with ± are mean ± half-width "
        f"of the {pct} Student-t interval over seeds · verdict rules are stated beside each verdict.",
        "",
        f"Code: {code_line(origin['code'])} · versions, seed lists and each experiment's settings hash under "
        "[Provenance](#provenance).",
        "",
        "## Summary",
        "",
    ]
    every = [c for _, _, cs, _ in sections for c in cs]
    by_class = counts(every)
    headline = by_class["decided"]
    lines += [f"**Headline ({sum(headline.values())} decided claims):** "
              + ", ".join(f"{n} {k}" for k, n in headline.items()) + ".", ""]
    lines += _table(["class", "claims", "reproduced", "not reproduced", "inconclusive", "what it means"],
                    [[k, sum(by_class[k].values()), *by_class[k].values(), CLASS_MEANING[k]] for k in CLASSES])
    lines.append("")
    summary = [[exp.title.split(":")[0], c.verdict.claim.text, c.verdict.ours, VERDICT_MARK[c.verdict.verdict], c.kind]
               for exp, _, cs, _ in sections for c in cs]
    lines += _table(["result", "claim", "ours", "verdict", "class"], summary) + [""]
    for exp, metrics, classified, conditions in sections:
        lines += render_section(exp, metrics, classified, conditions, params.confidence_level)
    lines += ["## Provenance", "", f"Code: {code_line(origin['code'])}. Seeds: {origin['seeds']}; ablation seeds: "
              f"{origin['ablation_seeds']}.", "", *_table(["package", "version"], sorted(origin["versions"].items())), ""]
    if origin["settings_sha256"]:
        lines += ["Each experiment's settings as its stages ran them (resolved at this profile by the validate stage, "
                  "`artifacts/validated/settings/`), by sha256:", "",
                  *_table(["experiment", "settings sha256"], [[k, f"`{v[:16]}`"] for k, v in origin["settings_sha256"].items()]),
                  ""]
    return "\n".join(lines)


def code_line(code: dict) -> str:
    if "date" not in code:
        return code["commit"]
    dirty = ", with uncommitted changes" if code["uncommitted_changes"] else ""
    return f"commit `{code['commit'][:12]}` ({code['date'][:10]}{dirty})"
