"""Stage table1: Table 1's three-action counter-example and the numerical check of Theorem 4.1.

Writes exact numbers (float64, closed forms where they exist) to the metrics file; nothing is
sampled except the random instances of the theorem check, which are seeded by params.yaml's seeds.
"""

from __future__ import annotations

import time

from ..records import provenance, write_json
from ..toy.table1 import check_theorem, counterexample_metrics
from ._cli import add_record_arguments, load, main_with_config_errors, parser


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--experiment", required=True, metavar="YAML", help="experiment file, e.g. experiments/table1.yaml")
    add_record_arguments(p, "where to write the metrics")
    args = p.parse_args(argv)
    params, exp = load(args.params, args.experiment, "table1")

    start = time.perf_counter()
    metrics = counterexample_metrics(exp.settings)
    metrics["theorem_4_1"] = check_theorem(exp.settings.theorem, exp.settings.beta, params.seeds)
    write_json(args.metrics, metrics)
    write_json(args.run_info, provenance(params, exp, time.perf_counter() - start))
    print(f"table1: DPO loss of pi_DPO {metrics['dpo_loss']['pi_dpo']:.3g}, of pi_PPO {metrics['dpo_loss']['pi_ppo']:.3g}; "
          f"Theorem 4.1 held on {metrics['theorem_4_1']['ppo_optimum_minimises_dpo']}/{metrics['theorem_4_1']['instances']} instances")


if __name__ == "__main__":
    main_with_config_errors(main)
