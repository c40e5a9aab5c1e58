"""Figure 1 decomposed (issue [I] item 7): the 8x8 experiment rerun over pairs per prompt and beta.

Each (pairs per prompt, beta) cell reruns every seed with only those two settings changed, and records,
for five policies, the OOD mass, the share of prompts whose most likely response is the optimal one and
KL(pi || pi_ref): pi_ref, pi_DPO, pi_PPO, the KL-regularised optimum of the learned reward (what PPO's
objective asks for) and the learned reward's argmax (its beta -> 0 limit). Seen side by side they say
whether PPO misses the diagonal because PPO fails or because r_phi points elsewhere, and how DPO and PPO
compare at matched KL to pi_ref (the beta grid moves both along KL).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..settings import Figure1Settings
from .synthetic_8x8 import decomposed, policy_stats, run_seed

#: Columns of the sweep's CSV (one row per cell, seed and policy).
COLUMNS = ("pairs_per_prompt", "beta", "seed", "policy", "ood_mass", "argmax_optimal", "kl_to_ref")


def cells(s: Figure1Settings) -> list[tuple[int, float]]:
    """Every (pairs per prompt, beta) of the sweep, in file order."""
    return [(pairs, beta) for pairs in s.sweep_pairs_per_prompt for beta in s.sweep_betas]


def cell_rows(s: Figure1Settings, pairs: int, beta: float, seed: int, main_run: dict | None = None) -> list[tuple]:
    """The CSV rows of one cell and seed. ``main_run`` is that seed's run at the file's own settings,
    reused (not rerun) when the cell is those settings: the sweep then contains the headline numbers."""
    if (pairs, beta) == (s.pairs_per_prompt, s.beta) and main_run is not None:
        run = main_run
    else:
        run = run_seed(replace(s, pairs_per_prompt=pairs, beta=beta), seed)
    covered = np.asarray(run["panels"]["coverage"], dtype=bool)
    ref = np.asarray(run["panels"]["pi_ref"])
    rows = []
    for name, pi in decomposed(run["panels"], beta).items():
        stats = policy_stats(pi, ref, covered)
        rows.append((pairs, beta, seed, name, *(stats[k] for k in COLUMNS[4:])))
    return rows
