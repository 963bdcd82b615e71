"""
The entry point of the ``sb3_gtr/continual-<suite>-v0`` ids that :mod:`sb3_gtr.registration` registers: a named suite
as one :class:`~sb3_gtr.continual.env.ContinualTaskEnv`. Keyword arguments of ``gymnasium.make`` (the zoo's
``env_kwargs``) go to the suite: ``scale``, ``n_cycles``, ``task_max_episode_steps`` and the suite's own. Train it with
a :class:`~sb3_gtr.continual.callbacks.ContinualTaskCallback` built without a sequence: it reads the sequence from the
environment and switches the tasks on schedule.

The dm_control tasks keep the ids shimmy registers (``dm_control/walker-walk-v0`` ...), whose observations are a
``Dict``: flatten them with :class:`~sb3_gtr.continual.adapters.wrappers.FlattenObservationFloat32`.
"""

from typing import Any, Optional

from sb3_gtr.common.checks import check_positive_int, check_str
from sb3_gtr.continual.env import ContinualTaskEnv
from sb3_gtr.continual.suites import make_suite


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

    :param suite: A key of :data:`~sb3_gtr.continual.suites.SUITES`
    :param scale: Factor on every task's step budget
    :param n_cycles: Passes over the tasks (``None``: the suite's default)
    :param task_id: The task of the first episode
    :param render_mode: Render mode of every task's environment
    :param task_max_episode_steps: Episode length of every task (the ``max_episode_steps`` of suites that take it,
        such as ``flip``). Not ``max_episode_steps``: ``gymnasium.make`` takes that one for itself and would cut the
        episodes of the training env only, not those of the tasks or of the callback's evaluations
    :param suite_kwargs: The suite's own keyword arguments
    :return: The environment; its ``sequence`` attribute holds the suite's :class:`~sb3_gtr.continual.tasks.TaskSequence`
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
