"""
Continual reinforcement learning: task sequences, one environment that switches between tasks, the
callback that drives the switches and evaluates every task, and Continual World's metrics.

The pieces, from the bottom up:

- :class:`Task` (an environment and its step budget) and :class:`TaskSequence` (the tasks, repeated
  ``n_cycles`` times, with budgets multiplied by ``scale``), whose :meth:`TaskSequence.schedule` gives
  the ordered training :class:`Phase` s;
- :class:`ContinualTaskEnv`, a single ``gymnasium.Env`` that forwards to the active task's environment,
  and :func:`make_continual_vec_env`, one Stable-Baselines3 ``VecEnv`` over the whole sequence, so that
  a single model of any SB3 algorithm trains across it;
- :class:`ContinualTaskCallback`, which switches tasks on schedule (or on a return threshold, in
  curriculum mode), logs per-task returns, evaluates the model on every task, and writes the
  evaluation table, the metrics and a plot of the learning curves;
- :class:`EvaluationTable` and the metrics (:func:`normalize_returns`, :func:`average_performance`,
  :func:`forgetting`, :func:`forward_transfer`, :func:`adaptation_speed`, :func:`compute_metrics`), pure
  functions of an evaluation table, and :func:`plot_learning_curves`.

Usage::

    from sb3_gtr import GTRPPO
    from sb3_gtr.common.continual import ContinualTaskCallback, make_continual_vec_env
    from sb3_gtr.envs import make_suite

    sequence = make_suite("flip", scale=0.1)
    env = make_continual_vec_env(sequence, n_envs=4, seed=0)
    callback = ContinualTaskCallback(sequence, eval_freq=10_000, log_dir="logs/flip")
    GTRPPO("MlpPolicy", env, seed=0).learn(sequence.total_timesteps, callback=callback)
"""

import bisect
import csv
import inspect
import json
import math
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Union

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import HumanOutputFormat
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    VecEnv,
    VecEnvWrapper,
    VecFrameStack,
    VecNormalize,
    VecTransposeImage,
)

from sb3_gtr.common.checks import (
    check_bool,
    check_finite_float,
    check_instance,
    check_int_in_range,
    check_keywords,
    check_length,
    check_optional_callable,
    check_optional_mapping,
    check_positive_int,
    check_str,
    describe,
    is_int,
)

#: Key of ``info`` holding the id (index in the sequence's tasks) of the task that produced a transition.
TASK_ID_KEY = "task_id"
#: Key of ``info`` set to ``True`` on the step that ends an episode early because of a task switch.
TASK_SWITCH_KEY = "task_switch"
#: Environment factory accepted by :class:`Task`: a registered gymnasium id, or a callable returning an env.
EnvFactory = Union[str, Callable[..., gym.Env]]


# --------------------------------------------------------------------------------------------------
# Tasks and sequences
# --------------------------------------------------------------------------------------------------


#: Characters refused in task names: task names become CSV columns and logger keys (``continual/return_<name>``), which
#: a comma, a double quote or a line break would split or corrupt.
_TASK_NAME_FORBIDDEN = (",", '"')


def check_task_name(name: str, value: Any) -> str:
    """
    Check a task name: a non-empty string that can be a CSV column and a logger key.

    :param name: Name of the argument, for the message
    :param value: The value given
    :return: The value
    :raises ValueError: If ``value`` is not a non-empty string, or holds a comma, a double quote or a control
        character (a line break, a tab ...)
    """
    check_str(name, value)
    if not value.isprintable() or any(char in value for char in _TASK_NAME_FORBIDDEN):
        raise ValueError(
            f"`{name}` must be a task name without commas, double quotes, line breaks or other control characters "
            f"(task names are used as CSV columns and logger keys), got {value!r}"
        )
    return value


@dataclass
class Task:
    """
    One task of a continual-learning sequence.

    :param name: Unique name of the task within its sequence, used in logger keys and CSV files: no commas, double
        quotes, line breaks or other control characters
    :param env_id: A registered gymnasium id (made with ``gymnasium.make``) or a callable returning the environment
        (a ``gymnasium.Env``; anything else is refused when the environment is built)
    :param env_kwargs: Keyword arguments passed to ``gymnasium.make`` or to the callable
    :param n_timesteps: Training steps of one phase on this task, before the sequence's ``scale``
    :param reward_threshold: Mean training return (over the callback's ``curriculum_window`` episodes) at which a
        curriculum moves on to the next task; ``None``: the task only ends when its step budget is used up
    """

    name: str
    env_id: EnvFactory
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_timesteps: int = 100_000
    reward_threshold: Optional[float] = None

    def __post_init__(self) -> None:
        check_task_name("name", self.name)
        try:
            if not (isinstance(self.env_id, str) and self.env_id) and not callable(self.env_id):
                raise ValueError(
                    "`env_id` must be a registered gymnasium id or a callable returning an environment, "
                    f"got {describe(self.env_id)}"
                )
            self.env_kwargs = dict(check_optional_mapping("env_kwargs", self.env_kwargs) or {})
            # Every factory of the package hands `max_episode_steps` to `gymnasium.make`, which takes -1 or 0 as
            # they are: refuse them here rather than train on episodes of a meaningless length.
            if self.env_kwargs.get("max_episode_steps") is not None:
                check_positive_int("env_kwargs['max_episode_steps']", self.env_kwargs["max_episode_steps"])
            self.n_timesteps = check_positive_int("n_timesteps", self.n_timesteps)
            if self.reward_threshold is not None:
                self.reward_threshold = check_finite_float("reward_threshold", self.reward_threshold)
        except ValueError as error:
            raise ValueError(f"Task {self.name!r}: {error}") from None

    def make_env(self, **kwargs: Any) -> gym.Env:
        """
        Build a new instance of the task's environment.

        :param kwargs: Extra keyword arguments (``render_mode`` ...), overriding ``env_kwargs``
        :return: The environment
        """
        env_kwargs = {**self.env_kwargs, **kwargs}
        factory = self.env_id if isinstance(self.env_id, str) else getattr(self.env_id, "__name__", repr(self.env_id))
        try:
            env = gym.make(self.env_id, **env_kwargs) if isinstance(self.env_id, str) else self.env_id(**env_kwargs)
        except TypeError as error:
            # An unknown or misspelt keyword argument: say which task carries it, as the factory cannot.
            raise TypeError(
                f"Task {self.name!r} cannot build its environment {factory!r} with env_kwargs {env_kwargs}: {error}"
            ) from error
        # A factory that forgets its `return` would otherwise fail far away, on `None.observation_space`.
        if not isinstance(env, gym.Env):
            raise ValueError(
                f"Task {self.name!r}: its environment factory {factory!r} returned {describe(env)} of type "
                f"{type(env).__name__}, not a gymnasium.Env: the factory must return the environment it builds"
            )
        return env


class _PhaseFields(NamedTuple):
    task_id: int
    start: int
    end: int


class Phase(_PhaseFields):
    """
    A training phase: steps ``[start, end)`` spent on task ``task_id``. A named tuple whose fields are
    checked when it is made (non-negative integers, ``end >= start``).

    :param task_id: Index of the task in the sequence's ``tasks``
    :param start: First step (in ``num_timesteps``) of the phase
    :param end: Step at which the phase ends (exclusive)
    """

    __slots__ = ()

    def __new__(cls, task_id: int, start: int, end: int) -> "Phase":
        task_id = check_positive_int("task_id", task_id, allow_zero=True)
        start = check_positive_int("start", start, allow_zero=True)
        end = check_positive_int("end", end, allow_zero=True)
        if end < start:
            raise ValueError(f"A Phase must end at or after its start, got start={start} and end={end}")
        return super().__new__(cls, task_id, start, end)


def _check_tasks(tasks: Any) -> list[Task]:
    """The tasks as a list, refusing an empty list and anything that is not a :class:`Task`."""
    if isinstance(tasks, (str, bytes, Task, Mapping)) or not isinstance(tasks, Iterable):
        raise ValueError(f"`tasks` must be a list of Task, got {describe(tasks)}")
    tasks = list(tasks)
    if not tasks:
        raise ValueError("`tasks` is empty: a task sequence needs at least one Task")
    for index, task in enumerate(tasks):
        if not isinstance(task, Task):
            raise ValueError(
                f"`tasks` must hold Task objects (Task(name, env_id, env_kwargs, n_timesteps)), got {describe(task)} "
                f"at index {index}"
            )
    return tasks


def _vec_normalize_keywords() -> list[str]:
    """The keyword arguments of ``VecNormalize`` besides the wrapped env."""
    parameters = inspect.signature(VecNormalize.__init__).parameters
    return [name for name in parameters if name not in ("self", "venv")]


