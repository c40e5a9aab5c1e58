"""The reference EMA (paper Sec. 5, "Ref.EMA") in bf16: at the paper's eta = 0.001 a bf16 reference updated
in place does not move (each update's change is below half a bf16 ulp, issue 15). Ours accumulates in an
fp32 master and must move the bf16 reference as the fp32 average moves."""

import pytest
import torch

from dpo_vs_ppo.training.reference_ema import ReferenceEMA, full_numel

ETA, UPDATES = 0.001, 300  # the paper's eta (ReaLHF example), over as many updates as a 5-epoch dialogue run


def _llama_pair(dtype):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    torch.manual_seed(0)
    reference = LlamaForCausalLM(config).to(dtype)
    torch.manual_seed(1)
    policy = LlamaForCausalLM(config).to(dtype)
    return reference, policy


def _flat(model) -> torch.Tensor:
    return torch.cat([p.detach().float().flatten() for p in model.parameters()])


def _intended(ref0: torch.Tensor, policy: torch.Tensor, updates: int) -> torch.Tensor:
    """(1 - eta) * ref + eta * policy, ``updates`` times, in fp64 (a second implementation)."""
    ref = ref0.double()
    for _ in range(updates):
        ref = (1 - ETA) * ref + ETA * policy.double()
    return ref


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=0))


def test_a_bf16_reference_moves_as_the_fp32_average_does():
    reference, policy = _llama_pair(torch.bfloat16)
    ref0, target = _flat(reference), _flat(policy)
    ema = ReferenceEMA(reference, policy, ETA)
    for _ in range(UPDATES):
        ema.step()
    moved, intended = _flat(reference) - ref0, _intended(ref0, target, UPDATES) - ref0
    assert reference.dtype == torch.bfloat16  # the reference keeps its dtype; only the master is fp32
    assert _cosine(moved, intended) >= 0.999
    assert moved.norm() / intended.norm() == pytest.approx(1.0, abs=0.01)


def test_the_in_place_bf16_update_it_replaces_does_not_move():
    """The failure the master copy exists for, measured the same way (so the test above can fail)."""
    reference, policy = _llama_pair(torch.bfloat16)
    ref0, target = _flat(reference), _flat(policy)
    with torch.no_grad():
        for _ in range(UPDATES):
            for r, p in zip(reference.parameters(), policy.parameters()):
                r.mul_(1 - ETA).add_(p, alpha=ETA)
    assert _cosine(_flat(reference) - ref0, _intended(ref0, target, UPDATES) - ref0) < 0.5


def test_one_step_is_the_fp32_average_and_the_distance_is_measured_from_the_start():
    reference, policy = _llama_pair(torch.float32)
    ref0, target = _flat(reference), _flat(policy)
    ema = ReferenceEMA(reference, policy, 0.25, keep_start=True)
    assert ema.distance_from_start() == 0.0
    ema.step()
    expected = 0.75 * ref0 + 0.25 * target
    assert torch.allclose(_flat(reference), expected, atol=1e-7, rtol=0)
    assert ema.distance_from_start() == pytest.approx(float((expected - ref0).norm() / ref0.norm()), rel=1e-6)
    assert full_numel(reference) == ref0.numel()


def test_a_restored_state_rewrites_the_reference_from_the_master():
    reference, policy = _llama_pair(torch.bfloat16)
    ema = ReferenceEMA(reference, policy, ETA, keep_start=True)
    for _ in range(50):
        ema.step()
    state = {k: ({i: t.clone() for i, t in v.items()} if isinstance(v, dict) else v) for k, v in ema.state_dict().items()}
    moved, distance = _flat(reference), ema.distance_from_start()
    fresh_reference, _ = _llama_pair(torch.bfloat16)  # a restarted process: the reference is the SFT model again
    restored = ReferenceEMA(fresh_reference, policy, ETA, keep_start=True)
    restored.load_state_dict(state)
    assert torch.equal(_flat(fresh_reference), moved) and restored.distance_from_start() == distance


def test_models_of_different_shapes_are_refused():
    from transformers import LlamaConfig, LlamaForCausalLM

    reference, _ = _llama_pair(torch.float32)
    other = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, num_key_value_heads=2))
    with pytest.raises(ValueError, match="same architecture"):
        ReferenceEMA(reference, other, ETA)
