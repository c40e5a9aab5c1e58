"""The reference model's exponential moving average (paper Sec. 5, "Ref.EMA"), kept in fp32.

After each PPO update: ``ref <- (1 - eta) * ref + eta * policy``. At the paper's eta = 0.001 the change
of one update is about a thousandth of the gap between the two models, which is below half a bf16 ulp
for most weights: a bf16 reference updated in place does not move at all (measured by issue 15: cosine
0.00-0.10 between the actual and the intended move). So the average is accumulated in an fp32 *master*
copy and the reference (bf16 or fp32) is overwritten with the master's value after each update, as a
mixed-precision optimizer keeps fp32 master weights for its bf16 model.

Under DeepSpeed ZeRO-3 every process holds a shard of each weight. The master is sharded by parameter
instead: process ``i % world`` owns parameter ``i``, keeps its fp32 master, and is the one that
writes it while the parameter is gathered (``deepspeed.zero.GatheredParameters`` broadcasts the
modifier's value on exit, https://deepspeed.readthedocs.io/en/latest/zero3.html). Each process thus
holds about 1/world of an fp32 copy of the model (7B over 8 GPUs: 3.5 GB each).
"""

from __future__ import annotations

from contextlib import ExitStack

import torch


def is_zero3(model) -> bool:
    """Whether ``model``'s parameters are partitioned by DeepSpeed ZeRO-3."""
    return any(hasattr(p, "ds_id") for p in model.parameters())


def full_numel(model) -> int:
    """Number of weights, counted whole even when ZeRO-3 holds only a shard of each here."""
    return sum(getattr(p, "ds_numel", p.numel()) for p in model.parameters())


class ReferenceEMA:
    """An fp32-master EMA of ``policy`` into ``reference`` (same architecture); ``step()`` after each update.

    ``keep_start``: also keep the starting weights, for :meth:`distance_from_start` (a second copy: the ppo
    stage asks for it on small models only)."""

    def __init__(self, reference, policy, eta: float, keep_start: bool = False):
        ref_params, policy_params = list(reference.parameters()), list(policy.parameters())
        shapes = [tuple(getattr(p, "ds_shape", p.shape)) for p in ref_params]
        if shapes != [tuple(getattr(p, "ds_shape", p.shape)) for p in policy_params]:
            raise ValueError("the reference and the policy must have the same architecture")
        self.eta, self.pairs = eta, list(zip(ref_params, policy_params))
        self.zero3 = is_zero3(reference)
        self.rank, self.world = _rank_and_world() if self.zero3 else (0, 1)
        self.master: dict[int, torch.Tensor] = {}
        for i, (ref, _) in enumerate(self.pairs):
            with self._gathered(i, ref):
                if self.owns(i):
                    self.master[i] = ref.detach().to(torch.float32, copy=True)
        self.start = {i: m.clone() for i, m in self.master.items()} if keep_start else None

    def owns(self, index: int) -> bool:
        return index % self.world == self.rank

    def _gathered(self, index: int, *params, modify: bool = False):
        """Whole parameters inside the block (a no-op without ZeRO-3); with ``modify``, the owner's write stays."""
        stack = ExitStack()
        if self.zero3:
            import deepspeed

            owner = index % self.world if modify else None
            stack.enter_context(deepspeed.zero.GatheredParameters(list(params), modifier_rank=owner))
        return stack

    @torch.no_grad()
    def step(self) -> None:
        """One EMA update of the master, then the reference set to it (rounded to the reference's dtype)."""
        for i, (ref, policy) in enumerate(self.pairs):
            with self._gathered(i, policy), self._gathered(i, ref, modify=True):
                if self.owns(i):
                    master = self.master[i]
                    master.mul_(1.0 - self.eta).add_(policy.detach().to(master.device, torch.float32), alpha=self.eta)
                    ref.data.copy_(master)

    @torch.no_grad()
    def write_reference(self) -> None:
        """Set the reference to the master (after :meth:`load_state_dict` on resume)."""
        for i, (ref, _) in enumerate(self.pairs):
            with self._gathered(i, ref, modify=True):
                if self.owns(i):
                    ref.data.copy_(self.master[i])

    def distance_from_start(self) -> float:
        """||ref - ref_0|| / ||ref_0|| over all weights (of the fp32 master), summed over every process."""
        if self.start is None:
            raise RuntimeError("ReferenceEMA(keep_start=False) cannot measure its distance from the start")
        sums = torch.zeros(2, dtype=torch.float64)
        for i, start in self.start.items():
            sums[0] += ((self.master[i] - start).double() ** 2).sum().cpu()
            sums[1] += (start.double() ** 2).sum().cpu()
        if self.zero3:
            sums = _all_reduce_sum(sums)
        return float(torch.sqrt(sums[0] / sums[1]))

    def state_dict(self) -> dict:
        """This process's share of the state (every process saves its own under ZeRO-3)."""
        return {"master": self.master, "start": self.start, "rank": self.rank, "world": self.world}

    def load_state_dict(self, state: dict) -> None:
        if (state["rank"], state["world"]) != (self.rank, self.world):
            raise ValueError(f"EMA state of process {state['rank']}/{state['world']} loaded into {self.rank}/{self.world}")
        self.master = {i: t.to(self.master[i].device) for i, t in state["master"].items()}
        if state["start"] is not None:
            self.start = {i: t.to(self.master[i].device) for i, t in state["start"].items()}
        self.write_reference()


def _rank_and_world() -> tuple[int, int]:
    import torch.distributed as dist

    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def _all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    import torch.distributed as dist

    if not dist.is_initialized():
        return values
    # NCCL reduces only device tensors; gloo (CPU) only host ones.
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    reduced = values.to(device)
    dist.all_reduce(reduced)
    return reduced.cpu()
