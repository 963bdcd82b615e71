"""
The environment half of one policy across embodiments (Section 5.1 of the GTR paper: MuJoCo HalfCheetah ->
Walker2d -> Ant -> Humanoid, tasks whose observation and action spaces differ).

:func:`pad_task_spaces` gives every task of a sequence the same spaces by wrapping its environment in a
:class:`CrossEmbodimentWrapper`:

- observations become a ``Dict``: ``"observation"``, the task's observation flattened to ``float32`` and
  zero-padded to the largest observation size, and ``"task_id"``, the task's index as a ``Discrete(n_tasks)``.
  The task id is kept apart from the padded vector (rather than appended as a one-hot) so that ``VecNormalize``
  can normalise the observation without touching it (``VecNormalize(venv, norm_obs_keys=["observation"])``);
  SB3 one-hot encodes it for the networks;
- actions are a ``Box(-1, 1, (largest action size,))``: the wrapper keeps the task's first ``action_dim``
  entries, drops the others (padded dimensions never reach an environment) and maps ``[-1, 1]`` affinely onto
  the task's own bounds (Humanoid's are ``[-0.4, 0.4]``).

:class:`~sb3_gtr.continual.env.ContinualTaskEnv` and the rest of the continual machinery then work unchanged. The
policy half, :class:`~sb3_gtr.networks.task_routed.TaskRoutedActorCriticPolicy`, lives with the other networks.

Usage::

    from stable_baselines3.common.vec_env import VecNormalize
    from sb3_gtr import GTRPPO
    from sb3_gtr.continual import make_continual_vec_env, make_suite

    sequence = make_suite("mujoco-cross", scale=0.01)  # tasks padded by pad_task_spaces
    env = VecNormalize(make_continual_vec_env(sequence, n_envs=1), norm_obs_keys=["observation"])
    model = GTRPPO(sequence.policy, env, policy_kwargs=sequence.policy_kwargs)  # TaskRoutedActorCriticPolicy
"""

from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple, Optional, SupportsFloat, Union

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sb3_gtr.common import checks
from sb3_gtr.continual.tasks import Task, TaskSequence
from sb3_gtr.networks.task_routed import OBSERVATION_KEY, TASK_ID_OBS_KEY, cross_embodiment_spaces
from sb3_gtr.networks.torch_layers import check_positive_int


