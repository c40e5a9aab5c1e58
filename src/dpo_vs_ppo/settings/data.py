"""Typed settings of the data stages: where each dataset comes from, and the synthetic tasks' sizes.

The paper names no dataset ids; the ids below are the standard public releases, inferred in
docs/data.md. Revisions are pinned by ``python -m dpo_vs_ppo.stages.fetch_hub`` (it prints and
records the commit sha to put here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Origin = Literal["synthetic", "hub", "snapshot"]


@dataclass(frozen=True)
class HubSource:
    """Where a dataset lives on the Hugging Face Hub, and the folder name of its local mirror."""

    id: str
    """Hub dataset id. NOT IN PAPER (no ids are given); the standard release inferred (docs/data.md)."""
    revision: str
    """Git revision loaded from the hub: a commit sha pins it ('main' until the fetch command has run)."""
    data_dir: str
    """Subfolder of the repository to read ('' for all of it), e.g. HH-RLHF's 'helpful-base' (Table 12)."""
    split_files: str
    """'' to let `datasets` read the repository's own layout; else a file name with {split}, read with the
    json builder. Needed where the repository still carries a loading script, which datasets 5 refuses."""
    local_name: str
    """Folder of this dataset under the synthetic or snapshot root."""

    def problems(self):
        if "/" not in self.id:
            yield "id", f"expected an 'owner/name' hub id, got {self.id!r}"
        if not self.revision:
            yield "revision", "must not be empty"
        if self.split_files and "{split}" not in self.split_files:
            yield "split_files", "must contain {split}"
        if not self.local_name or "/" in self.local_name:
            yield "local_name", "must be a plain folder name"


@dataclass(frozen=True)
class SafeDialogueSettings:
    """The synthetic `safe_dialogue` task (analog of Alpaca, PKU-SafeRLHF and HH-RLHF); gold functions in
    data/safe_dialogue.py."""

    data_seed: int
    """Seed of the generator; the data are fixed across study seeds, as a dataset is. Ours."""
    alpaca_examples: int
    """Rows of the Alpaca-like SFT corpus (every topic, in another style). Ours (Alpaca: 52k)."""
    alpaca_compliance: float
    """Share of the corpus's risky requests answered with their steps (the rest: a refusal and a redirect).
    PAPER: Table 2, SFT (Alpaca)'s safety rate 41.6 % (the start of PPO and DPO): 1 - 0.416."""
    saferlhf_train_prompts: int
    """Prompts of the SafeRLHF-schema preference set's train split, one pair each. Ours (PKU-SafeRLHF-30K: 26.9k)."""
    saferlhf_test_prompts: int
    """Prompts of its test split (evaluation prompts). Ours (PKU-SafeRLHF-30K: 2.99k)."""
    hh_train_pairs: int
    """Pairs of each HH-RLHF-schema subset's train split (helpful-base and harmless-base). Ours."""
    hh_test_pairs: int
    """Pairs of each HH-RLHF-schema subset's test split. Ours."""
    risky_fraction: float
    """Fraction of SafeRLHF-schema prompts that ask about a risky topic. Ours."""
    multi_turn_fraction: float
    """Fraction of HH-RLHF-schema dialogues with an earlier exchange before the compared turn. Ours."""
    helpfulness_temperature: float
    """Bradley-Terry temperature of the helpfulness labels: P(y0 better) = sigmoid((H0 - H1) / T). Ours."""
    harm_temperature: float
    """Bradley-Terry temperature of the safer-response labels on -C. Ours."""

    def problems(self):
        for name in ("alpaca_examples", "saferlhf_train_prompts", "saferlhf_test_prompts", "hh_train_pairs", "hh_test_pairs"):
            if getattr(self, name) < 1:
                yield name, "must be >= 1"
        for name in ("risky_fraction", "multi_turn_fraction", "alpaca_compliance"):
            if not 0 <= getattr(self, name) <= 1:
                yield name, "must be in [0, 1]"
        for name in ("helpfulness_temperature", "harm_temperature"):
            if getattr(self, name) <= 0:
                yield name, "must be > 0"


