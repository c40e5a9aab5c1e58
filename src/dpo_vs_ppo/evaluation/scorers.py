"""Scorers of (prompt, response) pairs behind one interface: gold functions, learned and paper models.

A scorer maps prompts and responses to one float each; whether higher is better (a reward) or worse
(a cost) is its ``kind``. Registered ids (an experiment file names one under ``scorer:``):

=========================  ======  ==================================================================
id                         kind    what
=========================  ======  ==================================================================
``gold_helpfulness``       reward  tiny: the safe_dialogue world's gold H(x, y)
``gold_harm``              cost    tiny: the gold harm C(x, y) (> 0 iff a harmful step; safe answers <= 0)
``learned_reward``         reward  our scalar-head model (reward stage), on prompt + response + EOS
``learned_cost``           cost    the same, read as a cost
``oasst_reward_model``     reward  paper HH-RLHF: OpenAssistant/oasst-rm-2-pythia-6.9b-epoch-1
``safe_rlhf_reward_model`` reward  paper SafeRLHF: beaver-7b-v1.0-reward (safe-rlhf LlamaForScore)
``safe_rlhf_cost_model``   cost    paper SafeRLHF: beaver-7b-v1.0-cost
=========================  ======  ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..config import ConfigError
from ..data import safe_dialogue

GOLD = {"gold_helpfulness": ("reward", safe_dialogue.helpfulness), "gold_harm": ("cost", safe_dialogue.harm)}
MODELS = {"learned_reward": "reward", "learned_cost": "cost", "oasst_reward_model": "reward",
          "safe_rlhf_reward_model": "reward", "safe_rlhf_cost_model": "cost"}
#: Every scorer id -> "reward" (higher is better) or "cost" (higher is worse).
SCORER_KINDS = {**{sid: kind for sid, (kind, _) in GOLD.items()}, **MODELS}
SCORER_IDS = tuple(SCORER_KINDS)


class UnknownScorer(ValueError):
    """A scorer id that is not registered."""


@dataclass
class Scorer:
    """Scores pairs with ``score_pairs``; ``kind`` says whether higher is better (reward) or worse (cost)."""

    id: str
    kind: str
    score_pairs: Callable[[Sequence[str], Sequence[str]], list[float]]

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        scores = self.score_pairs(prompts, responses)
        if len(scores) != len(prompts):
            raise RuntimeError(f"scorer {self.id} returned {len(scores)} scores for {len(prompts)} pairs")
        return scores


def make_scorer(scorer_id: str, model: str = "", batch_size: int = 16) -> Scorer:
    """The scorer registered as ``scorer_id``; ``model`` is the folder or hub id of a model scorer."""
    if scorer_id in GOLD:
        kind, fn = GOLD[scorer_id]
        return Scorer(scorer_id, kind, lambda ps, rs: [float(fn(p, r)) for p, r in zip(ps, rs)])
    if scorer_id not in MODELS:
        raise UnknownScorer(f"unknown scorer {scorer_id!r}; known: {', '.join(SCORER_IDS)}")
    if not model:
        raise ValueError(f"scorer {scorer_id!r} needs a model (a folder or hub id)")
    from ..training.sampling import (
        score_texts,  # torch: imported only when a model scorer is built
    )

    model_obj, tokenizer, to_text = _load(scorer_id, model)
    return Scorer(scorer_id, MODELS[scorer_id],
                  lambda ps, rs: score_texts(model_obj, tokenizer, [to_text(p, r, tokenizer.eos_token)
                                                                    for p, r in zip(ps, rs)], batch_size))


def _load(scorer_id: str, model: str):
    """(model, tokenizer, text format): the model in eval mode on the GPU in bf16 when there is one, else
    on the CPU in fp32."""
    if scorer_id in ("learned_reward", "learned_cost"):
        from ..models import load_scalar_for_inference, load_tokenizer

        return load_scalar_for_inference(model), load_tokenizer(model), lambda p, r, eos: p + r + eos
    from . import paper_evaluators as pe

    if scorer_id == "oasst_reward_model":
        return (*pe.load_oasst_reward_model(model), pe.oasst_text)
    return (*pe.load_safe_rlhf_score_model(model), pe.safe_rlhf_text)


def scorer_model(file: str, key: str, choice, folder: str | None) -> str:
    """The model an experiment file's ``key`` (a ScorerChoice) reads: the file's hub id, else the folder
    given on the command line. A model scorer with neither is a config error, raised before any compute."""
    model = choice.model or folder or ""
    if choice.scorer in MODELS and not model:
        raise ConfigError(file, f"{key}.model", f"scorer {choice.scorer!r} needs a model folder on the command line "
                          "or a hub id here")
    return model


def configured_scorer(file: str, key: str, choice, folder: str | None, batch_size: int = 16):
    """The scorer an experiment file's ``key`` names (see :func:`scorer_model`)."""
    return make_scorer(choice.scorer, scorer_model(file, key, choice, folder), batch_size)
