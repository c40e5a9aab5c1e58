"""Stage best_of_n: the SFT policy's best of n samples by the learned reward (issue [I] item 5).

For every distinct prompt of ``--prompts``, samples the largest n of the file's ``ns`` responses from
``--policy``, scores each with the learned reward model (``--reward``) and the gold scorers, and for each n
keeps the first n samples' highest learned score. Nothing is trained; the result is a reference point for
PPO's over-optimisation figure: gold score against learned score and against KL (best-of-n's is known in
closed form, evaluation/best_of_n.py).

Writes one row per n to ``--steps`` (a DVC plot), their values to ``--metrics``, and the samples with
their scores to ``--out/samples.jsonl``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..data.records import PreferencePair, read_records
from ..records import provenance, write_json
from ._cli import main_with_config_errors, parser
from ._training import add_training_arguments, load_training, seed_process


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--prompts", required=True, metavar="JSONL", help="preference pairs whose distinct prompts are sampled")
    p.add_argument("--policy", required=True, metavar="DIR", help="the policy sampled (SFT)")
    p.add_argument("--reward", required=True, metavar="DIR", help="the learned reward model that picks the best")
    add_training_arguments(p, "best_of_n", "where to write the learned and gold scores per n")
    args = p.parse_args(argv)
    params, exp = load_training(args, "best_of_n")
    run(args, params, exp)


def run(args, params, exp) -> None:
    # The torch stack is imported only now, after the config check (stages/_cli.py).
    from ..evaluation.best_of_n import summary
    from ..evaluation.scorers import make_scorer
    from ..models import load_policy_for_inference, load_scalar_for_inference, release_accelerator_memory
    from ..training.datasets import unique_prompts
    from ..training.run_records import tokenizer_for
    from ..training.sampling import sample_responses, score_responses
    from ..training.step_log import write_step_log

    seed_process(exp.settings.seed)
    s, start = exp.settings, time.perf_counter()
    tokenizer = tokenizer_for(args.models)
    prompts = unique_prompts(read_records(args.prompts, PreferencePair))
    samples, tokens = sample_responses(load_policy_for_inference(args.policy), tokenizer, prompts, n=max(s.ns),
                                       max_new_tokens=s.max_new_tokens, temperature=s.temperature, top_k=s.top_k,
                                       batch_size=s.batch_size)
    release_accelerator_memory()
    flat_prompts = [p for p, group in zip(prompts, samples) for _ in group]
    flat = [r for group in samples for r in group]
    reward = load_scalar_for_inference(args.reward)
    scores = {"learned": score_responses(reward, tokenizer, flat_prompts, flat, s.batch_size)}
    scores.update({sid: make_scorer(sid)(flat_prompts, flat) for sid in s.gold_scorers})
    per_prompt = {key: [vals[i:i + max(s.ns)] for i in range(0, len(vals), max(s.ns))] for key, vals in scores.items()}
    rows = summary(per_prompt.pop("learned"), per_prompt, s.ns)
    write_step_log(args.steps, rows)
    write_json(args.metrics, {"prompts": len(prompts), "samples_per_prompt": max(s.ns), "sampled_tokens": tokens,
                              "optimizer_steps": 0, "by_n": {str(r["n"]): r for r in rows}})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "samples.jsonl", "w", encoding="utf-8") as handle:
        for i, (prompt, response) in enumerate(zip(flat_prompts, flat)):
            record = {"prompt": prompt, "response": response, **{k: v[i] for k, v in scores.items()}}
            handle.write(json.dumps(record) + "\n")
    write_json(args.run_info, provenance(params, exp, time.perf_counter() - start))
    last = rows[-1]
    print(f"best_of_n: {len(prompts)} prompts; n={last['n']}: learned {last['learned_score']:.3f}"
          + "".join(f", {k} {v:.3f}" for k, v in last.items() if k.startswith("gold/")))


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
