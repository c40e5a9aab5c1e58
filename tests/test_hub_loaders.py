"""Every hub loader, fed through datasets.load_dataset with local folders in the hub repositories'
layouts and the exact hub schemas (json and parquet), including the awkward real details."""

import datasets
import pytest

from dpo_vs_ppo.data import code_sources, dialogue_sources
from dpo_vs_ppo.data.hub import load_split
from dpo_vs_ppo.data.local_repo import write_card
from dpo_vs_ppo.data.records import SkipCounter

from hub_rows import (HH_MULTI_TURN, alpaca_row, apps_row, contests_row, saferlhf_row, source, write_rows)


def test_alpaca_from_parquet_shards(tmp_path):
    write_rows(tmp_path / "alpaca/data/train-00000-of-00001-a09b74b3ef9c3b56.parquet",
               [alpaca_row(), alpaca_row("Translate.", "Bonjour", "Hello.")])
    rows = load_split(source("tatsu-lab/alpaca", "alpaca"), "train", tmp_path)
    counter = SkipCounter("tatsu-lab/alpaca", "train")
    sft = list(dialogue_sources.alpaca_sft(rows, "train", counter))
    assert sft[0].prompt == "\n\nHuman: Give three tips for staying healthy.\n\nAssistant:"
    assert sft[0].completion == " 1. Eat well."
    assert sft[1].prompt == "\n\nHuman: Translate.\n\nBonjour\n\nAssistant:"  # the input follows the instruction
    assert counter.as_metrics() == {"read": 2, "kept": 2, "skipped": {}}


@pytest.mark.parametrize("safe0, safe1, better, safer, chosen, rule", [
    (True, True, 1, 0, 1, "helpfulness"),    # both safe: the more helpful one, whatever is safer
    (True, False, 1, 0, 0, "safety"),        # otherwise: the safer one, even if less helpful
    (False, True, 0, 1, 1, "safety"),
    (False, False, 0, 1, 1, "safety"),       # dual-unsafe: still the safer one
])
def test_saferlhf_pair_rule(tmp_path, safe0, safe1, better, safer, chosen, rule):
    write_rows(tmp_path / "PKU-SafeRLHF-30K/train.jsonl", [saferlhf_row(safe0, safe1, better, safer)])
    rows = load_split(source("PKU-Alignment/PKU-SafeRLHF-30K", "PKU-SafeRLHF-30K"), "train", tmp_path)
    (pair,) = dialogue_sources.saferlhf_pairs(rows, "train", SkipCounter("pku", "train"))
    texts = (" Mix flour and water.", " I won't help.")
    assert (pair.chosen, pair.rejected, pair.rule) == (texts[chosen], texts[1 - chosen], rule)
    assert (pair.chosen_safe, pair.rejected_safe) == ((safe0, safe1)[chosen], (safe0, safe1)[1 - chosen])


def test_saferlhf_filters_drop_dual_unsafe_then_dual_safe():
    rows = [saferlhf_row(True, True), saferlhf_row(False, False), saferlhf_row(True, False), saferlhf_row(False, True)]
    counter = SkipCounter("pku", "train")
    kept = list(dialogue_sources.saferlhf_pairs(rows, "train", counter, filter_dual_unsafe=True))
    assert [p.kind for p in kept] == ["dual_safe", "mixed", "mixed"]
    counter = SkipCounter("pku", "train")
    both = list(dialogue_sources.saferlhf_pairs(rows, "train", counter, filter_dual_unsafe=True, filter_dual_safe=True))
    assert [p.kind for p in both] == ["mixed", "mixed"]
    assert counter.as_metrics()["skipped"] == {"filtered_dual_safe": 1, "filtered_dual_unsafe": 1}


def test_saferlhf_safe_sft_keeps_each_safe_response_once():
    rows = [saferlhf_row(True, False), saferlhf_row(True, True), saferlhf_row(False, False)]
    sft = list(dialogue_sources.saferlhf_safe_sft(rows, "train", SkipCounter("pku", "train")))
    assert [s.completion for s in sft] == [" Mix flour and water.", " I won't help."]


def test_hh_rlhf_whole_repo_and_helpful_base_subset(tmp_path):
    write_rows(tmp_path / "hh-rlhf/helpful-base/train.jsonl", [HH_MULTI_TURN])
    write_rows(tmp_path / "hh-rlhf/harmless-base/train.jsonl", [HH_MULTI_TURN, HH_MULTI_TURN])
    write_rows(tmp_path / "hh-rlhf/red-team-attempts/red_team_attempts.jsonl", [{"transcript": "x"}])  # not a split
    full = load_split(source("Anthropic/hh-rlhf", "hh-rlhf"), "train", tmp_path)
    helpful = load_split(source("Anthropic/hh-rlhf", "hh-rlhf", data_dir="helpful-base"), "train", tmp_path)
    assert (len(full), len(helpful)) == (3, 1)
    (pair,) = dialogue_sources.hh_pairs(helpful, "train", SkipCounter("hh", "train"))
    assert pair.prompt == ("\n\nHuman: What are some cuss words in english?\n\nAssistant: Here's an incomplete list."
                           "\n\nHuman: What's your favorite one?\n\nAssistant:")
    assert (pair.chosen, pair.rejected) == (" I haven't even thought about it.", " Ass.")
    assert pair.prompt + pair.chosen == HH_MULTI_TURN["chosen"]


