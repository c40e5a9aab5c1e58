"""Stage build_models: the tokenizer and the initial policy and reward/value models of one task family.

Origin 'build' (tiny, smoke) trains a byte-level BPE tokenizer on the family's prepared records (and its
pretraining corpus), initialises Llama-architecture models from the configured sizes, then, where the
family's ``pretraining`` is on, pretrains the policy on its world's corpus and rebuilds the reward/value
model from it (training/pretraining.py), all saved with ``save_pretrained``.
Origin 'hub' (paper) builds nothing and records the hub ids. Either way the stage writes
``model_refs.json``, the folder-or-id that later stages pass to ``from_pretrained``.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..data.formats import code_prompt
from ..data.records import CodeProblem, PreferencePair, SFTExample, read_records
from ..models import build_family, load_policy, load_scalar_model, load_tokenizer, parameter_count
from ..records import provenance, write_json
from ..training import pretraining
from ._cli import add_record_arguments, load, main_with_config_errors, parser


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiment", required=True, metavar="YAML", help="experiments/models.yaml")
    p.add_argument("--family", required=True, choices=("dialogue", "code"), help="which task family")
    p.add_argument("--records", required=True, metavar="DIR", help="the family's prepared records (tokenizer corpus)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for tokenizer/, policy/, reward/ and model_refs.json")
    add_record_arguments(p, "where to write parameter counts and token lengths")
    args = p.parse_args(argv)
    params, exp = load(args.params, args.experiment, "models")
    family = getattr(exp.settings, args.family)

    start = time.perf_counter()
    documents = pretraining.corpus(args.family, family)
    texts = corpus(Path(args.records)) + [d.prompt + d.completion for d in documents] if family.origin == "build" else []
    if family.origin == "build":
        refs = build_family(family, texts, args.out)
    else:
        refs = {"tokenizer": family.policy_id, "policy": family.policy_id, "reward": family.reward_id}
    metrics = {"origin": family.origin, "corpus_texts": len(texts)}
    if documents:
        metrics["pretraining"] = pretraining.pretrain(family, refs, documents)
    write_json(Path(args.out) / "model_refs.json", refs)
    if family.origin == "build":  # at paper scale, loading 7B-34B weights only to count them is not worth it
        tokenizer = load_tokenizer(refs["tokenizer"])
        lengths = sorted(len(ids) for ids in tokenizer(texts)["input_ids"])
        metrics.update(vocab_size=len(tokenizer), policy_parameters=parameter_count(load_policy(refs["policy"])),
                       reward_parameters=parameter_count(load_scalar_model(refs["reward"])),
                       tokens_per_text={"median": lengths[len(lengths) // 2], "max": lengths[-1]})
        if lengths[-1] > family.size.max_position_embeddings:
            print(f"build_models: warning: the longest text has {lengths[-1]} tokens, more than "
                  f"max_position_embeddings {family.size.max_position_embeddings}")
    write_json(args.metrics, metrics)
    write_json(args.run_info, provenance(params, exp, time.perf_counter() - start))
    print(f"build_models: {args.family}: " + ", ".join(f"{k} {v}" for k, v in metrics.items()))


def corpus(records_dir: Path) -> list[str]:
    """Every text the family's models will read: prompts with completions, and code prompts with programs."""
    texts: list[str] = []
    for path in sorted(records_dir.glob("*.jsonl")):
        if path.name.startswith("sft_"):
            texts += [r.prompt + r.completion for r in read_records(path, SFTExample)]
        elif path.name.startswith("pairs_"):
            texts += [r.prompt + c for r in read_records(path, PreferencePair) for c in (r.chosen, r.rejected)]
        else:
            for problem in read_records(path, CodeProblem):
                prompt = code_prompt(problem.question, problem.starter_code, problem.fn_name)
                texts += [prompt + s.code for s in problem.solutions + problem.incorrect_solutions] or [prompt]
    return texts


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