@dataclass(frozen=True)
class DialogueDataSettings:
    """Stages synthesize_dialogue and prepare_dialogue: the dialogue datasets of Tables 2, 4-6, 10, 12, 13."""

    origin: Origin
    """Read the synthetic task (tiny, smoke), the hub (paper) or the snapshot under data/hub (paper, offline)."""
    alpaca: HubSource
    """SFT corpus of 'SFT (Alpaca)'. PAPER: Sec. 4.3 (Alpaca); id inferred (docs/data.md)."""
    saferlhf: HubSource
    """SafeRLHF preferences. PAPER: Sec. 4.3 ('over 30k entries'): the 30K release, not the 2024 one."""
    hh_rlhf: HubSource
    """HH-RLHF, all subsets. PAPER: Sec. 6 ('170k comparisons')."""
    hh_rlhf_helpful: HubSource
    """HH-RLHF helpful-base only. PAPER: App. C.3, Table 12."""
    max_rows_per_split: int
    """Read at most this many rows of each split (0 = all): a quick look at a hub dataset. Ours."""
    synthetic: SafeDialogueSettings
    """The synthetic task written when origin is 'synthetic' (and always, for the record)."""

    def problems(self):
        if self.max_rows_per_split < 0:
            yield "max_rows_per_split", "must be >= 0 (0 = all rows)"


@dataclass(frozen=True)
class CodeTaskSettings:
    """The synthetic `code` task (analog of APPS and CodeContests); families in data/code_task.py."""

    data_seed: int
    """Seed of the generator. Ours."""
    apps_train_per_difficulty: tuple[int, ...]
    """APPS-schema train problems of each difficulty (introductory, interview, competition). Issue [I] item 8:
    in APPS' train proportions (APPS, Hendrycks et al. 2021: 2,639 / 2,000 / 361 of 5,000)."""
    apps_test_per_difficulty: int
    """APPS-schema test problems per difficulty. Ours (APPS test: 1000 / 3000 / 1000)."""
    contests_train: int
    """CodeContests-schema train problems. Ours (CodeContests: 13,328)."""
    contests_valid: int
    """CodeContests-schema valid problems. Ours (117)."""
    contests_test: int
    """CodeContests-schema test problems. Ours (165)."""
    public_tests: int
    """Tests shown in the statement (CodeContests public_tests; the APPS examples). Ours."""
    private_tests: int
    """Hidden tests per problem. Ours."""
    generated_tests: int
    """CodeContests generated_tests per problem. Ours."""

    def problems(self):
        if len(self.apps_train_per_difficulty) != 3 or min(self.apps_train_per_difficulty) < 1:
            yield "apps_train_per_difficulty", "must list 3 counts >= 1 (introductory, interview, competition)"
        for name in ("apps_test_per_difficulty", "contests_train", "contests_valid",
                     "contests_test", "public_tests", "private_tests"):
            if getattr(self, name) < 1:
                yield name, "must be >= 1"
        if self.generated_tests < 0:
            yield "generated_tests", "must be >= 0"


@dataclass(frozen=True)
class CodeDataSettings:
    """Stages synthesize_code and prepare_code: the code datasets of Tables 3, 7-9, 11 and Figure 2."""

    origin: Origin
    """Read the synthetic task (tiny, smoke), the hub (paper) or the snapshot under data/hub (paper, offline)."""
    apps: HubSource
    """APPS. PAPER: Sec. 6 (APPS); id inferred (docs/data.md)."""
    code_contests: HubSource
    """CodeContests. PAPER: Sec. 6; Python solutions only."""
    max_rows_per_split: int
    """Read at most this many rows of each split (0 = all). Ours."""
    synthetic: CodeTaskSettings
    """The synthetic task written when origin is 'synthetic' (and always, for the record)."""

    def problems(self):
        if self.max_rows_per_split < 0:
            yield "max_rows_per_split", "must be >= 0 (0 = all rows)"
