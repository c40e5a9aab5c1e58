"""One module per DVC stage: ``python -m dpo_vs_ppo.stages.<stage> --help``. Paths come only from
the command line (dvc.yaml is their single source of truth)."""