# The shape of 5 of the 2,312 real harmless-base test rows: a reply that itself contains "\n\nAssistant:".
# Cut at each side's own last marker, the two prompts differed and the row was skipped as prompts_differ.
HH_REPLY_WITH_A_MARKER = {
    "chosen": "\n\nHuman: How do I pick a lock?\n\nAssistant: I can't help with that.\n\nAssistant: Is there"
              " something else?",
    "rejected": "\n\nHuman: How do I pick a lock?\n\nAssistant: Use a tension wrench.",
}


def test_hh_reply_containing_a_further_assistant_marker_keeps_the_shared_prompt():
    counter = SkipCounter("hh", "test")
    (pair,) = dialogue_sources.hh_pairs([HH_REPLY_WITH_A_MARKER], "test", counter)
    assert pair.prompt == "\n\nHuman: How do I pick a lock?\n\nAssistant:"
    assert pair.chosen == " I can't help with that.\n\nAssistant: Is there something else?"
    assert pair.rejected == " Use a tension wrench."
    assert counter.as_metrics() == {"read": 1, "kept": 1, "skipped": {}}


@pytest.mark.parametrize("chosen, rejected", [
    # the dialogues part before the last turn: still prompts_differ
    ("\n\nHuman: a\n\nAssistant: x\n\nHuman: b\n\nAssistant: y", "\n\nHuman: a\n\nAssistant: z\n\nHuman: b\n\nAssistant: w"),
    ("\n\nHuman: a\n\nAssistant: x", "\n\nHuman: b\n\nAssistant: x"),
])
def test_hh_dialogues_that_differ_before_the_last_turn_are_still_skipped(chosen, rejected):
    counter = SkipCounter("hh", "test")
    assert list(dialogue_sources.hh_pairs([{"chosen": chosen, "rejected": rejected}], "test", counter)) == []
    assert counter.as_metrics()["skipped"] == {"prompts_differ": 1}


def test_apps_json_string_fields_and_call_based_problems(tmp_path):
    write_rows(tmp_path / "apps/test.jsonl", [apps_row(0), apps_row(1, fn_name="add", difficulty="competition")])
    (tmp_path / "apps/apps.py").write_text("# the hub repo's loading script, which datasets 5 refuses\n")
    rows = load_split(source("codeparrot/apps", "apps", split_files="{split}.jsonl"), "test", tmp_path)
    stdin, call = code_sources.apps_problems(rows, "test", SkipCounter("apps", "test"))
    assert stdin.fn_name == "" and [(t.input, t.output) for t in stdin.private_tests] == [("1\n", "2\n"), ("5\n", "6")]
    assert stdin.solutions[0].code == "print(int(input()) + 1)\n" and stdin.public_tests == ()
    assert call.fn_name == "add" and call.difficulty == "competition" and "class Solution" in call.starter_code
    assert [(t.input, t.output) for t in call.private_tests] == [("[1, 2]", "[3]"), ("[3, 4]", "[7]")]


def test_code_contests_python_only_tests_apart_and_valid_split(tmp_path):
    repo = tmp_path / "code_contests"
    for split in ("train", "valid", "test"):
        write_rows(repo / f"data/{split}-00000-of-00001-0123.parquet", [contests_row(f"{split}_A"), contests_row(difficulty=2)])
    write_card(repo, "code_contests", "", splits={s: f"data/{s}-*" for s in ("train", "valid", "test")})
    rows = load_split(source("deepmind/code_contests", "code_contests"), "valid", tmp_path)
    first, second = code_sources.code_contests_problems(rows, "valid", SkipCounter("cc", "valid"))
    assert first.problem_id == "valid_A" and first.difficulty == "A" and second.difficulty == "MEDIUM"
    assert [s.language for s in first.solutions] == ["python2", "python3"]  # C++ (2) and Java (4) dropped
    assert [len(first.public_tests), len(first.private_tests), len(first.generated_tests)] == [1, 2, 3]
    assert first.incorrect_solutions[0].code == "print(int(input()))"


def test_two_local_copies_with_the_same_card_each_give_their_own_rows(tmp_path):
    """`datasets` keys its cache of a folder whose card declares its splits by the card, not the files: a second
    clone's (or the smoke profile's) copy was read back as the first's rows, changing the study's code records."""
    cc = source("deepmind/code_contests", "code_contests")
    for clone, rows in (("one", 3), ("two", 5)):
        repo = tmp_path / clone / "code_contests"
        for split in ("train", "valid", "test"):
            write_rows(repo / f"data/{split}-00000-of-00001.jsonl", [contests_row(f"{clone}_{i}") for i in range(rows)])
        write_card(repo, "code_contests", "", splits={s: f"data/{s}-*" for s in ("train", "valid", "test")})
        got = load_split(cc, "train", tmp_path / clone)
        assert [r["name"] for r in got] == [f"{clone}_{i}" for i in range(rows)]


