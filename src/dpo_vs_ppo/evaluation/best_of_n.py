"""Best-of-n: of n samples per prompt, keep the one a learned reward scores highest.

The reference point for reward over-optimisation (Gao et al. 2023, arXiv:2210.10760): it optimises the
learned reward with no training at all, and its KL to the sampling policy is known in closed form,
KL(best-of-n || pi) <= log n - (n - 1) / n (Beirami et al. 2024, arXiv:2401.01879: equality when no two
samples tie), so it can be placed on the same KL axis as PPO.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def kl_bound(n: int) -> float:
    """log n - (n - 1) / n: the KL of best-of-n to the sampling policy when no two samples tie (else less)."""
    return math.log(n) - (n - 1) / n


def chosen(learned: Sequence[Sequence[float]], n: int) -> list[int]:
    """Per prompt, the index of the highest learned score among its first ``n`` samples (the first on ties)."""
    return [max(range(n), key=lambda i, row=row: (row[i], -i)) for row in learned]


def summary(learned: Sequence[Sequence[float]], gold: Mapping[str, Sequence[Sequence[float]]],
            ns: Sequence[int]) -> list[dict]:
    """One row per n: the mean learned score and gold scores of the chosen responses, and the KL bound."""
    rows = []
    for n in ns:
        picks = chosen(learned, n)
        row = {"n": n, "learned_score": _mean(learned[p][i] for p, i in enumerate(picks)), "kl_bound": kl_bound(n)}
        row.update({f"gold/{sid}": _mean(g[p][i] for p, i in enumerate(picks)) for sid, g in gold.items()})
        rows.append(row)
    return rows


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)
