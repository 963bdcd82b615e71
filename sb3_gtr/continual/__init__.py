"""
Continual reinforcement learning with any SB3 algorithm: task sequences, one environment that switches between tasks,
the callback that drives the switches and evaluates every task, Continual World's metrics and the named suites of the
GTR paper.

The pieces, from the bottom up:

- :mod:`~sb3_gtr.continual.tasks`: :class:`Task` (an environment and its step budget) and :class:`TaskSequence` (the
  tasks, repeated ``n_cycles`` times, with budgets multiplied by ``scale``), whose :meth:`TaskSequence.schedule` gives
  the ordered training :class:`Phase` s;
- :mod:`~sb3_gtr.continual.env` and :mod:`~sb3_gtr.continual.vec_env`: :class:`ContinualTaskEnv`, a single
  ``gymnasium.Env`` that forwards to the active task's environment, and :func:`make_continual_vec_env`, one SB3
  ``VecEnv`` over the whole sequence, so that a single model trains across it;
- :mod:`~sb3_gtr.continual.callbacks`: :class:`ContinualTaskCallback`, which switches tasks on schedule (or on a
  return threshold, in curriculum mode), logs per-task returns, evaluates the model on every task, and writes the
  evaluation table, the metrics and a plot of the learning curves. It is a ``CallbackList`` of the two halves, also
  usable on their own: :class:`TaskScheduleCallback` (:mod:`~sb3_gtr.continual.task_schedule`), which changes the
  environment, and :class:`ContinualEvalCallback` (:mod:`~sb3_gtr.continual.evaluation`), which evaluates and scores;
- :mod:`~sb3_gtr.continual.metrics` and :mod:`~sb3_gtr.continual.plotting`: :class:`EvaluationTable`, the metrics
  (pure functions of an evaluation table) and :func:`plot_learning_curves`;
- :mod:`~sb3_gtr.continual.cross_embodiment`: padded common spaces for tasks whose bodies differ;
- :mod:`~sb3_gtr.continual.suites` and :mod:`~sb3_gtr.continual.adapters`: the paper's named suites
  (:func:`make_suite`) and the simulators they run on; :mod:`~sb3_gtr.continual.registration` makes each suite the
  gymnasium id ``sb3_gtr/continual-<suite>-v0``.

Usage::

    from sb3_gtr import GTRPPO
    from sb3_gtr.continual import ContinualTaskCallback, make_continual_vec_env, make_suite

    sequence = make_suite("flip", scale=0.1)
    env = make_continual_vec_env(sequence, n_envs=4, seed=0)
    callback = ContinualTaskCallback(sequence, eval_freq=10_000, log_dir="logs/flip")
    GTRPPO("MlpPolicy", env, seed=0).learn(sequence.total_timesteps, callback=callback)
"""

from sb3_gtr.continual.callbacks import ContinualTaskCallback
from sb3_gtr.continual.cross_embodiment import CrossEmbodimentWrapper, pad_task_spaces
from sb3_gtr.continual.env import ContinualTaskEnv
from sb3_gtr.continual.evaluation import ContinualEvalCallback
from sb3_gtr.continual.metrics import (
    EvaluationTable,
    adaptation_speed,
    area_under_curve,
    average_performance,
    compute_metrics,
    forgetting,
    forward_transfer,
    normalize_returns,
    write_metrics,
)
from sb3_gtr.continual.plotting import plot_learning_curves
from sb3_gtr.continual.registration import make_continual_env
from sb3_gtr.continual.suites import (
    SUITES,
    dm_control_suite,
    dmc_dog_suite,
    dmc_walker_suite,
    flip_suite,
    make_suite,
    metaworld_suite,
    mujoco_cross_reverse_suite,
    mujoco_cross_suite,
    procgen_starpilot_suite,
)
from sb3_gtr.continual.task_schedule import TaskScheduleCallback
from sb3_gtr.continual.tasks import TASK_ID_KEY, TASK_SWITCH_KEY, Phase, Task, TaskSequence
from sb3_gtr.continual.vec_env import make_continual_vec_env

__all__ = [
    "SUITES",
    "TASK_ID_KEY",
    "TASK_SWITCH_KEY",
    "ContinualEvalCallback",
    "ContinualTaskCallback",
    "ContinualTaskEnv",
    "CrossEmbodimentWrapper",
    "EvaluationTable",
    "Phase",
    "Task",
    "TaskScheduleCallback",
    "TaskSequence",
    "adaptation_speed",
    "area_under_curve",
    "average_performance",
    "compute_metrics",
    "dm_control_suite",
    "dmc_dog_suite",
    "dmc_walker_suite",
    "flip_suite",
    "forgetting",
    "forward_transfer",
    "make_continual_env",
    "make_continual_vec_env",
    "make_suite",
    "metaworld_suite",
    "mujoco_cross_reverse_suite",
    "mujoco_cross_suite",
    "normalize_returns",
    "pad_task_spaces",
    "plot_learning_curves",
    "procgen_starpilot_suite",
    "write_metrics",
]
