"""What PPO's rollouts look like to the gold scorers and to the SFT policy, per update (issue [I] item 5).

TRL logs the learned reward's score of the rollouts and their KL to the *reference*, which the EMA moves
away from the SFT policy. Reward over-optimisation shows only beside a gold score, and how far the policy
went only as a KL to where it started, so this logs, per update:

* ``gold/<scorer id>``: the mean gold score of the rollout responses (the tiny world's gold functions);
* ``kl_to_sft``: the mean over rollouts of sum_t [log pi(y_t) - log pi_SFT(y_t)] over the response tokens TRL
  counts (up to its sequence length), the same estimator and token mask as TRL's ``objective/kl``.

Nothing here consumes random numbers or touches the trained models, so the run's numbers do not move.
The rollout log-probs are TRL's own: ``ppo_patches.generate`` hands over the logits it returns to TRL,
one chunk per ``batch_generation`` call, and TRL scores the chunks with the reward model in the same order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence

import torch


class RolloutMonitor:
    """Gold scores and KL to the SFT policy of PPO's rollouts, averaged over each update's rollouts."""

    def __init__(self, prompt_ids: Sequence[Sequence[int]], prompts: Sequence[str], tokenizer,
                 scorers: Mapping[str, Callable], sft_policy=None, temperature: float = 1.0):
        self.by_prompt = {tuple(ids): text for ids, text in zip(prompt_ids, prompts)}
        self.tokenizer, self.scorers, self.sft, self.temperature = tokenizer, dict(scorers), sft_policy, temperature
        self._logits: deque[torch.Tensor] = deque()
        self._sums: dict[str, float] = {}
        self._count = 0

    def note_rollout_logits(self, logits: torch.Tensor) -> None:
        """The tempered logits ``generate`` returned to TRL for one chunk of rollouts."""
        if self.sft is not None:
            self._logits.append(logits.detach())

    @torch.no_grad()
    def observe(self, query_responses: torch.Tensor, context_length: int, trl_ops) -> None:
        """One chunk of rollouts as TRL gave them to the reward model (responses truncated after EOS).
        ``trl_ops``: TRL's PPO module, whose ``forward``, ``selective_log_softmax`` and ``first_true_indices``
        compute the log-probs as TRL's reference log-probs are computed."""
        pad = self.tokenizer.pad_token_id
        responses = query_responses[:, context_length:]
        values: dict[str, list[float]] = {}
        if self.scorers:
            prompts = [self.by_prompt[tuple(t for t in row.tolist() if t != pad)]
                       for row in query_responses[:, :context_length]]
            texts = self.tokenizer.batch_decode(responses, skip_special_tokens=True)
            values = {f"gold/{sid}": list(score(prompts, texts)) for sid, score in self.scorers.items()}
        if self.sft is not None:
            lengths = trl_ops.first_true_indices(responses == pad) - 1
            values["kl_to_sft"] = self._kl_to_sft(query_responses, responses, lengths, context_length, trl_ops)
        for key, vals in values.items():
            self._sums[key] = self._sums.get(key, 0.0) + float(sum(vals))
        self._count += len(responses)

    def _kl_to_sft(self, query_responses, responses, lengths, context_length, trl_ops) -> list[float]:
        logits = self._logits.popleft()
        steps = logits.shape[1]  # a chunk that stopped early has fewer steps than the padded batch
        tokens = responses[:, :steps]
        logprob = trl_ops.selective_log_softmax(logits, tokens)
        sft_logits = trl_ops.forward(self.sft, query_responses, self.tokenizer.pad_token_id).logits
        sft_logits = sft_logits[:, context_length - 1: context_length - 1 + steps] / (self.temperature + 1e-7)
        sft_logprob = trl_ops.selective_log_softmax(sft_logits, tokens)
        counted = torch.arange(steps, device=tokens.device)[None, :] <= lengths[:, None]
        return ((logprob - sft_logprob) * counted).sum(1).float().cpu().tolist()

    def flush(self) -> dict[str, float]:
        """Means over the rollouts seen since the last flush (one update's), and a fresh start."""
        out = {key: total / self._count for key, total in self._sums.items()} if self._count else {}
        self._sums, self._count = {}, 0
        self._logits.clear()
        return out
