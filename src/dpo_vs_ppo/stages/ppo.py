"""Stage ppo: PPO from an SFT checkpoint (TRL PPOTrainer, with the paper's three factors and settings
added in trl_bridge.py), rewarded by a learned reward model (dialogue) or by running the sampled program
on its problem's training tests in the sandbox (code, ``--reward tests``: 10 if all pass, else 0), or, as
a reference point for over-optimisation, by the evaluation's own reward scorer (``--reward gold
--gold-experiment``: the gold helpfulness at tiny scale, the Beaver reward model at paper scale).

The value model starts from the reward model (DeepSpeed-Chat's choice; the paper, built on
DeepSpeed-Chat, does not say otherwise), or from ``--value-init`` for code; the reference is a frozen copy of the SFT policy, or its EMA.
Every ``save_every`` updates the stage saves a resume state under ``--resume-dir``; an interrupted run
(even ``kill -9``) continues from there on the next ``dvc repro`` (training/ppo_resume.py).
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack

from ..config import ConfigError
from ..experiment import load_experiment
from ..data.records import CodeProblem, PreferencePair, read_records
from ..pipeline_runs import SCORER_REWARDS
from ..records import to_plain
from ._cli import main_with_config_errors, parser
from ._training import add_training_arguments, load_training, seed_process

#: Above this size the EMA reference's distance from the SFT model is not logged (it needs a second fp32 copy).
DISTANCE_MAX_PARAMETERS = 50_000_000


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--prompts", required=True, metavar="JSONL",
                   help="preference pairs whose distinct prompts PPO samples, or code problems (with --reward tests)")
    p.add_argument("--policy", required=True, metavar="DIR", help="the SFT checkpoint: initial policy and reference")
    p.add_argument("--reward", required=True, metavar="DIR|" + "|".join(SCORER_REWARDS),
                   help="the reward-model checkpoint (also the value init); `tests`: the paper's code reward; "
                        "`gold`: the evaluation's reward scorer (--gold-experiment), the gold-reward PPO")
    p.add_argument("--gold-experiment", metavar="YAML",
                   help="with --reward gold: the evaluate_dialogue experiment whose reward scorer PPO optimises")
    p.add_argument("--value-init", metavar="DIR", help="the value model's initial checkpoint (default: --reward)")
    p.add_argument("--resume-dir", required=True, metavar="DIR", help="resume state (not a DVC output; removed at the end)")
    add_training_arguments(p, "ppo", "where to write the run summary (scores, KL, steps, factor switches)")
    args = p.parse_args(argv)
    if args.reward in SCORER_REWARDS and not args.value_init:
        p.error(f"--reward {args.reward} needs --value-init (there is no reward model to start the value model from)")
    if (args.reward == "gold") != bool(args.gold_experiment):
        p.error("--gold-experiment goes with --reward gold, and only with it")
    launched = int(os.environ.get("WORLD_SIZE", "1"))  # accelerate's own count is checked in train()

    def splits(exp):
        if problem := exp.settings.split_problem(launched):
            raise ConfigError(args.experiment, "settings.rollout_batch_size", f"{problem} (at profile {exp.profile})")
    params, exp = load_training(args, "ppo", check=splits)
    gold = gold_scorer(args.gold_experiment, params.profile) if args.gold_experiment else None
    with ExitStack() as stack:
        train(args, params, exp, stack, gold)


def gold_scorer(path: str, profile: str):
    """A function that builds the evaluation's reward scorer at ``profile``, its config checked now (before torch)."""
    from ..evaluation.scorers import configured_scorer, scorer_model

    choice = load_experiment(path, profile, "evaluate_dialogue").settings.reward
    scorer_model(path, "settings.reward", choice, None)
    return lambda: configured_scorer(path, "settings.reward", choice, None)