class TaskSequence:
    """
    An ordered list of tasks trained one after the other, the whole list ``n_cycles`` times.

    :param tasks: The tasks, in training order; their names must be unique
    :param n_cycles: Number of passes over the tasks
    :param scale: Factor applied to every task's ``n_timesteps`` (rounded, at least one step): ``scale=0.01``
        gives a quick smoke run of a benchmark-sized suite
    :param name: Name of the sequence (the suite), for logs and plots
    :param policy: The policy recommended for the suite: an alias known to both SB3's ``PPO`` and ``GTRPPO``
        (``"MlpPolicy"``, ``"CnnPolicy"``, ``"MultiInputPolicy"``) or a policy class; ``None``: no recommendation
    :param policy_kwargs: The ``policy_kwargs`` recommended with ``policy`` (copied)
    :param normalize_kwargs: Keyword arguments of the ``VecNormalize`` recommended around the training env
        (for example ``norm_obs_keys`` for dict observations; a key that ``VecNormalize`` does not take raises a
        ``TypeError``); ``None``: no recommendation
    """

    def __init__(
        self,
        tasks: Sequence[Task],
        n_cycles: int = 1,
        scale: float = 1.0,
        name: Optional[str] = None,
        policy: Optional[Union[str, type]] = None,
        policy_kwargs: Optional[dict[str, Any]] = None,
        normalize_kwargs: Optional[dict[str, Any]] = None,
    ) -> None:
        self.tasks = _check_tasks(tasks)
        names = [task.name for task in self.tasks]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"Task names must be unique within a sequence, repeated: {duplicates}")
        self.n_cycles = check_positive_int("n_cycles", n_cycles)
        self.scale = check_finite_float("scale", scale, low=0.0, low_inclusive=False)
        self.name = None if name is None else check_str("name", name)
        if policy is not None and not isinstance(policy, (str, type)):
            raise ValueError(f"`policy` must be a policy alias (a string), a policy class or None, got {describe(policy)}")
        self.policy = policy
        self.policy_kwargs = dict(check_optional_mapping("policy_kwargs", policy_kwargs) or {})
        normalize_kwargs = check_optional_mapping("normalize_kwargs", normalize_kwargs)
        if normalize_kwargs is not None:
            # Checked now, not when a runner wraps its env long after the sequence was made.
            check_keywords("TaskSequence: `normalize_kwargs` of VecNormalize", normalize_kwargs, _vec_normalize_keywords())
        self.normalize_kwargs = None if normalize_kwargs is None else dict(normalize_kwargs)

    def __len__(self) -> int:
        return len(self.tasks)

    def __repr__(self) -> str:
        return f"TaskSequence(name={self.name!r}, tasks={self.task_names}, n_cycles={self.n_cycles}, scale={self.scale})"

    @property
    def task_names(self) -> list[str]:
        """The task names, indexed by task id."""
        return [task.name for task in self.tasks]

    def task_timesteps(self, task_id: int) -> int:
        """
        :param task_id: Index of the task
        :return: The scaled step budget of one phase on that task
        """
        task_id = check_int_in_range("task_id", task_id, 0, len(self.tasks))
        return max(1, round(self.tasks[task_id].n_timesteps * self.scale))

    def schedule(self) -> list[Phase]:
        """
        :return: The training phases in order: the tasks in order, ``n_cycles`` times, each for its scaled budget
        """
        phases, start = [], 0
        for _ in range(self.n_cycles):
            for task_id in range(len(self.tasks)):
                end = start + self.task_timesteps(task_id)
                phases.append(Phase(task_id, start, end))
                start = end
        return phases

    @property
    def total_timesteps(self) -> int:
        """Training steps of the whole sequence (the ``end`` of the last phase)."""
        return self.schedule()[-1].end

    def phase_index_at(self, step: int) -> int:
        """
        :param step: A training step (``num_timesteps``)
        :return: Index in :meth:`schedule` of the phase containing ``step``; the last phase for steps past the end
        """
        step = check_positive_int("step", step, allow_zero=True)
        ends = [phase.end for phase in self.schedule()]
        return min(bisect.bisect_right(ends, step), len(ends) - 1)

    def task_id_at(self, step: int) -> int:
        """
        :param step: A training step (``num_timesteps``)
        :return: The task scheduled at that step
        """
        return self.schedule()[self.phase_index_at(step)].task_id


# --------------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------------


def _tasks_of(tasks: Union[TaskSequence, Sequence[Task]]) -> list[Task]:
    return list(tasks.tasks) if isinstance(tasks, TaskSequence) else _check_tasks(tasks)


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
    :func:`sb3_gtr.common.cross_embodiment.pad_task_spaces`.

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
        self.tasks = _tasks_of(tasks)
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
                "common padded spaces with sb3_gtr.common.cross_embodiment.pad_task_spaces"
            )


def check_phases_fit(sequence: TaskSequence, n_envs: int) -> None:
    """
    Refuse a schedule with a phase shorter than one vectorized step: on schedule the tasks switch once per vectorized
    step (``n_envs`` transitions), so such a phase could be skipped altogether, silently.

    :param sequence: The task sequence
    :param n_envs: Number of environments of the training env
    :raises ValueError: If a phase of ``sequence.schedule()`` lasts fewer than ``n_envs`` steps
    """
    for index, phase in enumerate(sequence.schedule()):
        if phase.end - phase.start < n_envs:
            raise ValueError(
                f"Phase {index} of {sequence!r} ({sequence.task_names[phase.task_id]!r}, {phase.end - phase.start} "
                f"steps) is shorter than one vectorized step of the training env (n_envs={n_envs}) and could be skipped: "
                "give every task at least n_envs steps (a larger `scale` or `n_timesteps`) or use fewer envs"
            )


def _same(a: Any, b: Any) -> bool:
    # Environment arguments may hold arrays or objects without a usable `==`: those count as equal.
    try:
        return bool(a == b)
    except Exception:
        return True


def _task_differences(tasks: Sequence[Task], other_tasks: Sequence[Task]) -> list[str]:
    """How two lists of tasks differ, in words (empty when they are the same)."""
    names, other_names = [task.name for task in tasks], [task.name for task in other_tasks]
    if names != other_names:
        return [f"the tasks differ ({len(names)} tasks {names} against {len(other_names)} tasks {other_names})"]
    differences = []
    for task, other in zip(tasks, other_tasks, strict=True):
        # Callables may be copies (a SubprocVecEnv pickles them): compare them by name only.
        env_id = task.env_id if isinstance(task.env_id, str) else getattr(task.env_id, "__qualname__", None)
        other_id = other.env_id if isinstance(other.env_id, str) else getattr(other.env_id, "__qualname__", None)
        if env_id != other_id:
            differences.append(f"task {task.name!r} has environment {env_id!r} against {other_id!r}")
        elif not _same(task.env_kwargs, other.env_kwargs):
            differences.append(f"task {task.name!r} has env_kwargs {task.env_kwargs} against {other.env_kwargs}")
    return differences


def _sequence_differences(sequence: TaskSequence, other: TaskSequence) -> list[str]:
    """How two task sequences differ where it matters for training and evaluation (empty when they agree)."""
    if sequence is other:
        return []
    differences = _task_differences(sequence.tasks, other.tasks)
    if differences:
        return differences
    schedule, other_schedule = sequence.schedule(), other.schedule()
    if schedule != other_schedule:
        differences.append(
            f"their schedules differ ({len(schedule)} phases ending at {schedule[-1].end} steps, "
            f"n_cycles={sequence.n_cycles}, scale={sequence.scale}, budgets "
            f"{[sequence.task_timesteps(i) for i in range(len(sequence))]}; against {len(other_schedule)} phases ending at "
            f"{other_schedule[-1].end}, n_cycles={other.n_cycles}, scale={other.scale}, budgets "
            f"{[other.task_timesteps(i) for i in range(len(other))]})"
        )
    return differences


def check_wrapper_kwargs(wrapper_class: Optional[Callable[..., Any]], wrapper_kwargs: Optional[Mapping[str, Any]]) -> None:
    """
    Refuse wrapper keyword arguments given without the wrapper they are for (``make_vec_env`` ignores them then).

    :param wrapper_class: The wrapper class, or ``None``
    :param wrapper_kwargs: Its keyword arguments
    :raises ValueError: If ``wrapper_kwargs`` is not empty and ``wrapper_class`` is ``None``
    """
    if wrapper_kwargs and wrapper_class is None:
        raise ValueError(
            f"`wrapper_kwargs` {dict(wrapper_kwargs)} given without `wrapper_class`: they are the keyword arguments of "
            "the wrapper and would be ignored; give `wrapper_class` too, or no `wrapper_kwargs`"
        )


