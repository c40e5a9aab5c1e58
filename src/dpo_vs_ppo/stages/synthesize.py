"""Stage synthesize: write a synthetic task's datasets in the real datasets' hub schemas and layouts.

The experiment file's kind picks the task: ``data_dialogue`` writes `safe_dialogue` (Alpaca-,
PKU-SafeRLHF-30K- and HH-RLHF-like folders), ``data_code`` writes `code` (APPS- and CodeContests-like).
The output is seeded by the file's ``synthetic.data_seed``: the same seed gives the same bytes.
"""

from __future__ import annotations

import time

from ..data.code_task_corpora import write_code_task
from ..data.safe_dialogue_corpora import write_safe_dialogue
from ..records import provenance, staged_folder, write_json
from ._cli import add_record_arguments, load_kinds, main_with_config_errors, parser

WRITERS = {"data_dialogue": write_safe_dialogue, "data_code": write_code_task}


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiment", required=True, metavar="YAML", help="experiments/data_dialogue.yaml or experiments/data_code.yaml")
    p.add_argument("--out", required=True, metavar="DIR", help="folder that receives one hub-like folder per dataset")
    add_record_arguments(p, "where to write row counts and generation checks")
    args = p.parse_args(argv)
    params, exp = load_kinds(args.params, args.experiment, tuple(WRITERS))

    start = time.perf_counter()
    with staged_folder(args.out) as out:
        summary = WRITERS[exp.stage](exp.settings.synthetic, str(out))
    seconds = time.perf_counter() - start
    write_json(args.metrics, summary)
    write_json(args.run_info, provenance(params, exp, seconds))
    print(f"synthesize: {exp.stage}: " + ", ".join(f"{k} {v}" for k, v in summary["rows"].items()) + f" ({seconds:.1f} s)")


if __name__ == "__main__":
    main_with_config_errors(main)