class CrossEmbodimentWrapper(gym.Wrapper):
    """
    Give one task the observation and action spaces shared by all the tasks of a cross-embodiment sequence
    (see :func:`~sb3_gtr.networks.task_routed.cross_embodiment_spaces`).

    Observations: the task's observation, flattened to ``float32`` and zero-padded to ``obs_dim``, with the task
    id. Actions: only the first ``task_action_dim`` entries of an action are used (the padded ones are dropped
    before the environment sees the action); they are clipped to ``[-1, 1]`` and mapped affinely onto the task's
    bounds (kept as they are where the bounds are infinite).

    :param env: The task's environment (a flattenable observation space and a 1-D ``Box`` action space)
    :param task_id: Index of the task in its sequence
    :param n_tasks: Number of tasks of the sequence
    :param obs_dim: Size of the padded observation vector
    :param action_dim: Size of the padded action vector
    :param task_obs_dims: Observation size of every task, recorded in the observation space for the policy
        (``None``: not recorded)
    :param task_action_dims: Action size of every task, recorded likewise (``None``: not recorded)
    """

    def __init__(
        self,
        env: gym.Env,
        task_id: int,
        n_tasks: int,
        obs_dim: int,
        action_dim: int,
        task_obs_dims: Optional[Sequence[int]] = None,
        task_action_dims: Optional[Sequence[int]] = None,
    ) -> None:
        super().__init__(env)
        n_tasks = checks.check_positive_int("n_tasks", n_tasks)
        task_id = checks.check_int_in_range("task_id", task_id, 0, n_tasks)
        obs_dim = checks.check_positive_int("obs_dim", obs_dim)
        action_dim = checks.check_positive_int("action_dim", action_dim)
        action_space = env.action_space
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(f"Cross-embodiment tasks need a 1-D Box action space, got {action_space}")
        self.task_id = task_id
        self.task_obs_dim = int(spaces.flatdim(env.observation_space))
        self.task_action_dim = int(action_space.shape[0])
        if self.task_obs_dim > obs_dim or self.task_action_dim > action_dim:
            raise ValueError(
                f"Task {task_id} has {self.task_obs_dim} observation entries and {self.task_action_dim} action "
                f"entries, more than the padded sizes {obs_dim} and {action_dim}"
            )
        self.observation_space, self.action_space = cross_embodiment_spaces(
            n_tasks, obs_dim, action_dim, task_obs_dims, task_action_dims
        )
        self._low = action_space.low.astype(np.float64)
        self._high = action_space.high.astype(np.float64)
        self._bounded = np.isfinite(self._low) & np.isfinite(self._high)
        self._action_dtype = action_space.dtype

    def observation(self, observation: Any) -> dict[str, Any]:
        """
        :param observation: An observation of the task's environment
        :return: The padded observation and the task id
        """
        padded = np.zeros(self.observation_space[OBSERVATION_KEY].shape, dtype=np.float32)
        padded[: self.task_obs_dim] = spaces.flatten(self.env.observation_space, observation)
        return {OBSERVATION_KEY: padded, TASK_ID_OBS_KEY: self.task_id}

    def task_action(self, action: Any) -> np.ndarray:
        """
        :param action: A padded action, in ``[-1, 1]``
        :return: The action the task's environment receives: its first ``task_action_dim`` entries, clipped
            and rescaled to the task's bounds
        """
        action = np.asarray(action, dtype=np.float64).reshape(-1)[: self.task_action_dim]
        action = np.clip(action, -1.0, 1.0)
        rescaled = self._low + (action + 1.0) * 0.5 * (self._high - self._low)
        return np.where(self._bounded, rescaled, action).astype(self._action_dtype)

    def reset(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """
        :param kwargs: Passed to the task's environment
        :return: The first observation and the info dict
        """
        observation, info = self.env.reset(**kwargs)
        return self.observation(observation), info

    def step(self, action: Any) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        """
        :param action: A padded action
        :return: Observation, reward, terminated, truncated and info of the task's environment
        """
        observation, reward, terminated, truncated, info = self.env.step(self.task_action(action))
        return self.observation(observation), reward, terminated, truncated, info


def make_cross_embodiment_env(
    task: Task,
    task_id: int,
    task_obs_dims: Sequence[int],
    task_action_dims: Sequence[int],
    **kwargs: Any,
) -> gym.Env:
    """
    Build a task's environment wrapped in a :class:`CrossEmbodimentWrapper` (the factory of the tasks returned
    by :func:`pad_task_spaces`), checking that its spaces have the sizes the policy was told.

    :param task: The original task
    :param task_id: Index of the task in its sequence
    :param task_obs_dims: Observation size of every task of the sequence
    :param task_action_dims: Action size of every task of the sequence
    :param kwargs: Extra keyword arguments of the task's factory (``render_mode`` ...)
    :return: The wrapped environment
    """
    checks.check_instance("task", task, Task, "a Task")
    checks.check_length("task_action_dims", task_action_dims, len(task_obs_dims), "task (as many as task_obs_dims)")
    checks.check_int_in_range("task_id", task_id, 0, len(task_obs_dims))
    env = CrossEmbodimentWrapper(
        task.make_env(**kwargs),
        task_id,
        len(task_obs_dims),
        max(task_obs_dims),
        max(task_action_dims),
        task_obs_dims=task_obs_dims,
        task_action_dims=task_action_dims,
    )
    expected = (task_obs_dims[task_id], task_action_dims[task_id])
    if (env.task_obs_dim, env.task_action_dim) != expected:
        env.close()
        raise ValueError(
            f"Task {task.name!r} has {env.task_obs_dim} observation and {env.task_action_dim} action entries, "
            f"but {expected[0]} and {expected[1]} were declared"
        )
    return env


class PaddedTasks(NamedTuple):
    """
    Tasks given common spaces by :func:`pad_task_spaces`.

    :param tasks: The wrapped tasks (same names, budgets and thresholds)
    :param task_obs_dims: Observation size of each task, before padding
    :param task_action_dims: Action size of each task, before padding
    """

    tasks: list[Task]
    task_obs_dims: list[int]
    task_action_dims: list[int]

    @property
    def policy_kwargs(self) -> dict[str, Any]:
        """The ``policy_kwargs`` telling :class:`TaskRoutedActorCriticPolicy` the size of each task."""
        return {"task_obs_dims": list(self.task_obs_dims), "task_action_dims": list(self.task_action_dims)}


def probe_task_spaces(tasks: Sequence[Task]) -> tuple[list[int], list[int]]:
    """
    Build each task's environment once to read the size of its (flattened) observations and of its actions.

    :param tasks: The tasks
    :return: The observation sizes and the action sizes
    """
    obs_dims, action_dims = [], []
    for task in TaskSequence(tasks).tasks:  # a non-empty list of Task, checked before any environment is built
        env = task.make_env()
        try:
            if not isinstance(env.action_space, spaces.Box) or len(env.action_space.shape) != 1:
                raise ValueError(
                    f"Task {task.name!r}: cross-embodiment tasks need a 1-D Box action space, got {env.action_space}"
                )
            obs_dims.append(int(spaces.flatdim(env.observation_space)))
            action_dims.append(int(env.action_space.shape[0]))
        finally:
            env.close()
    return obs_dims, action_dims


def pad_task_spaces(
    tasks: Union[TaskSequence, Sequence[Task]],
    task_obs_dims: Optional[Sequence[int]] = None,
    task_action_dims: Optional[Sequence[int]] = None,
) -> PaddedTasks:
    """
    Give tasks with different observation and action spaces common ones: each new task builds the original
    task's environment and wraps it in a :class:`CrossEmbodimentWrapper`. The factories are picklable when the
    original ones are (``SubprocVecEnv`` works).

    :param tasks: The tasks (continuous actions: 1-D ``Box`` spaces)
    :param task_obs_dims: Observation size of each task (``None``: read by building each environment once)
    :param task_action_dims: Action size of each task (``None``: likewise); checked when an environment is built
    :return: The padded tasks, and the sizes to pass to :class:`TaskRoutedActorCriticPolicy`
    """
    # The same checks as a TaskSequence's (a non-empty list of Task), before any environment is built.
    tasks = list(tasks.tasks) if isinstance(tasks, TaskSequence) else TaskSequence(tasks).tasks
    names = f"task (tasks {', '.join(repr(task.name) for task in tasks)})"
    for name, dims in (("task_obs_dims", task_obs_dims), ("task_action_dims", task_action_dims)):
        if dims is not None:
            checks.check_length(name, dims, len(tasks), names)
    if task_obs_dims is None or task_action_dims is None:
        probed_obs_dims, probed_action_dims = probe_task_spaces(tasks)
        task_obs_dims = probed_obs_dims if task_obs_dims is None else task_obs_dims
        task_action_dims = probed_action_dims if task_action_dims is None else task_action_dims
    obs_dims = [check_positive_int(dim, "task_obs_dims") for dim in task_obs_dims]
    action_dims = [check_positive_int(dim, "task_action_dims") for dim in task_action_dims]
    padded = [
        Task(
            task.name,
            partial(make_cross_embodiment_env, task, task_id, obs_dims, action_dims),
            {},
            task.n_timesteps,
            task.reward_threshold,
        )
        for task_id, task in enumerate(tasks)
    ]
    return PaddedTasks(padded, obs_dims, action_dims)
