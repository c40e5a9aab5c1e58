"""Real programs (issue 16): every correct program of the set passes and every wrong twin fails, in the
sandbox as root and as an ordinary user (each arm runs where this machine allows it), and the checker
rules of APPS and CodeContests, accepted variants and knowing deviations alike."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dpo_vs_ppo
from dpo_vs_ppo.evaluation import sandbox_checks as checks
from dpo_vs_ppo.evaluation.code_metrics import harness_of, judge_samples
from dpo_vs_ppo.evaluation.real_programs import all_problems, judge_all
from dpo_vs_ppo.evaluation.sandbox import Sandbox
from dpo_vs_ppo.records import to_plain
from dpo_vs_ppo.stages import evaluate_code

NOBODY = 65534
MODULES = ("typing", "collections", "heapq", "bisect", "itertools", "functools", "math", "fractions", "decimal",
           "datetime", "re", "string", "threading", "numpy")


def test_the_set_is_a_few_dozen_problems_in_every_style_and_module():
    problems = all_problems()
    code = "".join(p.correct for p in problems)
    assert len(problems) >= 30 and len({p.name for p in problems}) == len(problems)
    assert {p.harness for p in problems} == {"apps", "code_contests"}
    assert sum(bool(p.fn_name) for p in problems) >= 10 and "class Solution" in code
    assert all(m in code for m in MODULES)
    assert all(p.correct != p.wrong for p in problems)
    assert {"token-wise", "float tolerance"} <= {v.split(" (")[0].split(" across")[0] for v in
                                                 (p.accepted_variant for p in problems) if v}


def _assert_all_judged_right(report: dict) -> None:
    assert report["misjudged"] == []
    assert report["correct_passed"] == report["wrong_failed"] == report["problems"]


def test_every_correct_program_passes_and_every_wrong_one_fails_as_this_user():
    """As root (CI) this is the root arm: programs drop to the sandbox uid, Python under a 0700 home."""
    with Sandbox(workers=2) as box:
        report = judge_all(box)
    _assert_all_judged_right(report)
    _assert_uid_layer_reported(report["isolation"])


def _assert_uid_layer_reported(isolation: dict) -> None:
    """As root the uid layer is on, or off with its reason (tests/test_sandbox_os.py checks it is on
    wherever it can work); as an ordinary user it is off, and the report says why."""
    assert isolation["own_uid"] or "own_uid off" in isolation["notes"][0]
    assert isolation["own_uid"] is False or os.geteuid() == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="the test above already ran as an ordinary user")
def test_every_correct_program_passes_and_every_wrong_one_fails_as_an_ordinary_user():
    """The harness itself run by an ordinary user (nobody). Python and this checkout are made visible to
    it the way the sandbox does it for its uid, since Python here may sit under a 0700 home."""
    package_root = str(Path(dpo_vs_ppo.__file__).resolve().parents[1])
    launch = ("import os, sys\n"
              "from dpo_vs_ppo.evaluation import sandbox_os\n"
              f"why = sandbox_os.reveal([sys.prefix, sys.base_prefix, {package_root!r}])\n"
              "sys.exit(77) if why else None\n"
              f"os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})\n"
              "os.execv(sys.executable, [sys.executable, '-m', 'dpo_vs_ppo.evaluation.real_programs'])\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "HF_HUB_OFFLINE": "1",
           **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}  # the same package as this test's
    proc = subprocess.run([sys.executable, "-c", launch], capture_output=True, text=True, env=env, cwd="/tmp",
                          timeout=120)
    if proc.returncode == 77:
        pytest.skip("this machine cannot make Python visible to another user (no mount namespace)")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    _assert_all_judged_right(report)
    assert report["isolation"]["own_uid"] is False and "not root" in report["isolation"]["notes"][0]


def test_code_metrics_judges_each_problem_under_its_datasets_harness():
    problems = {p.name: p.as_code_problem() for p in all_problems()}
    assert harness_of(problems["gcd_needs_its_import"]) == "code_contests"
    assert harness_of(problems["two_sum"]) == "apps"
    with Sandbox(workers=1) as box:
        gcd = problems["gcd_needs_its_import"]
        outcome = judge_samples(box, gcd, [gcd.solutions[0].code, gcd.incorrect_solutions[0].code])
    assert (outcome.correct, outcome.failures) == (1, {"runtime_error": 1})


@pytest.mark.parametrize("expected, got", [
    ("1 3 6 10\n", "1 3 6 10"),               # trailing newline
    ("ad\nbe\n", "\n  ad  \n\nbe\n\n"),        # stripped lines, blank lines dropped
    ("1 3 6 10\n", "1  3 6\t10 \n"),           # token-wise within a line
    ("3.333333\n", "3.3333333333\n"),         # np.allclose's tolerance
    ("-2.0\n", "-2.0000000000000004\n"),
    ("3\n", "3.0\n"),
    ("0.3333333\n", "0.333\n"),               # APPS' last try: equal after rounding to 3 decimals
])
def test_apps_checker_accepts_what_apps_accepts(expected, got):
    assert checks.apps_outputs_match(expected, got)


@pytest.mark.parametrize("expected, got", [
    ("1 2 3\n", "1\n2\n3\n"),                 # APPS keeps lines (CodeContests does not)
    ("1 2 3\n", "3 2 1\n"),                   # DEVIATION: APPS' set comparison would accept the reverse
    ("1000000001\n", "1000000002\n"),         # DEVIATION: np.allclose would accept, integers compare exactly
    ("2.68\n", "2.67\n"),
    ("5/6\n", "0.8333\n"),
    ("yes\n", "YES\n"),
])
def test_apps_checker_rejects(expected, got):
    assert not checks.apps_outputs_match(expected, got)


def test_code_contests_checker_is_token_wise_with_a_float_tolerance():
    assert checks.contests_outputs_match("1 2 3\n", "1\n2\n3\n")
    assert checks.contests_outputs_match("3.141593\n", "3.141592654\n")
    assert not checks.contests_outputs_match("3.141593\n", "3.140000\n")
    assert not checks.contests_outputs_match("1 2 3\n", "1 2\n")
    assert not checks.contests_outputs_match("100\n", "101\n")
    assert checks.contests_outputs_match("YES\n", "yes\n")  # the tester lowercases every token
    assert not checks.contests_outputs_match("1000000.5\n", "1000000.50002\n")  # 1e-5 absolute, not relative


def test_call_based_results_compare_as_apps_does():
    assert checks.json_outputs_match("[[1, 9]]", "[1, 9]")      # a returned tuple is a list; one-element unwrap
    assert checks.json_outputs_match("[true]", "true")
    assert not checks.json_outputs_match("[1, 2]", "1")          # DEVIATION: no first-element match of longer lists
    assert not checks.json_outputs_match("[[1, 9]]", "[9, 1]")
    assert not checks.json_outputs_match("[1]", "not json")


def test_the_apps_preamble_is_apps_import_block():
    namespace: dict = {}
    exec(checks.APPS_PREAMBLE, namespace)  # noqa: S102 - our own constant
    for name in ("List", "Tuple", "Counter", "deque", "defaultdict", "ChainMap", "OrderedDict", "lru_cache", "np",
                 "heappush", "heapify", "fractions", "gcd", "log2", "accumulate", "permutations", "sqrt"):
        assert name in namespace, name
    assert "Fraction" not in namespace  # APPS' block says `import fractions`, not `from fractions import Fraction`



def test_the_code_stage_scores_real_programs_and_records_the_isolation_report(tmp_path, repo):
    """evaluate_code on real problems of both datasets: correct samples pass, wrong ones fail, and run.json
    keeps the sandbox's isolation report, with which layers are on and the notes on any that is off."""
    picked = [p for p in all_problems() if p.name in ("two_sum", "huffman_cost", "gcd_needs_its_import")]
    (tmp_path / "problems.jsonl").write_text("".join(json.dumps(to_plain(p.as_code_problem())) + "\n" for p in picked))
    samples = [{"prompt_id": p.name, "prompt": "", "responses": [p.correct, p.wrong]} for p in picked]
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    (tmp_path / "params.yaml").write_text("profile: tiny\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    evaluate_code.main(["--params", str(tmp_path / "params.yaml"), "--experiment", str(repo / "experiments/evaluate_code.yaml"),
                        "--samples", str(tmp_path / "samples.jsonl"), "--problems", str(tmp_path / "problems.jsonl"),
                        "--outcomes", str(tmp_path / "outcomes.jsonl"), "--metrics", str(tmp_path / "m.json"),
                        "--run-info", str(tmp_path / "run.json")])
    outcomes = [json.loads(line) for line in (tmp_path / "outcomes.jsonl").read_text().splitlines()]
    assert [(o["problem_id"], o["correct"]) for o in outcomes] == [(p.name, 1) for p in picked]
    isolation = json.loads((tmp_path / "run.json").read_text())["sandbox_isolation"]
    assert {"own_uid", "uid", "uids", "python_visible", "network_namespace", "notes"} <= set(isolation)
    assert isolation["audit_hook"] is True
    _assert_uid_layer_reported(isolation)
