"""
Every bad input of the continual-learning tools gets a clear answer before any training starts.

Each row of the tables below is (callable, keyword arguments, expected error type, expected fragment of the
message); the fragment names the argument and what it may be. The callback rows go through ``learn()`` of a
tiny model and also check that no environment step was taken.
"""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.env_util import make_vec_env

from sb3_gtr import GTRPPO
from sb3_gtr.continual.adapters.dm_control import make_dm_control_env
from sb3_gtr.continual.adapters.metaworld import make_metaworld_env
from sb3_gtr.continual.adapters.procgen import ProcgenGymnasiumEnv, make_procgen_env
from sb3_gtr.continual.callbacks import ContinualTaskCallback
from sb3_gtr.continual.cross_embodiment import CrossEmbodimentWrapper, make_cross_embodiment_env, pad_task_spaces
from sb3_gtr.continual.env import ContinualTaskEnv
from sb3_gtr.continual.metrics import EvaluationTable, adaptation_speed, compute_metrics, forgetting, normalize_returns
from sb3_gtr.continual.registration import make_continual_env
from sb3_gtr.continual.suites import dm_control_suite, make_suite
from sb3_gtr.continual.tasks import Phase, Task, TaskSequence
from sb3_gtr.continual.vec_env import make_continual_vec_env
from sb3_gtr.networks.task_routed import cross_embodiment_spaces
from sb3_gtr.registration import PROCGEN_STARPILOT_ID, continual_env_id


class CountingEnv(gym.Env):
    """Episodes of 5 steps rewarded ``reward``; counts the steps taken by every instance (``total_steps``)."""

    total_steps = 0

    def __init__(self, reward: float = 1.0, obs_dim: int = 2):
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(obs_dim,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.reward = reward
        self.n_steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.n_steps = 0
        return np.zeros(self.observation_space.shape, dtype=np.float32), {}

    def step(self, action):
        CountingEnv.total_steps += 1
        self.n_steps += 1
        return np.zeros(self.observation_space.shape, dtype=np.float32), self.reward, self.n_steps >= 5, False, {}


class BoxActionEnv(CountingEnv):
    """A continuous-action body for the cross-embodiment rows."""

    def __init__(self, obs_dim: int = 3, action_dim: int = 2):
        super().__init__(obs_dim=obs_dim)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(action_dim,), dtype=np.float32)


def tasks(budget: int = 16, **env_kwargs) -> list[Task]:
    return [Task(f"t{i}", CountingEnv, {"reward": float(i), **env_kwargs}, budget) for i in range(2)]


SEQUENCE = TaskSequence(tasks())
TABLE = EvaluationTable(["t0", "t1"], [0, 10], [[0.0, 1.0], [1.0, 0.0]])
PHASES = [Phase(0, 0, 10)]
BODIES = [Task("small", BoxActionEnv, {"obs_dim": 3, "action_dim": 2}, 8), Task("large", BoxActionEnv, {"obs_dim": 5}, 8)]
NAN, INF = float("nan"), float("inf")


def call(function, *args):
    """A row's callable that takes its positional arguments first (for methods and positional-only uses)."""
    return lambda **kwargs: function(*args, **kwargs)


def row(case_id, function, kwargs, fragment, error=ValueError):
    """One row of a table: ``function(**kwargs)`` raises ``error`` with ``fragment`` in its message."""
    return pytest.param(function, kwargs, error, fragment, id=case_id)


def not_positive(name, value, zero=" (>= 1)"):
    shown = repr(value) + (f" ({type(value).__name__})" if isinstance(value, (bool, float)) else "")
    return f"`{name}` must be a positive integer{zero}, got {shown}"


EVAL_FREQ_ZERO = " (or 0 to evaluate only at the start, at task switches and at the end)"
TASK_NAME = (
    "`name` must be a task name without commas, double quotes, line breaks or other control characters (task names are "
    "used as CSV columns and logger keys)"
)
WRAPPER_KWARGS_ALONE = "given without `wrapper_class`: they are the keyword arguments of the wrapper and would be ignored"
THRESHOLDS_WITHOUT_CURRICULUM = "`reward_thresholds` {'t0': 1.0} are only used with `curriculum=True`"
NO_THRESHOLD = "`curriculum=True` needs a return threshold for at least one task of ['t0', 't1'], and none has one"

