"""
DeepMind Control Suite tasks as flat ``float32`` gymnasium environments (through shimmy), for the ``dmc-walker``
and ``dmc-dog`` continual suites.

shimmy registers ``dm_control/<domain>-<task>-v0`` when it is imported; its observations are a ``Dict`` of
``float64`` arrays, flattened here with :class:`~sb3_gtr.continual.adapters.wrappers.FlattenObservationFloat32`. Episodes last
1000 steps and end with ``truncated=True`` (dm_control tasks have no terminal states).
"""

from typing import Any

import gymnasium as gym

from sb3_gtr.common.checks import check_str
from sb3_gtr.continual.adapters.wrappers import FlattenObservationFloat32, import_quietly


def dm_control_env_id(domain_name: str, task_name: str) -> str:
    """
    :param domain_name: A dm_control domain (``"walker"``, ``"dog"`` ...)
    :param task_name: A task of that domain (``"stand"``, ``"walk"`` ...)
    :return: The gymnasium id that shimmy registers for it
    """
    return f"dm_control/{domain_name}-{task_name}-v0"


def make_dm_control_env(domain_name: str, task_name: str, **kwargs: Any) -> gym.Env:
    """
    Make a dm_control task with flat ``float32`` observations.

    :param domain_name: A dm_control domain (``"walker"``, ``"dog"`` ...)
    :param task_name: A task of that domain
    :param kwargs: Keyword arguments of ``gymnasium.make`` (``render_mode``, ``task_kwargs`` ...)
    :return: The environment
    """
    check_str("domain_name", domain_name)
    check_str("task_name", task_name)
    import_quietly("shimmy")  # registers the dm_control/ ids
    return FlattenObservationFloat32(gym.make(dm_control_env_id(domain_name, task_name), **kwargs))
