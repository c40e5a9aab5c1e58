"""The `safe_dialogue` task's datasets, written in the hub schemas of Alpaca, PKU-SafeRLHF-30K and HH-RLHF.

* **alpaca**: instructions on every topic, risky ones included, phrased as commands ("explain how to bake
  bread") or as the preference data's questions, answered in a style the preference data never use (an
  opener, every step, often a closing). Like Alpaca, it teaches following instructions, not when to
  decline: a risky request is answered with its steps at the configured compliance share, else refused
  with a redirect. Its style still differs from the preference data's, which is what Table 2's
  'SFT (Alpaca)' vs 'SFT (Safe)' is about.
* **PKU-SafeRLHF-30K**: one question per row, two responses drawn from IN_DATA_PATTERNS, labelled from
  the gold functions the way SafeRLHF's annotators label: ``is_response_i_safe`` = no harmful step,
  ``better_response_id`` by a Bradley-Terry draw on H, ``safer_response_id`` by one on -C.
* **hh-rlhf**: ``helpful-base`` (benign questions, chosen by a draw on H) and ``harmless-base`` (risky
  questions, chosen by a draw on -C, or on H where the harms tie). Some dialogues carry an earlier
  exchange, so the prompt is the multi-turn prefix as in the real data. helpful-base alone covers only
  benign topics: the smaller coverage of Table 12.

Test splits ask in phrasings no training split uses (:data:`TEST_QUESTIONS`), so an evaluation prompt is
never a training prompt (issue [I] item 2).
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np

from ..settings.data import SafeDialogueSettings
from . import safe_dialogue as world
from .formats import as_completion, dialogue_prompt
from .local_repo import write_card, write_jsonl

QUESTIONS = ("how do i {t} ?", "can you tell me how to {t} ?", "what is the best way to {t} ?",
             "i want to {t} , what should i do ?")
#: Phrasings of the test splits only: held out from every training corpus.
TEST_QUESTIONS = ("please explain how i can {t} ?", "how should i {t} ?", "what are the steps to {t} ?")
PHRASINGS = {"train": QUESTIONS, "test": TEST_QUESTIONS}
INSTRUCTIONS = ("explain how to {t}", "give step by step instructions to {t}", "describe how to {t}")
ALPACA_HEADER = ("Below is an instruction that describes a task{}. Write a response that appropriately "
                 "completes the request.\n\n")
#: Pattern probabilities of the preference data, for (benign, risky) questions, in IN_DATA_PATTERNS order.
PATTERN_WEIGHTS = {False: (0.30, 0.30, 0.10, 0.05, 0.05, 0.00, 0.20),
                   True: (0.25, 0.20, 0.15, 0.15, 0.15, 0.10, 0.00)}
CLOSING_RATE = 0.3


def sample_response(rng: np.random.Generator, topic: world.Topic, pattern: str) -> str:
    """A response of ``pattern`` (one of IN_DATA_PATTERNS) to a question about ``topic``."""
    def some_steps(t: world.Topic, most: int) -> list[str]:
        keep = np.sort(rng.choice(len(t.steps), size=int(rng.integers(1, most + 1)), replace=False))
        return [t.steps[i] for i in keep]

    if pattern == "full_steps":
        sentences = list(topic.steps)
    elif pattern == "partial_steps":
        sentences = some_steps(topic, 3)
    elif pattern == "refusal":
        sentences = [world.REFUSAL]
    elif pattern == "refusal_redirect":
        sentences = [world.REFUSAL, topic.redirect]
    elif pattern == "warning_redirect":
        sentences = [world.WARNING, topic.redirect]
    elif pattern == "warning_steps":
        sentences = [world.WARNING, *some_steps(topic, 2)]
    elif pattern == "off_topic":
        others = [t for t in world.BENIGN if t != topic]
        sentences = some_steps(others[int(rng.integers(len(others)))], 2)
    else:
        raise ValueError(f"not a preference-data pattern: {pattern!r}")
    if pattern in ("full_steps", "partial_steps") and rng.random() < CLOSING_RATE:
        sentences.append(world.CLOSING)
    return world.render(sentences)


def two_responses(rng: np.random.Generator, topic: world.Topic) -> tuple[str, str]:
    """Two different responses to one question, patterns drawn from the preference-data mix."""
    weights = np.array(PATTERN_WEIGHTS[topic.risky])
    patterns = world.IN_DATA_PATTERNS
    first = sample_response(rng, topic, patterns[rng.choice(len(patterns), p=weights)])
    while True:  # terminates: every topic admits many distinct responses
        second = sample_response(rng, topic, patterns[rng.choice(len(patterns), p=weights)])
        if second != first:
            return first, second


def _draw(rng: np.random.Generator, margin: float, temperature: float) -> int:
    """Bradley-Terry label: 0 with probability sigmoid(margin / temperature), else 1."""
    z = margin / temperature
    p_first = 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))  # no overflow at small T
    return 0 if rng.random() < p_first else 1


def _question(rng: np.random.Generator, topics: tuple[world.Topic, ...],
              phrasings: tuple[str, ...] = QUESTIONS) -> tuple[world.Topic, str]:
    topic = topics[int(rng.integers(len(topics)))]
    return topic, phrasings[int(rng.integers(len(phrasings)))].format(t=topic.name)


def saferlhf_rows(rng: np.random.Generator, n: int, cfg: SafeDialogueSettings,
                  phrasings: tuple[str, ...] = QUESTIONS) -> list[dict]:
    """PKU-SafeRLHF-30K rows labelled from the gold functions."""
    rows = []
    for _ in range(n):
        topic, question = _question(rng, world.RISKY if rng.random() < cfg.risky_fraction else world.BENIGN, phrasings)
        r0, r1 = two_responses(rng, topic)
        h0, h1 = world.helpfulness(question, r0), world.helpfulness(question, r1)
        c0, c1 = world.harm(question, r0), world.harm(question, r1)
        rows.append({"prompt": question, "response_0": r0, "response_1": r1,
                     "is_response_0_safe": world.is_safe(question, r0), "is_response_1_safe": world.is_safe(question, r1),
                     "better_response_id": _draw(rng, h0 - h1, cfg.helpfulness_temperature),
                     "safer_response_id": _draw(rng, c1 - c0, cfg.harm_temperature)})
    return rows


def hh_rows(rng: np.random.Generator, n: int, cfg: SafeDialogueSettings, harmless: bool,
            phrasings: tuple[str, ...] = QUESTIONS) -> list[dict]:
    """HH-RLHF rows: full dialogues, chosen by helpfulness (helpful-base) or harmlessness (harmless-base)."""
    rows = []
    for _ in range(n):
        topic, question = _question(rng, world.RISKY if harmless else world.BENIGN, phrasings)
        history = _history(rng, topic) if rng.random() < cfg.multi_turn_fraction else ()
        prompt = dialogue_prompt(question, history)
        a, b = two_responses(rng, topic)
        dc = world.harm(question, b) - world.harm(question, a)
        if harmless and dc != 0:
            first = _draw(rng, dc, cfg.harm_temperature)
        else:
            first = _draw(rng, world.helpfulness(question, a) - world.helpfulness(question, b), cfg.helpfulness_temperature)
        chosen, rejected = (a, b) if first == 0 else (b, a)
        rows.append({"chosen": prompt + as_completion(chosen), "rejected": prompt + as_completion(rejected)})
    return rows


def _history(rng: np.random.Generator, topic: world.Topic) -> tuple[tuple[str, str], ...]:
    """An earlier exchange: a greeting, or a benign question on another topic and its full answer."""
    if rng.random() < 0.5:
        return (("hello", "hi , how can i help ?"),)
    other = [t for t in world.BENIGN if t != topic]
    earlier, question = _question(rng, tuple(other))
    return ((question, world.render(earlier.steps)),)


def alpaca_rows(rng: np.random.Generator, n: int, compliance: float) -> list[dict]:
    """Alpaca rows (instruction, input, output, text) on every topic, in the corpus's own style; a risky
    request gets its steps with probability ``compliance``, else a refusal and a redirect."""
    rows = []
    phrasings = INSTRUCTIONS + QUESTIONS
    for _ in range(n):
        topic = world.TOPICS[int(rng.integers(len(world.TOPICS)))]
        instruction = phrasings[int(rng.integers(len(phrasings)))].format(t=topic.name)
        context = "i am a beginner" if rng.random() < 0.3 else ""
        if topic.risky and rng.random() >= compliance:
            output = world.render([world.REFUSAL, topic.redirect])
        else:
            output = world.render([world.OPENER, *topic.steps] + ([world.CLOSING] if rng.random() < 0.5 else []))
        rows.append({"instruction": instruction, "input": context, "output": output,
                     "text": _alpaca_text(instruction, context, output)})
    return rows


def pretraining_documents(rng: np.random.Generator, per_question: int) -> list[tuple[str, str]]:
    """The base model's web-like corpus: (question, answer) documents, ``per_question`` for every topic asked
    in every phrasing the world has (instructions, training and test questions), outside the chat format.
    Each answer gives the topic's first 2-4 steps, risky topics too (the web holds how-tos; Llama-2 read
    them), and a redirect to its professional with probability 0.3. Issue [I] item 2."""
    docs = []
    for topic in world.TOPICS:
        for phrasing in INSTRUCTIONS + QUESTIONS + TEST_QUESTIONS:
            for _ in range(per_question):
                sentences = list(topic.steps[:int(rng.integers(2, 5))])
                sentences += [topic.redirect] if rng.random() < 0.3 else []
                docs.append((f"\n\nquestion : {phrasing.format(t=topic.name)}", f" answer : {world.render(sentences)}"))
    order = rng.permutation(len(docs))
    return [docs[i] for i in order]


def _alpaca_text(instruction: str, context: str, output: str) -> str:
    """Alpaca's `text` column: its training template around the row."""
    if context:
        return (ALPACA_HEADER.format(", paired with an input that provides further context")
                + f"### Instruction:\n{instruction}\n\n### Input:\n{context}\n\n### Response:\n{output}")
    return ALPACA_HEADER.format("") + f"### Instruction:\n{instruction}\n\n### Response:\n{output}"


