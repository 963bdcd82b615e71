"""Environments for continual learning: the named task suites, the adapters they use and their gymnasium ids."""

from sb3_gtr.envs.registration import continual_env_id, make_continual_env, register_envs
from sb3_gtr.envs.suites import (
    SUITES,
    dm_control_suite,
    dmc_dog_suite,
    dmc_walker_suite,
    flip_suite,
    make_suite,
    metaworld_suite,
    mujoco_cross_reverse_suite,
    mujoco_cross_suite,
    procgen_starpilot_suite,
)

__all__ = [
    "SUITES",
    "continual_env_id",
    "dm_control_suite",
    "dmc_dog_suite",
    "dmc_walker_suite",
    "flip_suite",
    "make_continual_env",
    "make_suite",
    "metaworld_suite",
    "mujoco_cross_reverse_suite",
    "mujoco_cross_suite",
    "procgen_starpilot_suite",
    "register_envs",
]

register_envs()
