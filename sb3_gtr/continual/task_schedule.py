"""
:class:`TaskScheduleCallback`: switches the training env's tasks of a sequence on schedule (or on a return threshold,
in curriculum mode), logs every task's training returns and records the phases trained. It changes the environment
only; :class:`~sb3_gtr.continual.evaluation.ContinualEvalCallback` evaluates and scores, and
:class:`~sb3_gtr.continual.callbacks.ContinualTaskCallback` is the two in one ``CallbackList``.
"""

import bisect
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from sb3_gtr.common.checks import (
    check_bool,
    check_finite_float,
    check_instance,
    check_optional_mapping,
    check_positive_int,
    is_int,
)
from sb3_gtr.continual.tasks import TASK_ID_KEY, TASK_SWITCH_KEY, Phase, TaskSequence
from sb3_gtr.continual.vec_env import check_phases_fit, sequence_differences, task_differences


class TaskScheduleCallback(BaseCallback):
    """
    Switch the tasks of a :class:`~sb3_gtr.continual.env.ContinualTaskEnv` training env across a task sequence.

    **Switching.** By default the tasks follow the sequence's :meth:`~sb3_gtr.continual.tasks.TaskSequence.schedule`
    by ``num_timesteps``: every sub-environment of the training env is switched with
    ``env_method("set_task", task_id)`` (which goes through ``VecNormalize`` and other wrappers) one
    vectorized step before the boundary, so that the step starting at ``num_timesteps = t`` is taken
    on the task scheduled at ``t``; that last step on the old task truncates the running episodes (see
    :class:`~sb3_gtr.continual.env.ContinualTaskEnv`). Switches happen at the granularity of a vectorized step
    (``n_envs`` transitions). In curriculum mode (``curriculum=True``) the phases come in the same order, but a
    phase ends as soon as the mean training return of its task over the last ``curriculum_window``
    episodes completed during that phase reaches the task's threshold (``reward_thresholds`` or
    ``Task.reward_threshold``), or at the latest when the phase has used its step budget. The phases
    actually trained are in :attr:`phases` after training. Every switch calls the functions of
    :attr:`switch_listeners` with the step from which the new task is trained.

    **Logging.** ``continual/task_id`` and ``continual/return_<task name>`` (mean training return over the
    task's last ``stats_window_size`` complete episodes; episodes cut by a switch are left out of every
    statistic), through the model's logger.

    **Checks.** Every argument is checked when the callback is built, those that depend on the tasks as soon as
    the sequence is known. When training starts, before the first environment step, the training env must be a
    :class:`~sb3_gtr.continual.env.ContinualTaskEnv` built from the same sequence (same tasks, environment arguments
    and schedule), every phase must last at least one vectorized step, and every task's training environment is
    built, so that a task that cannot be built fails then rather than at its first switch. On schedule, a ``learn()``
    that stops before the end of the sequence gets a warning naming the phases that will not run.

    Use one callback per ``learn()`` call: a callback that already drove one refuses a second.

    :param sequence: The task sequence the training env was built from, checked against the env's when training
        starts; ``None``: the ``sequence`` of the training env's :class:`~sb3_gtr.continual.env.ContinualTaskEnv`
        (read when training starts), as with the RL Zoo's ``sb3_gtr/continual-<suite>-v0`` environments
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
    :param verbose: 1 to print switches
    """

    def __init__(
        self,
        sequence: Optional[TaskSequence] = None,
        curriculum: bool = False,
        curriculum_window: int = 10,
        reward_thresholds: Optional[Mapping[str, float]] = None,
        stop_at_end: bool = True,
        stats_window_size: int = 100,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose=check_positive_int("verbose", verbose, allow_zero=True))
        if sequence is not None:
            check_instance("sequence", sequence, TaskSequence, "a TaskSequence or None (read from the training env)")
        self.curriculum = check_bool("curriculum", curriculum)
        self.curriculum_window = check_positive_int("curriculum_window", curriculum_window)
        self.stop_at_end = check_bool("stop_at_end", stop_at_end)
        self.stats_window_size = check_positive_int("stats_window_size", stats_window_size)
        self._given_thresholds = dict(check_optional_mapping("reward_thresholds", reward_thresholds) or {})
        for name, threshold in self._given_thresholds.items():
            if threshold is not None:
                check_finite_float(f"reward_thresholds[{name!r}]", threshold)
        #: Called with the step from which the new task is trained, at every switch
        self.switch_listeners: list[Callable[[int], None]] = []
        #: The callback's name in messages (that of the :class:`~sb3_gtr.continual.callbacks.ContinualTaskCallback`
        #: holding it, if one does)
        self.name = type(self).__name__
        #: Whether a learn() call has started training with this callback (one callback per learn() call)
        self._trained = False
        self._task_envs_built = False
        self.sequence: Optional[TaskSequence] = None
        self.phases: list[Phase] = []
        if sequence is not None:
            self.set_sequence(sequence)

    def set_sequence(self, sequence: TaskSequence) -> None:
        """
        Set the sequence, checking the arguments that depend on its tasks.

        :param sequence: The task sequence
        """
        unknown = sorted(set(self._given_thresholds) - set(sequence.task_names))
        if unknown:
            raise ValueError(f"reward_thresholds for unknown tasks {unknown}, tasks are {sequence.task_names}")
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
        self._episode_returns = [deque(maxlen=self.stats_window_size) for _ in self.sequence.tasks]
        self._curriculum_returns: deque[float] = deque(maxlen=self.curriculum_window)
        self._done = False
        self.phases = []

    @property
    def task_id(self) -> int:
        """The task currently trained (switched to, possibly one step before it takes effect)."""
        return self._schedule[self._phase_index].task_id

    # ---- set-up -----------------------------------------------------------------------------------

    def _n_envs(self) -> int:
        return self.training_env.num_envs

    def _phase_index_at(self, step: int) -> int:
        return min(bisect.bisect_right(self._phase_ends, step), len(self._schedule) - 1)

    def _sequence_of_training_env(self) -> TaskSequence:
        sequences = self.training_env.get_attr("sequence") if self.training_env.has_attr("sequence") else [None]
        if sequences[0] is None:
            raise ValueError(
                f"{self.name} needs `sequence`, or a training env of ContinualTaskEnv built from a TaskSequence "
                "(make_continual_vec_env(sequence), or gymnasium.make('sb3_gtr/continual-<suite>-v0'))"
            )
        return sequences[0]

    def _check_training_env(self) -> None:
        """Refuse a training env that this callback cannot drive, or that was built from another sequence."""
        if not self.training_env.has_attr("set_task"):
            spec = self.training_env.get_attr("spec", indices=0)[0]
            env_name = f" ({spec.id})" if spec is not None else ""
            raise ValueError(
                f"{self.name} was given {self.sequence!r}, but the training env{env_name} is not a "
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
                    f"{self.name} was given {self.sequence!r}, but the training env (sub-environment {rank}) "
                    f"was built from {built_from}: {'; '.join(differences)}. Give the callback the sequence the env "
                    "was built from, or no sequence (it then reads the env's)"
                )

    def _check_phases_fit_steps(self) -> None:
        if not self.curriculum:  # a curriculum switches on returns as well, not at fixed steps
            check_phases_fit(self.sequence, self._n_envs())

    def _init_callback(self) -> None:
        if self._trained:
            # Its phases (and the evaluations and metrics of a ContinualTaskCallback) are those of the run it drove: a
            # second run would either mix into them or silently replace them, and start its schedule mid-sequence.
            raise ValueError(
                f"This {self.name} already drove a learn() call (its evaluations, phases and metrics are those "
                f"of that run): build a new {self.name} for each learn() call"
            )
        if self.sequence is None:
            self.set_sequence(self._sequence_of_training_env())
        else:
            self._check_training_env()
        self._reset_state()
        self._check_phases_fit_steps()

    def build_task_envs(self) -> None:
        """
        Build every task's training environment now, not at its first switch, so that a task that cannot be built
        (or has other spaces) fails before the first step. :meth:`_init_callback` does not, so that a
        :class:`~sb3_gtr.continual.callbacks.ContinualTaskCallback` first checks its output folder; the training
        start does, if nothing did before.
        """
        self.training_env.env_method("build_task_envs")
        self._task_envs_built = True

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
        if not self._task_envs_built:
            self.build_task_envs()
        step = self.num_timesteps
        self._warn_if_learn_is_short(step)
        self._phase_index = self._phase_index_at(step) if not self.curriculum else 0
        self._phase_starts.append((self._phase_index, step))
        self.training_env.env_method("set_task", self.task_id)
        self.logger.record("continual/task_id", self.task_id)
        self._maybe_switch(step)

    # ---- per step ---------------------------------------------------------------------------------

    def _on_step(self) -> bool:
        step = self.num_timesteps
        self._record_episodes(self.locals.get("infos", []))
        if self._sequence_over(step):
            if not self._done and self.verbose >= 1:
                print(f"Continual: sequence over at step {step}")
            self._done = True
            if self.stop_at_end and self._learn_goes_on(step):
                return False
        else:
            self._maybe_switch(step)
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
        self.logger.record("continual/task_id", self.task_id)
        if self.verbose >= 1:
            old_name, new_name = self.sequence.task_names[old_task], self.sequence.task_names[self.task_id]
            print(f"Continual: step {step}, switching from {old_name!r} to {new_name!r} from step {next_start}")
        for listener in self.switch_listeners:
            listener(next_start)

    # ---- end --------------------------------------------------------------------------------------

    def _trained_phases(self, end: int) -> list[Phase]:
        phases = []
        for index, (schedule_index, start) in enumerate(self._phase_starts):
            if start >= end and phases:
                break  # switched to, but training stopped before the new task's first step
            phase_end = self._phase_starts[index + 1][1] if index + 1 < len(self._phase_starts) else end
            phases.append(Phase(self._schedule[schedule_index].task_id, start, min(phase_end, end)))
        return phases

    def phases_not_run(self) -> list[dict[str, Any]]:
        """The scheduled phases after the last one trained (learn() ended first), for the metrics."""
        if not self.phases:
            return []
        last = self._phase_starts[len(self.phases) - 1][0]
        return [
            {"index": index, "task_id": phase.task_id, "task": self.sequence.task_names[phase.task_id]}
            for index, phase in enumerate(self._schedule)
            if index > last
        ]

    def _on_training_end(self) -> None:
        self.phases = self._trained_phases(self.num_timesteps)
