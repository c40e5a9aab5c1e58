"""The stages of dvc.yaml that no run-list entry makes: the config check, the data and models of each
family, the HH dataset's own responses, and the two toy results (written by ``pipeline.py``)."""

from __future__ import annotations

from .pipeline import UNCACHED, VALIDATED, settings_of, stage

FAMILIES = ["dialogue", "code"]


def head_stages(experiments: str) -> dict:
    validate = {
        "cmd": f"python -m dpo_vs_ppo.stages.validate --params params.yaml --experiments {experiments} "
               f"--runs {experiments}/runs.yaml --out {VALIDATED}",
        "deps": [experiments, "src/dpo_vs_ppo"], "params": ["profile", "seeds", "ablation_seeds", "confidence_level"],
        "outs": [VALIDATED]}
    data = f"{experiments}/data_${{item}}.yaml"
    synthesize = stage(
        [f"python -m dpo_vs_ppo.stages.synthesize --params params.yaml --experiment {data}",
         "--out artifacts/synthetic/${item} --metrics results/data_${item}/synthetic.json",
         "--run-info results/data_${item}/synthesize_run.json"],
        "synthesize", settings_of("data_${item}"), ["profile"],
        ["artifacts/synthetic/${item}", "results/data_${item}/synthesize_run.json"],
        ["results/data_${item}/synthetic.json"])
    prepare = stage(
        [f"python -m dpo_vs_ppo.stages.prepare --params params.yaml --experiment {data}",
         "--synthetic-dir artifacts/synthetic/${item} --snapshot-dir data/hub --out artifacts/records/${item}",
         "--metrics results/data_${item}/records.json --run-info results/data_${item}/prepare_run.json"],
        "prepare", ["artifacts/synthetic/${item}", *settings_of("data_${item}")], ["profile"],
        ["artifacts/records/${item}", "results/data_${item}/prepare_run.json"], ["results/data_${item}/records.json"])
    models = stage(
        [f"python -m dpo_vs_ppo.stages.build_models --params params.yaml --experiment {experiments}/models.yaml",
         "--family ${item} --records artifacts/records/${item} --out artifacts/models/${item}",
         "--metrics results/models_${item}/metrics.json --run-info results/models_${item}/run.json"],
        "build_models", ["artifacts/records/${item}", *settings_of("models")], ["profile"],
        ["artifacts/models/${item}", "results/models_${item}/run.json"], ["results/models_${item}/metrics.json"])
    return {"validate": validate, **{name: {"foreach": FAMILIES, "do": body} for name, body in
                                     (("synthesize", synthesize), ("prepare", prepare), ("models", models))}}


def hh_chosen(experiments: str) -> dict:
    """The dataset's own chosen response per HH test prompt: Table 4's "vs Chosen" opponent."""
    return stage(
        [f"python -m dpo_vs_ppo.stages.generate --params params.yaml --experiment {experiments}/generate_dialogue.yaml",
         "--chosen-of-pairs --prompts artifacts/records/dialogue/pairs_hh_test.jsonl --out artifacts/samples/hh/chosen.jsonl",
         "--metrics results/hh/chosen/generate.json --run-info results/hh/chosen/generate_run.json"],
        "generate", ["artifacts/records/dialogue/pairs_hh_test.jsonl", *settings_of("generate_dialogue")], ["profile"],
        ["artifacts/samples/hh/chosen.jsonl", "results/hh/chosen/generate_run.json"], ["results/hh/chosen/generate.json"])


def toy_stages(experiments: str) -> dict:
    """Table 1 (Theorem 4.1's counterexample) and Figure 1 (the synthetic 8 x 8 bandit): no models, no data."""
    table1 = stage(
        [f"python -m dpo_vs_ppo.stages.table1 --params params.yaml --experiment {experiments}/table1.yaml",
         "--metrics results/table1/metrics.json --run-info results/table1/run.json"],
        "table1", settings_of("table1"), ["profile", "seeds"],
        ["results/table1/run.json"], ["results/table1/metrics.json"])
    figure1 = stage(
        [f"python -m dpo_vs_ppo.stages.figure1 --params params.yaml --experiment {experiments}/figure1.yaml",
         "--metrics results/figure1/metrics.json --panels results/figure1/panels.json",
         "--ood-csv results/figure1/ood_mass.csv --sweep-csv results/figure1/sweep.csv",
         "--run-info results/figure1/run.json"],
        "figure1", settings_of("figure1"), ["profile", "seeds"],
        ["results/figure1/panels.json", "results/figure1/run.json"], ["results/figure1/metrics.json"],
        [{"results/figure1/ood_mass.csv": {**UNCACHED, "template": "scatter", "x": "policy", "y": "ood_mass"}},
         {"results/figure1/sweep.csv": {**UNCACHED, "template": "scatter", "x": "kl_to_ref", "y": "ood_mass"}}])
    return {"table1": table1, "figure1": figure1}
