"""
Gymnasium ids for the RL Zoo and ``gymnasium.make``: every continual suite as one environment, and procgen starpilot.

- ``sb3_gtr/continual-<suite>-v0`` (``<suite>``: a key of :data:`~sb3_gtr.envs.suites.SUITES`): a
  :class:`~sb3_gtr.common.continual.ContinualTaskEnv` over the suite, at its first task. Keyword arguments of
  ``gymnasium.make`` (the zoo's ``env_kwargs``) go to the suite: ``scale``, ``n_cycles``, ``task_max_episode_steps``
  and the suite's own. Train it with a :class:`~sb3_gtr.common.continual.ContinualTaskCallback`
  built without a sequence: it reads the sequence from the environment and switches the tasks on schedule.
- ``sb3_gtr/procgen-starpilot-v0``: :class:`~sb3_gtr.envs.procgen.ProcgenGymnasiumEnv` on starpilot
  (``distribution_mode="hard"`` unless given; needs the ``procgen-mirror`` package).

The dm_control tasks keep the ids shimmy registers (``dm_control/walker-walk-v0`` ...), whose observations are a
``Dict``: flatten them with :class:`~sb3_gtr.envs.wrappers.FlattenObservationFloat32`.

:func:`register_envs` runs when :mod:`sb3_gtr.envs` is imported (and so before any zoo command of
``python -m sb3_gtr.zoo``); it does nothing for ids already registered.
"""

from typing import Any, Optional

import gymnasium as gym

from sb3_gtr.common.checks import check_positive_int, check_str
from sb3_gtr.common.continual import ContinualTaskEnv
from sb3_gtr.envs.suites import SUITES, make_suite

#: Namespace of the ids registered here.
NAMESPACE = "sb3_gtr"
#: Id of the procgen starpilot environment.
PROCGEN_STARPILOT_ID = f"{NAMESPACE}/procgen-starpilot-v0"


def continual_env_id(suite: str) -> str:
    """
    :param suite: A key of :data:`~sb3_gtr.envs.suites.SUITES`
    :return: The gymnasium id of the suite as one environment
    """
    return f"{NAMESPACE}/continual-{suite}-v0"


def make_continual_env(
    suite: str,
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    task_id: int = 0,
    render_mode: Optional[str] = None,
    task_max_episode_steps: Optional[int] = None,
    **suite_kwargs: Any,
) -> ContinualTaskEnv:
    """
    A continual suite as one environment (the entry point of ``sb3_gtr/continual-<suite>-v0``).

    :param suite: A key of :data:`~sb3_gtr.envs.suites.SUITES`
    :param scale: Factor on every task's step budget
    :param n_cycles: Passes over the tasks (``None``: the suite's default)
    :param task_id: The task of the first episode
    :param render_mode: Render mode of every task's environment
    :param task_max_episode_steps: Episode length of every task (the ``max_episode_steps`` of suites that take it,
        such as ``flip``). Not ``max_episode_steps``: ``gymnasium.make`` takes that one for itself and would cut the
        episodes of the training env only, not those of the tasks or of the callback's evaluations
    :param suite_kwargs: The suite's own keyword arguments
    :return: The environment; its ``sequence`` attribute holds the suite's :class:`~sb3_gtr.common.continual.TaskSequence`
    """
    # The id's own arguments first: the suite may build environments (mujoco-cross builds every body).
    check_positive_int("task_id", task_id, allow_zero=True)
    if render_mode is not None:
        check_str("render_mode", render_mode)
    if task_max_episode_steps is not None:
        check_positive_int("task_max_episode_steps", task_max_episode_steps)
        if "max_episode_steps" in suite_kwargs:
            raise ValueError(
                "Give `task_max_episode_steps` or the suite's `max_episode_steps`, not both: "
                f"got {task_max_episode_steps} and {suite_kwargs['max_episode_steps']}"
            )
        suite_kwargs["max_episode_steps"] = task_max_episode_steps
    sequence = make_suite(suite, scale=scale, n_cycles=n_cycles, **suite_kwargs)
    env_kwargs = {} if render_mode is None else {"render_mode": render_mode}
    return ContinualTaskEnv(sequence, task_id=task_id, env_kwargs=env_kwargs)


def register_envs() -> None:
    """Register the ids of this module with gymnasium (those not registered yet)."""
    for suite in SUITES:
        env_id = continual_env_id(suite)
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=f"{__name__}:make_continual_env", kwargs={"suite": suite})
    if PROCGEN_STARPILOT_ID not in gym.registry:
        gym.register(
            PROCGEN_STARPILOT_ID,
            entry_point="sb3_gtr.envs.procgen:make_procgen_env",
            kwargs={"env_name": "starpilot", "distribution_mode": "hard"},
        )
