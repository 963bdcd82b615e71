"""The RL Zoo integration: registration, Optuna samplers, the ``python -m sb3_gtr.zoo`` command line."""

from sb3_gtr.zoo.registration import register_with_zoo
from sb3_gtr.zoo.samplers import convert_gtr_params, sample_gtr_ppo_params, sample_gtr_ppo_recurrent_params

__all__ = ["convert_gtr_params", "register_with_zoo", "sample_gtr_ppo_params", "sample_gtr_ppo_recurrent_params"]
