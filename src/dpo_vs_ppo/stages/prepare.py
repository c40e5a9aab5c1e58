"""Stage prepare: read a task's datasets through the hub loaders and write the project's records.

The same loaders run at every scale: on the synthetic folders (origin 'synthetic'), on the hub by id
and revision (origin 'hub', paper profile), or on the raw snapshot under data/hub (origin
'snapshot'). Outputs are JSON Lines of SFT examples, preference pairs (every pair, with its safety
labels, so a training stage applies the dual-safe / dual-unsafe filters it is told to) or code
problems. Metrics: rows read, kept and skipped by documented reason, per dataset and split.
"""

from __future__ import annotations

import time
from collections import Counter

from tqdm import tqdm

from ..data import code_sources, dialogue_sources
from ..data.hub import load_split, local_root_for
from ..data.local_repo import write_jsonl
from ..data.records import SkipCounter
from ..records import provenance, staged_folder, to_plain, write_json
from ._cli import add_record_arguments, load_kinds, main_with_config_errors, parser

#: output file -> (source field in the settings, split, converter), per kind of data file.
OUTPUTS = {
    "data_dialogue": {
        "sft_alpaca": ("alpaca", "train", dialogue_sources.alpaca_sft),
        "sft_safe": ("saferlhf", "train", dialogue_sources.saferlhf_safe_sft),
        "pairs_saferlhf_train": ("saferlhf", "train", dialogue_sources.saferlhf_pairs),
        "pairs_saferlhf_test": ("saferlhf", "test", dialogue_sources.saferlhf_pairs),
        "pairs_hh_train": ("hh_rlhf", "train", dialogue_sources.hh_pairs),
        "pairs_hh_test": ("hh_rlhf", "test", dialogue_sources.hh_pairs),
        "pairs_hh_helpful_train": ("hh_rlhf_helpful", "train", dialogue_sources.hh_pairs),
        "pairs_hh_helpful_test": ("hh_rlhf_helpful", "test", dialogue_sources.hh_pairs),
    },
    "data_code": {
        "apps_train": ("apps", "train", code_sources.apps_problems),
        "apps_test": ("apps", "test", code_sources.apps_problems),
        "code_contests_train": ("code_contests", "train", code_sources.code_contests_problems),
        "code_contests_valid": ("code_contests", "valid", code_sources.code_contests_problems),
        "code_contests_test": ("code_contests", "test", code_sources.code_contests_problems),
    },
}


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiment", required=True, metavar="YAML", help="experiments/data_dialogue.yaml or experiments/data_code.yaml")
    p.add_argument("--synthetic-dir", metavar="DIR", help="the synthesize stage's output (read when origin is 'synthetic')")
    p.add_argument("--snapshot-dir", metavar="DIR", help="raw hub snapshots, e.g. data/hub (read when origin is 'snapshot')")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the record files (<name>.jsonl)")
    add_record_arguments(p, "where to write row counts and skips")
    args = p.parse_args(argv)
    params, exp = load_kinds(args.params, args.experiment, tuple(OUTPUTS))
    cfg = exp.settings
    try:
        root = local_root_for(cfg.origin, args.synthetic_dir, args.snapshot_dir)
    except ValueError as err:
        p.error(str(err))

    start, loaded, metrics = time.perf_counter(), {}, {}
    with staged_folder(args.out) as out:  # a bad row in any file leaves no half-written folder
        for name, (field, split, convert) in tqdm(OUTPUTS[exp.stage].items(), desc=f"prepare {exp.stage}", unit="file"):
            source = getattr(cfg, field)
            if (field, split) not in loaded:
                try:
                    loaded[(field, split)] = load_split(source, split, root)
                except FileNotFoundError as err:
                    p.error(str(err))
            counter = SkipCounter(f"{source.id}{'/' + source.data_dir if source.data_dir else ''}", split)
            records = list(convert(loaded[(field, split)], split, counter, cfg.max_rows_per_split))
            write_jsonl(out / f"{name}.jsonl", (to_plain(r) for r in records))
            metrics[name] = {**counter.as_metrics(), **describe(records)}
    write_json(args.metrics, {"origin": cfg.origin, "files": metrics})
    write_json(args.run_info, provenance(params, exp, time.perf_counter() - start))
    print(f"prepare: {exp.stage} from {cfg.origin}: " + ", ".join(f"{k} {v['kept']}" for k, v in metrics.items()))


def describe(records: list) -> dict:
    """What a reader checks first: pair kinds and rules, or problem difficulties and test counts."""
    if not records:
        return {}
    first = records[0]
    if hasattr(first, "chosen"):
        return {"pair_kinds": dict(sorted(Counter(r.kind for r in records).items())),
                "rules": dict(sorted(Counter(r.rule for r in records).items()))}
    if hasattr(first, "private_tests"):
        return {"difficulties": dict(sorted(Counter(r.difficulty for r in records).items())),
                "without_python_solution": sum(not r.solutions for r in records),
                "tests": sum(len(r.public_tests) + len(r.private_tests) + len(r.generated_tests) for r in records)}
    return {}


if __name__ == "__main__":
    main_with_config_errors(main)
