"""
:class:`ContinualTaskEnv`: one ``gymnasium.Env`` that forwards to the active task's environment of a sequence.
"""

from collections.abc import Sequence
from typing import Any, Optional, Union

import gymnasium as gym
from stable_baselines3.common.vec_env import VecEnv

from sb3_gtr.common.checks import check_int_in_range, check_optional_mapping
from sb3_gtr.continual.tasks import TASK_ID_KEY, TASK_SWITCH_KEY, Task, TaskSequence, check_tasks


def tasks_of(tasks: Union[TaskSequence, Sequence[Task]]) -> list[Task]:
    """The tasks of a sequence, or a list of tasks checked by :func:`~sb3_gtr.continual.tasks.check_tasks`."""
    return list(tasks.tasks) if isinstance(tasks, TaskSequence) else check_tasks(tasks)


class ContinualTaskEnv(gym.Env):
    """
    One environment over several tasks: holds one environment per task, created on first use, and
    forwards ``reset``/``step``/``render`` to the active one. ``info["task_id"]`` holds the id of the
    task that produced the transition (or the reset observation).

    :meth:`set_task` takes effect at the next reset. If an episode is running, the next ``step`` is
    still taken on the old task and returned with ``truncated=True`` (and ``info["task_switch"] = True``),
    so that the episode never mixes two tasks and the learner bootstraps its value (a truncation, not a
    termination); the vectorized env then resets it on the new task. This costs at most one step on the
    old task per switch, rather than splicing the new task's dynamics onto an observation of the old
    one (or resetting behind the algorithm's back, which would leave a wrong transition in its buffer).

    Every task must have the same observation and action spaces (a ``ValueError`` is raised otherwise).
    Tasks whose spaces differ (other embodiments) can be given common padded spaces first, with
    :func:`sb3_gtr.continual.cross_embodiment.pad_task_spaces`.

    Environments are seeded: the first reset of each task's environment gets a seed drawn from this
    environment's ``np_random``, so that a seeded ``ContinualTaskEnv`` is reproducible across switches.

    :param tasks: A :class:`TaskSequence` or a list of :class:`Task`
    :param task_id: The task active at the first reset
    :param env_kwargs: Extra keyword arguments passed to every task's factory (``render_mode`` ...)
    """

    def __init__(
        self,
        tasks: Union[TaskSequence, Sequence[Task]],
        task_id: int = 0,
        env_kwargs: Optional[dict[str, Any]] = None,
    ) -> None:
        super().__init__()
        self.tasks = tasks_of(tasks)
        #: The sequence the env was built from (``None`` when given a list of tasks): :class:`ContinualTaskCallback`
        #: reads its schedule from here when it is not given one
        self.sequence = tasks if isinstance(tasks, TaskSequence) else None
        task_id = self._check_task_id(task_id)
        self.env_kwargs = dict(check_optional_mapping("env_kwargs", env_kwargs) or {})
        self.envs: dict[int, gym.Env] = {}
        self._needs_seed: set[int] = set()
        self._task_id = task_id
        self._pending_task_id: Optional[int] = None
        first_env = self._get_env(task_id)
        self.observation_space = first_env.observation_space
        self.action_space = first_env.action_space
        self.render_mode = getattr(first_env, "render_mode", None)
        self.metadata = getattr(first_env, "metadata", self.metadata)

    @property
    def task_id(self) -> int:
        """The task of the running episode."""
        return self._task_id

    @property
    def n_tasks(self) -> int:
        """Number of tasks."""
        return len(self.tasks)

    @property
    def active_env(self) -> gym.Env:
        """The environment of the running episode."""
        return self.envs[self._task_id]

    def _check_task_id(self, task_id: int) -> int:
        return check_int_in_range("task_id", task_id, 0, len(self.tasks))

    def _get_env(self, task_id: int) -> gym.Env:
        if task_id not in self.envs:
            env = self.tasks[task_id].make_env(**self.env_kwargs)
            if self.envs:
                first_id, first_env = next(iter(self.envs.items()))
                check_same_spaces(first_env, env, self.tasks[first_id].name, self.tasks[task_id].name)
            self.envs[task_id] = env
            self._needs_seed.add(task_id)
        return self.envs[task_id]

    def build_task_envs(self) -> None:
        """
        Build the environment of every task now rather than at its first switch, checking that they share
        their spaces: :class:`ContinualTaskCallback` calls it before training, so that a task that cannot be
        built fails at once, not hours into a run. Seeding is unchanged (a task's environment is seeded at its
        first reset).
        """
        for task_id in range(len(self.tasks)):
            self._get_env(task_id)

    def set_task(self, task_id: int) -> None:
        """
        Switch to another task at the next reset; the running episode is truncated at its next step.

        :param task_id: Index of the task
        """
        task_id = self._check_task_id(task_id)
        self._pending_task_id = None if task_id == self._task_id else task_id

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None) -> tuple[Any, dict[str, Any]]:
        """
        Start an episode, on the task set by :meth:`set_task` if one is pending.

        :param seed: Seed of this environment (and, through it, of every task's environment)
        :param options: Passed to the task's environment
        :return: The first observation and the info dict, with ``info["task_id"]``
        """
        super().reset(seed=seed)
        if seed is not None:
            # A new seed re-seeds every task's environment at its next first reset.
            self._needs_seed = set(self.envs)
        if self._pending_task_id is not None:
            self._task_id, self._pending_task_id = self._pending_task_id, None
        env = self._get_env(self._task_id)
        task_seed = None
        if self._task_id in self._needs_seed:
            self._needs_seed.discard(self._task_id)
            task_seed = int(self.np_random.integers(2**31 - 1))
        observation, info = env.reset(seed=task_seed, options=options)
        info[TASK_ID_KEY] = self._task_id
        return observation, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """
        Step the active task's environment; truncate the episode if a switch is pending.

        :param action: The action
        :return: Observation, reward, terminated, truncated and info (with ``info["task_id"]``, and
            ``info["task_switch"] = True`` on a step truncated by a switch)
        """
        observation, reward, terminated, truncated, info = self.active_env.step(action)
        info[TASK_ID_KEY] = self._task_id
        if self._pending_task_id is not None and not (terminated or truncated):
            truncated = True
            info[TASK_SWITCH_KEY] = True
        return observation, reward, terminated, truncated, info

    def render(self) -> Any:
        """:return: The active task's rendering"""
        return self.active_env.render()

    def close(self) -> None:
        """Close every task's environment."""
        for env in self.envs.values():
            env.close()
        self.envs.clear()


def check_same_spaces(
    reference: Union[gym.Env, VecEnv], other: Union[gym.Env, VecEnv], reference_name: str, other_name: str
) -> None:
    """
    Raise a ``ValueError`` if two tasks' environments have different observation or action spaces.

    :param reference: Environment of the first task
    :param other: Environment of the other task
    :param reference_name: Name of the first task, for the message
    :param other_name: Name of the other task, for the message
    """
    for kind in ("observation_space", "action_space"):
        reference_space, other_space = getattr(reference, kind), getattr(other, kind)
        if reference_space != other_space:
            raise ValueError(
                f"Task {other_name!r} has {kind} {other_space} but task {reference_name!r} has {reference_space}: "
                "tasks with different observation or action spaces are not yet supported as they are; give them "
                "common padded spaces with sb3_gtr.continual.cross_embodiment.pad_task_spaces"
            )
