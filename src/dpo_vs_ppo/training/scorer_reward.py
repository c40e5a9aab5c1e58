"""PPO's reward from a scorer function instead of a learned model: the gold-reward PPO of issue [I] item 5.

PPO trained on the tiny world's gold helpfulness H is the reference point for over-optimisation: what the
same PPO reaches when its reward cannot be gamed (Gao et al. 2023, arXiv:2210.10760, Sec. 3). TRL asks a
reward *model* for scores; ``ppo_patches.get_reward`` asks any reward object with a
``score_query_responses`` method instead, as it does the code task's sandbox reward.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class ScorerReward(torch.nn.Module):
    """Scores each rollout with ``scorer(prompts, responses)`` on the decoded response and the prompt's own
    text (matched by its token ids, so the prompt is never re-decoded)."""

    def __init__(self, scorer, prompt_ids: Sequence[Sequence[int]], prompts: Sequence[str], tokenizer):
        super().__init__()
        self._anchor = torch.nn.Parameter(torch.zeros(()), requires_grad=False)  # .to(device) needs a tensor
        self.by_prompt = {tuple(ids): text for ids, text in zip(prompt_ids, prompts)}
        self.scorer, self.tokenizer, self.stats = scorer, tokenizer, {}

    @torch.no_grad()
    def score_query_responses(self, query_responses: torch.Tensor, context_length: int) -> torch.Tensor:
        pad = self.tokenizer.pad_token_id
        prompts = [self.by_prompt[tuple(t for t in row.tolist() if t != pad)]
                   for row in query_responses[:, :context_length]]
        responses = self.tokenizer.batch_decode(query_responses[:, context_length:], skip_special_tokens=True)
        return torch.tensor(self.scorer(prompts, responses), dtype=torch.float32, device=query_responses.device)
