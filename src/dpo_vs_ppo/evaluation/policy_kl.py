"""How far a trained policy moved from the SFT model it started from: KL(pi || pi_SFT) on its own answers.

Issue [I] items 3 and 5: every method's final policy gets a KL to its SFT model, measured the same way on
the same test prompts, so PPO, DPO and DPO-Iter can be placed on one axis (PPO's KL to its *reference*
is no such axis: the EMA moves the reference, and DPO logs none).

For answers y sampled from pi, the sequence-level KL is E_y[sum_t KL(pi(.|x, y<t) || pi_SFT(.|x, y<t))]
(the chain rule of KL). Each per-token term is computed exactly over the vocabulary, which has less
variance than the single-sample estimate log pi(y) - log pi_SFT(y) that PPO's rollout monitor uses (the
same quantity in expectation; see http://joschu.net/blog/kl-approx.html). The answers are re-encoded from
their text; a token is counted up to the EOS, and the EOS itself where the answer ended before
``max_new_tokens`` (a cut-off answer sampled no EOS).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def answer_ids(tokenizer, prompt: str, response: str, max_new_tokens: int) -> tuple[list[int], list[int]]:
    """The prompt's token ids and the answer's (its EOS appended where it ended before ``max_new_tokens``)."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer = tokenizer(response, add_special_tokens=False)["input_ids"]
    return prompt_ids, answer + ([tokenizer.eos_token_id] if len(answer) < max_new_tokens else [])


@torch.no_grad()
def response_kl(policy, reference, tokenizer, prompts: Sequence[str], responses: Sequence[str],
                max_new_tokens: int, batch_size: int, temperature: float = 1.0) -> list[float]:
    """Per answer, sum over its tokens of KL(pi || pi_ref) of the next-token distributions (both at
    ``temperature``, as sampled). The mean over answers sampled from ``policy`` estimates KL(pi || pi_ref)."""
    pairs = [answer_ids(tokenizer, p, r, max_new_tokens) for p, r in zip(prompts, responses)]
    out: list[float] = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        width = max(len(p) + len(a) for p, a in chunk)
        ids = torch.full((len(chunk), width), tokenizer.pad_token_id, dtype=torch.long)
        attention = torch.zeros_like(ids)
        counted = torch.zeros(len(chunk), width - 1, dtype=torch.bool)  # position t predicts token t + 1
        for i, (p, a) in enumerate(chunk):
            ids[i, :len(p) + len(a)] = torch.tensor(p + a)
            attention[i, :len(p) + len(a)] = 1
            counted[i, len(p) - 1:len(p) + len(a) - 1] = True
        logp = _log_probs(policy, ids, attention, temperature)
        logq = _log_probs(reference, ids, attention, temperature)
        per_token = (logp.exp() * (logp - logq)).sum(-1)[:, :-1]
        out += (per_token * counted).sum(1).tolist()
    return out


def _log_probs(model, ids: torch.Tensor, attention: torch.Tensor, temperature: float) -> torch.Tensor:
    device = next(model.parameters()).device
    logits = model(input_ids=ids.to(device), attention_mask=attention.to(device)).logits.float()
    return torch.log_softmax(logits / temperature, dim=-1).cpu()