def train(args, params, exp, stack: ExitStack, gold=None) -> None:
    # The training stack is imported only now, after the config check (stages/_cli.py).
    from .. import trl_bridge
    from ..evaluation.sandbox import Sandbox
    from ..models import load_policy, load_scalar_model
    from ..training.code_training import ProgramTestReward, problem_prompt
    from ..training.datasets import ppo_prompt_dataset, unique_prompts
    from ..training.ppo_resume import ResumeState, fingerprint
    from ..training.reference_ema import full_numel
    from ..training.run_records import loaded_as_shards, save_checkpoint, tokenizer_for, write_run_records
    from ..training.runtime import world_size
    from ..training.scorer_reward import ScorerReward

    seed_process(exp.settings.seed)

    s, start, world = exp.settings, time.perf_counter(), world_size()
    problems = read_records(args.prompts, CodeProblem) if args.reward == "tests" else None
    prompts = [problem_prompt(p) for p in problems] if problems else unique_prompts(read_records(args.prompts, PreferencePair))
    if len(prompts) < s.rollout_batch_size:  # TRL's drop_last loader would then yield nothing, forever
        raise ConfigError(args.experiment, "settings.rollout_batch_size", f"{s.rollout_batch_size} is more than the "
                          f"{len(prompts)} distinct prompts of {args.prompts}")
    tokenizer = tokenizer_for(args.models, padding_side="left")
    config = trl_bridge.ppo_config(s, args.out, world, len(prompts))  # before loading: ZeRO-3 loads shards
    policy, ref = load_policy(args.policy), load_policy(args.policy)
    dataset = ppo_prompt_dataset(prompts, tokenizer, policy.config.max_position_embeddings - s.response_length)
    scored = args.reward in SCORER_REWARDS  # no reward model: the sandbox or a gold function
    if problems:  # the sandbox lives as long as the training
        reward = ProgramTestReward(problems, dataset["input_ids"], tokenizer, stack.enter_context(Sandbox()))
    elif scored:
        reward = ScorerReward(gold(), dataset["input_ids"], prompts, tokenizer)
    else:
        reward = load_scalar_model(args.reward)
    rows: list[dict] = []
    log_distance = s.ref_ema and full_numel(ref) <= DISTANCE_MAX_PARAMETERS

    def on_update(trainer, row):
        if log_distance:
            row["ref/distance_from_sft"] = trainer.ref_ema.distance_from_start()
        rows.append(row)
        resume.note_wall_time()
        if row["update"] % s.save_every == 0 and row["update"] < trainer.total_updates:
            resume.save(row["update"], rows)

    value_init = args.value_init or args.reward
    value = load_scalar_model(value_init)
    loaded = loaded_as_shards(policy, ref, value, *([] if scored else [reward]))
    trainer = trl_bridge.ppo_trainer(s, policy, ref, reward, value, tokenizer, dataset, args.out, world, on_update,
                                     keep_reference_start=log_distance, config=config)
    trainer.total_updates = total = trainer.args.num_total_batches
    trainer.monitor = rollout_monitor(s, args.policy, prompts, dataset, tokenizer, trainer)
    inputs = [args.policy, value_init, args.prompts, args.models] + ([] if scored else [args.reward])
    resume = ResumeState(trainer, args.resume_dir, fingerprint({"settings": to_plain(s), "world": world}, inputs), start)
    done, rows[:] = resume.restore()
    trainer.update_offset = done
    if done < total:
        trainer.train(remaining_updates=total - done)
    # DEVIATION: the paper keeps the checkpoint with the best validation reward or pass@k (App. A.2); we keep
    # the last one: selecting on the evaluation set's metric needs the evaluation stages.
    save_checkpoint(trainer, tokenizer, args.out, part="policy")
    write_run_records(args, params, exp, trainer, rows, ppo_metrics(s, rows, len(prompts), done), start,
                      derived_sizes(trainer), attempts=resume.note_wall_time(),
                      extra={**loaded, "update_timings": trainer.update_timings})
    resume.discard()
    trainer.accelerator.print(f"ppo: {len(rows)} updates over {len(prompts)} prompts, score "
                              f"{rows[0]['objective/scores']:.3f} -> {rows[-1]['objective/scores']:.3f}"
                              + (f" (resumed after update {done})" if done else ""))


def rollout_monitor(s, policy_dir: str, prompts: list[str], dataset, tokenizer, trainer):
    """Issue [I] item 5's per-update gold scores and KL to the SFT policy, or None where the settings ask for
    neither. The SFT copy is the policy's starting checkpoint, loaded once more (skipped under DeepSpeed,
    whose sharded models this path has not been run with)."""
    from ..evaluation.scorers import make_scorer
    from ..models import load_policy
    from ..training.rollout_monitor import RolloutMonitor

    sft = None
    if s.log_kl_to_sft and not trainer.is_deepspeed_enabled:
        sft = load_policy(policy_dir).to(trainer.accelerator.device).eval()
    elif s.log_kl_to_sft:
        trainer.accelerator.print("ppo: log_kl_to_sft is skipped under DeepSpeed (not proven there)")
    if sft is None and not s.monitor_scorers:
        return None
    return RolloutMonitor(dataset["input_ids"], prompts, tokenizer,
                          {sid: make_scorer(sid) for sid in s.monitor_scorers}, sft, s.temperature)


def derived_sizes(trainer) -> dict:
    """TRL's batch arithmetic as it ran (rollout, minibatch and micro-batch sizes, updates, episodes)."""
    names = ("world_size", "batch_size", "local_batch_size", "mini_batch_size", "local_mini_batch_size",
             "micro_batch_size", "num_total_batches", "total_episodes", "gradient_accumulation_steps")
    return {**{k: getattr(trainer.args, k) for k in names},
            "accumulation_steps_per_optimizer_step": trainer.accelerator.gradient_accumulation_steps}


def ppo_metrics(s, rows: list[dict], prompts: int, resumed_from: int) -> dict:
    """Run summary: factor switches, sizes, and the score and KL at the start and the end (mean of a tenth)."""
    tenth = max(1, len(rows) // 10)

    def mean(key, part):
        values = [r[key] for r in part if r.get(key) is not None]
        return round(sum(values) / len(values), 4) if values else None
    first, last = rows[:tenth], rows[-tenth:]
    golds = sorted({key[len("gold/"):] for row in rows for key in row if key.startswith("gold/")})
    return {"whiten_advantages": s.whiten_advantages, "ref_ema": s.ref_ema, "ref_ema_eta": round(s.ema_eta(len(rows)), 8),
            "ref_ema_retain": s.ref_ema_retain,
            "rollout_batch_size": s.rollout_batch_size, "num_mini_batches": s.num_mini_batches, "prompts": prompts,
            "updates": len(rows), "optimizer_steps": sum(r["optimizer_steps"] for r in rows),
            "response_tokens": sum(r.get("response/tokens", 0) for r in rows),
            "score_first": mean("objective/scores", first), "score_last": mean("objective/scores", last),
            "kl_last": mean("objective/kl", last), "adv_std_used_last": mean("adv/std_used", last),
            "kl_to_sft_last": mean("kl_to_sft", last),
            **{f"{sid}_{part}": mean(f"gold/{sid}", span) for sid in golds
               for part, span in (("first", first), ("last", last))},
            "ref_distance_last": mean("ref/distance_from_sft", last), "resumed_from_update": resumed_from}


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
