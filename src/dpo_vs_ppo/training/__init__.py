"""What the training stages share and TRL does not provide: datasets in TRL's formats, sampling and
scoring, step logs, the runtime set-up, and PPO's resume state. Nothing here imports ``trl``."""
