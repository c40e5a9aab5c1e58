"""Claim verdicts: a metric, a rule from the experiment file, and the words 'reproduced',
'not reproduced' or 'inconclusive'. Every rule is stated in the report next to its verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..experiment import ClaimSpec
from .student_t import t_quantile

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"


@dataclass(frozen=True)
class Interval:
    """Mean of per-seed values with a two-sided Student-t interval (infinite with one seed)."""

    mean: float
    low: float
    high: float
    n: int


def t_interval(values: list[float], level: float) -> Interval:
    """mean +- t_{(1+level)/2, n-1} * s / sqrt(n): the interval over seeds the report shows."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return Interval(mean, -math.inf, math.inf, n)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile((1 + level) / 2, n - 1) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim."""

    claim: ClaimSpec
    verdict: str
    ours: str
    rule: str


def lookup(metrics: dict, path: str) -> Any:
    """Follow a dotted path into a metrics dict; KeyError names the missing part."""
    node: Any = metrics
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"metric {path!r} not found (stopped at {part!r})")
        node = node[part]
    return node


def judge(claim: ClaimSpec, metrics: dict, level: float) -> Verdict:
    """Apply the claim's rule to its metric."""
    value = lookup(metrics, claim.metric)
    if claim.rule == "equals":
        x = float(value)
        ok = abs(x - claim.target) <= claim.tolerance
        rule = f"reproduced if |{claim.metric} - {claim.target:g}| <= {claim.tolerance:g}, else not reproduced"
        return Verdict(claim, REPRODUCED if ok else NOT_REPRODUCED, format_value(value), rule)
    ci = t_interval(per_seed(value), level)
    if claim.rule == "equivalent":
        return _equivalent(claim, ci, level)
    above = claim.rule == "ci_above"
    side, other = ("above", "below") if above else ("below", "above")
    if ci.n < 2:  # one seed: no interval exists, so the single value decides and the rule says so
        rule = (f"one seed, no interval: reproduced if {claim.metric} is {side} {claim.target:g}, not reproduced if "
                f"{other}; a weaker test than the seeded tables'")
        low = high = ci.mean
    else:
        pct = f"{100 * level:g} %"
        rule = (f"reproduced if the {pct} interval of {claim.metric} over seeds lies wholly {side} {claim.target:g}; "
                f"not reproduced if wholly {other}; otherwise inconclusive")
        low, high = ci.low, ci.high
    if low > claim.target:
        verdict = REPRODUCED if above else NOT_REPRODUCED
    elif high < claim.target:
        verdict = NOT_REPRODUCED if above else REPRODUCED
    else:
        verdict = INCONCLUSIVE
    return Verdict(claim, verdict, format_interval(ci), rule)


def _equivalent(claim: ClaimSpec, ci: Interval, level: float) -> Verdict:
    """A "no change" claim: the interval inside target ± margin reproduces it, wholly outside refutes it
    (with one seed the value stands for the interval, as for the other rules)."""
    lo_edge, hi_edge = claim.target - claim.margin, claim.target + claim.margin
    low, high = (ci.mean, ci.mean) if ci.n < 2 else (ci.low, ci.high)
    if lo_edge <= low and high <= hi_edge:
        verdict = REPRODUCED
    elif high < lo_edge or low > hi_edge:
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    interval = "the value (one seed)" if ci.n < 2 else f"the {100 * level:g} % interval of {claim.metric} over seeds"
    rule = (f"no change: reproduced if {interval} lies within {claim.target:g} ± {claim.margin:g}; not reproduced "
            f"if wholly outside it; otherwise inconclusive")
    return Verdict(claim, verdict, format_interval(ci), rule)


def per_seed(value: Any) -> list[float]:
    """A metric's per-seed values (a plain number is one value)."""
    return [float(v) for v in (value["per_seed"] if isinstance(value, dict) else [value])]


def format_interval(ci: Interval) -> str:
    """'0.123 ± 0.045 (n=3)', or just the mean when one seed gives no interval."""
    if ci.n < 2:
        return f"{ci.mean:.3g} (n=1)"
    return f"{ci.mean:.3g} ± {(ci.high - ci.low) / 2:.2g} (n={ci.n})"


def format_value(value: Any, level: float = 0.95) -> str:
    """A metric as a report cell: booleans as yes/no, per-seed records as mean ± half-width."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and "per_seed" in value:
        return format_interval(t_interval([float(v) for v in value["per_seed"]], level))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "0" if value == 0 else f"{value:.4g}"
    return str(value)
