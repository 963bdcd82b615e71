"""
:class:`ContinualTaskCallback`: switches the tasks of a sequence on schedule, evaluates the model on every task,
and writes the evaluation table, the metrics and a plot of the learning curves.
"""

import bisect
import os
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import HumanOutputFormat
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecTransposeImage

from sb3_gtr.common.checks import (
    check_bool,
    check_finite_float,
    check_instance,
    check_optional_callable,
    check_optional_mapping,
    check_positive_int,
    describe,
    is_int,
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
from sb3_gtr.continual.tasks import TASK_ID_KEY, TASK_SWITCH_KEY, Phase, TaskSequence
from sb3_gtr.continual.vec_env import (
    check_phases_fit,
    check_wrapper_kwargs,
    make_continual_vec_env,
    mirror_vec_wrappers,
    sequence_differences,
    split_vec_wrappers,
    sync_normalization,
    task_differences,
)


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
        self.adaptation_fraction = check_fraction(adaptation_fraction, "adaptation_fraction")
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
                differences = task_differences(self.sequence.tasks, env_tasks)
                built_from = f"the tasks {[task.name for task in env_tasks]}"
            else:
                differences = sequence_differences(self.sequence, env_sequence)
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
