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
    (dialogue_sources.alpaca_sft, [alpaca_row(), _replace(alpaca_row(), output=None)], r"row 2: field 'output' is missing \(must be a string\)"),
    (dialogue_sources.alpaca_sft, [_without(alpaca_row(), "input")], r"missing column\(s\) \['input'\]"),
    (dialogue_sources.saferlhf_pairs, [saferlhf_row(better=2)], r"row 1: field 'better_response_id' must be one of \[0, 1\], got 2"),
    (dialogue_sources.saferlhf_pairs, [saferlhf_row(safer=True)], r"field 'safer_response_id' must be one of \[0, 1\], got True"),
    (dialogue_sources.saferlhf_pairs, [saferlhf_row(safe0="yes")], r"field 'is_response_0_safe' must be one of \[True, False\]"),
    (dialogue_sources.hh_pairs, [_replace(HH_MULTI_TURN, rejected=7)], r"row 1: field 'rejected' must be a string, got 7"),
    (code_sources.apps_problems, [_replace(apps_row(), solutions="[\"print(1)\"")], r"row 1: field 'solutions' is not valid JSON"),
    (code_sources.apps_problems, [apps_row(), _replace(apps_row(), input_output="{\"inputs\": [1]")], r"row 2: field 'input_output' is not valid JSON"),
    (code_sources.apps_problems, [_replace(apps_row(), input_output=json.dumps({"inputs": ["1"], "outputs": []}))], r"1 inputs but 0 outputs"),
    (code_sources.apps_problems, [_replace(apps_row(), difficulty="easy")], r"difficulty must be one of"),
    (code_sources.code_contests_problems, [_replace(contests_row(), solutions={"language": [3, 3], "solution": ["x"]})], r"2 language codes for 1 programs"),
    (code_sources.code_contests_problems, [_replace(contests_row(), solutions={"language": [9], "solution": ["x"]})], r"unknown language code\(s\) \[9\]"),
    (code_sources.code_contests_problems, [_replace(contests_row(), public_tests={"input": ["1"]})], r"'public_tests' must be a mapping"),
    # a field a row lacks, or holds null, is "missing", not "got None"
    (dialogue_sources.alpaca_sft, [alpaca_row(), alpaca_row(), _without(alpaca_row(), "output")], r"row 3: field 'output' is missing"),
    (dialogue_sources.saferlhf_pairs, [saferlhf_row(safe1=None)], r"row 1: field 'is_response_1_safe' is missing \(must be one of"),
    (code_sources.code_contests_problems, [contests_row(), _without(contests_row(), "difficulty")], r"row 2: field 'difficulty' is missing"),
    (code_sources.code_contests_problems, [_replace(contests_row(), private_tests=None)], r"row 1: field 'private_tests' is missing"),
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
    assert line.startswith("data error: codeparrot/apps [train] row 2: field 'input_output' is not valid JSON")
    assert not (tmp_path / "m.json").exists()


def test_a_bad_row_in_a_later_file_leaves_no_half_written_output_folder(tmp_path, repo, capsys):
    """prepare writes into a staging folder renamed into place at the end: apps_train.jsonl was written
    before apps_test.jsonl failed, and neither it nor the staging folder is left; an earlier output stays."""
    synthetic = tmp_path / "synthetic"
    (synthetic / "apps").mkdir(parents=True)
    (synthetic / "apps/train.jsonl").write_text(json.dumps(apps_row(0)) + "\n")
    (synthetic / "apps/test.jsonl").write_text(json.dumps(_replace(apps_row(1), input_output="{not json")) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.jsonl").write_text("kept\n")
    argv = ["--params", str(repo / "params.yaml"), "--experiment", str(repo / "experiments/data_code.yaml"),
            "--synthetic-dir", str(synthetic), "--out", str(out), "--metrics", str(tmp_path / "m.json"),
            "--run-info", str(tmp_path / "r.json")]
    with pytest.raises(SystemExit) as stop:
        prepare.main_with_config_errors(prepare.main, argv)
    assert stop.value.code == 3 and "[test] row 1" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["earlier.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "synthetic"]  # no staging folder left behind


def _prepare_code(tmp_path, repo, write_split) -> int:
    """Run prepare on a synthetic APPS folder whose files ``write_split(folder)`` wrote; its exit code."""
    synthetic = tmp_path / "synthetic"
    (synthetic / "apps").mkdir(parents=True)
    write_split(synthetic / "apps")
    argv = ["--params", str(repo / "params.yaml"), "--experiment", str(repo / "experiments/data_code.yaml"),
            "--synthetic-dir", str(synthetic), "--out", str(tmp_path / "out"), "--metrics", str(tmp_path / "m.json"),
            "--run-info", str(tmp_path / "r.json")]
    with pytest.raises(SystemExit) as stop:
        prepare.main_with_config_errors(prepare.main, argv)
    return stop.value.code


def test_a_snapshot_missing_a_split_is_a_one_line_data_error(tmp_path, repo, capsys):
    rows = "".join(json.dumps(r) + "\n" for r in (apps_row(0), apps_row(1)))
    code = _prepare_code(tmp_path, repo, lambda folder: (folder / "train.jsonl").write_text(rows))
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 3 and line.startswith("data error: codeparrot/apps [test]: no data for split 'test'")


def test_a_truncated_json_line_is_a_one_line_data_error_naming_the_line(tmp_path, repo, capsys):
    rows = json.dumps(apps_row(0)) + "\n" + json.dumps(apps_row(1))[:40] + "\n"
    code = _prepare_code(tmp_path, repo, lambda folder: [(folder / f"{s}.jsonl").write_text(rows) for s in ("train", "test")])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 3 and line.startswith("data error: codeparrot/apps [train]: train.jsonl line 2 is not valid JSON (")


def test_a_truncated_record_line_is_a_data_error_naming_file_and_line(tmp_path):
    from dpo_vs_ppo.data.records import PreferencePair, read_records

    good = json.dumps({"prompt": "p", "chosen": "a", "rejected": "b", "source": "s", "rule": "r"})
    path = tmp_path / "pairs_train.jsonl"
    path.write_text(good + "\n" + good[:25] + "\n")
    with pytest.raises(DataError, match=r"pairs_train.jsonl \[PreferencePair\] row 2: malformed record"):
        read_records(path, PreferencePair)
    path.write_text(good.replace('"rule": "r"', '"rules": "r"') + "\n")
    with pytest.raises(DataError, match=r"row 1: malformed record: .*rules"):
        read_records(path, PreferencePair)
