"""How prompts are written: the one place that fixes the text format of every dataset.

Dialogue uses HH-RLHF's own convention for all dialogue data (Alpaca and SafeRLHF too): the prompt is
the dialogue up to and including the last "\\n\\nAssistant:", the completion is the text after it,
starting with a space. Code uses the APPS paper's prompt (QUESTION / starter code / format line /
ANSWER). The paper does not state its templates (ReaLHF code, not the paper, would tell): ours.
"""

from __future__ import annotations

HUMAN = "\n\nHuman:"
ASSISTANT = "\n\nAssistant:"


def dialogue_prompt(user_message: str, history: tuple[tuple[str, str], ...] = ()) -> str:
    """A dialogue ending in the assistant's turn; ``history`` holds earlier (human, assistant) turns."""
    turns = "".join(f"{HUMAN} {human}{ASSISTANT} {assistant}" for human, assistant in history)
    return f"{turns}{HUMAN} {user_message}{ASSISTANT}"


def as_completion(response: str) -> str:
    """The text that follows a dialogue prompt: one space, then the response."""
    return " " + response.strip()


def alpaca_message(instruction: str, context: str) -> str:
    """Alpaca's instruction, followed by its optional input after a blank line."""
    return f"{instruction.strip()}\n\n{context.strip()}" if context.strip() else instruction.strip()


def split_hh_pair(chosen: str, rejected: str) -> tuple[str, str, str] | str:
    """HH-RLHF pair: (shared prompt, chosen response, rejected response), or why there is none
    ('no_assistant_turn', 'prompts_differ').

    The prompt ends at the first "\\n\\nAssistant:" after the last "\\n\\nHuman:" that both dialogues
    share. Cutting each side at its own last "\\n\\nAssistant:" (this loader's former rule) skipped 5 of
    the 2,312 real harmless-base test rows: there a reply itself contains a further "\\n\\nAssistant:".
    A response after the cut that contains "\\n\\nHuman:" means the dialogues differ before the last turn."""
    if ASSISTANT not in chosen or ASSISTANT not in rejected:
        return "no_assistant_turn"
    shared = 0
    for a, b in zip(chosen, rejected):
        if a != b:
            break
        shared += 1
    common = chosen[:shared]
    cut = common.find(ASSISTANT, max(common.rfind(HUMAN), 0))
    if cut < 0:
        return "prompts_differ"
    cut += len(ASSISTANT)
    if HUMAN in chosen[cut:] or HUMAN in rejected[cut:]:
        return "prompts_differ"
    return chosen[:cut], chosen[cut:], rejected[cut:]


def code_prompt(question: str, starter_code: str, fn_name: str) -> str:
    """The APPS evaluation prompt: question, starter code, which I/O convention, then ANSWER."""
    style = "Use Call-Based format" if fn_name else "Use Standard Input format"
    starter = f"{starter_code.rstrip()}\n" if starter_code.strip() else ""
    return f"\nQUESTION:\n{question.strip()}\n{starter}{style}\nANSWER:\n"