CASES = [
    # ---- Task ----------------------------------------------------------------------------------
    row("task-name-empty", Task, dict(name="", env_id="CartPole-v1"), "`name` must be a non-empty string, got ''"),
    row("task-name-none", Task, dict(name=None, env_id="CartPole-v1"), "`name` must be a non-empty string, got None"),
    row("task-env-id", Task, dict(name="a", env_id=3), "`env_id` must be a registered gymnasium id or a callable"),
    row("task-name-newline", Task, dict(name="a\nb", env_id="CartPole-v1"), f"{TASK_NAME}, got 'a\\nb'"),
    row("task-name-comma", Task, dict(name="a,b", env_id="CartPole-v1"), f"{TASK_NAME}, got 'a,b'"),
    row("task-name-quote", Task, dict(name='a"b', env_id="CartPole-v1"), f"{TASK_NAME}, got 'a\"b'"),
    row("task-name-tab", Task, dict(name="a\tb", env_id="CartPole-v1"), f"{TASK_NAME}, got 'a\\tb'"),
    row(
        "task-factory-returns-none",
        call(lambda: Task("b", lambda **kwargs: None).make_env()),
        dict(),
        "Task 'b': its environment factory '<lambda>' returned None of type NoneType, not a gymnasium.Env",
    ),
    row("task-env-id-empty", Task, dict(name="a", env_id=""), "Task 'a': `env_id` must be"),
    row(
        "task-budget-0",
        Task,
        dict(name="a", env_id="CartPole-v1", n_timesteps=0),
        "Task 'a': " + not_positive("n_timesteps", 0),
    ),
    row("task-budget-negative", Task, dict(name="a", env_id="CartPole-v1", n_timesteps=-5), not_positive("n_timesteps", -5)),
    row("task-budget-str", Task, dict(name="a", env_id="CartPole-v1", n_timesteps="100"), not_positive("n_timesteps", "100")),
    row("task-budget-float", Task, dict(name="a", env_id="CartPole-v1", n_timesteps=1e5), not_positive("n_timesteps", 1e5)),
    row("task-budget-bool", Task, dict(name="a", env_id="CartPole-v1", n_timesteps=True), not_positive("n_timesteps", True)),
    row(
        "task-threshold-nan",
        Task,
        dict(name="a", env_id="CartPole-v1", reward_threshold=NAN),
        "`reward_threshold` must be a finite number, got nan",
    ),
    row(
        "task-threshold-str",
        Task,
        dict(name="a", env_id="CartPole-v1", reward_threshold="100"),
        "`reward_threshold` must be a finite number, got '100'",
    ),
    row(
        "task-env-kwargs",
        Task,
        dict(name="a", env_id="CartPole-v1", env_kwargs=[("g", 1)]),
        "`env_kwargs` must be a dict or None",
    ),
    row(
        "task-max-episode-steps",
        Task,
        dict(name="a", env_id="CartPole-v1", env_kwargs={"max_episode_steps": 0}),
        "`env_kwargs['max_episode_steps']` must be a positive integer",
    ),
    # ---- Phase ---------------------------------------------------------------------------------
    row("phase-task-negative", Phase, dict(task_id=-1, start=0, end=1), "`task_id` must be an integer >= 0, got -1"),
    row("phase-task-str", Phase, dict(task_id="0", start=0, end=1), "`task_id` must be an integer >= 0, got '0'"),
    row("phase-start-float", Phase, dict(task_id=0, start=0.5, end=1), "`start` must be an integer >= 0, got 0.5 (float)"),
    row("phase-backwards", Phase, dict(task_id=0, start=10, end=5), "must end at or after its start, got start=10 and end=5"),
    # ---- TaskSequence --------------------------------------------------------------------------
    row("sequence-empty", TaskSequence, dict(tasks=[]), "`tasks` is empty"),
    row("sequence-unknown-task", TaskSequence, dict(tasks=["t0"]), "`tasks` must hold Task objects"),
    row("sequence-single-task", TaskSequence, dict(tasks=tasks()[0]), "`tasks` must be a list of Task"),
    row("sequence-duplicates", TaskSequence, dict(tasks=tasks() + tasks()), "Task names must be unique"),
    row("sequence-cycles-0", TaskSequence, dict(tasks=tasks(), n_cycles=0), not_positive("n_cycles", 0)),
    row("sequence-cycles-str", TaskSequence, dict(tasks=tasks(), n_cycles="2"), not_positive("n_cycles", "2")),
    row("sequence-cycles-bool", TaskSequence, dict(tasks=tasks(), n_cycles=True), not_positive("n_cycles", True)),
    row("sequence-scale-0", TaskSequence, dict(tasks=tasks(), scale=0), "`scale` must be a finite number > 0, got 0"),
    row("sequence-scale-nan", TaskSequence, dict(tasks=tasks(), scale=NAN), "`scale` must be a finite number > 0, got nan"),
    row("sequence-scale-inf", TaskSequence, dict(tasks=tasks(), scale=INF), "`scale` must be a finite number > 0, got inf"),
    row(
        "sequence-scale-str", TaskSequence, dict(tasks=tasks(), scale="0.1"), "`scale` must be a finite number > 0, got '0.1'"
    ),
    row("sequence-name", TaskSequence, dict(tasks=tasks(), name=3), "`name` must be a non-empty string, got 3"),
    row("sequence-policy", TaskSequence, dict(tasks=tasks(), policy=3), "`policy` must be a policy alias"),
    row(
        "sequence-policy-kwargs",
        TaskSequence,
        dict(tasks=tasks(), policy_kwargs=[1]),
        "`policy_kwargs` must be a dict or None",
    ),
    row(
        "sequence-normalize-kwargs",
        TaskSequence,
        dict(tasks=tasks(), normalize_kwargs="obs"),
        "`normalize_kwargs` must be a dict or None",
    ),
    row(
        "sequence-normalize-kwargs-unknown",
        TaskSequence,
        dict(tasks=tasks(), normalize_kwargs={"foo": 1}),
        "TaskSequence: `normalize_kwargs` of VecNormalize got unknown keyword argument(s) 'foo'; allowed: 'clip_obs',",
        TypeError,
    ),
    row(
        "sequence-task-timesteps",
        call(SEQUENCE.task_timesteps),
        dict(task_id=2),
        "`task_id` must be an integer in [0, 2), got 2",
    ),
    row("sequence-task-id-at", call(SEQUENCE.task_id_at), dict(step=-1), "`step` must be an integer >= 0, got -1"),
    # ---- ContinualTaskEnv and make_continual_vec_env -------------------------------------------
    row("env-empty", ContinualTaskEnv, dict(tasks=[]), "`tasks` is empty"),
    row("env-task-id", ContinualTaskEnv, dict(tasks=tasks(), task_id=2), "`task_id` must be an integer in [0, 2), got 2"),
    row(
        "env-task-id-bool",
        ContinualTaskEnv,
        dict(tasks=tasks(), task_id=True),
        "`task_id` must be an integer in [0, 2), got True (bool)",
    ),
    row("env-env-kwargs", ContinualTaskEnv, dict(tasks=tasks(), env_kwargs="human"), "`env_kwargs` must be a dict or None"),
    row(
        "env-set-task",
        call(lambda task_id: ContinualTaskEnv(SEQUENCE).set_task(task_id)),
        dict(task_id="1"),
        "`task_id` must be an integer in [0, 2), got '1'",
    ),
    row("vec-n-envs-0", make_continual_vec_env, dict(sequence=SEQUENCE, n_envs=0), not_positive("n_envs", 0)),
    row("vec-n-envs-str", make_continual_vec_env, dict(sequence=SEQUENCE, n_envs="2"), not_positive("n_envs", "2")),
    row(
        "vec-seed-negative", make_continual_vec_env, dict(sequence=SEQUENCE, seed=-1), "`seed` must be an integer >= 0, got -1"
    ),
    row(
        "vec-seed-float",
        make_continual_vec_env,
        dict(sequence=SEQUENCE, seed=1.5),
        "`seed` must be an integer >= 0, got 1.5 (float)",
    ),
    row(
        "vec-task-id",
        make_continual_vec_env,
        dict(sequence=SEQUENCE, task_id=5),
        "`task_id` must be an integer in [0, 2), got 5",
    ),
    row(
        "vec-env-cls",
        make_continual_vec_env,
        dict(sequence=SEQUENCE, vec_env_cls=list),
        "`vec_env_cls` must be a VecEnv class",
    ),
    row(
        "vec-wrapper-class",
        make_continual_vec_env,
        dict(sequence=SEQUENCE, wrapper_class=3),
        "`wrapper_class` must be a gymnasium wrapper",
    ),
    row(
        "vec-env-kwargs",
        make_continual_vec_env,
        dict(sequence=SEQUENCE, env_kwargs=[1]),
        "`env_kwargs` must be a dict or None",
    ),
    row("vec-monitor-dir", make_continual_vec_env, dict(sequence=SEQUENCE, monitor_dir=3), "`monitor_dir` must be a folder"),
    row("vec-empty", make_continual_vec_env, dict(sequence=[]), "`tasks` is empty"),
    row(
        "vec-wrapper-kwargs-alone",
        make_continual_vec_env,
        dict(sequence=SEQUENCE, wrapper_kwargs={"max_episode_steps": 10}),
        WRAPPER_KWARGS_ALONE,
    ),
    row(
        "vec-factory-returns-none",
        make_continual_vec_env,
        dict(sequence=TaskSequence([Task("b", lambda **kwargs: None)])),
        "Task 'b': its environment factory '<lambda>' returned None of type NoneType, not a gymnasium.Env",
    ),
    row(
        "env-factory-returns-a-vec-env",
        ContinualTaskEnv,
        dict(tasks=[Task("b", lambda **kwargs: make_vec_env(CountingEnv))]),
        "Task 'b': its environment factory '<lambda>' returned <stable_baselines3.common.vec_env.dummy_vec_env.DummyVecEnv",
    ),
    row(
        "vec-bad-env-kwarg",
        make_continual_vec_env,
        dict(sequence=TaskSequence([Task("t0", CountingEnv, {"rewrd": 1.0})])),
        "Task 't0' cannot build its environment 'CountingEnv' with env_kwargs {'rewrd': 1.0}",
        TypeError,
    ),
    row(
        "vec-bad-gym-kwarg",
        make_continual_vec_env,
        dict(sequence=TaskSequence([Task("cp", "CartPole-v1", {"gravity": 9.8})])),
        "Task 'cp' cannot build its environment 'CartPole-v1'",
        TypeError,
    ),
    # ---- evaluation table and metrics ----------------------------------------------------------
    row("table-no-task", EvaluationTable, dict(task_names=[], steps=[], returns=[]), "`task_names` is empty"),
    row(
        "table-names-str",
        EvaluationTable,
        dict(task_names="ab", steps=[0], returns=[0.0]),
        "`task_names` must be a list of task names",
    ),
    row(
        "table-steps-order",
        EvaluationTable,
        dict(task_names=["a"], steps=[2, 1], returns=[0.0, 1.0]),
        "`steps` must be non-decreasing",
    ),
    row(
        "table-steps-float",
        EvaluationTable,
        dict(task_names=["a"], steps=[0.5], returns=[0.0]),
        "`steps` must be a 1-D list of integer training steps",
    ),
    row(
        "table-returns-shape",
        EvaluationTable,
        dict(task_names=["a", "b"], steps=[0, 1], returns=[0.0, 1.0, 2.0]),
        "`returns` must hold one value per evaluation and task, shape (2, 2)",
    ),
    row(
        "table-stds-shape",
        EvaluationTable,
        dict(task_names=["a"], steps=[0], returns=[0.0], std_returns=[0.0, 1.0]),
        "`std_returns` must hold one value per evaluation and task",
    ),
    row(
        "normalize-min-length",
        normalize_returns,
        dict(returns=TABLE.returns, reference_min=[0.0]),
        "`reference_min` must have one entry per task (tasks '0', '1'): 2 entries, got 1",
    ),
    row(
        "normalize-max-inf",
        normalize_returns,
        dict(returns=TABLE.returns, reference_max=[1.0, INF]),
        "`reference_max['1']` must be a finite number, got inf",
    ),
    row(
        "normalize-min-str",
        normalize_returns,
        dict(returns=TABLE.returns, reference_min=[0.0, "0"]),
        "`reference_min['1']` must be a finite number, got '0'",
    ),
    row(
        "normalize-min-max",
        normalize_returns,
        dict(returns=TABLE.returns, reference_min=[1.0, 0.0], reference_max=[1.0, 1.0]),
        "Reference max must exceed reference min for every task: task '0'",
    ),
    row(
        "normalize-empty",
        normalize_returns,
        dict(returns=np.zeros((0, 2))),
        "`returns` must have shape (n_evaluations >= 1, n_tasks)",
    ),
    row(
        "metrics-phase-missing-task",
        compute_metrics,
        dict(table=TABLE, phases=[Phase(2, 0, 10)]),
        "`phases` refers to task 2, but there are 2 tasks",
    ),
    row(
        "metrics-phase-order",
        compute_metrics,
        dict(table=TABLE, phases=[Phase(0, 5, 10), Phase(1, 0, 5)]),
        "`phases` must be in training order",
    ),
    row("metrics-phase-tuple", compute_metrics, dict(table=TABLE, phases=[(0, 10, 5)]), "must end at or after its start"),
    row(
        "metrics-fraction-0",
        compute_metrics,
        dict(table=TABLE, phases=PHASES, fraction=0),
        "`fraction` must be a finite number > 0 and <= 1, got 0",
    ),
    row(
        "metrics-fraction-nan",
        compute_metrics,
        dict(table=TABLE, phases=PHASES, fraction=NAN),
        "`fraction` must be a finite number > 0 and <= 1, got nan",
    ),
    row(
        "metrics-max-length",
        compute_metrics,
        dict(table=TABLE, phases=PHASES, reference_max=[1.0]),
        "`reference_max` must have one entry per task (tasks 't0', 't1')",
    ),
    row(
        "metrics-curves-unknown",
        compute_metrics,
        dict(table=TABLE, phases=PHASES, reference_curves={"zz": ([0], [0.0])}),
        "Reference curves for unknown tasks ['zz'], tasks are ['t0', 't1']",
    ),
    row(
        "metrics-curves-length",
        compute_metrics,
        dict(table=TABLE, phases=PHASES, reference_curves={"t0": ([0, 1], [0.0])}),
        "`reference_curves['t0']` must be (steps, returns) of the same length",
    ),
    row(
        "metrics-curves-nan",
        compute_metrics,
        dict(table=TABLE, phases=PHASES, reference_curves={"t0": ([0, 1], [0.0, NAN])}),
        "`reference_curves['t0']` must hold finite numbers only",
    ),
    row(
        "metrics-empty-table",
        compute_metrics,
        dict(table=EvaluationTable(["t0"], [], []), phases=[]),
        "`table` holds no evaluation",
    ),
    row("metrics-table-type", compute_metrics, dict(table={"t0": [1.0]}, phases=PHASES), "`table` must be an EvaluationTable"),
    row(
        "speed-fraction",
        adaptation_speed,
        dict(steps=TABLE.steps, normalized=TABLE.returns, phases=PHASES, fraction=1.5),
        "`fraction` must be a finite number > 0 and <= 1, got 1.5",
    ),
    row(
        "forgetting-phase-missing-task",
        forgetting,
        dict(steps=TABLE.steps, normalized=TABLE.returns, phases=[Phase(3, 0, 1)]),
        "`phases` refers to task 3",
    ),
    # ---- cross-embodiment, environment side ----------------------------------------------------
    row("pad-empty", pad_task_spaces, dict(tasks=[]), "`tasks` is empty"),
    row(
        "pad-obs-dims-length",
        pad_task_spaces,
        dict(tasks=BODIES, task_obs_dims=[3]),
        "`task_obs_dims` must have one entry per task (tasks 'small', 'large'): 2 entries, got 1",
    ),
    row(
        "pad-action-dims-0",
        pad_task_spaces,
        dict(tasks=BODIES, task_obs_dims=[3, 5], task_action_dims=[2, 0]),
        "`task_action_dims` must be a positive integer (>= 1), got 0",
    ),
    row("spaces-n-tasks", cross_embodiment_spaces, dict(n_tasks=0, obs_dim=3, action_dim=2), not_positive("n_tasks", 0)),
    row("spaces-obs-dim", cross_embodiment_spaces, dict(n_tasks=2, obs_dim="3", action_dim=2), not_positive("obs_dim", "3")),
    row(
        "wrapper-task-id",
        call(lambda **kwargs: CrossEmbodimentWrapper(BoxActionEnv(), **kwargs)),
        dict(task_id=2, n_tasks=2, obs_dim=3, action_dim=2),
        "`task_id` must be an integer in [0, 2), got 2",
    ),
    row(
        "cross-env-task",
        make_cross_embodiment_env,
        dict(task="small", task_id=0, task_obs_dims=[3], task_action_dims=[2]),
        "`task` must be a Task",
    ),
    row(
        "cross-env-dims",
        make_cross_embodiment_env,
        dict(task=BODIES[0], task_id=0, task_obs_dims=[3, 5], task_action_dims=[2]),
        "`task_action_dims` must have one entry per task",
    ),
    # ---- named suites --------------------------------------------------------------------------
    row(
        "suite-unknown",
        make_suite,
        dict(name="nope"),
        "Unknown continual suite 'nope', available suites: cartpole-reversed, dmc-dog, dmc-walker, flip",
    ),
    row("suite-name-list", make_suite, dict(name=["flip"]), "Unknown continual suite ['flip'], available suites:"),
    row("suite-scale", make_suite, dict(name="flip", scale=-1), "`scale` must be a finite number > 0, got -1"),
    row("suite-cycles", make_suite, dict(name="flip", n_cycles="3"), not_positive("n_cycles", "3")),
    row("suite-budget-0", make_suite, dict(name="flip", timesteps_per_task=0), not_positive("timesteps_per_task", 0)),
    row("suite-flip-env-id", make_suite, dict(name="flip", env_id=3), "`env_id` must be a non-empty string, got 3"),
    row(
        "suite-max-episode-steps",
        make_suite,
        dict(name="flip", max_episode_steps=-1),
        "`env_kwargs['max_episode_steps']` must be a positive integer (>= 1), got -1",
    ),
    row(
        "suite-cross-env-ids",
        make_suite,
        dict(name="mujoco-cross", env_ids="Ant-v5"),
        "`env_ids` must be a non-empty list of strings, got 'Ant-v5'",
    ),
    row(
        "suite-cross-reverse",
        make_suite,
        dict(name="mujoco-cross", reverse="yes"),
        "`reverse` must be True or False, got 'yes'",
    ),
    row(
        "suite-cross-budget",
        make_suite,
        dict(name="mujoco-cross-reverse", timesteps_per_task=2.5),
        not_positive("timesteps_per_task", 2.5),
    ),
    row(
        "suite-metaworld-names",
        make_suite,
        dict(name="metaworld", env_names=[]),
        "`env_names` must be a non-empty list of strings, got []",
    ),
    row(
        "suite-procgen-stage",
        make_suite,
        dict(name="procgen-starpilot", stages=["easy", "nightmare"]),
        "`stages` must be one of 'easy', 'hard', 'extreme'; got 'nightmare'",
    ),
    row(
        "suite-procgen-game",
        make_suite,
        dict(name="procgen-starpilot", env_name="pong"),
        "`env_name` must be one of 'bigfish', 'bossfight',",
    ),
    row(
        "suite-procgen-extreme",
        make_suite,
        dict(name="procgen-starpilot", env_name="coinrun"),
        "procgen has no 'extreme' mode for 'coinrun'",
    ),
    row(
        "suite-procgen-kwarg",
        make_suite,
        dict(name="procgen-starpilot", use_background=False),
        "procgen_starpilot_suite got unknown keyword argument(s) 'use_background'; allowed: ",
        TypeError,
    ),
    row(
        "suite-dmc-tasks",
        call(dm_control_suite, "walker"),
        dict(task_names=[]),
        "`task_names` must be a non-empty list of strings",
    ),
    row("suite-dmc-domain", call(dm_control_suite, 3, ["stand"]), dict(), "`domain_name` must be a non-empty string, got 3"),
    row(
        "suite-flip-unknown-kwarg",
        call(lambda **kwargs: make_continual_vec_env(make_suite("flip", scale=1e-3, **kwargs))),
        dict(foo=1),
        "Task 'forward' cannot build its environment 'HalfCheetah-v5'",
        TypeError,
    ),
    # ---- environment adapters ------------------------------------------------------------------
    row(
        "procgen-levels",
        ProcgenGymnasiumEnv,
        dict(num_levels=-1),
        "`num_levels` must be a positive integer (or 0 to play unlimited levels), got -1",
    ),
    row("procgen-start-level", ProcgenGymnasiumEnv, dict(start_level="0"), "`start_level` must be an integer >= 0, got '0'"),
    row(
        "procgen-render-mode",
        ProcgenGymnasiumEnv,
        dict(render_mode="human"),
        "`render_mode` must be one of None, 'rgb_array'; got 'human'",
    ),
    row(
        "procgen-mode",
        ProcgenGymnasiumEnv,
        dict(distribution_mode="memory"),
        "`distribution_mode` must be one of 'easy', 'hard', 'extreme'; got 'memory'",
    ),
    row(
        "procgen-option",
        ProcgenGymnasiumEnv,
        dict(paint_velocity=True),
        "ProcgenGymnasiumEnv got unknown keyword argument(s) 'paint_velocity'; allowed: 'center_agent'",
        TypeError,
    ),
    row("procgen-make-game", make_procgen_env, dict(env_name="pong"), "`env_name` must be one of 'bigfish'"),
    row("metaworld-name", make_metaworld_env, dict(env_name=3), "`env_name` must be a non-empty string, got 3"),
    row(
        "metaworld-seed",
        make_metaworld_env,
        dict(env_name="door-open-v3", benchmark_seed=-1),
        "`benchmark_seed` must be an integer >= 0, got -1",
    ),
    row(
        "dmc-task-name",
        make_dm_control_env,
        dict(domain_name="walker", task_name=None),
        "`task_name` must be a non-empty string, got None",
    ),
    # ---- the gymnasium ids sb3_gtr/continual-<suite>-v0 ------------------------------------------
    row(
        "id-scale",
        call(gym.make, continual_env_id("flip")),
        dict(scale="0.01"),
        "`scale` must be a finite number > 0, got '0.01'",
    ),
    row("id-cycles", call(gym.make, continual_env_id("flip")), dict(n_cycles=0), not_positive("n_cycles", 0)),
    row(
        "id-task-id",
        call(gym.make, continual_env_id("flip")),
        dict(scale=1e-3, task_id=2),
        "`task_id` must be an integer in [0, 2), got 2",
    ),
    row(
        "id-task-id-negative",
        call(gym.make, continual_env_id("flip")),
        dict(task_id=-1),
        "`task_id` must be an integer >= 0, got -1",
    ),
    row(
        "id-task-max-episode-steps",
        call(gym.make, continual_env_id("flip")),
        dict(task_max_episode_steps=0),
        not_positive("task_max_episode_steps", 0),
    ),
    row(
        "id-suite-kwarg",
        call(gym.make, continual_env_id("flip")),
        dict(scale=1e-3, timesteps_per_task="1e5"),
        not_positive("timesteps_per_task", "1e5"),
    ),
    row(
        "id-unknown-kwarg",
        call(gym.make, continual_env_id("flip")),
        dict(scale=1e-3, ctrl_cost=0.1),
        "Task 'forward' cannot build its environment 'HalfCheetah-v5'",
        TypeError,
    ),
    row(
        "id-two-episode-lengths",
        make_continual_env,
        dict(suite="flip", task_max_episode_steps=10, max_episode_steps=20),
        "Give `task_max_episode_steps` or the suite's `max_episode_steps`, not both",
    ),
    row(
        "id-render-mode",
        make_continual_env,
        dict(suite="flip", render_mode=1),
        "`render_mode` must be a non-empty string, got 1",
    ),
    row(
        "procgen-id-mode",
        call(gym.make, PROCGEN_STARPILOT_ID),
        dict(distribution_mode="insane"),
        "`distribution_mode` must be one of 'easy', 'hard', 'extreme'; got 'insane'",
    ),
    row(
        "procgen-id-option",
        call(gym.make, PROCGEN_STARPILOT_ID),
        dict(num_level=10),
        "ProcgenGymnasiumEnv got unknown keyword argument(s) 'num_level'",
        TypeError,
    ),
    # ---- ContinualTaskCallback, refused when built -----------------------------------------------
    row(
        "callback-eval-freq-str",
        ContinualTaskCallback,
        dict(eval_freq="1000"),
        not_positive("eval_freq", "1000", EVAL_FREQ_ZERO),
    ),
    row(
        "callback-eval-freq-negative", ContinualTaskCallback, dict(eval_freq=-5), not_positive("eval_freq", -5, EVAL_FREQ_ZERO)
    ),
    row("callback-wrapper-kwargs-alone", ContinualTaskCallback, dict(wrapper_kwargs={"k": 1}), WRAPPER_KWARGS_ALONE),
    row(
        "callback-factory-and-seed",
        ContinualTaskCallback,
        dict(eval_env_factory=lambda task_id: None, eval_seed=0),
        "`eval_seed` is only used by the default evaluation envs, not with `eval_env_factory`",
    ),
    row(
        "callback-factory-and-wrapper",
        ContinualTaskCallback,
        dict(
            eval_env_factory=lambda task_id: None,
            wrapper_class=gym.wrappers.TimeLimit,
            wrapper_kwargs={"max_episode_steps": 3},
        ),
        "`wrapper_class`, `wrapper_kwargs` are only used by the default evaluation envs, not with `eval_env_factory`",
    ),
    row(
        "callback-thresholds-without-curriculum",
        ContinualTaskCallback,
        dict(sequence=SEQUENCE, reward_thresholds={"t0": 1.0}),
        THRESHOLDS_WITHOUT_CURRICULUM,
    ),
    row(
        "callback-curriculum-without-thresholds", ContinualTaskCallback, dict(sequence=SEQUENCE, curriculum=True), NO_THRESHOLD
    ),
]


