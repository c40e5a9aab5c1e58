"""repro.py's planner: the critical path it ranks ready stages by, against a brute-force longest path, and the
measured walls it takes its estimates from (study_budget.py writes them)."""

import random

from dpo_vs_ppo.benchmarks.study_budget import write_estimates
from dpo_vs_ppo.repro import Plan, load_estimates


def longest_path(plan: Plan, stage: str, seconds: dict[str, float]) -> float:
    """Every path from ``stage`` through the stages waiting on it, walked one by one (exponential, fine here)."""
    waiting = [s for s in plan.order if stage in plan.needs[s]]
    return seconds[stage] + max((longest_path(plan, w, seconds) for w in waiting), default=0.0)


def random_plan(rng: random.Random, n: int) -> Plan:
    order = [f"s{i}" for i in range(n)]
    return Plan(order, {s: {order[j] for j in range(i) if rng.random() < 0.3} for i, s in enumerate(order)})


def test_priority_is_the_longest_chain_of_estimated_seconds_waiting_on_each_stage():
    rng = random.Random(0)
    for _ in range(20):
        plan = random_plan(rng, 9)
        seconds = {s: rng.uniform(1, 100) for s in plan.order}
        rank = plan.priority(seconds)
        assert all(abs(rank[s] - longest_path(plan, s, seconds)) < 1e-9 for s in plan.order)


def test_a_long_stage_few_wait_on_outranks_a_short_chain_many_wait_on():
    # Figure 1's case: a 160 s stage that only the report waits on, beside a chain of short stages.
    plan = Plan(["figure1", "a", "b", "c", "report"],
                {"figure1": set(), "a": set(), "b": {"a"}, "c": {"b"}, "report": {"figure1", "c"}})
    rank = plan.priority({"figure1": 160.0, "a": 5.0, "b": 5.0, "c": 5.0, "report": 10.0})
    assert rank["figure1"] == 170.0 and rank["a"] == 25.0
    assert plan.priority()["a"] > plan.priority()["figure1"]  # without estimates: the longest chain in stages


def test_a_stage_without_an_estimate_counts_the_median_one():
    plan = Plan(["a", "b", "new"], {"a": set(), "b": set(), "new": set()})
    assert plan.priority({"a": 1.0, "b": 9.0, "gone": 5.0})["new"] == 9.0  # the (upper) median of the planned stages


def test_measured_walls_merge_into_the_estimates(tmp_path):
    path = tmp_path / "stage_seconds.csv"
    assert load_estimates(path) == {}
    write_estimates([("table2", 2.44, 900.0), ("figure1", 158.7, 1100.0)], path)
    write_estimates([("table2", 3.0, 900.0)], path)  # a later run that reran only table2
    assert load_estimates(path) == {"figure1": 158.7, "table2": 3.0}
    assert path.read_text().splitlines() == ["stage,seconds", "figure1,158.7", "table2,3.0"]
