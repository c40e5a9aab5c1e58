"""Our records in the dataset formats TRL's trainers take (prompt/completion for SFT, prompt/chosen/rejected for reward and DPO)."""

from __future__ import annotations

from datasets import Dataset

from ..data.records import PreferencePair, SFTExample


def sft_dataset(examples: list[SFTExample]) -> Dataset:
    """Prompt-completion rows (SFTTrainer appends EOS and, by default, trains on the completion only)."""
    return Dataset.from_dict({"prompt": [e.prompt for e in examples], "completion": [e.completion for e in examples]})


def preference_dataset(pairs: list[PreferencePair]) -> Dataset:
    """Prompt/chosen/rejected rows (RewardTrainer and DPOTrainer)."""
    return Dataset.from_dict({"prompt": [p.prompt for p in pairs], "chosen": [p.chosen for p in pairs],
                              "rejected": [p.rejected for p in pairs]})


def unique_prompts(pairs: list[PreferencePair]) -> list[str]:
    """The distinct prompts of a preference set, in first-seen order (PPO's and DPO-Iter's prompt set)."""
    return list(dict.fromkeys(p.prompt for p in pairs))


def ppo_prompt_dataset(prompts: list[str], tokenizer, max_prompt_tokens: int) -> Dataset:
    """Tokenised prompts with only an ``input_ids`` column, as PPOTrainer requires; prompts longer than
    ``max_prompt_tokens`` keep their end (the last turn and the "Assistant:" cue matter most)."""
    ids = [row[-max_prompt_tokens:] for row in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    return Dataset.from_dict({"input_ids": ids})


#: What each pair filter drops, in order (PAPER: Sec. 4.3; App. C.3 applies dual-safe after dual-unsafe).
DROPPED_KINDS = {"none": (), "dual_unsafe": ("dual_unsafe",), "dual_unsafe_and_dual_safe": ("dual_unsafe", "dual_safe")}


def filter_pairs(pairs: list[PreferencePair], pair_filter: str) -> tuple[list[PreferencePair], dict[str, int]]:
    """Drop the pairs whose kind the filter names; returns the kept pairs and the count dropped per kind.
    Pairs without safety labels (HH-RLHF, DPO-Iter's own samples) cannot be filtered: a ValueError says so."""
    drop = DROPPED_KINDS[pair_filter]
    if drop and any(p.chosen_safe is None or p.rejected_safe is None for p in pairs):
        raise ValueError(f"pair_filter {pair_filter!r} needs SafeRLHF pairs with safety labels")
    kept = [p for p in pairs if p.kind not in drop]
    dropped = {kind: sum(p.kind == kind for p in pairs) for kind in drop}
    return kept, dropped
