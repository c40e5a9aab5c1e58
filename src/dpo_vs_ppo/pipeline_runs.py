"""The run list (``experiments/runs.yaml``), loaded strictly: every run's experiment exists and is of its
stage, every input names a run that comes before it, every seed list is one of params.yaml's. The validate
stage checks it with the experiment files; ``pipeline.py`` writes dvc.yaml from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import ConfigError, read_yaml_mapping

STAGES = ("sft", "reward", "dpo", "ppo", "dpo_iter", "best_of_n")
#: Rewards that are no run's checkpoint: the code task's sandbox tests, and the evaluation's reward scorer
#: (``gold``: the gold-reward PPO of issue [I] item 5; the gold helpfulness at tiny scale).
SCORER_REWARDS = ("tests", "gold")
#: Run stages that train nothing and run in one process, as the evaluation stages do: never a multi-GPU launch.
UNLAUNCHED = ("best_of_n",)
FAMILIES = ("dialogue", "code")
SEED_LISTS = ("seeds", "ablation_seeds")
#: Which runs may read a seeded run: its own seed list, and the one-seed ablations may read a headline run's
#: same seed (params.yaml's ablation_seeds are among its seeds; config.py checks it).
READERS = {"seeds": ("seeds", "ablation_seeds"), "ablation_seeds": ("ablation_seeds",)}
RECORD_OPTIONS = ("train", "test", "prompts")
INPUT_OPTIONS = ("init", "policy", "reward", "value_init")
FLAGS = ("chosen_of_pairs", "solutions_of_problems", "solution_pairs")
RUN_KEYS = ("stage", "experiment", "family", "seeds", "round", "evaluate", *RECORD_OPTIONS, *INPUT_OPTIONS, *FLAGS)


@dataclass(frozen=True)
class Run:
    """One training run of the study (see the key list at the top of runs.yaml)."""

    stage: str
    experiment: str
    family: str = "dialogue"
    seeds: str = ""
    round: int = 0
    records: dict[str, list[str]] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    evaluate: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluationSet:
    stage: str
    prompts: str = ""
    baseline: str = ""
    learned_reward: str = ""
    """A reward run whose score of every policy's answers is reported (``learned_score``), beside each
    policy's KL to the SFT run it started from (``kl_to_sft``)."""
    apps: str = ""
    contests: str = ""


@dataclass(frozen=True)
class RunList:
    runs: dict[str, Run]
    evaluation_sets: dict[str, EvaluationSet]
    judges: dict[str, tuple[str, str]]
    report: tuple[str, ...]

    def sft_of(self, run_id: str) -> str:
        """The SFT run a run started from (itself for an SFT run), through its ``init`` or ``policy``."""
        run = self.runs[run_id]
        while run.stage != "sft":
            run_id = run.inputs.get("init") or run.inputs["policy"]
            run = self.runs[run_id]
        return run_id


def load_runs(path: str | Path) -> RunList:
    path = Path(path)
    data = read_yaml_mapping(path)
    for key in data:
        if key not in ("runs", "evaluation_sets", "judges", "report"):
            raise ConfigError(path, key, "unknown key (expected runs, evaluation_sets, judges, report)")
    sets = {name: _evaluation_set(path, name, spec) for name, spec in (data.get("evaluation_sets") or {}).items()}
    runs: dict[str, Run] = {}
    for run_id, entry in (data.get("runs") or {}).items():
        runs[run_id] = _run(path, run_id, entry or {}, runs, sets)
    judges = {name: tuple(pair) for name, pair in (data.get("judges") or {}).items()}
    evaluated = {run_id.rsplit("/", 1)[1] for run_id, run in runs.items() if "hh" in run.evaluate} | {"chosen"}
    for name, pair in judges.items():
        if len(pair) != 2 or not set(pair) <= evaluated:
            raise ConfigError(path, f"judges.{name}", f"needs two of the hh evaluation's policies or chosen, got {pair}")
    for name, spec in sets.items():
        if spec.learned_reward and spec.learned_reward not in runs:
            raise ConfigError(path, f"evaluation_sets.{name}.learned_reward", f"{spec.learned_reward!r} is not a run")
    report = tuple(data.get("report") or ())
    for section in report:
        if not (path.parent / f"{section}.yaml").is_file():
            raise ConfigError(path, "report", f"no experiment file {section}.yaml")
    return RunList(runs, sets, judges, report)


def _evaluation_set(path: Path, name: str, spec: dict) -> EvaluationSet:
    try:
        out = EvaluationSet(**spec)
    except TypeError as err:
        raise ConfigError(path, f"evaluation_sets.{name}", str(err)) from None
    if out.stage not in ("evaluate_policy", "evaluate_code_policy"):
        raise ConfigError(path, f"evaluation_sets.{name}.stage", "must be evaluate_policy or evaluate_code_policy")
    return out


def _run(path: Path, run_id: str, entry: dict, earlier: dict[str, Run], sets: dict) -> Run:
    def fail(key, message):
        raise ConfigError(path, f"runs.{run_id}.{key}" if key else f"runs.{run_id}", message)
    if run_id.count("/") != 1:
        fail("", "a run id is <task>/<name>")
    for key in entry:
        if key not in RUN_KEYS:
            fail(key, f"unknown key (expected one of: {', '.join(RUN_KEYS)})")
    if entry.get("stage") not in STAGES:
        fail("stage", f"must be one of {', '.join(STAGES)}")
    experiment = path.parent / f"{entry.get('experiment')}.yaml"
    if not experiment.is_file():
        fail("experiment", f"no experiment file {experiment}")
    if read_yaml_mapping(experiment).get("stage") not in (None, entry["stage"]):
        fail("experiment", f"{experiment.name} is not a {entry['stage']} experiment")
    if entry.get("family", "dialogue") not in FAMILIES or entry.get("seeds", "seeds") not in SEED_LISTS:
        fail("family", f"family must be one of {FAMILIES}, seeds one of {SEED_LISTS}")
    inputs = {k: entry[k] for k in INPUT_OPTIONS if k in entry}
    for key, ref in inputs.items():
        if key == "reward" and ref in SCORER_REWARDS:
            if ref != "tests" and entry.get("stage") != "ppo":
                fail(key, f"{ref} is a reward for PPO only")
            continue
        if ref not in earlier:
            fail(key, f"{ref!r} is not a run listed before this one")
        if earlier[ref].seeds and entry.get("seeds") not in READERS[earlier[ref].seeds]:
            fail(key, f"{ref!r} runs over {earlier[ref].seeds}; a run reading it must run over "
                      f"{' or '.join(READERS[earlier[ref].seeds])}")
    evaluate = dict(entry.get("evaluate") or {})
    for set_name, seed_list in evaluate.items():
        if set_name not in sets or seed_list not in SEED_LISTS:
            fail(f"evaluate.{set_name}", f"unknown set or seed list (sets: {', '.join(sets)})")
        if entry.get("seeds") and seed_list != entry["seeds"]:
            fail(f"evaluate.{set_name}", f"a run over {entry['seeds']} is evaluated over the same list")
    return Run(stage=entry["stage"], experiment=entry["experiment"], family=entry.get("family", "dialogue"),
               seeds=entry.get("seeds", ""), round=int(entry.get("round", 0)),
               records={k: list(entry[k]) for k in RECORD_OPTIONS if k in entry}, inputs=inputs,
               flags=tuple(k for k in FLAGS if entry.get(k)), evaluate=evaluate)