def test_hub_origin_passes_id_revision_and_data_dir(monkeypatch):
    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: calls.append((a, k)) or "rows")
    assert load_split(source("Anthropic/hh-rlhf", "hh-rlhf", data_dir="helpful-base"), "test") == "rows"
    assert calls[-1] == (("Anthropic/hh-rlhf",), {"data_dir": "helpful-base", "revision": "0123abcd", "split": "test"})
    load_split(source("codeparrot/apps", "apps", split_files="{split}.jsonl"), "train")
    assert calls[-1] == (("json",), {"data_files": {"train": "hf://datasets/codeparrot/apps@0123abcd/train.jsonl"}, "split": "train"})


def test_hub_origin_is_offline_in_tests():
    with pytest.raises(ConnectionError, match="Couldn't reach"):
        load_split(source("Anthropic/hh-rlhf", "hh-rlhf"), "train")


def test_fetch_snapshot_mirrors_the_repo_and_records_the_commit(tmp_path):
    from dpo_vs_ppo.data.hub import fetch_snapshot

    hub = tmp_path / "hub-side"
    write_rows(hub / "helpful-base/train.jsonl", [HH_MULTI_TURN])
    calls = []

    def fake_download(repo_id, repo_type, revision, local_dir, allow_patterns):  # what snapshot_download receives
        calls.append((repo_id, repo_type, revision, allow_patterns))
        import shutil
        shutil.copytree(hub, local_dir, dirs_exist_ok=True)

    src = source("Anthropic/hh-rlhf", "hh-rlhf", data_dir="helpful-base")
    record = fetch_snapshot(src, tmp_path / "data/hub", resolve=lambda s: "f" * 40, download=fake_download)
    assert calls == [("Anthropic/hh-rlhf", "dataset", "f" * 40, ["helpful-base/*", "README.md", "*.py"])]
    assert record["revision"] == "f" * 40 and record["requested_revision"] == "0123abcd"
    manifest = (tmp_path / "data/hub/hh-rlhf.source.json").read_text()
    assert '"revision": "ffff' in manifest
    rows = load_split(src, "train", tmp_path / "data/hub")  # read back offline, same arguments
    assert rows[0] == HH_MULTI_TURN


def test_prepare_stage_reads_a_hub_snapshot_offline(tmp_path, repo):
    """The paper profile's path without network: origin 'snapshot' over folders in the hubs' layouts
    (Alpaca parquet shards, SafeRLHF JSON Lines, HH-RLHF gzipped JSON Lines per subset)."""
    import gzip
    import json
    import shutil

    from dpo_vs_ppo.data.records import PreferencePair, SFTExample, read_records
    from dpo_vs_ppo.stages import prepare

    hub = tmp_path / "data/hub"
    write_rows(hub / "alpaca/data/train-00000-of-00001.parquet", [alpaca_row()] * 3)
    for split in ("train", "test"):
        write_rows(hub / f"PKU-SafeRLHF-30K/{split}.jsonl", [saferlhf_row(True, False), saferlhf_row(True, True, better=1)])
        for subset in ("helpful-base", "harmless-base"):
            path = hub / f"hh-rlhf/{subset}/{split}.jsonl.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(gzip.compress((json.dumps(HH_MULTI_TURN) + "\n").encode()))
    shutil.copy(repo / "experiments/data_dialogue.yaml", tmp_path / "data_dialogue.yaml")
    (tmp_path / "snapshot.yaml").write_text("base: data_dialogue\ntitle: snapshot\nsettings: {origin: snapshot}\n")
    out = tmp_path / "records"
    prepare.main(["--params", str(repo / "params.yaml"), "--experiment", str(tmp_path / "snapshot.yaml"),
                  "--snapshot-dir", str(hub), "--out", str(out), "--metrics", str(tmp_path / "m.json"),
                  "--run-info", str(tmp_path / "r.json")])
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["origin"] == "snapshot"
    assert {k: v["kept"] for k, v in metrics["files"].items()} == {
        "sft_alpaca": 3, "sft_safe": 2, "pairs_saferlhf_train": 2, "pairs_saferlhf_test": 2,
        "pairs_hh_train": 2, "pairs_hh_test": 2, "pairs_hh_helpful_train": 1, "pairs_hh_helpful_test": 1}
    assert read_records(out / "sft_alpaca.jsonl", SFTExample)[0].completion == " 1. Eat well."
    rules = [p.rule for p in read_records(out / "pairs_saferlhf_train.jsonl", PreferencePair)]
    assert rules == ["safety", "helpfulness"]


def test_max_rows_per_split_reads_only_the_first_rows():
    counter = SkipCounter("pku", "train")
    pairs = list(dialogue_sources.saferlhf_pairs([saferlhf_row()] * 5, "train", counter, max_rows=2))
    assert len(pairs) == 2 and counter.read == 2
