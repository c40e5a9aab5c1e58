"""Verdict classes (report/classes.py): only claims with enough seeds, a metric that can vary and their
preconditions met count in the headline; the same evidence counts once; the power calculation's seed count
gives the power it promises (checked by simulation); the 'no change' rule."""

import math

import numpy as np
import pytest

from dpo_vs_ppo.experiment import ClaimSpec, Experiment, PreconditionSpec, ReportSpec, TableSpec
from dpo_vs_ppo.report.classes import classify, preconditions, seeds_needed
from dpo_vs_ppo.report.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, judge


def claim(id, metric, rule="ci_above", target=0.0, **kw):
    return ClaimSpec(id=id, text=id, metric=metric, rule=rule, target=target, **kw)


def experiment(claims, conditions=(), min_seeds=3, id="t"):
    report = ReportSpec(summary="", table=TableSpec((), (), ()), claims=tuple(claims),
                        preconditions=tuple(conditions), min_seeds=min_seeds)
    return Experiment(id=id, title=id, paper_ref="", stage="table", settings=None, report=report, profile="tiny",
                      files=())


def seeded(*values):
    return {"per_seed": list(values)}


METRICS = {
    "rows": {"a": {"safety_rate": seeded(1.0, 1.0, 1.0), "help": seeded(1.0, 2.0, 3.0)},
             "b": {"safety_rate": seeded(1.0, 1.0, 1.0), "help": seeded(0.0, 0.5, 0.2)}},
    "contrasts": {"safety": {**seeded(0.0, 0.0, 0.0), "metric": "safety_rate"},
                  "safety_again": {**seeded(0.0, 0.0, 0.0), "metric": "safety_rate"},
                  "help": {**seeded(1.0, 1.2, 1.1), "metric": "help"}},
    "one_seed": seeded(0.4),
    "exact_value": 0.4,
}


def classes(exp, metrics=METRICS, seen=None):
    verdicts = [judge(c, metrics, 0.95) for c in exp.report.claims]
    conditions = preconditions(exp, metrics, 0.95)
    return {c.verdict.claim.id: (c.kind, c.verdict.verdict)
            for c in classify(exp, metrics, verdicts, conditions, 0.95, {} if seen is None else seen)}


def test_each_class():
    unsafe = PreconditionSpec(id="sft_unsafe", text="", source="Table 2", metric="rows.a.safety_rate",
                              rule="ci_below", target=0.9)
    exp = experiment([claim("help", "contrasts.help"), claim("help_again", "contrasts.help"),
                      claim("safety", "contrasts.safety"), claim("safety_again", "contrasts.safety_again"),
                      claim("safety_needs", "rows.a.help", requires=("sft_unsafe",)),
                      claim("few", "one_seed"), claim("exact", "exact_value", rule="equals", target=0.4, evidence="analytic")],
                     [unsafe])
    got = classes(exp)
    assert got["help"] == ("decided", REPRODUCED)
    assert got["help_again"][0] == "shared"  # the same per-seed numbers, rule and target: counted once
    assert got["safety"][0] == "untestable"  # safety_rate is 1.0 in every row and seed
    assert got["safety_again"][0] == "untestable"  # all-zero contrasts are no shared evidence: zeros name no run
    assert got["safety_needs"][0] == "out of regime"  # SFT is never unsafe, so the claim's start is not the paper's
    assert got["few"][0] == "exploratory"
    assert got["exact"][0] == "analytic"


def test_a_contrast_between_rows_at_one_value_in_every_seed_is_untestable():
    metrics = {"rows": {"a": {"safety_rate": seeded(1.0, 1.0, 1.0)}, "b": {"safety_rate": seeded(1.0, 1.0, 1.0)},
                        "c": {"safety_rate": seeded(0.8, 0.9, 0.85)}},
               "contrasts": {"ceiling": {**seeded(0.0, 0.0, 0.0), "metric": "safety_rate", "a": "a", "b": "b"},
                             "moves": {**seeded(0.2, 0.1, 0.15), "metric": "safety_rate", "a": "a", "b": "c"}}}
    got = classes(experiment([claim("ceiling", "contrasts.ceiling"), claim("moves", "contrasts.moves")]), metrics)
    assert got["ceiling"] == ("untestable", INCONCLUSIVE)  # 0 ± 0 at the ceiling: no evidence either way
    assert got["moves"] == ("decided", REPRODUCED)  # the table's metric varies, and so do these two rows


def test_shared_evidence_is_counted_once_across_results():
    seen = {}
    classes(experiment([claim("help", "contrasts.help")], id="table2"), seen=seen)
    assert classes(experiment([claim("same", "contrasts.help")], id="table6"), seen=seen)["same"][0] == "shared"


def test_min_seeds_comes_from_the_file():
    assert classes(experiment([claim("help", "contrasts.help")], min_seeds=5))["help"][0] == "exploratory"


@pytest.mark.parametrize("values, expected", [
    ([0.01, -0.02, 0.0, 0.01], REPRODUCED),       # inside ± 0.1
    ([0.5, 0.6, 0.55], NOT_REPRODUCED),           # wholly above 0.1
    ([0.0, 0.2, 0.1, 0.15], INCONCLUSIVE),        # across the edge
    ([0.05], REPRODUCED),                         # one seed: the value stands for the interval
])
def test_the_no_change_rule(values, expected):
    verdict = judge(claim("same", "m", rule="equivalent", margin=0.1), {"m": seeded(*values)}, 0.95)
    assert verdict.verdict == expected and "± 0.1" in verdict.rule


def test_the_seed_count_gives_the_promised_power():
    """Simulated: at the n the calculation asks for, the t interval excludes 0 in about 80 % of draws."""
    rng = np.random.default_rng(0)
    effect, sd = 0.5, 1.0
    draws = rng.normal(0, 1, 400)
    pilot = list((draws - draws.mean()) / draws.std(ddof=1) * sd + effect)  # a pilot whose spread and effect are the truth
    n = int(seeds_needed(claim("c", "m"), pilot, 0.95))
    assert n == math.ceil(((1.959964 + 0.841621) * sd / effect) ** 2) == 32
    hits = 0
    for _ in range(2000):
        sample = rng.normal(effect, sd, n)
        hits += judge(claim("c", "m"), {"m": seeded(*sample)}, 0.95).verdict == REPRODUCED
    assert 0.72 <= hits / 2000 <= 0.86  # z-based n with a t interval: a little under 80 %


def test_the_no_change_seed_count_fits_the_interval_inside_the_margin():
    """Simulated like the test above: a true change of 0.1 inside a margin of 0.6 (room 0.5, sd 1.0)."""
    rng = np.random.default_rng(1)
    same = claim("same", "m", rule="equivalent", margin=0.6)
    draws = rng.normal(0, 1, 400)
    pilot = list((draws - draws.mean()) / draws.std(ddof=1) + 0.1)
    n = int(seeds_needed(same, pilot, 0.95))
    assert n == 32  # the room 0.5 plays the effect's part
    hits = sum(judge(same, {"m": seeded(*rng.normal(0.1, 1.0, n))}, 0.95).verdict == REPRODUCED
               for _ in range(2000))
    assert 0.70 <= hits / 2000 <= 0.86  # measured 0.78: z-based n with a t interval, as above
    assert seeds_needed(same, [0.7, 0.8, 0.9], 0.95) == ""  # already outside the margin: no n shows "no change"
