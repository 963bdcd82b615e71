"""
:class:`ContinualTaskCallback`: switches the tasks of a sequence on schedule, evaluates the model on every task,
and writes the evaluation table, the metrics and a plot of the learning curves: the
:class:`~sb3_gtr.continual.task_schedule.TaskScheduleCallback` and the
:class:`~sb3_gtr.continual.evaluation.ContinualEvalCallback` of one set of arguments, in one ``CallbackList``.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional

import gymnasium as gym
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.vec_env import VecEnv

from sb3_gtr.continual.evaluation import ContinualEvalCallback
from sb3_gtr.continual.metrics import EvaluationTable
from sb3_gtr.continual.task_schedule import TaskScheduleCallback
from sb3_gtr.continual.tasks import Phase, TaskSequence


class ContinualTaskCallback(CallbackList):
    """
    Train one model of any SB3 algorithm across a task sequence: a ``CallbackList`` of a
    :class:`~sb3_gtr.continual.task_schedule.TaskScheduleCallback` (:attr:`schedule`, which switches the tasks) and
    a :class:`~sb3_gtr.continual.evaluation.ContinualEvalCallback` (:attr:`evaluation`, which evaluates and scores),
    built from one set of arguments. Use the two on their own to switch tasks without evaluating, or to evaluate
    differently.

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
        # The schedule first: its arguments are checked first, and in the list it switches before the evaluation runs.
        self.schedule = TaskScheduleCallback(
            sequence,
            curriculum=curriculum,
            curriculum_window=curriculum_window,
            reward_thresholds=reward_thresholds,
            stop_at_end=stop_at_end,
            stats_window_size=stats_window_size,
            verbose=verbose,
        )
        self.schedule.name = type(self).__name__
        self.evaluation = ContinualEvalCallback(
            self.schedule,
            eval_freq=eval_freq,
            n_eval_episodes=n_eval_episodes,
            deterministic=deterministic,
            log_dir=log_dir,
            wrapper_class=wrapper_class,
            wrapper_kwargs=wrapper_kwargs,
            eval_env_factory=eval_env_factory,
            eval_seed=eval_seed,
            reference_min=reference_min,
            reference_max=reference_max,
            reference_curves=reference_curves,
            adaptation_fraction=adaptation_fraction,
            verbose=verbose,
        )
        super().__init__([self.schedule, self.evaluation])
        self.verbose = verbose

    @property
    def sequence(self) -> Optional[TaskSequence]:
        """The task sequence (``None`` until known: given, or read from the training env when training starts)."""
        return self.schedule.sequence

    @property
    def task_id(self) -> int:
        """The task currently trained (switched to, possibly one step before it takes effect)."""
        return self.schedule.task_id

    @property
    def phases(self) -> list[Phase]:
        """The phases actually trained (after training)."""
        return self.schedule.phases

    @property
    def evaluations(self) -> EvaluationTable:
        """The evaluations so far."""
        return self.evaluation.evaluations

    @property
    def metrics(self) -> Optional[dict[str, Any]]:
        """The metrics of the run (after training), see :func:`~sb3_gtr.continual.metrics.compute_metrics`."""
        return self.evaluation.metrics

    @property
    def eval_envs(self) -> list[VecEnv]:
        """The evaluation envs, one per task (open during training)."""
        return self.evaluation.eval_envs
