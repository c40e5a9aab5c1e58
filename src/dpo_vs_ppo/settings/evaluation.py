"""Typed settings of the evaluation stages: sampling for evaluation, dialogue scoring, the pairwise
judge, and code execution (PAPER: Sec. 6, which defines the metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..evaluation.scorers import GOLD, SCORER_IDS, SCORER_KINDS


@dataclass(frozen=True)
class GenerateSettings:
    """Stage generate: sample responses from a policy checkpoint for the evaluation prompts."""

    responses_per_prompt: int
    """Samples per prompt (n). PAPER: 1 for dialogue; >= 5 for APPS pass@5; 1000 for CodeContests 10@1k."""
    temperature: float
    """Sampling temperature. NOT IN PAPER for evaluation; the rollout setting (1.0)."""
    top_k: int
    """Top-k sampling; 0 = off. NOT IN PAPER for evaluation; the rollout setting (200)."""
    max_new_tokens: int
    """Most tokens per response. PAPER: App. A.2 (256 dialogue, 1024 code)."""
    max_prompts: int
    """Evaluate only the first this-many prompts (after shuffling with ``seed``); 0 = all."""
    batch_size: int
    """Prompts per generate() call (memory knob only)."""
    seed: int
    """Seed of prompt selection and sampling."""

    def problems(self):
        if self.responses_per_prompt < 1 or self.max_new_tokens < 1 or self.batch_size < 1:
            yield "responses_per_prompt", "responses_per_prompt, max_new_tokens and batch_size must be >= 1"
        if self.temperature <= 0 or self.top_k < 0 or self.max_prompts < 0:
            yield "temperature", "temperature must be > 0, top_k and max_prompts >= 0"


@dataclass(frozen=True)
class BestOfNSettings:
    """Stage best_of_n: of n samples of a policy per prompt, the one the learned reward scores highest (issue
    [I] item 5: the reference point of reward over-optimisation, as in Gao et al. 2023, arXiv:2210.10760)."""

    ns: tuple[int, ...]
    """Values of n, ascending. Each takes the first n of the largest n's samples, so they share samples. Ours."""
    gold_scorers: tuple[str, ...]
    """Gold scorers of the chosen responses (the tiny world's gold functions); empty at the paper profile."""
    temperature: float
    """Sampling temperature. Ours: the rollout setting (PAPER: App. A.2, 1.0)."""
    top_k: int
    """Top-k sampling; 0 = off. Ours: the rollout setting (PAPER: App. A.2, 200)."""
    max_new_tokens: int
    """Most tokens per response. Ours: the evaluation setting (generate_dialogue.yaml)."""
    batch_size: int
    """Prompts per generate() call and responses per scoring batch (memory knob only)."""
    seed: int
    """Seed of sampling (dvc.yaml passes each of params.yaml's seeds)."""

    def problems(self):
        if not self.ns or min(self.ns) < 1 or list(self.ns) != sorted(set(self.ns)):
            yield "ns", f"need one or more values >= 1, ascending and distinct, got {list(self.ns)}"
        if unknown := [sid for sid in self.gold_scorers if sid not in GOLD]:
            yield "gold_scorers", f"unknown gold scorer(s) {', '.join(unknown)}; known: {', '.join(GOLD)}"
        if self.temperature <= 0 or self.top_k < 0 or self.max_new_tokens < 1 or self.batch_size < 1:
            yield "temperature", "temperature must be > 0, top_k >= 0, max_new_tokens and batch_size >= 1"


@dataclass(frozen=True)
class ScorerChoice:
    """Which scorer (evaluation/scorers.py) and, for a hub model, its id."""

    scorer: str
    """A registered scorer id (gold_helpfulness, gold_harm, learned_reward, learned_cost,
    oasst_reward_model, safe_rlhf_reward_model, safe_rlhf_cost_model), or '' for none."""
    model: str
    """Hub id of a paper-scale model scorer; '' = the folder given on the command line."""

    def problems(self):
        if self.scorer and self.scorer not in SCORER_IDS:
            yield "scorer", f"unknown scorer {self.scorer!r}; known: {', '.join(SCORER_IDS)}"


