"""Stage generate: sample responses from a policy checkpoint for evaluation prompts (PAPER: Sec. 6).

The prompts are the distinct prompts of a preference-pair records file (dialogue test sets) or the
APPS-format prompts of a code-problem records file. Output: JSON Lines, one row per prompt with its
id and its ``responses_per_prompt`` samples (evaluation/samples.py).
"""

from __future__ import annotations

from ..data.records import PreferencePair, read_records
from ..evaluation.samples import PromptSamples, evaluation_prompts, write_samples
from ._cli import main_with_config_errors, parser
from ._evaluation import add_evaluation_arguments, load_evaluation, write_evaluation_records


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--policy", metavar="DIR", help="policy checkpoint (folder or hub id)")
    source.add_argument("--chosen-of-pairs", action="store_true",
                        help="no policy: write each prompt's chosen response from --prompts (Table 4's 'vs Chosen')")
    p.add_argument("--tokenizer", metavar="DIR", help="tokenizer folder, if not saved with the policy")
    p.add_argument("--prompts", required=True, metavar="JSONL", help="preference-pair or code-problem records")
    p.add_argument("--out", required=True, metavar="JSONL", help="where to write the samples")
    add_evaluation_arguments(p, "generate", "where to write counts (prompts, responses, tokens generated)")
    args = p.parse_args(argv)
    sampling = () if args.chosen_of_pairs else ("dpo_vs_ppo.evaluation.generation",)
    params, exp, start = load_evaluation(args, "generate", modules=sampling)
    s = exp.settings

    if args.chosen_of_pairs:
        rows, metrics = dataset_chosen(args.prompts)
    else:
        from ..evaluation.generation import generate_samples  # imported by load_evaluation, before seeding

        rows, metrics = generate_samples(s, args.policy, args.tokenizer or args.policy, args.prompts)
    write_samples(args.out, rows)
    write_evaluation_records(args, params, exp, metrics, start, policy=args.policy or "dataset chosen")
    print(f"generate: {metrics['responses']} responses to {metrics['prompts']} prompts, {metrics['generated_tokens']} tokens")


def dataset_chosen(pairs_path: str) -> tuple[list[PromptSamples], dict]:
    """The dataset's own chosen response to each distinct prompt (its first pair), as a samples file."""
    first: dict[str, str] = {}
    for pair in read_records(pairs_path, PreferencePair):
        first.setdefault(pair.prompt, pair.chosen)
    ids = dict(evaluation_prompts(pairs_path))
    rows = [PromptSamples(pid, prompt, (first[prompt],)) for pid, prompt in ids.items()]
    return rows, {"prompts": len(rows), "responses": len(rows), "generated_tokens": 0, "empty_responses": 0}


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