@pytest.mark.parametrize(("function", "kwargs", "error", "fragment"), CASES)
def test_bad_input_is_refused_with_a_clear_message(function, kwargs, error, fragment):
    with pytest.raises(error) as raised:
        function(**kwargs)
    assert fragment in str(raised.value)


def continual_env(sequence=SEQUENCE, n_envs=2):
    return lambda: make_continual_vec_env(sequence, n_envs=n_envs, seed=0)


def plain_env():
    return make_vec_env(CountingEnv, n_envs=2, seed=0)


SEQUENCE_3 = TaskSequence([*tasks(), Task("t2", CountingEnv, {}, 16)])
SEQUENCE_CYCLES = TaskSequence(tasks(), n_cycles=2)
SEQUENCE_KWARGS = TaskSequence([Task(f"t{i}", CountingEnv, {"reward": 5.0}, 16) for i in range(2)])
SEQUENCE_UNBUILDABLE = TaskSequence([tasks()[0], Task("t1", CountingEnv, {"bogus": 1}, 16)])
SEQUENCE_OTHER_SPACES = TaskSequence([tasks()[0], Task("t1", CountingEnv, {"obs_dim": 3}, 16)])
SEQUENCE_SHORT = TaskSequence(tasks(budget=1))

CALLBACK_CASES = [
    # refused by the constructor
    row("eval-freq-str", continual_env(), dict(eval_freq="1000"), not_positive("eval_freq", "1000", EVAL_FREQ_ZERO)),
    row("eval-freq-negative", continual_env(), dict(eval_freq=-5), not_positive("eval_freq", -5, EVAL_FREQ_ZERO)),
    row("eval-freq-float", continual_env(), dict(eval_freq=2.5), not_positive("eval_freq", 2.5, EVAL_FREQ_ZERO)),
    row("eval-freq-bool", continual_env(), dict(eval_freq=True), not_positive("eval_freq", True, EVAL_FREQ_ZERO)),
    row("n-eval-episodes-0", continual_env(), dict(n_eval_episodes=0), not_positive("n_eval_episodes", 0)),
    row("n-eval-episodes-str", continual_env(), dict(n_eval_episodes="5"), not_positive("n_eval_episodes", "5")),
    row("curriculum-window", continual_env(), dict(curriculum_window=0), not_positive("curriculum_window", 0)),
    row("stats-window", continual_env(), dict(stats_window_size=-1), not_positive("stats_window_size", -1)),
    row("deterministic", continual_env(), dict(deterministic="yes"), "`deterministic` must be True or False, got 'yes'"),
    row("curriculum", continual_env(), dict(curriculum=1), "`curriculum` must be True or False, got 1"),
    row("stop-at-end", continual_env(), dict(stop_at_end=None), "`stop_at_end` must be True or False, got None"),
    row("eval-seed", continual_env(), dict(eval_seed=-1), "`eval_seed` must be an integer >= 0, got -1"),
    row("verbose", continual_env(), dict(verbose=-1), "`verbose` must be an integer >= 0, got -1"),
    row("log-dir-type", continual_env(), dict(log_dir=3), "`log_dir` must be a folder (str or path) or None"),
    row("wrapper-class", continual_env(), dict(wrapper_class=3), "`wrapper_class` must be a gymnasium wrapper"),
    row("wrapper-kwargs", continual_env(), dict(wrapper_kwargs=[1]), "`wrapper_kwargs` must be a dict or None"),
    row(
        "eval-env-factory",
        continual_env(),
        dict(eval_env_factory="env"),
        "`eval_env_factory` must be a callable task_id -> VecEnv",
    ),
    row(
        "fraction-0",
        continual_env(),
        dict(adaptation_fraction=0.0),
        "`adaptation_fraction` must be a finite number > 0 and <= 1, got 0.0",
    ),
    row(
        "fraction-nan",
        continual_env(),
        dict(adaptation_fraction=NAN),
        "`adaptation_fraction` must be a finite number > 0 and <= 1, got nan",
    ),
    row(
        "threshold-nan",
        continual_env(),
        dict(reward_thresholds={"t0": NAN}),
        "`reward_thresholds['t0']` must be a finite number, got nan",
    ),
    row("thresholds-type", continual_env(), dict(reward_thresholds=[1.0]), "`reward_thresholds` must be a dict or None"),
    row("sequence-type", continual_env(), dict(sequence=tasks()), "`sequence` must be a TaskSequence or None"),
    row(
        "reference-min-length",
        continual_env(),
        dict(sequence=SEQUENCE, reference_min=[0.0]),
        "`reference_min` must have one entry per task (tasks 't0', 't1'): 2 entries, got 1",
    ),
    row(
        "reference-max-length",
        continual_env(),
        dict(sequence=SEQUENCE, reference_max=[1.0, 2.0, 3.0]),
        "`reference_max` must have one entry per task (tasks 't0', 't1'): 2 entries, got 3",
    ),
    row(
        "reference-min-nan",
        continual_env(),
        dict(sequence=SEQUENCE, reference_min=[0.0, NAN]),
        "`reference_min['t1']` must be a finite number, got nan",
    ),
    row(
        "reference-min-max",
        continual_env(),
        dict(sequence=SEQUENCE, reference_min=[1.0, 0.0], reference_max=[1.0, 1.0]),
        "Reference max must exceed reference min for every task: task 't0' has reference_min=1.0 and reference_max=1.0",
    ),
    row(
        "thresholds-unknown",
        continual_env(),
        dict(sequence=SEQUENCE, reward_thresholds={"nope": 1.0}),
        "reward_thresholds for unknown tasks ['nope'], tasks are ['t0', 't1']",
    ),
    row(
        "curves-unknown",
        continual_env(),
        dict(sequence=SEQUENCE, reference_curves={"nope": ([0], [0.0])}),
        "Reference curves for unknown tasks ['nope']",
    ),
    # refused when training starts, before the first step: what needs the env's sequence ...
    row(
        "env-sequence-reference-min-length",
        continual_env(),
        dict(reference_min=[0.0]),
        "`reference_min` must have one entry per task (tasks 't0', 't1'): 2 entries, got 1",
    ),
    row(
        "env-sequence-reference-max-length",
        continual_env(),
        dict(reference_max=[0.0, 1.0, 2.0]),
        "`reference_max` must have one entry per task (tasks 't0', 't1'): 2 entries, got 3",
    ),
    row(
        "env-sequence-thresholds-unknown",
        continual_env(),
        dict(reward_thresholds={"nope": 1.0}),
        "reward_thresholds for unknown tasks ['nope']",
    ),
    row(
        "env-sequence-curves-length",
        continual_env(),
        dict(reference_curves={"t0": ([0, 1], [0.0])}),
        "`reference_curves['t0']` must be (steps, returns) of the same length",
    ),
    # ... a callback and an env of different sequences ...
    row(
        "mismatch-tasks",
        continual_env(),
        dict(sequence=SEQUENCE_3),
        "the tasks differ (3 tasks ['t0', 't1', 't2'] against 2 tasks ['t0', 't1'])",
    ),
    row(
        "mismatch-cycles",
        continual_env(),
        dict(sequence=SEQUENCE_CYCLES),
        "their schedules differ (4 phases ending at 64 steps, n_cycles=2",
    ),
    row(
        "mismatch-env-kwargs",
        continual_env(),
        dict(sequence=SEQUENCE_KWARGS),
        "task 't0' has env_kwargs {'reward': 5.0} against {'reward': 0.0}",
    ),
    row(
        "mismatch-task-list",
        continual_env(list(SEQUENCE_3.tasks)),
        dict(sequence=SEQUENCE),
        "was built from the tasks ['t0', 't1', 't2']",
    ),
    row("not-continual", plain_env, dict(sequence=SEQUENCE), "is not a ContinualTaskEnv and cannot switch tasks"),
    row("no-sequence", plain_env, dict(), "ContinualTaskCallback needs `sequence`"),
    # ... a phase that could be skipped, and tasks that cannot be built
    row(
        "phase-shorter-than-a-step",
        continual_env(SEQUENCE_SHORT),
        dict(),
        "is shorter than one vectorized step of the training env (n_envs=2)",
    ),
    row(
        "task-cannot-be-built",
        continual_env(SEQUENCE_UNBUILDABLE),
        dict(eval_env_factory=lambda task_id: make_continual_vec_env(SEQUENCE, task_id=task_id)),
        "Task 't1' cannot build its environment 'CountingEnv' with env_kwargs {'bogus': 1}",
        TypeError,
    ),
    row(
        "task-with-other-spaces",
        continual_env(SEQUENCE_OTHER_SPACES),
        dict(eval_env_factory=lambda task_id: make_continual_vec_env(SEQUENCE, task_id=task_id)),
        "Task 't1' has observation_space Box(-1.0, 1.0, (3,), float32)",
    ),
    row(
        "eval-env-factory-result",
        continual_env(),
        dict(eval_env_factory=lambda task_id: CountingEnv()),
        "`eval_env_factory` must return a VecEnv, got",
    ),
    row(
        "eval-env-factory-other-spaces",
        continual_env(),
        dict(eval_env_factory=lambda task_id: make_vec_env(CountingEnv, env_kwargs={"obs_dim": 3})),
        "`eval_env_factory` returned for task 0 ('t0') an env with observation_space Box(-1.0, 1.0, (3,), float32), but "
        "the training env has Box(-1.0, 1.0, (2,), float32)",
    ),
    # ... and the curriculum's thresholds, once the env's sequence is known
    row(
        "env-sequence-thresholds-without-curriculum",
        continual_env(),
        dict(reward_thresholds={"t0": 1.0}),
        THRESHOLDS_WITHOUT_CURRICULUM,
    ),
    row("env-sequence-curriculum-without-thresholds", continual_env(), dict(curriculum=True), NO_THRESHOLD),
]