def make_continual_vec_env(
    sequence: Union[TaskSequence, Sequence[Task]],
    n_envs: int = 1,
    seed: Optional[int] = None,
    vec_env_cls: Optional[type[Union[DummyVecEnv, VecEnv]]] = DummyVecEnv,
    wrapper_class: Optional[Callable[[gym.Env], gym.Env]] = None,
    task_id: int = 0,
    wrapper_kwargs: Optional[dict[str, Any]] = None,
    vec_env_kwargs: Optional[dict[str, Any]] = None,
    monitor_dir: Optional[str] = None,
    env_kwargs: Optional[dict[str, Any]] = None,
) -> VecEnv:
    """
    One Stable-Baselines3 ``VecEnv`` over a whole task sequence: ``n_envs`` copies of a
    :class:`ContinualTaskEnv`, each ``Monitor``-wrapped (episode statistics, with the task id recorded
    per episode), as ``make_vec_env`` builds them. Wrap the result in ``VecNormalize`` or other
    ``VecEnvWrapper`` s as usual; :class:`ContinualTaskCallback` reaches the sub-environments through them.

    :param sequence: The tasks
    :param n_envs: Number of parallel environments
    :param seed: Seed of the first environment (``seed + rank`` for the others)
    :param vec_env_cls: ``DummyVecEnv`` or ``SubprocVecEnv`` (``None``: ``DummyVecEnv``)
    :param wrapper_class: Gymnasium wrapper applied to each environment, after ``Monitor``
    :param task_id: Task active at the first reset
    :param wrapper_kwargs: Keyword arguments of ``wrapper_class`` (refused without ``wrapper_class``, which
        ``make_vec_env`` would silently ignore)
    :param vec_env_kwargs: Keyword arguments of ``vec_env_cls``
    :param monitor_dir: Where the ``Monitor`` files go (``None``: not written)
    :param env_kwargs: Extra keyword arguments passed to every task's factory
    :return: The vectorized environment
    """
    tasks = _tasks_of(sequence)
    n_envs = check_positive_int("n_envs", n_envs)
    if seed is not None:
        check_positive_int("seed", seed, allow_zero=True)  # numpy refuses negative seeds, but only at the first reset
    check_int_in_range("task_id", task_id, 0, len(tasks))
    if vec_env_cls is not None and not (isinstance(vec_env_cls, type) and issubclass(vec_env_cls, VecEnv)):
        raise ValueError(
            f"`vec_env_cls` must be a VecEnv class (DummyVecEnv, SubprocVecEnv) or None, got {describe(vec_env_cls)}"
        )
    check_optional_callable("wrapper_class", wrapper_class, "a gymnasium wrapper class (or callable) or None")
    for name, kwargs in (("wrapper_kwargs", wrapper_kwargs), ("vec_env_kwargs", vec_env_kwargs), ("env_kwargs", env_kwargs)):
        check_optional_mapping(name, kwargs)
    check_wrapper_kwargs(wrapper_class, wrapper_kwargs)
    if monitor_dir is not None:
        check_instance("monitor_dir", monitor_dir, (str, os.PathLike), "a folder (str or path) or None")
    return make_vec_env(
        ContinualTaskEnv,
        n_envs=n_envs,
        seed=seed,
        env_kwargs={"tasks": sequence, "task_id": task_id, "env_kwargs": env_kwargs},
        monitor_dir=monitor_dir,
        wrapper_class=wrapper_class,
        wrapper_kwargs=wrapper_kwargs,
        vec_env_cls=vec_env_cls,
        vec_env_kwargs=vec_env_kwargs,
        monitor_kwargs={"info_keywords": (TASK_ID_KEY,)},
    )


def _vec_wrappers(env: VecEnv) -> tuple[list[VecEnvWrapper], VecEnv]:
    """The ``VecEnvWrapper`` s around a VecEnv, outermost first, and the innermost VecEnv."""
    wrappers = []
    while isinstance(env, VecEnvWrapper):
        wrappers.append(env)
        env = env.venv
    return wrappers, env


def mirror_vec_wrappers(training_env: VecEnv, eval_env: VecEnv) -> VecEnv:
    """
    Wrap an evaluation env like the training env where it matters for the policy's inputs:
    ``VecNormalize`` (frozen, raw rewards; statistics synced before each evaluation) and
    ``VecFrameStack``. Other wrappers are left out: ``VecTransposeImage`` is redone by ``policy.predict``
    and monitoring wrappers do not change observations.
    """
    wrappers, _ = _vec_wrappers(training_env)
    for wrapper in reversed(wrappers):
        if isinstance(wrapper, VecNormalize):
            eval_env = VecNormalize(
                eval_env,
                training=False,
                norm_obs=wrapper.norm_obs,
                norm_reward=False,
                clip_obs=wrapper.clip_obs,
                gamma=wrapper.gamma,
                epsilon=wrapper.epsilon,
                norm_obs_keys=wrapper.norm_obs_keys,
            )
        elif isinstance(wrapper, VecFrameStack):
            stacked = wrapper.stacked_obs
            if hasattr(stacked, "sub_stacked_observations"):
                channels_order: Union[str, dict[str, str]] = {
                    key: "first" if sub.channels_first else "last" for key, sub in stacked.sub_stacked_observations.items()
                }
                n_stack = next(iter(stacked.sub_stacked_observations.values())).n_stack
            else:
                channels_order, n_stack = ("first" if stacked.channels_first else "last"), stacked.n_stack
            eval_env = VecFrameStack(eval_env, n_stack=n_stack, channels_order=channels_order)
    return eval_env


def sync_normalization(training_env: VecEnv, eval_env: VecEnv) -> None:
    """
    Copy the observation statistics of every ``VecNormalize`` of the training env to the matching
    (same rank, counted from the outside) ``VecNormalize`` of the evaluation env.

    :param training_env: The training environment
    :param eval_env: An evaluation environment wrapped by :func:`mirror_vec_wrappers` or alike
    """
    training_norms = [w for w in _vec_wrappers(training_env)[0] if isinstance(w, VecNormalize)]
    eval_norms = [w for w in _vec_wrappers(eval_env)[0] if isinstance(w, VecNormalize)]
    for training_norm, eval_norm in zip(training_norms, eval_norms, strict=False):
        if hasattr(training_norm, "obs_rms"):
            eval_norm.obs_rms = deepcopy(training_norm.obs_rms)


# --------------------------------------------------------------------------------------------------
# Evaluation table and metrics
# --------------------------------------------------------------------------------------------------


@dataclass
class EvaluationTable:
    """
    Periodic evaluations of one model on every task of a sequence.

    :param task_names: The task names, indexed by task id
    :param steps: Training step of each evaluation, shape ``(n_evaluations,)``, non-decreasing
    :param returns: Mean evaluation return, shape ``(n_evaluations, n_tasks)``
    :param std_returns: Standard deviation of the evaluation returns, same shape (``None``: unknown)
    """

    task_names: list[str]
    steps: np.ndarray
    returns: np.ndarray
    std_returns: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if isinstance(self.task_names, str) or not isinstance(self.task_names, Iterable):
            raise ValueError(f"`task_names` must be a list of task names, got {describe(self.task_names)}")
        self.task_names = [check_str("task_names", name) for name in self.task_names]
        if not self.task_names:
            raise ValueError("`task_names` is empty: an evaluation table needs at least one task")
        steps = np.asarray(self.steps)
        if steps.ndim != 1 or (steps.size and not np.issubdtype(steps.dtype, np.integer)):
            raise ValueError(f"`steps` must be a 1-D list of integer training steps, got {describe(self.steps)}")
        self.steps = steps.astype(np.int64)
        if np.any(np.diff(self.steps) < 0):
            raise ValueError(f"`steps` must be non-decreasing (evaluations in training order), got {self.steps.tolist()}")
        shape = (len(self.steps), len(self.task_names))
        for name in ("returns", "std_returns"):
            values = getattr(self, name)
            if values is None:
                continue
            array = np.asarray(values, dtype=np.float64)
            if array.size != shape[0] * shape[1]:
                raise ValueError(
                    f"`{name}` must hold one value per evaluation and task, shape {shape} ({shape[0]} steps x "
                    f"{shape[1]} tasks), got shape {array.shape}"
                )
            setattr(self, name, array.reshape(shape))

    def __len__(self) -> int:
        return len(self.steps)

    def to_csv(self, path: str) -> None:
        """
        Write the table in long format, one row per (evaluation, task): ``step,task_id,task,mean_return,std_return``.

        :param path: The CSV file
        """
        with open(path, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["step", "task_id", "task", "mean_return", "std_return"])
            for row, step in enumerate(self.steps):
                for task_id, name in enumerate(self.task_names):
                    std = "" if self.std_returns is None else repr(float(self.std_returns[row, task_id]))
                    writer.writerow([int(step), task_id, name, repr(float(self.returns[row, task_id])), std])

    @classmethod
    def from_csv(cls, path: str) -> "EvaluationTable":
        """
        Read a table written by :meth:`to_csv`.

        :param path: The CSV file
        :return: The table
        """
        with open(path, newline="") as file:
            rows = list(csv.DictReader(file))
        names: dict[int, str] = {}
        by_step: dict[int, dict[int, tuple[float, float]]] = {}
        for row in rows:
            task_id = int(row["task_id"])
            names[task_id] = row["task"]
            std = float(row["std_return"]) if row.get("std_return") else math.nan
            by_step.setdefault(int(row["step"]), {})[task_id] = (float(row["mean_return"]), std)
        task_ids = sorted(names)
        steps = sorted(by_step)
        returns = [[by_step[step].get(task_id, (math.nan, math.nan))[0] for task_id in task_ids] for step in steps]
        stds = [[by_step[step].get(task_id, (math.nan, math.nan))[1] for task_id in task_ids] for step in steps]
        return cls([names[task_id] for task_id in task_ids], np.array(steps), np.array(returns), np.array(stds))


def check_references(
    reference_min: Optional[Sequence[Optional[float]]],
    reference_max: Optional[Sequence[Optional[float]]],
    task_names: Sequence[str],
) -> None:
    """
    Check the per-task references of :func:`normalize_returns`: ``None`` or one entry per task, each ``None`` or
    a finite number, and ``min < max`` for every task where both are given.

    :param reference_min: Return mapped to 0, per task
    :param reference_max: Return mapped to 1, per task
    :param task_names: The task names (their number is the expected length)
    :raises ValueError: On a wrong length, a non-finite or non-numeric entry, or ``min >= max``
    """
    tasks = f"task (tasks {', '.join(map(repr, task_names))})"
    for name, values in (("reference_min", reference_min), ("reference_max", reference_max)):
        if values is None:
            continue
        check_length(name, values, len(task_names), tasks)
        for task_name, value in zip(task_names, values, strict=True):
            if value is not None:
                check_finite_float(f"{name}[{task_name!r}]", value)
    if reference_min is not None and reference_max is not None:
        for task_name, low, high in zip(task_names, reference_min, reference_max, strict=True):
            if low is not None and high is not None and not float(high) > float(low):
                raise ValueError(
                    f"Reference max must exceed reference min for every task: task {task_name!r} has "
                    f"reference_min={low} and reference_max={high}"
                )


