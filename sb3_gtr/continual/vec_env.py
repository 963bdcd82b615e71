"""
One Stable-Baselines3 ``VecEnv`` over a whole task sequence (:func:`make_continual_vec_env`), and the helpers that
check it against a sequence and keep an evaluation env's wrappers and normalisation in step with the training env.
"""

import os
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from typing import Any, Optional, Union

import gymnasium as gym
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecEnvWrapper, VecFrameStack, VecNormalize

from sb3_gtr.common.checks import (
    check_instance,
    check_int_in_range,
    check_optional_callable,
    check_optional_mapping,
    check_positive_int,
    describe,
)
from sb3_gtr.continual.env import ContinualTaskEnv, tasks_of
from sb3_gtr.continual.tasks import TASK_ID_KEY, Task, TaskSequence


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


def task_differences(tasks: Sequence[Task], other_tasks: Sequence[Task]) -> list[str]:
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


def sequence_differences(sequence: TaskSequence, other: TaskSequence) -> list[str]:
    """How two task sequences differ where it matters for training and evaluation (empty when they agree)."""
    if sequence is other:
        return []
    differences = task_differences(sequence.tasks, other.tasks)
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
    tasks = tasks_of(sequence)
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


def split_vec_wrappers(env: VecEnv) -> tuple[list[VecEnvWrapper], VecEnv]:
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
    wrappers, _ = split_vec_wrappers(training_env)
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
    training_norms = [w for w in split_vec_wrappers(training_env)[0] if isinstance(w, VecNormalize)]
    eval_norms = [w for w in split_vec_wrappers(eval_env)[0] if isinstance(w, VecNormalize)]
    for training_norm, eval_norm in zip(training_norms, eval_norms, strict=False):
        if hasattr(training_norm, "obs_rms"):
            eval_norm.obs_rms = deepcopy(training_norm.obs_rms)
