"""Environments for continual learning: the named task suites and the adapters they use."""

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
    "dm_control_suite",
    "dmc_dog_suite",
    "dmc_walker_suite",
    "flip_suite",
    "make_suite",
    "metaworld_suite",
    "mujoco_cross_reverse_suite",
    "mujoco_cross_suite",
    "procgen_starpilot_suite",
]