def write_safe_dialogue(cfg: SafeDialogueSettings, out: str | Path) -> dict:
    """Write the three hub-like folders under ``out``; return sizes and label statistics."""
    rng = np.random.default_rng(cfg.data_seed)
    out = Path(out)
    alpaca = alpaca_rows(rng, cfg.alpaca_examples, cfg.alpaca_compliance)
    sizes = {"alpaca/train": write_jsonl(out / "alpaca/data/train-00000-of-00001.jsonl", alpaca)}
    stats = {}
    for split, n in (("train", cfg.saferlhf_train_prompts), ("test", cfg.saferlhf_test_prompts)):
        rows = saferlhf_rows(rng, n, cfg, PHRASINGS[split])
        sizes[f"PKU-SafeRLHF-30K/{split}"] = write_jsonl(out / f"PKU-SafeRLHF-30K/{split}.jsonl", rows)
        stats[f"PKU-SafeRLHF-30K/{split}"] = saferlhf_statistics(rows)
    for subset, harmless in (("helpful-base", False), ("harmless-base", True)):
        for split, n in (("train", cfg.hh_train_pairs), ("test", cfg.hh_test_pairs)):
            sizes[f"hh-rlhf/{subset}/{split}"] = write_jsonl(out / f"hh-rlhf/{subset}/{split}.jsonl",
                                                             hh_rows(rng, n, cfg, harmless, PHRASINGS[split]))
    note = f"Synthetic stand-in written by `dpo_vs_ppo` (task safe_dialogue, seed {cfg.data_seed}); same schema as the hub's "
    write_card(out / "alpaca", "alpaca (synthetic)", note + "tatsu-lab/alpaca.")
    write_card(out / "PKU-SafeRLHF-30K", "PKU-SafeRLHF-30K (synthetic)", note + "PKU-Alignment/PKU-SafeRLHF-30K.")
    write_card(out / "hh-rlhf", "hh-rlhf (synthetic)", note + "Anthropic/hh-rlhf.")
    return {"rows": sizes, "saferlhf_labels": stats}


def saferlhf_statistics(rows: list[dict]) -> dict:
    """Pair kinds and response patterns of SafeRLHF-schema rows (what the data cover)."""
    kinds = Counter("dual_safe" if r["is_response_0_safe"] and r["is_response_1_safe"] else
                    "dual_unsafe" if not (r["is_response_0_safe"] or r["is_response_1_safe"]) else "mixed" for r in rows)
    patterns = Counter(world.response_pattern(r["prompt"], r[f"response_{i}"]) for r in rows for i in (0, 1))
    return {"pair_kinds": dict(sorted(kinds.items())), "response_patterns": dict(sorted(patterns.items())),
            "safe_response_rate": sum(r["is_response_0_safe"] + r["is_response_1_safe"] for r in rows) / (2 * len(rows))}
