"""Bad rows: a DataError naming dataset, split and row, or a counted skip where that is the documented
policy; never silent. Also the stage-level contract: one line on stderr and exit code 3."""

import json

import pytest

from dpo_vs_ppo.data import code_sources, dialogue_sources
from dpo_vs_ppo.data.records import DataError, SkipCounter
from dpo_vs_ppo.stages import prepare

from hub_rows import HH_MULTI_TURN, alpaca_row, apps_row, contests_row, saferlhf_row


def _convert(convert, rows):
    counter = SkipCounter("ds/x", "train")
    return list(convert(rows, "train", counter)), counter


def _replace(row: dict, **changes) -> dict:
    return {**row, **changes}


def _without(row: dict, key: str) -> dict:
    return {k: v for k, v in row.items() if k != key}


ERRORS = [
    (dialogue_sources.alpaca_sft, [alpaca_row(), _replace(alpaca_row(), output=None)], r"row 1: field 'output' must be a string"),
    (dialogue_sources.alpaca_sft, [_without(alpaca_row(), "input")], r"missing column\(s\) \['input'\]"),
    (dialogue_sources.saferlhf_pairs, [saferlhf_row(better=2)], r"row 0: field 'better_response_id' must be one of \[0, 1\], got 2"),
    (dialogue_sources.saferlhf_pairs, [saferlhf_row(safer=True)], r"field 'safer_response_id' must be one of \[0, 1\], got True"),
    (dialogue_sources.saferlhf_pairs, [saferlhf_row(safe0="yes")], r"field 'is_response_0_safe' must be one of \[True, False\]"),
    (dialogue_sources.hh_pairs, [_replace(HH_MULTI_TURN, rejected=7)], r"row 0: field 'rejected' must be a string"),
    (code_sources.apps_problems, [_replace(apps_row(), solutions="[\"print(1)\"")], r"row 0: field 'solutions' is not valid JSON"),
    (code_sources.apps_problems, [apps_row(), _replace(apps_row(), input_output="{\"inputs\": [1]")], r"row 1: field 'input_output' is not valid JSON"),
    (code_sources.apps_problems, [_replace(apps_row(), input_output=json.dumps({"inputs": ["1"], "outputs": []}))], r"1 inputs but 0 outputs"),
    (code_sources.apps_problems, [_replace(apps_row(), difficulty="easy")], r"difficulty must be one of"),
    (code_sources.code_contests_problems, [_replace(contests_row(), solutions={"language": [3, 3], "solution": ["x"]})], r"2 language codes for 1 programs"),
    (code_sources.code_contests_problems, [_replace(contests_row(), solutions={"language": [9], "solution": ["x"]})], r"unknown language code\(s\) \[9\]"),
    (code_sources.code_contests_problems, [_replace(contests_row(), public_tests={"input": ["1"]})], r"'public_tests' must be a mapping"),
]


@pytest.mark.parametrize("convert, rows, message", ERRORS)
def test_structural_faults_raise_naming_dataset_split_and_row(convert, rows, message):
    with pytest.raises(DataError, match=r"^ds/x \[train\]") as err:
        _convert(convert, rows)
    assert err.match(message)


SKIPS = [
    (dialogue_sources.alpaca_sft, [alpaca_row(output="  ")], "empty_text"),
    (dialogue_sources.saferlhf_pairs, [saferlhf_row(r1="")], "empty_text"),
    (dialogue_sources.saferlhf_pairs, [saferlhf_row(r1="Mix flour and water. ")], "identical_responses"),
    (dialogue_sources.hh_pairs, [{"chosen": "\n\nHuman: hi", "rejected": "\n\nHuman: hi"}], "no_assistant_turn"),
    (dialogue_sources.hh_pairs, [{"chosen": "\n\nHuman: a\n\nAssistant: x", "rejected": "\n\nHuman: b\n\nAssistant: y"}], "prompts_differ"),
    (dialogue_sources.hh_pairs, [{"chosen": "\n\nHuman: a\n\nAssistant: x", "rejected": "\n\nHuman: a\n\nAssistant: x"}], "identical_responses"),
    (code_sources.apps_problems, [_replace(apps_row(), input_output="")], "no_tests"),
]


@pytest.mark.parametrize("convert, rows, reason", SKIPS)
def test_documented_faults_are_counted_skips(convert, rows, reason):
    good = {dialogue_sources.alpaca_sft: alpaca_row(), dialogue_sources.saferlhf_pairs: saferlhf_row(),
            dialogue_sources.hh_pairs: HH_MULTI_TURN, code_sources.apps_problems: apps_row()}[convert]
    records, counter = _convert(convert, [good, *rows, good])
    assert len(records) == 2
    assert counter.as_metrics() == {"read": 3, "kept": 2, "skipped": {reason: 1}}


def test_prepare_stage_reports_a_bad_row_in_one_line(tmp_path, repo, capsys):
    synthetic = tmp_path / "synthetic"
    (synthetic / "apps").mkdir(parents=True)
    rows = [apps_row(0), _replace(apps_row(1), input_output="{not json")]
    for split in ("train", "test"):
        (synthetic / f"apps/{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = ["--params", str(repo / "params.yaml"), "--experiment", str(repo / "experiments/data_code.yaml"),
            "--synthetic-dir", str(synthetic), "--out", str(tmp_path / "out"), "--metrics", str(tmp_path / "m.json"),
            "--run-info", str(tmp_path / "r.json")]
    with pytest.raises(SystemExit) as stop:
        prepare.main_with_config_errors(prepare.main, argv)
    assert stop.value.code == 3
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("data error: codeparrot/apps [train] row 1: field 'input_output' is not valid JSON")
    assert not (tmp_path / "m.json").exists()
