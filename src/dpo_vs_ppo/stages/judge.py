"""Stage judge: pairwise win/tie/lose of a policy against a baseline, the paper's protocol (Sec. 6, Table 5).

Each prompt's first response from each side is judged twice with positions swapped (evaluation/judge.py).
The judge is offline at tiny scale (a reward scorer, gold helpfulness by default) or an
OpenAI-compatible HTTP endpoint at paper scale, configured by environment variables whose *names* the
experiment file gives; the API key is read at run time and written nowhere. Judgements are appended
to ``<judgements>.partial`` as they finish, so a failure mid-run keeps every finished pair.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from ..config import ConfigError
from ..evaluation.judge import HTTPJudge, ScorerJudge, judge_pairs, summarise
from ..evaluation.samples import aligned, read_samples
from ..evaluation.scorers import configured_scorer
from ._cli import main_with_config_errors, parser
from ._evaluation import add_evaluation_arguments, add_samples_arguments, load_evaluation, write_evaluation_records


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    add_samples_arguments(p, baseline_required=True)
    p.add_argument("--judgements", required=True, metavar="JSONL", help="where to write each pair's two verdicts")
    add_evaluation_arguments(p, "judge", "where to write win/tie/lose counts and percentages")
    args = p.parse_args(argv)
    params, exp, start = load_evaluation(args, "judge", seed=0)
    s = exp.settings
    judge = make_judge(args.experiment, s, args.reward_model)

    rows = read_samples(args.samples)[:s.max_prompts]
    base = aligned(rows, read_samples(args.baseline_samples), args.baseline_samples)
    partial = Path(args.judgements + ".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("w", encoding="utf-8") as handle:
        def keep(result):
            handle.write(json.dumps({"prompt_id": rows[result.index].prompt_id, **dataclasses.asdict(result)}) + "\n")
            handle.flush()
        results = judge_pairs(judge, [r.prompt for r in rows], [r.responses[0] for r in rows],
                              [b.responses[0] for b in base], on_pair=keep)
    os.replace(partial, args.judgements)
    metrics = summarise(results)
    write_evaluation_records(args, params, exp, metrics, start, judge=repr(judge), samples=args.samples,
                             baseline=args.baseline_samples)
    print(f"judge: {metrics['pairs']} pairs: win {metrics['win']}, tie {metrics['tie']}, lose {metrics['lose']}, "
          f"invalid {metrics['invalid']}, error {metrics['error']}")


def make_judge(file: str, s, reward_model: str | None):
    """The configured judge; an HTTP judge reads its endpoint, model and key from the environment."""
    if s.judge == "scorer":
        return ScorerJudge(configured_scorer(file, "scorer", s.scorer, reward_model))
    values = {}
    for key in ("base_url_env", "model_env", "api_key_env"):
        name = getattr(s, key)
        if not os.environ.get(name):
            raise ConfigError(file, key, f"environment variable {name} is not set (the HTTP judge needs it)")
        values[key] = os.environ[name]
    return HTTPJudge(values["base_url_env"], values["model_env"], values["api_key_env"], s.request_timeout_s, s.retries)


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
