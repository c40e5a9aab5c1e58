"""Verdict classes: which claims the study can decide, and which it reports without counting them.

Every claim gets a verdict by its rule (verdicts.py); its class says whether that verdict is evidence:

* decided: the claim's seeds meet its file's ``min_seeds`` and nothing below applies; only these are the
  headline count;
* analytic: an identity computed exactly (Table 1), counted apart;
* shared: the same per-seed numbers (not all equal), rule and target as a claim before it; counted once,
  there;
* out of regime: a precondition it requires failed: the tiny analog does not start where the paper does;
* untestable: the metric it rests on has one value in every row and seed of its table, or in every seed of
  the two rows its contrast compares, so the claim's effect cannot show (e.g. a safety rate already 1.0
  before and after a filter: an interval of 0 ± 0 is a ceiling, not evidence);
* exploratory: fewer seeds than the file asks for, so one sign or a wide interval decides it.

Beside each, the seeds a power calculation asks for: from this run's spread (the pilot) and effect, the n at
which a two-sided test at the report's level has 80 % power, ((z_a + z_b) * sd / |mean - target|)^2; for a
"no change" claim, with margin - |mean - target| in the denominator (the interval must fit inside the margin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..experiment import ClaimSpec, Experiment
from .student_t import t_quantile
from .verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Verdict, judge, lookup, per_seed

DECIDED, ANALYTIC, SHARED, OUT_OF_REGIME, UNTESTABLE, EXPLORATORY = (
    "decided", "analytic", "shared", "out of regime", "untestable", "exploratory")
CLASSES = (DECIDED, ANALYTIC, SHARED, OUT_OF_REGIME, UNTESTABLE, EXPLORATORY)
#: Power the seed calculation aims for.
POWER = 0.8


@dataclass(frozen=True)
class Classified:
    """A verdict, its class, why, and the seeds a power calculation asks for ('' when it cannot say)."""

    verdict: Verdict
    kind: str
    why: str
    seeds_needed: str


def base_metric(metrics: dict, path: str) -> str | None:
    """The row metric a claim's path rests on: ``rows.<row>.<m>`` -> m; a contrast names its own."""
    parts = path.split(".")
    if parts[0] == "rows" and len(parts) >= 3:
        return ".".join(parts[2:])
    if parts[0] == "contrasts" and len(parts) >= 2:
        record = lookup(metrics, ".".join(parts[:2]))
        return record.get("metric") if isinstance(record, dict) else None
    return None


def constant_in_every_row(metrics: dict, metric: str) -> bool:
    """True if ``metric`` takes one value over every row and seed of the table (at least two values seen)."""
    values = [v for row in (metrics.get("rows") or {}).values() if isinstance(row, dict) and metric in row
              for v in per_seed(row[metric])]
    return len(values) > 1 and len(set(values)) == 1


def constant_in_compared_rows(metrics: dict, path: str) -> float | None:
    """The one value a contrast's metric takes in every seed of both rows it compares (None otherwise)."""
    parts = path.split(".")
    record = lookup(metrics, ".".join(parts[:2])) if parts[0] == "contrasts" and len(parts) >= 2 else None
    if not isinstance(record, dict) or not {"a", "b", "metric"} <= set(record):
        return None
    rows = metrics.get("rows") or {}
    values = [v for name in (record["a"], record["b"]) for v in per_seed((rows.get(name) or {}).get(record["metric"], {}))]
    return values[0] if len(values) > 1 and len(set(values)) == 1 else None


def seeds_needed(claim: ClaimSpec, values: list[float], level: float) -> str:
    """n for POWER at the observed effect and spread; '' with one seed, no spread, or no effect. For a
    "no change" claim the effect is the room between the observed change and the margin ('' when the
    observed change is already outside it: no n shows equivalence then)."""
    if claim.rule not in ("ci_above", "ci_below", "equivalent") or len(values) < 2:
        return ""
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    effect = abs(mean - claim.target)
    if claim.rule == "equivalent":
        effect = claim.margin - effect
    if sd == 0 or effect <= 0:
        return ""
    z = t_quantile((1 + level) / 2, 10**6) + t_quantile(POWER, 10**6)  # normal quantiles
    return str(max(2, math.ceil((z * sd / effect) ** 2)))


def preconditions(exp: Experiment, metrics: dict, level: float) -> list[Verdict]:
    """Each precondition of the file, judged like a claim (reproduced = met)."""
    return [judge(p, metrics, level) for p in exp.report.preconditions]


def classify(exp: Experiment, metrics: dict, verdicts: list[Verdict], conditions: list[Verdict], level: float,
             seen: dict) -> list[Classified]:
    """The class of each verdict of ``exp``; ``seen`` (evidence -> claim name) carries across experiments."""
    failed = {v.claim.id for v in conditions if v.verdict != REPRODUCED}
    out = []
    for v in verdicts:
        claim = v.claim
        value = lookup(metrics, claim.metric)
        values = per_seed(value) if claim.rule != "equals" or isinstance(value, dict) else [value]
        evidence = (tuple(values), claim.rule, claim.target)
        shareable = claim.rule != "equals" and len(set(values)) > 1  # a constant vector (all 0) names no evidence
        metric = base_metric(metrics, claim.metric)
        needs = failed & set(claim.requires)
        if claim.evidence == "analytic":
            kind, why = ANALYTIC, "an identity computed exactly"
        elif shareable and evidence in seen:
            kind, why = SHARED, f"the same numbers as {seen[evidence]}"
        elif needs:
            kind, why = OUT_OF_REGIME, f"precondition {', '.join(sorted(needs))} not met"
        elif metric and constant_in_every_row(metrics, metric):
            kind, why = UNTESTABLE, f"{metric} has one value in every row and seed"
        elif (bound := constant_in_compared_rows(metrics, claim.metric)) is not None:
            kind, why = UNTESTABLE, f"{metric} is {bound:g} in every seed of both rows compared"
        elif len(values) < exp.report.min_seeds:
            kind, why = EXPLORATORY, f"{len(values)} seed(s); the file asks for {exp.report.min_seeds}"
        else:
            kind, why = DECIDED, f"{len(values)} seeds"
        if shareable:
            seen.setdefault(evidence, f"{exp.id}: {claim.id}")
        out.append(Classified(v, kind, why, seeds_needed(claim, values, level)))
    return out


def counts(classified: list[Classified]) -> dict[str, dict[str, int]]:
    """{class: {verdict: n}} over ``classified``, every class and verdict present (zeros included)."""
    verdicts = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
    return {k: {v: sum(c.kind == k and c.verdict.verdict == v for c in classified) for v in verdicts} for k in CLASSES}