def _per_task(values: Optional[Sequence[Optional[float]]], n_tasks: int, fallback: np.ndarray) -> np.ndarray:
    if values is None:
        return fallback.copy()
    return np.array([fallback[i] if value is None else float(value) for i, value in enumerate(values)])


def _check_phases(phases: Sequence[Phase], n_tasks: int) -> list[Phase]:
    """The phases as :class:`Phase` s, refusing tasks that do not exist and phases out of training order."""
    if isinstance(phases, (str, bytes, Mapping)) or not isinstance(phases, Iterable):
        raise ValueError(f"`phases` must be a list of Phase, got {describe(phases)}")
    checked: list[Phase] = []
    for phase in phases:
        phase = phase if isinstance(phase, Phase) else Phase(*phase)
        if phase.task_id >= n_tasks:
            raise ValueError(f"`phases` refers to task {phase.task_id}, but there are {n_tasks} tasks: {phase}")
        if checked and phase.start < checked[-1].end:
            raise ValueError(f"`phases` must be in training order, without overlap: {phase} starts before {checked[-1]} ends")
        checked.append(phase)
    return checked


def _check_fraction(fraction: Any, name: str = "fraction") -> float:
    # A target of 0 is reached at once, above 1 never: neither measures re-adaptation.
    return check_finite_float(name, fraction, low=0.0, high=1.0, low_inclusive=False)


def normalize_returns(
    returns: np.ndarray,
    reference_min: Optional[Sequence[Optional[float]]] = None,
    reference_max: Optional[Sequence[Optional[float]]] = None,
) -> np.ndarray:
    """
    Per-task performance in ``[0, 1]``: ``(return - min) / (max - min)``, clipped, the stand-in for
    Continual World's success rate.

    The reference ``min``/``max`` of a task is given by the user (for example a random policy's and an
    expert's return, which makes numbers comparable across runs), or else taken as the minimum and
    maximum of that task's evaluations over the whole run (the default: self-contained, but only
    comparable within the run; the best evaluation of every task scores 1). ``None`` entries in a given
    list fall back to the run's values. A task whose run-derived span is zero (every evaluation equal)
    scores 0 throughout: the run carries no information about it. When only one reference of a task is
    given and the run's returns all lie beyond it (every return below a given min, or above a given max),
    the task scores 0, or 1 above a given max.

    :param returns: Mean evaluation returns, shape ``(n_evaluations, n_tasks)``
    :param reference_min: Return mapped to 0, per task
    :param reference_max: Return mapped to 1, per task
    :return: Normalised performance, same shape
    """
    returns = np.asarray(returns, dtype=np.float64)
    if returns.ndim != 2 or returns.shape[0] == 0:
        raise ValueError(f"`returns` must have shape (n_evaluations >= 1, n_tasks), got shape {returns.shape}")
    n_tasks = returns.shape[1]
    check_references(reference_min, reference_max, [str(task_id) for task_id in range(n_tasks)])
    low = _per_task(reference_min, n_tasks, np.nanmin(returns, axis=0))
    high = _per_task(reference_max, n_tasks, np.nanmax(returns, axis=0))
    given_max = np.zeros(n_tasks, dtype=bool) if reference_max is None else np.array([v is not None for v in reference_max])
    span = high - low
    safe_span = np.where(span > 0, span, 1.0)
    # An empty span with one reference given means that every return lies beyond it (all below a given min:
    # 0; all above a given max: 1), not an error to find at the end of a run.
    degenerate = np.where(given_max & (returns >= high), 1.0, 0.0)
    normalized = np.where(span > 0, (returns - low) / safe_span, degenerate)
    return np.clip(normalized, 0.0, 1.0)


def performance_at(steps: np.ndarray, normalized: np.ndarray, step: int) -> np.ndarray:
    """
    :param steps: Evaluation steps, shape ``(n_evaluations,)``, non-decreasing
    :param normalized: Normalised performance, shape ``(n_evaluations, n_tasks)``
    :param step: A training step
    :return: The performance of every task at the last evaluation made at or before ``step`` (NaN if none)
    """
    index = np.searchsorted(np.asarray(steps), step, side="right") - 1
    if index < 0:
        return np.full(normalized.shape[1], math.nan)
    return np.asarray(normalized[index], dtype=np.float64)


def average_performance(normalized: np.ndarray) -> float:
    """
    Continual World's average performance: the mean over tasks of the normalised performance at the
    end of training (the last evaluation).

    :param normalized: Normalised performance, shape ``(n_evaluations, n_tasks)``
    :return: The average performance, in ``[0, 1]``
    """
    return float(np.mean(np.asarray(normalized)[-1]))


def forgetting(steps: np.ndarray, normalized: np.ndarray, phases: Sequence[Phase]) -> np.ndarray:
    """
    Continual World's forgetting, per task: normalised performance at the end of the task's last
    training phase minus that at the end of training. Positive: forgotten; negative: improved by later
    tasks (backward transfer). The task of the final phase has 0. Average with ``np.nanmean``.

    :param steps: Evaluation steps, shape ``(n_evaluations,)``, non-decreasing
    :param normalized: Normalised performance, shape ``(n_evaluations, n_tasks)``
    :param phases: The phases actually trained, in order
    :return: Forgetting per task, shape ``(n_tasks,)``; NaN for a task that was never trained
    """
    normalized = np.asarray(normalized, dtype=np.float64)
    phases = _check_phases(phases, normalized.shape[1])
    final = normalized[-1]
    result = np.full(normalized.shape[1], math.nan)
    for phase in phases:  # later phases overwrite earlier ones: the last phase of each task wins
        result[phase.task_id] = performance_at(steps, normalized, phase.end)[phase.task_id] - final[phase.task_id]
    return result


def area_under_curve(steps: np.ndarray, values: np.ndarray, start: float, end: float) -> float:
    """
    Mean value of a curve over ``[start, end]``: the trapezoidal area under the evaluations made in that
    interval divided by the span they cover (Continual World's ``AUC / Delta``).

    :param steps: Evaluation steps
    :param values: Values at those steps
    :param start: Start of the interval
    :param end: End of the interval
    :return: The mean value; NaN with fewer than two evaluations in the interval
    """
    steps, values = np.asarray(steps, dtype=np.float64), np.asarray(values, dtype=np.float64)
    inside = (steps >= start) & (steps <= end)
    steps, values = steps[inside], values[inside]
    if len(steps) < 2 or steps[-1] <= steps[0]:
        return math.nan
    area = float(np.sum((values[1:] + values[:-1]) * np.diff(steps)) / 2.0)
    return area / float(steps[-1] - steps[0])


def forward_transfer(
    steps: np.ndarray,
    normalized: np.ndarray,
    phases: Sequence[Phase],
    reference_curves: Optional[Sequence[Optional[tuple[np.ndarray, np.ndarray]]]] = None,
) -> np.ndarray:
    """
    Continual World's forward transfer, per task: ``(AUC_task - AUC_reference) / (1 - AUC_reference)``,
    where ``AUC_task`` is the mean normalised performance of the task during its first training phase
    and ``AUC_reference`` that of a reference curve, the same task trained alone from scratch for as
    long (steps counted from 0). Without reference curves forward transfer is undefined: NaN (reported
    as ``None`` in the metrics files).

    :param steps: Evaluation steps, shape ``(n_evaluations,)``
    :param normalized: Normalised performance, shape ``(n_evaluations, n_tasks)``
    :param phases: The phases actually trained, in order
    :param reference_curves: Per task, ``(steps, normalised performance)`` of single-task training, or ``None``
    :return: Forward transfer per task, shape ``(n_tasks,)``; NaN without a reference, for an untrained
        task, or when the reference already reaches 1 throughout
    """
    normalized = np.asarray(normalized, dtype=np.float64)
    n_tasks = normalized.shape[1]
    phases = _check_phases(phases, n_tasks)
    result = np.full(n_tasks, math.nan)
    if reference_curves is None:
        return result
    check_length("reference_curves", reference_curves, n_tasks, "task")
    first_phases: dict[int, Phase] = {}
    for phase in phases:
        first_phases.setdefault(phase.task_id, phase)
    for task_id, phase in first_phases.items():
        reference = reference_curves[task_id]
        if reference is None:
            continue
        auc_task = area_under_curve(steps, normalized[:, task_id], phase.start, phase.end)
        auc_reference = area_under_curve(reference[0], reference[1], 0, phase.end - phase.start)
        if auc_reference < 1.0:
            result[task_id] = (auc_task - auc_reference) / (1.0 - auc_reference)
    return result


def adaptation_speed(steps: np.ndarray, normalized: np.ndarray, phases: Sequence[Phase], fraction: float = 0.8) -> np.ndarray:
    """
    How fast a task is recovered when it comes back: for each phase, the number of steps from the
    phase start until the task's normalised performance first reaches ``fraction`` of its best
    performance at any earlier evaluation (at or before the phase start), looking at the evaluations
    made during the phase. Normalised performance, rather than raw return, keeps the target meaningful
    for negative returns (80% of -100 would be above -100).

    NaN for a task's first phase (nothing to recover) and when the target is not reached before the
    phase ends. 0 when the task was not forgotten at all.

    :param steps: Evaluation steps, shape ``(n_evaluations,)``
    :param normalized: Normalised performance, shape ``(n_evaluations, n_tasks)``
    :param phases: The phases actually trained, in order
    :param fraction: Fraction of the best earlier performance to reach
    :return: Steps to adapt, per phase, shape ``(len(phases),)``
    """
    steps, normalized = np.asarray(steps), np.asarray(normalized, dtype=np.float64)
    phases = _check_phases(phases, normalized.shape[1])
    fraction = _check_fraction(fraction)
    result = np.full(len(phases), math.nan)
    seen: set[int] = set()
    for index, phase in enumerate(phases):
        if phase.task_id not in seen:
            seen.add(phase.task_id)
            continue
        earlier = normalized[steps <= phase.start, phase.task_id]
        if len(earlier) == 0:
            continue
        target = fraction * np.nanmax(earlier)
        during = np.flatnonzero((steps >= phase.start) & (steps <= phase.end) & (normalized[:, phase.task_id] >= target))
        if len(during) > 0:
            result[index] = float(steps[during[0]] - phase.start)
    return result