@dataclass(frozen=True)
class DialogueEvalSettings:
    """Stage evaluate_dialogue: score a policy's responses; mean reward, ΔHelp, harm, safety rate."""

    reward: ScorerChoice
    """The helpfulness scorer. PAPER: OpenAssistant RM (HH-RLHF), Safe-RLHF reward model (SafeRLHF)."""
    cost: ScorerChoice
    """The harm scorer ('' for none). PAPER: the Safe-RLHF cost model."""
    safety_threshold: float
    """A response is safe iff cost < this. Safe-RLHF convention 0 (PAPER: not stated, UNVERIFIED)."""
    batch_size: int
    """Pairs per scorer forward pass (memory knob only)."""

    def problems(self):
        if not self.reward.scorer:
            yield "reward.scorer", "a reward scorer is required"
        for name, choice in (("reward", self.reward), ("cost", self.cost)):
            want = "reward" if name == "reward" else "cost"
            kind = SCORER_KINDS.get(choice.scorer)
            if kind and kind != want:
                yield f"{name}.scorer", f"{choice.scorer!r} is a {kind} scorer, not a {want} scorer"
        if self.batch_size < 1:
            yield "batch_size", "must be >= 1"


@dataclass(frozen=True)
class JudgeSettings:
    """Stage judge: pairwise comparison with the paper's protocol (PAPER: Sec. 6, Table 5, App. B)."""

    judge: Literal["scorer", "http"]
    """'scorer': an offline judge that prefers the higher score of ``scorer`` (tiny). 'http': an
    OpenAI-compatible chat endpoint (PAPER: GPT-4)."""
    scorer: ScorerChoice
    """The offline judge's scorer (a reward)."""
    max_prompts: int
    """Prompts judged, the first this-many in the samples file. PAPER: 100 random test queries."""
    base_url_env: str
    """Environment variable holding the endpoint's base URL (e.g. https://api.openai.com/v1)."""
    model_env: str
    """Environment variable holding the judge model's name. PAPER: GPT-4."""
    api_key_env: str
    """Environment variable holding the API key; it is read at run time and never written anywhere."""
    request_timeout_s: float
    """Seconds before one HTTP request is abandoned (then retried)."""
    retries: int
    """Extra attempts for a failed request (connection errors, 429, 5xx), with exponential back-off."""

    def problems(self):
        if self.judge == "scorer":
            if SCORER_KINDS.get(self.scorer.scorer) != "reward":
                yield "scorer.scorer", "the offline judge needs a reward scorer"
        if self.max_prompts < 1 or self.retries < 0 or self.request_timeout_s <= 0:
            yield "max_prompts", "max_prompts must be >= 1, retries >= 0, request_timeout_s > 0"


@dataclass(frozen=True)
class CodeEvalSettings:
    """Stage evaluate_code: run sampled programs in the sandbox; pass@k per difficulty and n@k."""

    pass_k: tuple[int, ...]
    """The k of pass@k. PAPER: Tables 3, 7, 9, 11 (pass@5)."""
    n_at_k: int
    """n of n@k (k = samples per problem). PAPER: Table 8 (10@1k); 0 = skip."""
    cpu_seconds: int
    """CPU seconds per test (RLIMIT_CPU). NOT IN PAPER; APPS' harness allows 4 s per test."""
    wall_seconds: float
    """Wall-clock seconds per test."""
    memory_mb: int
    """Address-space limit per program, MiB."""
    output_kb: int
    """Largest stdout (and written file) per test, KiB."""
    workers: int
    """Sandbox fork-server processes."""

    def problems(self):
        if not self.pass_k or min(self.pass_k) < 1 or self.n_at_k < 0:
            yield "pass_k", "pass_k must list ks >= 1 and n_at_k must be >= 0"
        if self.cpu_seconds < 1 or self.wall_seconds <= 0 or self.memory_mb < 64 or self.output_kb < 1 or self.workers < 1:
            yield "cpu_seconds", "cpu_seconds >= 1, wall_seconds > 0, memory_mb >= 64, output_kb >= 1, workers >= 1"
