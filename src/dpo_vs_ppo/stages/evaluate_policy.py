"""Stage evaluate_policy: sample one dialogue policy at every seed and score the samples (PAPER: Sec. 6).

The generate and evaluate_dialogue stages in one process, looped over the seeds params.yaml names
(``--seed-list``): the imports dominate a tiny evaluation, so one process per policy instead of two per
(policy, seed) saves minutes over the study. ``--policy`` is a checkpoint folder holding one checkpoint
per seed (``s<seed>/``, a seeded training run) or a single checkpoint (SFT, sampled once per seed).

Writes ``--samples-dir/s<seed>.jsonl`` (the judge and the ΔHelp of other policies read them), and one
metrics file with every seed's dialogue metrics and their means. With ``--kl-reference`` and
``--learned-reward`` (issue [I] items 3 and 5) each seed also gets ``kl_to_sft``, the policy's KL to the SFT
model it started from on its own answers, and ``learned_score``, the learned reward model's mean score of
them: the axes on which over-optimisation shows beside the gold scores.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..evaluation.dialogue_scoring import dialogue_scorers, score_samples, summary_line
from ..evaluation.samples import read_samples, write_samples
from ..evaluation.scorers import scorer_model
from ..evaluation.seeds import checkpoint_for, seed_summary
from ..experiment import load_experiment
from ..records import provenance, write_json, write_text
from ._cli import add_record_arguments, load, main_with_config_errors, parser
from ._training import with_seed


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--generate-experiment", required=True, metavar="YAML", help="an experiment file of stage 'generate'")
    p.add_argument("--experiment", required=True, metavar="YAML", help="an experiment file of stage 'evaluate_dialogue'")
    p.add_argument("--seed-list", required=True, choices=("seeds", "ablation_seeds"),
                   help="which params.yaml seed list to evaluate (the one the policy was trained over)")
    p.add_argument("--policy", required=True, metavar="DIR", help="checkpoint folder: s<seed>/ per seed, or one checkpoint")
    p.add_argument("--prompts", required=True, metavar="JSONL", help="preference-pair records whose prompts are answered")
    p.add_argument("--samples-dir", required=True, metavar="DIR", help="where to write s<seed>.jsonl and s<seed>_scores.jsonl")
    p.add_argument("--baseline-samples-dir", metavar="DIR", help="the baseline policy's samples folder (ΔHelp)")
    p.add_argument("--reward-model", metavar="DIR", help="folder of a learned reward model (scorer learned_reward)")
    p.add_argument("--kl-reference", metavar="DIR", help="the SFT checkpoint the policy started from (kl_to_sft)")
    p.add_argument("--learned-reward", metavar="DIR", help="the learned reward model the run optimised (learned_score)")
    add_record_arguments(p, "where to write every seed's dialogue metrics and their means")
    args = p.parse_args(argv)
    params, evaluate = load(args.params, args.experiment, "evaluate_dialogue")
    generate = load_experiment(args.generate_experiment, params.profile, "generate")
    seeds = getattr(params, args.seed_list)
    checkpoints = {seed: checkpoint_for(Path(args.policy), seed) for seed in seeds}

    # The scorers load only after sampling (never beside the policy); their config is checked now.
    scorer_model(args.experiment, "reward", evaluate.settings.reward, args.reward_model)
    if evaluate.settings.cost.scorer:
        scorer_model(args.experiment, "cost", evaluate.settings.cost, None)
    start = time.perf_counter()
    samples = sample_every_seed(generate, checkpoints, args.prompts, Path(args.samples_dir), args.kl_reference)
    if args.learned_reward:
        add_learned_scores(samples, args.learned_reward, evaluate.settings.batch_size)
    scorers = dialogue_scorers(args.experiment, evaluate.settings, args.reward_model, None)  # once, not per seed
    per_seed = {}
    for seed, (rows, counts) in samples.items():
        baseline_dir = args.baseline_samples_dir
        baseline = read_samples(Path(baseline_dir) / f"s{seed}.jsonl") if baseline_dir else None
        metrics, scores = score_samples(evaluate.settings, scorers, rows, baseline, baseline_dir)
        write_text(Path(args.samples_dir) / f"s{seed}_scores.jsonl", scores)
        per_seed[str(seed)] = {**metrics, **counts}
        print(f"evaluate_policy: {args.policy} seed {seed}: {summary_line(metrics)}")
    write_json(args.metrics, seed_summary(per_seed))
    record = provenance(params, evaluate, time.perf_counter() - start)
    record.update(generate_settings=generate.settings, checkpoints={str(k): str(v) for k, v in checkpoints.items()},
                  baseline=args.baseline_samples_dir)
    write_json(args.run_info, record)


def sample_every_seed(generate, checkpoints: dict, prompts: str, samples_dir: Path, kl_reference: str | None) -> dict:
    """Each seed's samples and counts, written to ``s<seed>.jsonl`` (all before any scoring: the baseline
    may be this run). One policy is held at a time, loaded once when every seed shares the checkpoint,
    and released before the scorers load, so the GPU never holds policy and scoring models together
    (the SFT reference of ``kl_to_sft`` is the one model held beside it)."""
    # torch and the models are imported only now, after the config check (stages/_cli.py).
    from ..evaluation.generation import generate_samples
    from ..evaluation.policy_kl import response_kl
    from ..models import PolicyCache, load_policy_for_inference, load_tokenizer
    from ..training.runtime import prepare_process

    models, samples, references = PolicyCache(), {}, {}
    for seed, checkpoint in checkpoints.items():
        prepare_process(seed)
        s = with_seed(generate, seed).settings
        rows, counts = generate_samples(s, str(checkpoint), str(checkpoint), prompts, models)
        write_samples(samples_dir / f"s{seed}.jsonl", rows)
        if kl_reference:  # after sampling, so the samples' random numbers are what they were without it
            path = str(checkpoint_for(Path(kl_reference), seed))  # a seeded SFT run: this seed's own
            if path not in references:
                references = {path: load_policy_for_inference(path)}  # one held at a time
            reference = references[path]
            flat = [(row.prompt, r) for row in rows for r in row.responses]
            kls = response_kl(models(str(checkpoint)), reference, load_tokenizer(str(checkpoint)), *zip(*flat),
                              s.max_new_tokens, s.batch_size, s.temperature)
            counts["kl_to_sft"] = round(sum(kls) / len(kls), 6)
        samples[seed] = rows, counts
    reference = None
    references.clear()
    models.clear()  # releases the accelerator's memory of both
    return samples


def add_learned_scores(samples: dict, reward_model: str, batch_size: int) -> None:
    """Each seed's ``learned_score``: the mean score its answers get from the learned reward model (a seeded
    reward run: that seed's own, the one the seed's PPO run optimised)."""
    from ..models import load_scalar_for_inference, load_tokenizer, release_accelerator_memory
    from ..training.sampling import score_responses

    held: dict = {}
    for seed, (rows, counts) in samples.items():
        path = str(checkpoint_for(Path(reward_model), seed))
        if path not in held:
            held.clear()  # one held at a time
            held[path] = load_scalar_for_inference(path), load_tokenizer(path)
        flat = [(row.prompt, r) for row in rows for r in row.responses]
        scores = score_responses(*held[path], *map(list, zip(*flat)), batch_size)
        counts["learned_score"] = round(sum(scores) / len(scores), 6)
    held.clear()
    release_accelerator_memory()


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