def check_reference_curves(
    reference_curves: Optional[Mapping[str, tuple[Sequence[float], Sequence[float]]]], task_names: Sequence[str]
) -> None:
    """
    Check the single-task curves of :func:`compute_metrics`: ``None`` or a mapping from known task names to
    ``(steps, returns)``, two 1-D lists of finite numbers of the same length, the steps non-decreasing.

    :param reference_curves: The curves, per task name
    :param task_names: The task names of the run
    :raises ValueError: On an unknown task name or a malformed curve
    """
    if reference_curves is None:
        return
    if not isinstance(reference_curves, Mapping):
        raise ValueError(
            f"`reference_curves` must be a dict of task name -> (steps, returns), got {describe(reference_curves)}"
        )
    unknown = sorted(set(reference_curves) - set(task_names), key=str)
    if unknown:
        raise ValueError(f"Reference curves for unknown tasks {unknown}, tasks are {list(task_names)}")
    for name, curve in reference_curves.items():
        where = f"`reference_curves[{name!r}]`"
        try:
            curve_steps, curve_returns = (np.asarray(values, dtype=np.float64) for values in curve)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be a pair (steps, returns) of lists of numbers, got {describe(curve)}") from None
        if curve_steps.ndim != 1 or curve_steps.shape != curve_returns.shape:
            raise ValueError(
                f"{where} must be (steps, returns) of the same length, "
                f"got shapes {curve_steps.shape} and {curve_returns.shape}"
            )
        if not (np.all(np.isfinite(curve_steps)) and np.all(np.isfinite(curve_returns))):
            raise ValueError(f"{where} must hold finite numbers only, got {describe(curve)}")
        if np.any(np.diff(curve_steps) < 0):
            raise ValueError(f"{where}: the steps must be non-decreasing, got {curve_steps.tolist()}")


def _none_if_nan(value: Any) -> Optional[float]:
    value = float(value)
    return None if math.isnan(value) else value


def compute_metrics(
    table: EvaluationTable,
    phases: Sequence[Phase],
    reference_min: Optional[Sequence[Optional[float]]] = None,
    reference_max: Optional[Sequence[Optional[float]]] = None,
    reference_curves: Optional[Mapping[str, tuple[Sequence[float], Sequence[float]]]] = None,
    fraction: float = 0.8,
) -> dict[str, Any]:
    """
    Every continual-learning metric of a run, as a JSON-ready dictionary (NaN written as ``None``).

    The time axis is the periodic evaluation of every task, never an average over training episodes:
    when failing ends episodes early (a falling robot), most episodes are failures, so an episode
    average is dominated by them and hides a late recovery, while an evaluation every ``eval_freq``
    steps weighs every point of the run alike.

    :param table: The evaluations
    :param phases: The phases actually trained, in order
    :param reference_min: Return mapped to 0, per task (``None``: the task's minimum over the run)
    :param reference_max: Return mapped to 1, per task (``None``: the task's maximum over the run)
    :param reference_curves: Per task name, ``(steps, returns)`` of single-task training from scratch, for
        forward transfer (normalised like the run); ``None``: forward transfer is not computed
    :param fraction: Target fraction of :func:`adaptation_speed`
    :return: ``average_performance``, ``forgetting``, ``forward_transfer``, ``adaptation_speed`` (averages;
        ``None`` when undefined), ``tasks`` (per-task values; ``trained`` says whether a phase of ``phases`` trained
        the task: an untrained task has no forgetting, transfer or adaptation speed) and ``phases`` (per-phase values)
    """
    check_instance("table", table, EvaluationTable, "an EvaluationTable")
    if len(table) == 0:
        raise ValueError("`table` holds no evaluation: the metrics need at least one")
    n_tasks = len(table.task_names)
    phases = _check_phases(phases, n_tasks)
    fraction = _check_fraction(fraction)
    check_references(reference_min, reference_max, table.task_names)
    check_reference_curves(reference_curves, table.task_names)
    low = _per_task(reference_min, n_tasks, np.nanmin(table.returns, axis=0))
    high = _per_task(reference_max, n_tasks, np.nanmax(table.returns, axis=0))
    normalized = normalize_returns(table.returns, reference_min, reference_max)
    per_task_forgetting = forgetting(table.steps, normalized, phases)
    curves: Optional[list[Optional[tuple[np.ndarray, np.ndarray]]]] = None
    if reference_curves is not None:
        curves = []
        for task_id, name in enumerate(table.task_names):
            if name not in reference_curves:
                curves.append(None)
                continue
            curve_steps, curve_returns = (np.asarray(values, dtype=np.float64) for values in reference_curves[name])
            curve = normalize_returns(curve_returns.reshape(-1, 1), [low[task_id]], [high[task_id]]).ravel()
            curves.append((curve_steps, curve))
    per_task_transfer = forward_transfer(table.steps, normalized, phases, curves)
    per_phase_speed = adaptation_speed(table.steps, normalized, phases, fraction)

    def nanmean(values: np.ndarray) -> Optional[float]:
        values = np.asarray(values, dtype=np.float64)
        return None if np.all(np.isnan(values)) else float(np.nanmean(values))

    tasks = []
    trained = {phase.task_id for phase in phases}
    for task_id, name in enumerate(table.task_names):
        speeds = [per_phase_speed[i] for i, phase in enumerate(phases) if phase.task_id == task_id]
        tasks.append(
            {
                "task_id": task_id,
                "task": name,
                "reference_min": float(low[task_id]),
                "reference_max": float(high[task_id]),
                "trained": task_id in trained,
                "final_return": float(table.returns[-1, task_id]),
                "final_performance": float(normalized[-1, task_id]),
                "forgetting": _none_if_nan(per_task_forgetting[task_id]),
                "forward_transfer": _none_if_nan(per_task_transfer[task_id]),
                "adaptation_speed": nanmean(np.array(speeds[1:])) if len(speeds) > 1 else None,
            }
        )
    return {
        "average_performance": average_performance(normalized),
        "forgetting": nanmean(per_task_forgetting),
        "forward_transfer": nanmean(per_task_transfer),
        "adaptation_speed": nanmean(per_phase_speed),
        "adaptation_fraction": fraction,
        "normalization": "given" if reference_min is not None or reference_max is not None else "run min/max",
        "forward_transfer_note": None if reference_curves is not None else "no reference single-task curves given",
        "tasks": tasks,
        "phases": [
            {
                "task_id": phase.task_id,
                "task": table.task_names[phase.task_id],
                "start": int(phase.start),
                "end": int(phase.end),
                "adaptation_speed": _none_if_nan(per_phase_speed[index]),
            }
            for index, phase in enumerate(phases)
        ],
    }


