"""The paper-path GPU check (benchmarks/paper_path.py) where no GPU is: it explains itself, says it cannot
measure and exits 0, and turns a stage's records into the figures it prints."""

import json
import math

import pytest

from dpo_vs_ppo.benchmarks import paper_path


def test_help_explains_the_check(capsys):
    with pytest.raises(SystemExit) as stop:
        paper_path.main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "1.0 B parameters" in text and "learning rate 0" in text and "--allow-cpu" in text


def test_without_a_gpu_it_says_so_and_exits_0(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert paper_path.main(["--out", str(tmp_path / "never")]) == 0
    assert "no GPU here" in capsys.readouterr().out and not (tmp_path / "never").exists()


def test_ppo_records_become_speed_memory_and_utilisation(tmp_path):
    n = 1_000_000_000
    run = {"wall_time_s": 40.0, "peak_gpu_memory_gib": 42.5,
           "resolved_settings": {"rollout_batch_size": 64, "response_length": 128, "ppo_epochs": 1},
           "update_timings": [{"update": u, "wall_s": w, "generate_s": g}
                              for u, w, g in ((1, 30.0, 20.0), (2, 5.0, 4.0), (3, 3.0, 2.0))]}
    (tmp_path / "ppo_run.json").write_text(json.dumps(run))
    (tmp_path / "ppo.json").write_text(json.dumps({"response_tokens": 20_000, "updates": 3}))
    m = paper_path.measures(tmp_path, {"name": "ppo", "kind": "ppo"}, n)
    assert m["tokens_per_s"] == 500 and m["memory_gib"] == 42.5
    assert m["s_per_update"] == 4.0 and m["generate_share"] == pytest.approx(6 / 8)  # the warm-up update left out
    sampled, episodes = 2 * n * 20_000, 3 * 64 * 256  # prompt ~ response: 2 x 128 tokens per episode
    assert m["flops"] == sampled + episodes * (8 * n + 12 * n)
    line = paper_path.table(tmp_path, [{"name": "ppo", "kind": "ppo", "status": "ok", "wall_s": 50.0}], n, 1e15)
    assert f"| {m['flops'] / (40.0 * 1e15):.1%} |" in line and "| 4.00 | 75% |" in line


def test_a_stage_whose_input_failed_is_skipped_not_run(tmp_path):
    stage = next(s for s in paper_path.STAGES if s["name"] == "dpo")
    result = paper_path.run_stage(tmp_path, stage, timeout=1)
    assert result["status"] == "skipped (no sft)" and not math.isnan(result["wall_s"])
