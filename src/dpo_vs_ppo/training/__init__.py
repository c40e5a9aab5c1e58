"""What the training stages share and TRL does not provide: datasets in TRL's formats, sampling and
scoring, step logs, the runtime set-up, PPO's resume state and the tiny base models' pretraining. Nothing
here imports ``trl`` except through ``trl_bridge``."""
