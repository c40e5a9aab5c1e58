"""Evaluation prompts and sampled responses, as JSON Lines: one row per prompt, with its id.

A samples file row is ``{"prompt_id": ..., "prompt": ..., "responses": [...]}``. Prompt ids come from
the prepared records (a preference pair's ``source``, e.g. ``PKU-Alignment/PKU-SafeRLHF-30K/test/7``,
or a code problem's ``problem_id``), so two policies' samples pair up prompt by prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..data.formats import code_prompt
from ..data.records import CodeProblem, DataError, PreferencePair, read_records
from ..records import write_text


@dataclass(frozen=True)
class PromptSamples:
    prompt_id: str
    prompt: str
    responses: tuple[str, ...]


def evaluation_prompts(records_path: str) -> list[tuple[str, str]]:
    """(prompt id, prompt) of a prepared records file: the distinct prompts of preference pairs (id: the
    first pair's source), or one APPS-format prompt per code problem (id: problem_id)."""
    with open(records_path, encoding="utf-8") as handle:
        first = json.loads(next((line for line in handle if line.strip()), "{}"))
    if "chosen" in first:
        seen: dict[str, str] = {}
        for pair in read_records(records_path, PreferencePair):
            seen.setdefault(pair.prompt, pair.source)
        return _unique_ids([(source, prompt) for prompt, source in seen.items()], records_path)
    if "question" in first:
        return [(p.problem_id, code_prompt(p.question, p.starter_code, p.fn_name))
                for p in read_records(records_path, CodeProblem)]
    raise DataError(Path(records_path).name, "", None, "neither preference pairs nor code problems")


def _unique_ids(prompts: list[tuple[str, str]], records_path: str) -> list[tuple[str, str]]:
    """Samples of two policies are paired by prompt id, so one id must never name two prompts."""
    ids = [pid for pid, _ in prompts]
    if len(set(ids)) != len(ids):
        dup = next(pid for pid in ids if ids.count(pid) > 1)
        raise DataError(Path(records_path).name, "", None, f"prompt id {dup!r} names more than one prompt")
    return prompts


def write_samples(path: str | Path, rows: list[PromptSamples]) -> None:
    text = "".join(json.dumps({"prompt_id": r.prompt_id, "prompt": r.prompt, "responses": list(r.responses)},
                              ensure_ascii=False) + "\n" for r in rows)
    write_text(path, text)


def read_samples(path: str | Path) -> list[PromptSamples]:
    """Rows of a samples file; a malformed row is a DataError naming the file and line."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for i, line in enumerate(handle, start=1):  # the file's line number, as editors count
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                responses = row["responses"]
                if not isinstance(responses, list) or not all(isinstance(r, str) for r in responses) or not responses:
                    raise ValueError("'responses' must be a non-empty list of strings")
                rows.append(PromptSamples(str(row["prompt_id"]), str(row["prompt"]), tuple(responses)))
            except (ValueError, KeyError, TypeError) as err:
                raise DataError(Path(path).name, "samples", i, f"malformed samples row: {err}") from None
    if not rows:
        raise DataError(Path(path).name, "samples", None, "no samples")
    return rows


def flat_pairs(rows: list[PromptSamples]) -> tuple[list[str], list[str]]:
    """(prompts, responses), one entry per response, in file order."""
    return [r.prompt for r in rows for _ in r.responses], [x for r in rows for x in r.responses]


def aligned(policy: list[PromptSamples], baseline: list[PromptSamples], what: str) -> list[PromptSamples]:
    """The baseline's rows in the policy's prompt order; every policy prompt must be there."""
    by_id = {r.prompt_id: r for r in baseline}
    if len(by_id) != len(baseline) or len({r.prompt_id for r in policy}) != len(policy):
        raise DataError(what, "samples", None, "a prompt id occurs twice; samples cannot be paired")
    missing = [r.prompt_id for r in policy if r.prompt_id not in by_id]
    if missing:
        raise DataError(what, "samples", None, f"{len(missing)} prompt(s) of the policy are missing, e.g. {missing[0]!r}")
    return [by_id[r.prompt_id] for r in policy]
