"""
:class:`ContinualEvalCallback`: evaluates the model on every task of a sequence (at the start, every ``eval_freq``
steps, after each task switch of its :class:`~sb3_gtr.continual.task_schedule.TaskScheduleCallback` and at the end)
and writes the evaluation table, the metrics and a plot of the learning curves, the way SB3's ``EvalCallback``
evaluates without changing the training env.
"""

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import HumanOutputFormat
from stable_baselines3.common.vec_env import VecEnv, VecTransposeImage

from sb3_gtr.common.checks import (
    check_bool,
    check_instance,
    check_optional_callable,
    check_optional_mapping,
    check_positive_int,
    describe,
)
from sb3_gtr.continual.env import check_same_spaces
from sb3_gtr.continual.metrics import (
    EvaluationTable,
    check_fraction,
    check_reference_curves,
    check_references,
    compute_metrics,
    write_metrics,
)
from sb3_gtr.continual.plotting import plot_learning_curves
from sb3_gtr.continual.task_schedule import TaskScheduleCallback
from sb3_gtr.continual.tasks import Phase, TaskSequence
from sb3_gtr.continual.vec_env import (
    check_wrapper_kwargs,
    make_continual_vec_env,
    mirror_vec_wrappers,
    split_vec_wrappers,
    sync_normalization,
)


