"""Benchmark: one token draw of the tiny study's sampler (temperature 1, top-k 200, one multinomial draw) the
way ``generate`` makes it and the way training/decoding.py makes it, side by side.

    python -m dpo_vs_ppo.benchmarks.sampling [--rounds 5] [--draws 400]

Arms, interleaved A B A B in each round so a noisy neighbour hits both: *generate's*: ``torch.topk`` for the
k-th largest logit, softmax, ``torch.multinomial``; *ours*: ``torch.kthvalue``, softmax,
``decoding.multinomial_one``. Shapes are the study's: dialogue rollouts and evaluation (vocabulary 512, 64 and
16 rows) and code (vocabulary 1,024, 32 rows). Before timing, each shape's draws are checked equal. Prints the
median microseconds per draw of each arm and their ratio; torch runs on the study's thread count.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from ..training import decoding
from ..training.runtime import CPU_THREADS

SHAPES = {"dialogue, 64 rows": (64, 512), "dialogue, 16 rows": (16, 512), "code, 32 rows": (32, 1024)}
TOP_K = 200  # the study's top-k (experiments/ppo_dialogue.yaml, generate_*.yaml)


def generates_draw(logits: torch.Tensor) -> torch.Tensor:
    kth = torch.topk(logits, TOP_K)[0][..., -1, None]
    return torch.multinomial(F.softmax(logits.masked_fill(logits < kth, -float("inf")), dim=-1), num_samples=1)


def our_draw(logits: torch.Tensor) -> torch.Tensor:
    return decoding._sample(logits, 1.0, TOP_K)[:, None]


def per_draw_us(draw, logits: torch.Tensor, draws: int) -> float:
    start = time.perf_counter()
    for _ in range(draws):
        draw(logits)
    return (time.perf_counter() - start) / draws * 1e6


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5, help="A B rounds per shape (default 5)")
    p.add_argument("--draws", type=int, default=400, help="draws per arm and round (default 400)")
    args = p.parse_args(argv)
    torch.set_num_threads(CPU_THREADS)
    print(f"torch {torch.__version__}, {CPU_THREADS} threads; fast draw in use: {decoding._fast_draw_agrees()}")
    for name, shape in SHAPES.items():
        logits = torch.randn(*shape, generator=torch.Generator().manual_seed(0)) * 3
        torch.manual_seed(1)
        expected = generates_draw(logits)
        torch.manual_seed(1)
        if not torch.equal(our_draw(logits), expected):
            raise SystemExit(f"{name}: the two arms drew different tokens")
        arms: dict[str, list[float]] = {"generate's": [], "ours": []}
        for _ in range(args.rounds):
            arms["generate's"].append(per_draw_us(generates_draw, logits, args.draws))
            arms["ours"].append(per_draw_us(our_draw, logits, args.draws))
        a, b = (statistics.median(v) for v in arms.values())
        print(f"{name} ({shape[0]} x {shape[1]}): generate's {a:7.1f} us, ours {b:7.1f} us per draw ({a / b:.2f}x)")


if __name__ == "__main__":
    main()
