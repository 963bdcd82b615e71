"""
Tasks and task sequences: :class:`Task` (an environment and its step budget), :class:`TaskSequence` (the tasks,
repeated ``n_cycles`` times, budgets multiplied by ``scale``) and the training :class:`Phase` s of its schedule.
"""

import bisect
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Union

import gymnasium as gym
from stable_baselines3.common.vec_env import VecNormalize

from sb3_gtr.common.checks import (
    check_finite_float,
    check_int_in_range,
    check_keywords,
    check_optional_mapping,
    check_positive_int,
    check_str,
    describe,
)

#: Key of ``info`` holding the id (index in the sequence's tasks) of the task that produced a transition.
TASK_ID_KEY = "task_id"
#: Key of ``info`` set to ``True`` on the step that ends an episode early because of a task switch.
TASK_SWITCH_KEY = "task_switch"
#: Environment factory accepted by :class:`Task`: a registered gymnasium id, or a callable returning an env.
EnvFactory = Union[str, Callable[..., gym.Env]]


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


def check_tasks(tasks: Any) -> list[Task]:
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
        self.tasks = check_tasks(tasks)
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