def tiny_model(env):
    return GTRPPO("MlpPolicy", env, n_steps=8, batch_size=8 * env.num_envs, n_epochs=1, seed=0, device="cpu")


@pytest.mark.parametrize(("make_env", "callback_kwargs", "error", "fragment"), CALLBACK_CASES)
def test_bad_callback_is_refused_before_the_first_step(make_env, callback_kwargs, error, fragment):
    model = tiny_model(make_env())
    CountingEnv.total_steps = 0
    with pytest.raises(error) as raised:
        model.learn(64, callback=ContinualTaskCallback(**callback_kwargs))
    assert fragment in str(raised.value)
    assert model.num_timesteps == 0
    assert CountingEnv.total_steps == 0  # not a single environment step, evaluation included


def test_an_unwritable_log_dir_is_refused_before_the_first_step(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    model = tiny_model(continual_env()())
    CountingEnv.total_steps = 0
    with pytest.raises(ValueError, match=r"`log_dir` .* cannot be created"):
        model.learn(64, callback=ContinualTaskCallback(log_dir=str(not_a_folder / "logs")))
    assert model.num_timesteps == 0 and CountingEnv.total_steps == 0


def test_a_callback_drives_one_learn_call_only():
    """A second learn() would mix into (or replace) the first run's phases, evaluations and metrics: refused at once."""
    callback = ContinualTaskCallback(SEQUENCE, eval_freq=0, n_eval_episodes=1)
    model = tiny_model(continual_env()())
    model.learn(SEQUENCE.total_timesteps, callback=callback)
    phases, metrics = list(callback.phases), callback.metrics
    CountingEnv.total_steps = 0
    with pytest.raises(ValueError, match="This ContinualTaskCallback already drove a learn\\(\\) call"):
        model.learn(SEQUENCE.total_timesteps, callback=callback)
    assert CountingEnv.total_steps == 0 and model.num_timesteps == 0
    assert callback.phases == phases and callback.metrics is metrics  # the first run's record is kept
    # A callback whose learn() was refused before training may be used again once fixed
    unused = ContinualTaskCallback(SEQUENCE, eval_freq=0, n_eval_episodes=1)
    with pytest.raises(ValueError, match="is not a ContinualTaskEnv"):
        tiny_model(plain_env()).learn(64, callback=unused)
    tiny_model(continual_env()()).learn(SEQUENCE.total_timesteps, callback=unused)
    assert [phase.task_id for phase in unused.phases] == [0, 1]


def test_a_learn_call_shorter_than_the_sequence_is_announced_and_its_metrics_say_what_ran():
    # 4 phases of 24 steps; learn(16) with rollouts of 8 steps x 2 envs stops inside phase 0
    sequence = TaskSequence(tasks(budget=24), n_cycles=2)
    callback = ContinualTaskCallback(sequence, eval_freq=0, n_eval_episodes=1)
    message = (
        r"learn\(\) stops at step 16, before the end of .* at step 96: phase 0 \('t0'\) stops at step 16 instead of 24; "
        r"phase\(s\) 1 \('t1', steps 24-48\), 2 \('t0', steps 48-72\), 3 \('t1', steps 72-96\) will not run"
    )
    with pytest.warns(UserWarning, match=message):
        tiny_model(continual_env(sequence)()).learn(16, callback=callback)
    assert callback.phases == [Phase(0, 0, 16)]
    assert [phase["index"] for phase in callback.metrics["phases_not_run"]] == [1, 2, 3]
    assert [task["trained"] for task in callback.metrics["tasks"]] == [True, False]
    assert callback.metrics["tasks"][1]["forgetting"] is None  # no metric of a task never trained


def test_the_same_sequence_built_twice_is_accepted(tmp_path):
    """The sequence check compares contents, not objects: a suite built twice (as the benchmark runner does) trains."""
    env = make_continual_vec_env(TaskSequence(tasks()), n_envs=2, seed=0)
    callback = ContinualTaskCallback(TaskSequence(tasks()), eval_freq=0, n_eval_episodes=1, log_dir=str(tmp_path))
    model = tiny_model(env)
    model.learn(SEQUENCE.total_timesteps, callback=callback)
    assert model.num_timesteps == SEQUENCE.total_timesteps
    assert [phase.task_id for phase in callback.phases] == [0, 1]
    assert (tmp_path / "evaluations.csv").is_file() and (tmp_path / "metrics.json").is_file()


def test_one_given_reference_beyond_every_return_scores_instead_of_failing():
    """Found only at the end of a run, an empty span would have lost it: all below a given min is 0, above a given max 1."""
    returns = np.array([[-5.0, 5.0], [-4.0, 6.0]])
    np.testing.assert_allclose(normalize_returns(returns, reference_min=[0.0, None]), [[0.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(normalize_returns(returns, reference_max=[None, 1.0]), [[0.0, 1.0], [1.0, 1.0]])


def test_phases_are_still_named_tuples():
    phase = Phase(1, 0, 10)
    assert phase == (1, 0, 10) and phase.task_id == 1 and repr(phase) == "Phase(task_id=1, start=0, end=10)"
    assert Phase(np.int64(0), np.int64(0), np.int64(5)) == (0, 0, 5)