class ContinualEvalCallback(BaseCallback):
    """
    Evaluate one model on every task of the sequence that a :class:`~sb3_gtr.continual.task_schedule.TaskScheduleCallback`
    drives, and score the run. Put it after that callback in one ``CallbackList``
    (:class:`~sb3_gtr.continual.callbacks.ContinualTaskCallback` is the two together)::

        schedule = TaskScheduleCallback(sequence)
        model.learn(sequence.total_timesteps, callback=[schedule, ContinualEvalCallback(schedule, eval_freq=10_000)])

    **Evaluation.** The model is evaluated on every task (``n_eval_episodes`` episodes each, deterministic
    actions by default) at the start of training, every ``eval_freq`` steps, at each task switch and at the
    end, on separate environments built from the task factories and wrapped like the training env
    (``VecNormalize`` statistics synced before each evaluation). It logs ``continual/eval_return_<task name>``.

    **Files.** At the end of training, in ``log_dir`` (by default the folder of a logger that writes files):
    ``evaluations.csv`` (step, task, mean return), ``metrics.json`` and ``metrics.csv`` (see
    :func:`~sb3_gtr.continual.metrics.compute_metrics`) and ``learning_curves.png``.

    **Checks.** Every argument is checked when the callback is built, those that depend on the tasks as soon as the
    sequence is known. When training starts, before the first environment step, ``log_dir`` must be writable and the
    envs of ``eval_env_factory`` must have the training env's spaces.

    :param schedule: The callback that switches the tasks, before this one in the same ``CallbackList``
    :param eval_freq: Evaluate every ``eval_freq`` steps (``0``: only at the start, at switches and at the end)
    :param n_eval_episodes: Episodes per task and evaluation
    :param deterministic: Deterministic actions during evaluation
    :param log_dir: Folder of the output files (``None``: the logger's folder if the logger writes files, such as
        ``progress.csv`` or TensorBoard events; else nothing is written)
    :param wrapper_class: The gymnasium wrapper given to :func:`~sb3_gtr.continual.vec_env.make_continual_vec_env`,
        for the evaluation envs
    :param wrapper_kwargs: Its keyword arguments (only with ``wrapper_class``)
    :param eval_env_factory: Builds the evaluation VecEnv of a task id, replacing the default (then no wrapper
        is mirrored and no statistics synced: the factory's result is used as is, and must have the training env's
        spaces); not with ``wrapper_class``, ``wrapper_kwargs`` or ``eval_seed``, which only shape the default envs
    :param eval_seed: Seed of the evaluation envs (task ``i`` gets ``eval_seed + i``); ``None``: unseeded
    :param reference_min: Return mapped to 0 per task for the normalised metrics, one entry (a number or
        ``None``) per task (``None``: run minimum)
    :param reference_max: Return mapped to 1 per task, likewise; above ``reference_min`` (``None``: run maximum)
    :param reference_curves: Single-task ``(steps, returns)`` per task name, for forward transfer
    :param adaptation_fraction: Target fraction of :func:`~sb3_gtr.continual.metrics.adaptation_speed`, in ``(0, 1]``
    :param verbose: 1 to print evaluations
    """

    def __init__(
        self,
        schedule: TaskScheduleCallback,
        eval_freq: int = 10_000,
        n_eval_episodes: int = 5,
        deterministic: bool = True,
        log_dir: Optional[str] = None,
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
        # (here when the schedule has it, else when training starts, before the first step).
        super().__init__(verbose=check_positive_int("verbose", verbose, allow_zero=True))
        self.schedule = check_instance("schedule", schedule, TaskScheduleCallback, "a TaskScheduleCallback")
        self.eval_freq = check_positive_int(
            "eval_freq", eval_freq, zero_means="evaluate only at the start, at task switches and at the end"
        )
        self.n_eval_episodes = check_positive_int("n_eval_episodes", n_eval_episodes)
        self.deterministic = check_bool("deterministic", deterministic)
        if log_dir is not None:
            check_instance("log_dir", log_dir, (str, os.PathLike), "a folder (str or path) or None")
        self.log_dir = log_dir
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
        self.adaptation_fraction = check_fraction(adaptation_fraction, "adaptation_fraction")
        self.eval_envs: list[VecEnv] = []
        self._output_dir: Optional[str] = None
        self.metrics: Optional[dict[str, Any]] = None
        self._reset_state()
        if schedule.sequence is not None:
            self.check_sequence(schedule.sequence)
        schedule.switch_listeners.append(self._on_switch)

    @property
    def sequence(self) -> Optional[TaskSequence]:
        """The task sequence, that of :attr:`schedule` (``None`` until it is known)."""
        return self.schedule.sequence

    @property
    def phases(self) -> list[Phase]:
        """The phases trained, those of :attr:`schedule`."""
        return self.schedule.phases

    def check_sequence(self, sequence: TaskSequence) -> None:
        """
        Check the arguments that depend on the tasks of a sequence (the references).

        :param sequence: The task sequence
        """
        check_references(self.reference_min, self.reference_max, sequence.task_names)
        check_reference_curves(self.reference_curves, sequence.task_names)

    def _reset_state(self) -> None:
        #: Steps from which a switched-to task is trained, each to be evaluated once training reaches it
        self._boundary_eval_steps: list[int] = []
        self._next_eval_step = 0
        self._eval_steps: list[int] = []
        self._eval_returns: list[list[float]] = []
        self._eval_stds: list[list[float]] = []
        self.metrics = None

    def _on_switch(self, next_start: int) -> None:
        self._boundary_eval_steps.append(next_start)

    @property
    def evaluations(self) -> EvaluationTable:
        """The evaluations so far."""
        steps, returns, stds = np.array(self._eval_steps), np.array(self._eval_returns), np.array(self._eval_stds)
        return EvaluationTable(self.sequence.task_names, steps, returns, stds)

    # ---- set-up -----------------------------------------------------------------------------------

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
        if getattr(self.schedule, "model", None) is not self.model or self.schedule.sequence is None:
            raise ValueError(
                f"{type(self).__name__} evaluates the tasks its TaskScheduleCallback switches: give both to learn(), the "
                "schedule first (callback=[schedule, evaluation]), or use ContinualTaskCallback, which is the two"
            )
        self.check_sequence(self.sequence)
        self._reset_state()
        self._output_dir = self._resolve_output_dir()
        self.schedule.build_task_envs()
        for env in self.eval_envs:
            env.close()
        self.eval_envs = [self._make_eval_env(task_id) for task_id in range(len(self.sequence))]
        if self.eval_env_factory is None:
            training_base = split_vec_wrappers(self.training_env)[1]
            first_name = self.sequence.tasks[self.training_env.get_attr("task_id", indices=0)[0]].name
            for task, eval_env in zip(self.sequence.tasks, self.eval_envs, strict=True):
                check_same_spaces(training_base, split_vec_wrappers(eval_env)[1], first_name, task.name)
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

    def _on_training_start(self) -> None:
        step = self.num_timesteps
        self._evaluate()
        if self.eval_freq > 0:
            self._next_eval_step = (step // self.eval_freq + 1) * self.eval_freq

    # ---- per step ---------------------------------------------------------------------------------

    def _on_step(self) -> bool:
        step = self.num_timesteps
        if self._boundary_eval_steps and step >= self._boundary_eval_steps[0]:
            self._boundary_eval_steps = [boundary for boundary in self._boundary_eval_steps if boundary > step]
            self._evaluate()
        if self.eval_freq > 0 and step >= self._next_eval_step:
            self._evaluate()
            self._next_eval_step = (step // self.eval_freq + 1) * self.eval_freq
        return True

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
            self.metrics["curriculum"] = self.schedule.curriculum
            self.metrics["phases_not_run"] = self.schedule.phases_not_run()
            if log_dir:
                write_metrics(self.metrics, os.path.join(log_dir, "metrics.json"), os.path.join(log_dir, "metrics.csv"))
        finally:
            for env in self.eval_envs:
                env.close()
            self.eval_envs = []
