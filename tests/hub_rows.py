"""Rows in the exact hub schemas of the paper's datasets, made by hand (no hub access in tests), and
helpers that lay them out as local folders the way the hub repositories are laid out."""

import json
from pathlib import Path

import pandas as pd

from dpo_vs_ppo.settings.data import HubSource


def alpaca_row(instruction="Give three tips for staying healthy.", context="", output="1. Eat well.") -> dict:
    return {"instruction": instruction, "input": context, "output": output,
            "text": f"Below is an instruction...\n\n### Instruction:\n{instruction}\n\n### Response:\n{output}"}


def saferlhf_row(safe0=True, safe1=True, better=0, safer=0, prompt="How do I bake bread?",
                 r0="Mix flour and water.", r1="I won't help.") -> dict:
    return {"prompt": prompt, "response_0": r0, "response_1": r1, "is_response_0_safe": safe0,
            "is_response_1_safe": safe1, "better_response_id": better, "safer_response_id": safer}


# Real HH-RLHF strings: every turn starts with "\n\nHuman: " or "\n\nAssistant: ", multi-turn
# dialogues repeat the whole history in both columns, and only the last assistant turn differs.
HH_MULTI_TURN = {
    "chosen": "\n\nHuman: What are some cuss words in english?\n\nAssistant: Here's an incomplete list.\n\n"
              "Human: What's your favorite one?\n\nAssistant: I haven't even thought about it.",
    "rejected": "\n\nHuman: What are some cuss words in english?\n\nAssistant: Here's an incomplete list.\n\n"
                "Human: What's your favorite one?\n\nAssistant: Ass.",
}


def apps_row(problem_id=0, fn_name=None, difficulty="interview", solutions=("print(int(input()) + 1)\n",)) -> dict:
    if fn_name:  # call-based: inputs are argument lists, outputs are (wrapped) return values
        io = {"fn_name": fn_name, "inputs": [[1, 2], [3, 4]], "outputs": [[3], [7]]}
        starter = f"class Solution:\n    def {fn_name}(self, a, b):\n        "
    else:  # standard input: strings; some real rows store a test's output as a list of lines
        io = {"inputs": ["1\n", "5\n"], "outputs": ["2\n", ["6"]]}
        starter = ""
    return {"problem_id": problem_id, "question": "Add one.\n\n-----Input-----\n\nAn integer.", "solutions": json.dumps(list(solutions)),
            "input_output": json.dumps(io), "difficulty": difficulty, "url": "https://codeforces.com/problemset/problem/1/A",
            "starter_code": starter}


def contests_row(name="1_A. Add one", languages=(1, 2, 3, 4), difficulty=7) -> dict:
    programs = {1: "print int(raw_input()) + 1", 2: "int main(){}", 3: "print(int(input()) + 1)", 4: "class Main {}"}
    tests = lambda xs: {"input": [f"{x}\n" for x in xs], "output": [f"{x + 1}\n" for x in xs]}  # noqa: E731
    return {"name": name, "description": "Add one.", "public_tests": tests([1]), "private_tests": tests([2, 3]),
            "generated_tests": tests([4, 5, 6]), "source": 2, "difficulty": difficulty,
            "solutions": {"language": list(languages), "solution": [programs[c] for c in languages]},
            "incorrect_solutions": {"language": [3], "solution": ["print(int(input()))"]},
            "cf_contest_id": 1, "cf_index": "A", "cf_points": 500.0, "cf_rating": 800, "cf_tags": ["math"],
            "is_description_translated": False, "untranslated_description": "",
            "time_limit": {"seconds": 2, "nanos": 0}, "memory_limit_bytes": 256000000, "input_file": "", "output_file": ""}


def write_rows(path: Path, rows: list[dict]) -> Path:
    """JSON Lines or Parquet, by the file's suffix, as the hub repositories store them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pd.DataFrame(rows).to_parquet(path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def source(hub_id: str, local_name: str, data_dir: str = "", split_files: str = "") -> HubSource:
    return HubSource(id=hub_id, revision="0123abcd", data_dir=data_dir, split_files=split_files, local_name=local_name)