def write_metrics(metrics: dict[str, Any], json_path: str, csv_path: str) -> None:
    """
    Write the metrics of :func:`compute_metrics` as JSON, and as a CSV table with one row per task plus
    an ``all`` row holding the averages.

    :param metrics: The metrics
    :param json_path: The JSON file
    :param csv_path: The CSV file
    """
    with open(json_path, "w") as file:
        json.dump(metrics, file, indent=2)
    columns = ["task_id", "task", "final_performance", "forgetting", "forward_transfer", "adaptation_speed"]
    with open(csv_path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for task in metrics["tasks"]:
            writer.writerow(["" if task[column] is None else task[column] for column in columns])
        averages = {"task_id": "", "task": "all", "final_performance": metrics["average_performance"]}
        averages.update({column: metrics[column] for column in columns[3:]})
        writer.writerow(["" if averages[column] is None else averages[column] for column in columns])


def plot_learning_curves(table: EvaluationTable, phases: Sequence[Phase], path: str, title: Optional[str] = None) -> None:
    """
    Plot the evaluation return of every task over training steps, with a dashed line at each task
    switch and each phase shaded in its task's colour and labelled with its name. Uses matplotlib's Agg
    canvas directly, without touching the global backend.

    :param table: The evaluations
    :param phases: The phases actually trained, in order
    :param path: The image file (PNG)
    :param title: Title of the figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    check_instance("table", table, EvaluationTable, "an EvaluationTable")
    phases = _check_phases(phases, len(table.task_names))

    figure = Figure(figsize=(10, 5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colors = [f"C{task_id % 10}" for task_id in range(len(table.task_names))]
    for phase in phases:
        axes.axvspan(phase.start, phase.end, color=colors[phase.task_id], alpha=0.08, linewidth=0)
        axes.text(
            (phase.start + phase.end) / 2,
            1.0,
            table.task_names[phase.task_id],
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            color=colors[phase.task_id],
            clip_on=False,
        )
    for phase in phases[1:]:
        axes.axvline(phase.start, color="grey", linestyle="--", linewidth=0.8)
    for task_id, name in enumerate(table.task_names):
        axes.plot(table.steps, table.returns[:, task_id], marker=".", color=colors[task_id], label=name)
        if table.std_returns is not None:
            low = table.returns[:, task_id] - table.std_returns[:, task_id]
            high = table.returns[:, task_id] + table.std_returns[:, task_id]
            axes.fill_between(table.steps, low, high, color=colors[task_id], alpha=0.15, linewidth=0)
    axes.set_xlabel("training steps")
    axes.set_ylabel("evaluation return")
    axes.legend(loc="best", fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


# --------------------------------------------------------------------------------------------------
# Callback
# --------------------------------------------------------------------------------------------------


class ContinualTaskCallback(BaseCallback):
    """
    Train one model of any SB3 algorithm across a task sequence.

    **Switching.** By default the tasks follow the sequence's :meth:`TaskSequence.schedule` by
    ``num_timesteps``: every sub-environment of the training env is switched with
    ``env_method("set_task", task_id)`` (which goes through ``VecNormalize`` and other wrappers) one
    vectorized step before the boundary, so that the step starting at ``num_timesteps = t`` is taken
    on the task scheduled at ``t``; that last step on the old task truncates the running episodes (see
    :class:`ContinualTaskEnv`). Switches happen at the granularity of a vectorized step (``n_envs``
    transitions). In curriculum mode (``curriculum=True``) the phases come in the same order, but a
    phase ends as soon as the mean training return of its task over the last ``curriculum_window``
    episodes completed during that phase reaches the task's threshold (``reward_thresholds`` or
    ``Task.reward_threshold``), or at the latest when the phase has used its step budget. The phases
    actually trained are in :attr:`phases` after training.

    **Logging.** ``continual/task_id``, ``continual/return_<task name>`` (mean training return over the
    task's last ``stats_window_size`` complete episodes; episodes cut by a switch are left out of every
    statistic) and ``continual/eval_return_<task name>``, through the model's logger.

    **Evaluation.** The model is evaluated on every task (``n_eval_episodes`` episodes each, deterministic
    actions by default) at the start of training, every ``eval_freq`` steps, at each task switch and at the
    end, on separate environments built from the task factories and wrapped like the training env
    (``VecNormalize`` statistics synced before each evaluation).

    **Files.** At the end of training, in ``log_dir`` (by default the folder of a logger that writes files):
    ``evaluations.csv`` (step, task, mean return), ``metrics.json`` and ``metrics.csv`` (see
    :func:`compute_metrics`) and ``learning_curves.png``.

    **Checks.** Every argument is checked when the callback is built, those that depend on the tasks as soon as
    the sequence is known. When training starts, before the first environment step, the training env must be a
    :class:`ContinualTaskEnv` built from the same sequence (same tasks, environment arguments and schedule),
    every phase must last at least one vectorized step, ``log_dir`` must be writable, every task's training
    environment is built, so that a task that cannot be built fails then rather than at its first switch, and the
    envs of ``eval_env_factory`` must have the training env's spaces. On schedule, a ``learn()`` that stops before the
    end of the sequence gets a warning naming the phases that will not run (also in ``metrics["phases_not_run"]``).

    Use one callback per ``learn()`` call: a callback that already drove one refuses a second (its phases,
    evaluations and metrics are those of the first run).

    :param sequence: The task sequence the training env was built from (:func:`make_continual_vec_env`), checked
        against the env's when training starts; ``None``: the ``sequence`` of the training env's
        :class:`ContinualTaskEnv` (read when training starts), as with the RL Zoo's
        ``sb3_gtr/continual-<suite>-v0`` environments
    :param eval_freq: Evaluate every ``eval_freq`` steps (``0``: only at the start, at switches and at the end)
    :param n_eval_episodes: Episodes per task and evaluation
    :param deterministic: Deterministic actions during evaluation
    :param log_dir: Folder of the output files (``None``: the logger's folder if the logger writes files, such as
        ``progress.csv`` or TensorBoard events; else nothing is written)
    :param curriculum: Switch on reaching a return threshold instead of on schedule; at least one task needs a
        threshold (``reward_thresholds`` or ``Task.reward_threshold``)
    :param curriculum_window: Number of complete episodes of the current phase averaged for the threshold
    :param reward_thresholds: Threshold per task name, overriding ``Task.reward_threshold``; only with
        ``curriculum=True``
    :param stop_at_end: Stop training when the last phase is over, even if ``learn()`` was asked for more steps
        (else stay on the last task). On schedule, ``learn(sequence.total_timesteps)`` ends exactly as without
        the callback; stopping a longer run or a finished curriculum drops the rollout in progress (SB3 does not
        train on a rollout that a callback interrupts)
    :param stats_window_size: Number of episodes averaged in ``continual/return_<task name>``
    :param wrapper_class: The gymnasium wrapper given to :func:`make_continual_vec_env`, for the evaluation envs
    :param wrapper_kwargs: Its keyword arguments (only with ``wrapper_class``)
    :param eval_env_factory: Builds the evaluation VecEnv of a task id, replacing the default (then no wrapper
        is mirrored and no statistics synced: the factory's result is used as is, and must have the training env's
        spaces); not with ``wrapper_class``, ``wrapper_kwargs`` or ``eval_seed``, which only shape the default envs
    :param eval_seed: Seed of the evaluation envs (task ``i`` gets ``eval_seed + i``); ``None``: unseeded
    :param reference_min: Return mapped to 0 per task for the normalised metrics, one entry (a number or
        ``None``) per task (``None``: run minimum)
    :param reference_max: Return mapped to 1 per task, likewise; above ``reference_min`` (``None``: run maximum)
    :param reference_curves: Single-task ``(steps, returns)`` per task name, for forward transfer
    :param adaptation_fraction: Target fraction of :func:`adaptation_speed`, in ``(0, 1]``
    :param verbose: 1 to print switches and evaluations
    """

    def __init__(
        self,
        sequence: Optional[TaskSequence] = None,
        eval_freq: int = 10_000,
        n_eval_episodes: int = 5,
        deterministic: bool = True,
        log_dir: Optional[str] = None,
        curriculum: bool = False,
        curriculum_window: int = 10,
        reward_thresholds: Optional[Mapping[str, float]] = None,
        stop_at_end: bool = True,
        stats_window_size: int = 100,
        wrapper_class: Optional[Callable[[gym.Env], gym.Env]] = None,
        wrapper_kwargs: Optional[dict[str, Any]] = None,
        eval_env_factory: Optional[Callable[[int], VecEnv]] = None,
        eval_seed: Optional[int] = None,
        reference_min: Optional[Sequence[Optional[float]]] = None,
        reference_max: Optional[Sequence[Optional[float]]] = None,
        reference_curves: Optional[Mapping[str, tuple[Sequence[float], Sequence[float]]]] = None,
        adaptation_fraction: float = 0.8,
        verbose: int = 0,
    ) -> None:
        # Every argument is checked here, before any training: a bad one found at the end of a run would
        # lose the run. Those that depend on the tasks are checked against the sequence as soon as it is known
        # (here when given, else when training starts, before the first step).
        super().__init__(verbose=check_positive_int("verbose", verbose, allow_zero=True))
        if sequence is not None:
            check_instance("sequence", sequence, TaskSequence, "a TaskSequence or None (read from the training env)")
        self.eval_freq = check_positive_int(
            "eval_freq", eval_freq, zero_means="evaluate only at the start, at task switches and at the end"
        )
        self.n_eval_episodes = check_positive_int("n_eval_episodes", n_eval_episodes)
        self.deterministic = check_bool("deterministic", deterministic)
        if log_dir is not None:
            check_instance("log_dir", log_dir, (str, os.PathLike), "a folder (str or path) or None")
        self.log_dir = log_dir
        self.curriculum = check_bool("curriculum", curriculum)
        self.curriculum_window = check_positive_int("curriculum_window", curriculum_window)
        self.stop_at_end = check_bool("stop_at_end", stop_at_end)
        self.stats_window_size = check_positive_int("stats_window_size", stats_window_size)
        self.wrapper_class = check_optional_callable(
            "wrapper_class", wrapper_class, "a gymnasium wrapper class (or callable) or None"
        )
        self.wrapper_kwargs = check_optional_mapping("wrapper_kwargs", wrapper_kwargs)
        check_wrapper_kwargs(self.wrapper_class, self.wrapper_kwargs)
        self.eval_env_factory = check_optional_callable(
            "eval_env_factory", eval_env_factory, "a callable task_id -> VecEnv or None"
        )
        if eval_seed is not None:
            check_positive_int("eval_seed", eval_seed, allow_zero=True)  # numpy refuses negative seeds
        self.eval_seed = eval_seed
        if self.eval_env_factory is not None:
            # These only shape the default evaluation envs: with a factory they would be silently ignored.
            ignored = [
                name
                for name, value in (
                    ("wrapper_class", wrapper_class),
                    ("wrapper_kwargs", wrapper_kwargs),
                    ("eval_seed", eval_seed),
                )
                if value is not None
            ]
            if ignored:
                raise ValueError(
                    f"{', '.join(f'`{name}`' for name in ignored)} {'is' if len(ignored) == 1 else 'are'} only used by the "
                    "default evaluation envs, not with `eval_env_factory`, whose envs are used as they are: wrap and seed "
                    "them in the factory instead"
                )
        self.reference_min = reference_min
        self.reference_max = reference_max
        self.reference_curves = reference_curves
        self.adaptation_fraction = _check_fraction(adaptation_fraction, "adaptation_fraction")
        self.eval_envs: list[VecEnv] = []
        self._given_thresholds = dict(check_optional_mapping("reward_thresholds", reward_thresholds) or {})
        for name, threshold in self._given_thresholds.items():
            if threshold is not None:
                check_finite_float(f"reward_thresholds[{name!r}]", threshold)
        self._output_dir: Optional[str] = None
        #: Whether a learn() call has started training with this callback (one callback per learn() call)
        self._trained = False
        self.sequence: Optional[TaskSequence] = None
        if sequence is not None:
            self._set_sequence(sequence)

    def _set_sequence(self, sequence: TaskSequence) -> None:
        unknown = sorted(set(self._given_thresholds) - set(sequence.task_names))
        if unknown:
            raise ValueError(f"reward_thresholds for unknown tasks {unknown}, tasks are {sequence.task_names}")
        check_references(self.reference_min, self.reference_max, sequence.task_names)
        check_reference_curves(self.reference_curves, sequence.task_names)
        if self._given_thresholds and not self.curriculum:
            raise ValueError(
                f"`reward_thresholds` {self._given_thresholds} are only used with `curriculum=True` (on schedule every "
                "phase runs its whole budget): set `curriculum=True`, or give no `reward_thresholds`"
            )
        reward_thresholds = [self._given_thresholds.get(task.name, task.reward_threshold) for task in sequence.tasks]
        if self.curriculum and all(threshold is None for threshold in reward_thresholds):
            raise ValueError(
                f"`curriculum=True` needs a return threshold for at least one task of {sequence.task_names}, and none has "
                "one: give `reward_thresholds={'<task name>': value}` or Task(..., reward_threshold=value); without any, "
                "every phase runs its whole budget, which is the plain schedule (`curriculum=False`)"
            )
        self.sequence = sequence
        self.reward_thresholds = reward_thresholds
        self._schedule = sequence.schedule()
        self._phase_ends = [phase.end for phase in self._schedule]
        self._reset_state()

    def _reset_state(self) -> None:
        self._phase_index = 0
        #: (schedule index, start step) of every phase begun, in order
        self._phase_starts: list[tuple[int, int]] = []
        self._boundary_eval_step: Optional[int] = None
        self._next_eval_step = 0
        self._eval_steps: list[int] = []
        self._eval_returns: list[list[float]] = []
        self._eval_stds: list[list[float]] = []
        self._episode_returns = [deque(maxlen=self.stats_window_size) for _ in self.sequence.tasks]
        self._curriculum_returns: deque[float] = deque(maxlen=self.curriculum_window)
        self._done = False
        self.phases: list[Phase] = []
        self.metrics: Optional[dict[str, Any]] = None

    # ---- properties -------------------------------------------------------------------------------

    @property
    def task_id(self) -> int:
        """The task currently trained (switched to, possibly one step before it takes effect)."""
        return self._schedule[self._phase_index].task_id

    @property
    def evaluations(self) -> EvaluationTable:
        """The evaluations so far."""
        steps, returns, stds = np.array(self._eval_steps), np.array(self._eval_returns), np.array(self._eval_stds)
        return EvaluationTable(self.sequence.task_names, steps, returns, stds)

    # ---- set-up -----------------------------------------------------------------------------------

    def _n_envs(self) -> int:
        return self.training_env.num_envs

    def _phase_index_at(self, step: int) -> int:
        return min(bisect.bisect_right(self._phase_ends, step), len(self._schedule) - 1)

    def _sequence_of_training_env(self) -> TaskSequence:
        sequences = self.training_env.get_attr("sequence") if self.training_env.has_attr("sequence") else [None]
        if sequences[0] is None:
            raise ValueError(
                "ContinualTaskCallback needs `sequence`, or a training env of ContinualTaskEnv built from a TaskSequence "
                "(make_continual_vec_env(sequence), or gymnasium.make('sb3_gtr/continual-<suite>-v0'))"
            )
        return sequences[0]

    def _check_training_env(self) -> None:
        """Refuse a training env that this callback cannot drive, or that was built from another sequence."""
        if not self.training_env.has_attr("set_task"):
            spec = self.training_env.get_attr("spec", indices=0)[0]
            env_name = f" ({spec.id})" if spec is not None else ""
            raise ValueError(
                f"ContinualTaskCallback was given {self.sequence!r}, but the training env{env_name} is not a "
                "ContinualTaskEnv and cannot switch tasks: build it with make_continual_vec_env(sequence)"
            )
        env_sequences = self.training_env.get_attr("sequence")
        for rank, env_sequence in enumerate(env_sequences):
            if env_sequence is None:
                # Built from a list of tasks: only the tasks themselves can be compared.
                env_tasks = self.training_env.get_attr("tasks", indices=rank)[0]
                differences = _task_differences(self.sequence.tasks, env_tasks)
                built_from = f"the tasks {[task.name for task in env_tasks]}"
            else:
                differences = _sequence_differences(self.sequence, env_sequence)
                built_from = repr(env_sequence)
            if differences:
                raise ValueError(
                    f"ContinualTaskCallback was given {self.sequence!r}, but the training env (sub-environment {rank}) "
                    f"was built from {built_from}: {'; '.join(differences)}. Give the callback the sequence the env "
                    "was built from, or no sequence (it then reads the env's)"
                )

    def _check_phases_fit_steps(self) -> None:
        if not self.curriculum:  # a curriculum switches on returns as well, not at fixed steps
            check_phases_fit(self.sequence, self._n_envs())

    def _resolve_output_dir(self) -> Optional[str]:
        # Made (and checked writable) now rather than when the files are written at the end, which is too late
        # to find out that the folder cannot be written.
        log_dir = os.fspath(self.log_dir) if self.log_dir is not None else self._logger_dir()
        if not log_dir:
            return None
        try:
            os.makedirs(log_dir, exist_ok=True)
        except OSError as error:
            raise ValueError(f"`log_dir` {log_dir!r} cannot be created: {error}") from None
        if not os.access(log_dir, os.W_OK):
            raise ValueError(f"`log_dir` {log_dir!r} is not writable")
        return log_dir

    def _init_callback(self) -> None:
        if self._trained:
            # Its phases, evaluations and metrics are those of the run it drove: a second run would either mix into
            # them or silently replace them, and start its schedule mid-sequence.
            raise ValueError(
                "This ContinualTaskCallback already drove a learn() call (its evaluations, phases and metrics are those "
                "of that run): build a new ContinualTaskCallback for each learn() call"
            )
        if self.sequence is None:
            self._set_sequence(self._sequence_of_training_env())
        else:
            self._check_training_env()
        self._reset_state()
        self._check_phases_fit_steps()
        self._output_dir = self._resolve_output_dir()
        # Every task's training environment now, not at its first switch: a task that cannot be built (or has
        # other spaces) fails before the first step.
        self.training_env.env_method("build_task_envs")
        for env in self.eval_envs:
            env.close()
        self.eval_envs = [self._make_eval_env(task_id) for task_id in range(len(self.sequence))]
        if self.eval_env_factory is None:
            training_base = _vec_wrappers(self.training_env)[1]
            first_name = self.sequence.tasks[self.training_env.get_attr("task_id", indices=0)[0]].name
            for task, eval_env in zip(self.sequence.tasks, self.eval_envs, strict=True):
                check_same_spaces(training_base, _vec_wrappers(eval_env)[1], first_name, task.name)
        else:
            self._check_factory_spaces()

    def _check_factory_spaces(self) -> None:
        """Refuse an evaluation env of ``eval_env_factory`` that the model cannot act in (it fails at its first evaluation)."""
        # The spaces the policy sees, less SB3's own VecTransposeImage (predict() transposes images itself).
        training_env = self.training_env
        while isinstance(training_env, VecTransposeImage):
            training_env = training_env.venv
        for task_id, eval_env in enumerate(self.eval_envs):
            for kind in ("observation_space", "action_space"):
                training_space, eval_space = getattr(training_env, kind), getattr(eval_env, kind)
                if eval_space != training_space:
                    raise ValueError(
                        f"`eval_env_factory` returned for task {task_id} ({self.sequence.task_names[task_id]!r}) an env "
                        f"with {kind} {eval_space}, but the training env has {training_space}: the model cannot be "
                        "evaluated on it; return an env of that task with the training env's spaces (and wrappers)"
                    )

    def _make_eval_env(self, task_id: int) -> VecEnv:
        if self.eval_env_factory is not None:
            eval_env = self.eval_env_factory(task_id)
            if not isinstance(eval_env, VecEnv):
                raise ValueError(
                    f"`eval_env_factory` must return a VecEnv, got {describe(eval_env)} of type {type(eval_env).__name__} "
                    f"for task {task_id} ({self.sequence.task_names[task_id]!r})"
                )
            return eval_env
        eval_env = make_continual_vec_env(
            self.sequence,
            n_envs=1,
            seed=None if self.eval_seed is None else self.eval_seed + task_id,
            wrapper_class=self.wrapper_class,
            wrapper_kwargs=self.wrapper_kwargs,
            task_id=task_id,
        )
        return mirror_vec_wrappers(self.training_env, eval_env)

    def _learn_end(self) -> Optional[int]:
        """The step at which the running learn() call stops: its total, rounded up to whole rollouts when on-policy."""
        learn_end = getattr(self.model, "_total_timesteps", None)
        if learn_end is None:
            return None
        start = getattr(self.model, "_num_timesteps_at_start", self.num_timesteps)
        n_steps = getattr(self.model, "n_steps", None)
        if isinstance(self.model, OnPolicyAlgorithm) and is_int(n_steps) and learn_end > start:
            rollout = n_steps * self._n_envs()
            learn_end = start + -(-(learn_end - start) // rollout) * rollout
        return int(learn_end)

    def _warn_if_learn_is_short(self, step: int) -> None:
        # A learn() shorter than the schedule leaves phases untrained, and its metrics then describe part of the
        # sequence only: say so before training rather than let the numbers look like those of a whole run.
        learn_end = self._learn_end()
        if self.curriculum or learn_end is None or learn_end >= self._phase_ends[-1]:
            return
        not_run = [
            f"{index} ({self.sequence.task_names[phase.task_id]!r}, steps {phase.start}-{phase.end})"
            for index, phase in enumerate(self._schedule)
            if phase.start >= learn_end and phase.end > step
        ]
        cut = self._phase_index_at(learn_end - 1) if learn_end > 0 else None
        cut_text = (
            f"phase {cut} ({self.sequence.task_names[self._schedule[cut].task_id]!r}) stops at step {learn_end} instead "
            f"of {self._schedule[cut].end}"
            if cut is not None and self._schedule[cut].end > learn_end and self._schedule[cut].start < learn_end
            else ""
        )
        warnings.warn(
            f"learn() stops at step {learn_end}, before the end of {self.sequence!r} at step {self._phase_ends[-1]}: "
            + "; ".join(part for part in (cut_text, f"phase(s) {', '.join(not_run)} will not run" if not_run else "") if part)
            + ". The metrics then cover the phases trained only (metrics['phases_not_run'] lists the others); call "
            "learn(sequence.total_timesteps) to train the whole sequence",
            UserWarning,
            stacklevel=2,
        )

    def _on_training_start(self) -> None:
        self._trained = True
        step = self.num_timesteps
        self._warn_if_learn_is_short(step)
        self._phase_index = self._phase_index_at(step) if not self.curriculum else 0
        self._phase_starts.append((self._phase_index, step))
        self.training_env.env_method("set_task", self.task_id)
        self.logger.record("continual/task_id", self.task_id)
        self._evaluate()
        if self.eval_freq > 0:
            self._next_eval_step = (step // self.eval_freq + 1) * self.eval_freq
        self._maybe_switch(step)

    # ---- per step ---------------------------------------------------------------------------------

    def _on_step(self) -> bool:
        step = self.num_timesteps
        self._record_episodes(self.locals.get("infos", []))
        if self._boundary_eval_step is not None and step >= self._boundary_eval_step:
            self._boundary_eval_step = None
            self._evaluate()
        if self._sequence_over(step):
            if not self._done and self.verbose >= 1:
                print(f"Continual: sequence over at step {step}")
            self._done = True
            if self.stop_at_end and self._learn_goes_on(step):
                return False
        else:
            self._maybe_switch(step)
        if self.eval_freq > 0 and step >= self._next_eval_step:
            self._evaluate()
            self._next_eval_step = (step // self.eval_freq + 1) * self.eval_freq
        return True

    def _learn_goes_on(self, step: int) -> bool:
        # On schedule, a `learn()` asked for no more than the sequence ends by itself, after training on
        # its last rollout: stopping here would drop that rollout. Only a longer `learn()` is cut short.
        if self.curriculum:
            return True
        learn_end = getattr(self.model, "_total_timesteps", None)
        return learn_end is None or learn_end > self._phase_ends[-1]

    def _on_rollout_end(self) -> None:
        self.logger.record("continual/task_id", self.task_id)
        for task, returns in zip(self.sequence.tasks, self._episode_returns, strict=True):
            if returns:
                self.logger.record(f"continual/return_{task.name}", float(np.mean(returns)))

    def _record_episodes(self, infos: Sequence[dict[str, Any]]) -> None:
        for info in infos:
            episode = info.get("episode")
            if episode is None or info.get(TASK_SWITCH_KEY, False):
                continue
            task_id = episode.get(TASK_ID_KEY, info.get(TASK_ID_KEY))
            if task_id is None:
                continue
            self._episode_returns[task_id].append(float(episode["r"]))
            if task_id == self.task_id:
                self._curriculum_returns.append(float(episode["r"]))

    def _threshold_reached(self) -> bool:
        threshold = self.reward_thresholds[self.task_id]
        return (
            threshold is not None
            and len(self._curriculum_returns) >= self.curriculum_window
            and float(np.mean(self._curriculum_returns)) >= threshold
        )

    def _sequence_over(self, step: int) -> bool:
        if self._phase_index < len(self._schedule) - 1:
            return False
        if not self.curriculum:
            return step >= self._phase_ends[-1]
        start = self._phase_starts[-1][1]
        return self._threshold_reached() or step - start >= self.sequence.task_timesteps(self.task_id)

    def _maybe_switch(self, step: int) -> None:
        # The next vectorized step starts at `step` and is the last on the current task: the one after
        # it starts at `step + n_envs`, which is when the new task takes over.
        next_start = step + self._n_envs()
        if self.curriculum:
            if self._phase_index >= len(self._schedule) - 1:
                return
            start = self._phase_starts[-1][1]
            budget_used = next_start - start >= self.sequence.task_timesteps(self.task_id)
            if self._threshold_reached() or budget_used:
                self._switch(self._phase_index + 1, step, next_start)
        else:
            target = self._phase_index_at(next_start)
            if target > self._phase_index:
                self._switch(target, step, next_start)

    def _switch(self, phase_index: int, step: int, next_start: int) -> None:
        old_task = self.task_id
        self._phase_index = phase_index
        self._phase_starts.append((phase_index, next_start))
        self._curriculum_returns.clear()
        self.training_env.env_method("set_task", self.task_id)
        self._boundary_eval_step = next_start
        self.logger.record("continual/task_id", self.task_id)
        if self.verbose >= 1:
            old_name, new_name = self.sequence.task_names[old_task], self.sequence.task_names[self.task_id]
            print(f"Continual: step {step}, switching from {old_name!r} to {new_name!r} from step {next_start}")

    # ---- evaluation -------------------------------------------------------------------------------

    def _evaluate(self) -> None:
        step = self.num_timesteps
        if self._eval_steps and self._eval_steps[-1] == step:
            return
        means, stds = [], []
        for task, eval_env in zip(self.sequence.tasks, self.eval_envs, strict=True):
            if self.eval_env_factory is None:
                sync_normalization(self.training_env, eval_env)
            mean, std = evaluate_policy(
                self.model, eval_env, n_eval_episodes=self.n_eval_episodes, deterministic=self.deterministic
            )
            means.append(float(mean))
            stds.append(float(std))
            self.logger.record(f"continual/eval_return_{task.name}", float(mean))
        self._eval_steps.append(step)
        self._eval_returns.append(means)
        self._eval_stds.append(stds)
        if self.verbose >= 1:
            summary = ", ".join(f"{name}={mean:.2f}" for name, mean in zip(self.sequence.task_names, means, strict=True))
            print(f"Continual: evaluation at step {step}: {summary}")

    # ---- end --------------------------------------------------------------------------------------

    def _trained_phases(self, end: int) -> list[Phase]:
        phases = []
        for index, (schedule_index, start) in enumerate(self._phase_starts):
            if start >= end and phases:
                break  # switched to, but training stopped before the new task's first step
            phase_end = self._phase_starts[index + 1][1] if index + 1 < len(self._phase_starts) else end
            phases.append(Phase(self._schedule[schedule_index].task_id, start, min(phase_end, end)))
        return phases

    def _phases_not_run(self) -> list[dict[str, Any]]:
        """The scheduled phases after the last one trained (learn() ended first), for the metrics."""
        if not self.phases:
            return []
        last = self._phase_starts[len(self.phases) - 1][0]
        return [
            {"index": index, "task_id": phase.task_id, "task": self.sequence.task_names[phase.task_id]}
            for index, phase in enumerate(self._schedule)
            if index > last
        ]

    def _logger_dir(self) -> Optional[str]:
        # SB3 gives every logger a folder, a fresh temporary one when nothing is saved: use it only when the
        # logger itself writes files there.
        writes_files = any(
            not isinstance(output, HumanOutputFormat) or output.own_file for output in self.logger.output_formats
        )
        return self.logger.get_dir() if writes_files else None

    def _on_training_end(self) -> None:
        step = self.num_timesteps
        try:
            self._evaluate()
            self.phases = self._trained_phases(step)
            table = self.evaluations
            log_dir = self._output_dir
            if log_dir:
                # The evaluations and their plot first: they are the run's record, and must survive a failure
                # of the metrics below.
                os.makedirs(log_dir, exist_ok=True)
                table.to_csv(os.path.join(log_dir, "evaluations.csv"))
                plot_learning_curves(
                    table, self.phases, os.path.join(log_dir, "learning_curves.png"), title=self.sequence.name
                )
            self.metrics = compute_metrics(
                table, self.phases, self.reference_min, self.reference_max, self.reference_curves, self.adaptation_fraction
            )
            self.metrics["sequence"] = self.sequence.name
            self.metrics["total_timesteps"] = int(step)
            self.metrics["curriculum"] = self.curriculum
            self.metrics["phases_not_run"] = self._phases_not_run()
            if log_dir:
                write_metrics(self.metrics, os.path.join(log_dir, "metrics.json"), os.path.join(log_dir, "metrics.csv"))
        finally:
            for env in self.eval_envs:
                env.close()
            self.eval_envs = []
