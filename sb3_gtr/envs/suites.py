"""
Named continual-learning suites: functions returning a :class:`~sb3_gtr.common.continual.TaskSequence`,
registered by name in :data:`SUITES` and built with :func:`make_suite`.

A suite function takes ``scale`` (multiplies every task's step budget) and ``n_cycles`` (``None``: the
suite's default number of passes) plus suite-specific keyword arguments. To add a suite, write such a
function and register it: ``SUITES["my_suite"] = my_suite``.
"""

from collections.abc import Callable
from typing import Any, Optional

from sb3_gtr.common.continual import Task, TaskSequence

#: Steps per task of the ``flip`` suite: 200k steps is about where PPO's HalfCheetah-v5 return stops
#: rising quickly, so each phase has time to learn its direction before the switch undoes it.
FLIP_TIMESTEPS_PER_TASK = 200_000
#: Passes over (forward, backward) in the ``flip`` suite: three cycles show whether the second and third
#: visits of a direction are recovered faster than the first was learned (1.2M steps in all at scale 1).
FLIP_N_CYCLES = 3


def flip_suite(
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    env_id: str = "HalfCheetah-v5",
    timesteps_per_task: int = FLIP_TIMESTEPS_PER_TASK,
    **env_kwargs: Any,
) -> TaskSequence:
    """
    The behaviour-flip suite: HalfCheetah running forward, then backward, alternating. Both tasks share
    dynamics, observations and actions; only the sign of the velocity reward changes
    (``forward_reward_weight=+1`` / ``-1``; the control cost is unchanged), and the observation does not
    say which direction is rewarded, so the policy must re-adapt at every switch. CPU-cheap: no
    rendering, one MuJoCo model.

    Defaults: :data:`FLIP_TIMESTEPS_PER_TASK` steps per task, :data:`FLIP_N_CYCLES` cycles (1.2M steps).

    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of (forward, backward) cycles (``None``: :data:`FLIP_N_CYCLES`)
    :param env_id: A gymnasium MuJoCo locomotion id accepting ``forward_reward_weight`` (HalfCheetah-v5, ...)
    :param timesteps_per_task: Steps per task before ``scale``
    :param env_kwargs: Extra keyword arguments of the environment (``ctrl_cost_weight`` ...)
    :return: The task sequence
    """
    tasks = [
        Task(name, env_id, {**env_kwargs, "forward_reward_weight": weight}, timesteps_per_task)
        for name, weight in (("forward", 1.0), ("backward", -1.0))
    ]
    return TaskSequence(tasks, n_cycles=FLIP_N_CYCLES if n_cycles is None else n_cycles, scale=scale, name="flip")


#: The named suites: name -> ``function(scale, n_cycles, **kwargs) -> TaskSequence``.
SUITES: dict[str, Callable[..., TaskSequence]] = {
    "flip": flip_suite,
}


def make_suite(name: str, scale: float = 1.0, n_cycles: Optional[int] = None, **kwargs: Any) -> TaskSequence:
    """
    Build a named continual-learning suite.

    :param name: A key of :data:`SUITES`
    :param scale: Factor applied to every task's step budget (``0.01`` for a smoke run)
    :param n_cycles: Number of passes over the tasks (``None``: the suite's default)
    :param kwargs: Suite-specific keyword arguments
    :return: The task sequence
    """
    if name not in SUITES:
        raise ValueError(f"Unknown continual suite {name!r}, available suites: {', '.join(sorted(SUITES))}")
    return SUITES[name](scale=scale, n_cycles=n_cycles, **kwargs)
