"""``python -m dpo_vs_ppo.evaluation.real_programs``: judge the whole set in a fresh sandbox, print JSON.
tests/test_real_programs.py runs it as an ordinary user."""

import json

from ..sandbox import Sandbox
from . import judge_all

if __name__ == "__main__":
    with Sandbox(workers=2) as box:
        print(json.dumps(judge_all(box)))
