"""Back-of-envelope GPU cost of a stage at the paper's scale, from its resolved settings.

The paper gives no hardware or run times (it reports neither), so these are estimates, not
measurements: FLOPs from the standard 2N (forward) / 6N (forward + backward) per token rule for a model of
N parameters (Kaplan et al. 2020, https://arxiv.org/abs/2001.08361), the token counts implied by each
stage's settings and its dataset's size, and an assumed A100-80GB throughput. Sampling is counted at a
much lower utilisation than training, because decoding one token at a time is memory-bound.
Every stage is costed as if run from scratch; at smoke and tiny scale the figures are meaningless.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import PurePath

from .launch import option_value
from .pipeline_runs import SCORER_REWARDS

#: Parameters of the paper's models (Llama-2-7B for dialogue, CodeLlama-34B for code; Secs. 5-6).
PARAMETERS = {"dialogue": 6.74e9, "code": 33.7e9}
#: A100-80GB dense bf16 peak, and the fractions of it we assume for training and for sampling.
PEAK_FLOPS, TRAIN_UTILISATION, SAMPLE_UTILISATION = 312e12, 0.40, 0.05
ASSUMPTIONS = "A100-80GB, 40 % of bf16 peak training, 5 % sampling; 6N/2N FLOPs per token"
#: Rows of each record file at paper scale: approximate train/test sizes from the datasets' hub cards
#: (not checked offline: our machines cannot reach the hub). Keys are the record files' stems.
PAPER_ROWS = {
    "sft_alpaca": 52_002, "sft_safe": 27_000, "pairs_saferlhf_train": 27_000, "pairs_saferlhf_test": 3_000,
    "pairs_hh_train": 160_800, "pairs_hh_test": 8_552, "pairs_hh_helpful_train": 43_835,
    "pairs_hh_helpful_test": 2_354, "apps_train": 5_000, "apps_test": 5_000,
    "code_contests_train": 13_328, "code_contests_valid": 117, "code_contests_test": 165,
}
#: Prompt tokens assumed per example (the paper truncates to the sequence length; prompts are ~half).
PROMPT_TOKENS = {"dialogue": 256, "code": 512}


@dataclass(frozen=True)
class Cost:
    """Estimated cost of one stage."""

    gpu_hours: float
    """A100-hours."""
    wall_hours: float
    """gpu_hours spread over ``gpus`` (perfect scaling assumed)."""
    gpus: int
    """GPUs the stage runs on: its accelerate config's ``num_processes``, else 1."""
    tokens: float
    """Tokens processed (trained on, scored or sampled)."""


def flatten(settings) -> dict:
    """A settings dataclass as one flat {leaf name: value} mapping (nested groups merged, outer wins)."""
    if settings is None:
        return {}
    def leaves(mapping: dict) -> dict:
        flat = {k: v for k, v in mapping.items() if not isinstance(v, dict)}
        for value in mapping.values():
            if isinstance(value, dict):
                flat = {**leaves(value), **flat}
        return flat
    return leaves(dataclasses.asdict(settings))


def _rows(args: list[str], flag_names: tuple[str, ...]) -> int:
    """Paper-scale rows of the record files given after any of ``flag_names`` (0 if none)."""
    total = 0
    for i, arg in enumerate(args[:-1]):
        if arg in flag_names:
            for value in args[i + 1:]:
                if value.startswith("--"):
                    break
                total += PAPER_ROWS.get(PurePath(value).stem, 0)
    return total


def _flops(stage: dict) -> tuple[float, float, float]:
    """(training FLOPs, sampling FLOPs, tokens) of one stage at its resolved settings."""
    n, s, args = PARAMETERS[stage["family"]], flatten(stage["settings"]), stage["args"]
    kind, prompt = stage["module"], PROMPT_TOKENS[stage["family"]]
    length = s.get("max_length", 2 * prompt)
    if kind == "sft":
        tokens = _rows(args, ("--train", "--solutions-of-problems", "--chosen-of-pairs")) * s["epochs"] * length
        return 6 * n * tokens, 0.0, tokens
    if kind in ("reward", "dpo"):
        tokens = 2 * _rows(args, ("--train", "--solution-pairs")) * s["epochs"] * length  # chosen and rejected
        return (6 if kind == "reward" else 8) * n * tokens, 0.0, tokens  # DPO adds the reference's forward
    scored_by_model = option_value(args, "--reward") not in SCORER_REWARDS  # the sandbox or a gold function
    if kind == "ppo":
        episodes = _rows(args, ("--prompts", "--problems")) * s["prompt_epochs"]
        seq = prompt + s["response_length"]
        # sample; forward policy, reference, value (and a reward model); train policy and value
        forwards = 4 if scored_by_model else 3
        train = episodes * seq * (forwards * 2 * n + 2 * 6 * n * s["ppo_epochs"])
        return train, episodes * s["response_length"] * 2 * n, episodes * seq
    if kind == "dpo_iter":
        prompts = s["prompts_per_round"] or _rows(args, ("--prompts", "--problems"))
        sampled = prompts * s["responses_per_prompt"] * s["max_new_tokens"]
        scoring = 2 * n * sampled if scored_by_model else 0.0
        train = 8 * n * 2 * prompts * s["epochs"] * length + scoring  # DPO on the pairs (+ the RM's scores)
        return train, 2 * n * sampled, sampled
    if kind in ("evaluate_policy", "evaluate_code_policy", "generate"):
        sample, sampled = _evaluation_sampling(stage, n)
        # evaluate_policy: the paper's reward and cost models (7B each) score prompt + response; a dialogue
        # prompt is about as long as its response (256 tokens each). Code is judged by the sandbox.
        scoring = 2 * 2 * n * 2 * sampled if kind == "evaluate_policy" else 0.0
        return scoring, sample, sampled
    return 0.0, 0.0, 0.0  # data, tables, report, judge (an API), the toy results: CPU only


def _evaluation_sampling(stage: dict, n: float) -> tuple[float, float]:
    """(sampling FLOPs, tokens sampled) of an evaluation: every seed's samples of every prompt set."""
    from .config import load_params
    from .experiment import load_experiment  # the generate settings live in their own experiment files
    args, total = stage["args"], 0.0
    seed_list = option_value(args, "--seed-list")  # the name of a params.yaml list: seeds or ablation_seeds
    seeds = len(getattr(load_params(option_value(args, "--params")), seed_list)) if seed_list else 1
    for flag, experiment in (("--prompts", "--generate-experiment"), ("--apps", "--apps-generate-experiment"),
                             ("--contests", "--contests-generate-experiment")):
        experiment_file = option_value(args, experiment)
        if experiment_file:
            g = load_experiment(experiment_file, stage["profile"]).settings
            prompts = _rows(args, (flag,)) if not g.max_prompts else min(g.max_prompts, _rows(args, (flag,)))
            total += seeds * prompts * g.responses_per_prompt * g.max_new_tokens
    return 2 * n * total, total


def estimate(stage: dict, gpus: int) -> Cost:
    """The :class:`Cost` of one resolved stage (see plan.resolve_stage) on ``gpus`` GPUs."""
    train, sample, tokens = _flops(stage)
    gpu_hours = (train / (PEAK_FLOPS * TRAIN_UTILISATION) + sample / (PEAK_FLOPS * SAMPLE_UTILISATION)) / 3600
    return Cost(gpu_hours=gpu_hours, wall_hours=gpu_hours / gpus, gpus=gpus, tokens=tokens)
