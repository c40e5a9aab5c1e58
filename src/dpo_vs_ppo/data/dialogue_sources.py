"""Alpaca, PKU-SafeRLHF-30K and HH-RLHF rows -> SFT examples and preference pairs (paper Sec. 4.3, 6).

Each converter takes the rows of one split (a ``datasets.Dataset`` or any iterable of dicts in the hub
schema) and yields records. Structural faults raise DataError; these documented faults are counted
skips, because the real datasets contain them:

* ``empty_text``: an empty instruction, prompt or response;
* ``identical_responses``: a pair whose two responses are the same text (nothing to learn);
* ``no_assistant_turn`` / ``prompts_differ`` (HH-RLHF): a dialogue with no "Assistant:" turn, or a
  chosen/rejected pair whose dialogues differ before the last assistant turn (a reply may itself
  contain "\\n\\nAssistant:": formats.split_hh_pair).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .formats import alpaca_message, as_completion, dialogue_prompt, split_hh_pair
from .records import PreferencePair, SFTExample, SkipCounter
from .row_checks import choice, column_names, numbered_rows, require_columns, text

ALPACA_COLUMNS = ("instruction", "input", "output")
SAFERLHF_COLUMNS = ("prompt", "response_0", "response_1", "is_response_0_safe", "is_response_1_safe",
                    "better_response_id", "safer_response_id")
HH_COLUMNS = ("chosen", "rejected")


def alpaca_sft(rows: Iterable[dict], split: str, counter: SkipCounter, max_rows: int = 0) -> Iterator[SFTExample]:
    """Alpaca: the instruction (and its optional input) as the human turn, the output as the completion."""
    require_columns(column_names(rows), ALPACA_COLUMNS, counter.dataset, split)
    for i, row in numbered_rows(rows, counter, max_rows):
        instruction, context, output = (text(row, k, counter.dataset, split, i) for k in ALPACA_COLUMNS)
        if not instruction.strip() or not output.strip():
            counter.skip("empty_text")
            continue
        counter.kept += 1
        yield SFTExample(dialogue_prompt(alpaca_message(instruction, context)), as_completion(output),
                         f"{counter.dataset}/{split}/{i}")


def saferlhf_pairs(rows: Iterable[dict], split: str, counter: SkipCounter, max_rows: int = 0, *,
                   filter_dual_unsafe: bool = False, filter_dual_safe: bool = False) -> Iterator[PreferencePair]:
    """PKU-SafeRLHF: if both responses are safe, the more helpful one is chosen; otherwise the safer one
    (paper Sec. 4.3). The filters drop dual-unsafe pairs, then dual-safe pairs (App. C.3's order)."""
    for i, row in _saferlhf_rows(rows, split, counter, max_rows):
        safe = (row["is_response_0_safe"], row["is_response_1_safe"])
        if filter_dual_unsafe and not any(safe):
            counter.skip("filtered_dual_unsafe")
            continue
        if filter_dual_safe and all(safe):
            counter.skip("filtered_dual_safe")
            continue
        rule, winner = ("helpfulness", row["better_response_id"]) if all(safe) else ("safety", row["safer_response_id"])
        counter.kept += 1
        yield PreferencePair(
            prompt=dialogue_prompt(row["prompt"].strip()),
            chosen=as_completion(row[f"response_{winner}"]),
            rejected=as_completion(row[f"response_{1 - winner}"]),
            source=f"{counter.dataset}/{split}/{i}", rule=rule,
            chosen_safe=safe[winner], rejected_safe=safe[1 - winner])


def saferlhf_safe_sft(rows: Iterable[dict], split: str, counter: SkipCounter, max_rows: int = 0) -> Iterator[SFTExample]:
    """'SFT (Safe)': every response SafeRLHF labels safe, once per (prompt, response) (paper Sec. 4.3)."""
    seen: set[tuple[str, str]] = set()
    for i, row in _saferlhf_rows(rows, split, counter, max_rows):
        for r in (0, 1):
            key = (row["prompt"].strip(), row[f"response_{r}"].strip())
            if row[f"is_response_{r}_safe"] and key not in seen:
                seen.add(key)
                counter.kept += 1
                yield SFTExample(dialogue_prompt(key[0]), as_completion(key[1]), f"{counter.dataset}/{split}/{i}/{r}")


def _saferlhf_rows(rows, split: str, counter: SkipCounter, max_rows: int) -> Iterator[tuple[int, dict]]:
    """Checked SafeRLHF rows; empty texts and identical responses are counted and skipped."""
    name = counter.dataset
    require_columns(column_names(rows), SAFERLHF_COLUMNS, name, split)
    for i, row in numbered_rows(rows, counter, max_rows):
        checked = {k: text(row, k, name, split, i) for k in ("prompt", "response_0", "response_1")}
        for k in ("is_response_0_safe", "is_response_1_safe"):
            checked[k] = choice(row, k, (True, False), name, split, i)
        for k in ("better_response_id", "safer_response_id"):
            checked[k] = choice(row, k, (0, 1), name, split, i)
        if not all(checked[k].strip() for k in ("prompt", "response_0", "response_1")):
            counter.skip("empty_text")
        elif checked["response_0"].strip() == checked["response_1"].strip():
            counter.skip("identical_responses")
        else:
            yield i, checked


def hh_pairs(rows: Iterable[dict], split: str, counter: SkipCounter, max_rows: int = 0) -> Iterator[PreferencePair]:
    """HH-RLHF: the prompt is the dialogue up to the last "Assistant:", shared by chosen and rejected
    (paper Sec. 6); the two completions are what follows it."""
    name = counter.dataset
    require_columns(column_names(rows), HH_COLUMNS, name, split)
    for i, row in numbered_rows(rows, counter, max_rows):
        split_pair = split_hh_pair(text(row, "chosen", name, split, i), text(row, "rejected", name, split, i))
        if isinstance(split_pair, str):
            counter.skip(split_pair)
            continue
        prompt, chosen, rejected = split_pair
        if not chosen.strip() or not rejected.strip():
            counter.skip("empty_text")
        elif chosen.strip() == rejected.strip():
            counter.skip("identical_responses")
        else:
            counter.kept += 1
            yield PreferencePair(prompt, as_completion(chosen), as_completion(rejected), f"{name}/{split}/{i}",
                                 rule="annotator")
