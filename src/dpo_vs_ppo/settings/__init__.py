"""The typed settings of each stage, one frozen dataclass per kind of experiment file.

Each field's docstring says what it is and where its value comes from: ``PAPER: <section>`` when the
paper states it, ``NOT IN PAPER`` (or ``Ours``) plus the fallback's source when it does not. Values
live in ``experiments/*.yaml``; a missing key is an error.
"""

from .data import CodeDataSettings, CodeTaskSettings, DialogueDataSettings, HubSource, SafeDialogueSettings
from .evaluation import BestOfNSettings, CodeEvalSettings, DialogueEvalSettings, GenerateSettings, JudgeSettings, ScorerChoice
from .models import LlamaSize, ModelFamily, ModelSettings
from .tables import TableSettings
from .toy import Figure1Settings, Table1Settings, TheoremCheckSettings
from .training import DPOIterSettings, DPOSettings, Optimisation, PPOSettings, RewardSettings, SFTSettings

#: Which settings type each kind of experiment file holds; a file names its kind under `stage:`.
SETTINGS_BY_STAGE: dict[str, type] = {
    "table1": Table1Settings,
    "figure1": Figure1Settings,
    "data_dialogue": DialogueDataSettings,
    "data_code": CodeDataSettings,
    "models": ModelSettings,
    "sft": SFTSettings,
    "reward": RewardSettings,
    "dpo": DPOSettings,
    "ppo": PPOSettings,
    "dpo_iter": DPOIterSettings,
    "generate": GenerateSettings,
    "best_of_n": BestOfNSettings,
    "evaluate_dialogue": DialogueEvalSettings,
    "judge": JudgeSettings,
    "evaluate_code": CodeEvalSettings,
    "table": TableSettings,
}

__all__ = ["SETTINGS_BY_STAGE", "BestOfNSettings", "CodeDataSettings", "CodeEvalSettings", "DialogueEvalSettings", "GenerateSettings",
           "JudgeSettings", "ScorerChoice", "CodeTaskSettings", "DPOIterSettings", "DPOSettings",
           "DialogueDataSettings", "Figure1Settings", "HubSource", "LlamaSize", "ModelFamily", "ModelSettings",
           "Optimisation", "PPOSettings", "TableSettings", "RewardSettings", "SFTSettings", "SafeDialogueSettings", "Table1Settings",
           "TheoremCheckSettings"]
