"""
Named continual-learning suites: functions returning a :class:`~sb3_gtr.continual.tasks.TaskSequence`,
registered by name in :data:`SUITES` and built with :func:`make_suite`.

A suite function takes ``scale`` (multiplies every task's step budget) and ``n_cycles`` (``None``: the
suite's default number of passes) plus suite-specific keyword arguments. To add a suite, write such a
function and register it: ``SUITES["my_suite"] = my_suite``.

The suites of the GTR paper (Section 5.1 and Appendix C):

=========================  ======================================================  ======  =============
name                       tasks                                                   cycles  steps per task
=========================  ======================================================  ======  =============
``flip``                   HalfCheetah forward, backward                           3       200k
``dmc-walker``             dm_control walker stand, walk, run                      2       1M
``dmc-dog``                dm_control dog stand, walk, run, trot                   2       1M
``mujoco-cross``           HalfCheetah-v5, Walker2d-v5, Ant-v5, Humanoid-v5        3       1M
``mujoco-cross-reverse``   Humanoid-v5, Ant-v5, Walker2d-v5, HalfCheetah-v5        3       1M
``metaworld``              door open, door close, faucet open, faucet close (v3)   3       1M
``procgen-starpilot``      starpilot easy, hard, extreme                           1       25M
=========================  ======================================================  ======  =============

Fast suites, which a CPU trains in minutes (:func:`action_reversal_suite`; budgets calibrated on PPO):

================================  =====================================================  ======  =============
name                              tasks                                                  cycles  steps per task
================================  =====================================================  ======  =============
``cartpole-reversed``             CartPole-v1, actions as they are / swapped             3       51,200
``pendulum-reversed``             Pendulum-v1, torque as it is / negated                 3       65,536
``inverted-pendulum-reversed``    InvertedPendulum-v5, force as it is / negated          3       30,720
================================  =====================================================  ======  =============

The paper's per-task budgets were lost from Appendix B.2 (the table says "per task" without the number);
each suite's docstring says what is used instead and why. Each sequence also carries the recommended
``policy``, ``policy_kwargs`` and ``normalize_kwargs`` (for ``VecNormalize``) of the paper's set-up.
The dm_control, Meta-World and procgen suites import their simulator only when an environment is built.
"""

from collections.abc import Callable, Sequence
from typing import Any, Optional

from torch import nn

from sb3_gtr.common.checks import check_bool, check_choice, check_finite_float, check_keywords, check_positive_int, check_str
from sb3_gtr.continual.adapters.dm_control import make_dm_control_env
from sb3_gtr.continual.adapters.metaworld import make_metaworld_env
from sb3_gtr.continual.adapters.procgen import (
    PROCGEN_DISTRIBUTION_MODES,
    PROCGEN_ENV_KWARGS,
    PROCGEN_EXTREME_GAMES,
    PROCGEN_GAMES,
    make_procgen_env,
)
from sb3_gtr.continual.cross_embodiment import pad_task_spaces
from sb3_gtr.continual.tasks import Task, TaskSequence
from sb3_gtr.continual.transforms import make_transformed_env
from sb3_gtr.networks.impala_cnn import ImpalaCnnExtractor
from sb3_gtr.networks.simba import SimbaActorCriticPolicy
from sb3_gtr.networks.task_routed import TaskRoutedActorCriticPolicy


def _check_suite_arguments(scale: Any, n_cycles: Any, timesteps_per_task: Any) -> None:
    # Checked first, before a suite builds anything (mujoco-cross builds every body to read its sizes).
    check_finite_float("scale", scale, low=0.0, low_inclusive=False)
    if n_cycles is not None:
        check_positive_int("n_cycles", n_cycles)
    check_positive_int("timesteps_per_task", timesteps_per_task)


def _check_names(name: str, values: Any) -> list[str]:
    # A lone string would be split into its letters, one task per letter.
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"`{name}` must be a non-empty list of strings, got {values!r}")
    return [check_str(name, value) for value in values]


#: Steps per task of the ``flip`` suite: 200k steps is about where PPO's HalfCheetah-v5 return stops
#: rising quickly, so each phase has time to learn its direction before the switch undoes it.
FLIP_TIMESTEPS_PER_TASK = 200_000
#: Passes over (forward, backward) in the ``flip`` suite: three cycles show whether the second and third
#: visits of a direction are recovered faster than the first was learned (1.2M steps in all at scale 1).
FLIP_N_CYCLES = 3


def flip_suite(
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    env_id: str = "HalfCheetah-v5",
    timesteps_per_task: int = FLIP_TIMESTEPS_PER_TASK,
    **env_kwargs: Any,
) -> TaskSequence:
    """
    The behaviour-flip suite: HalfCheetah running forward, then backward, alternating. Both tasks share
    dynamics, observations and actions; only the sign of the velocity reward changes
    (``forward_reward_weight=+1`` / ``-1``; the control cost is unchanged), and the observation does not
    say which direction is rewarded, so the policy must re-adapt at every switch. CPU-cheap: no
    rendering, one MuJoCo model.

    Defaults: :data:`FLIP_TIMESTEPS_PER_TASK` steps per task, :data:`FLIP_N_CYCLES` cycles (1.2M steps).

    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of (forward, backward) cycles (``None``: :data:`FLIP_N_CYCLES`)
    :param env_id: A gymnasium MuJoCo locomotion id accepting ``forward_reward_weight`` (HalfCheetah-v5, ...)
    :param timesteps_per_task: Steps per task before ``scale``
    :param env_kwargs: Extra keyword arguments of the environment (``ctrl_cost_weight`` ...)
    :return: The task sequence
    """
    _check_suite_arguments(scale, n_cycles, timesteps_per_task)
    check_str("env_id", env_id)
    tasks = [
        Task(name, env_id, {**env_kwargs, "forward_reward_weight": weight}, timesteps_per_task)
        for name, weight in (("forward", 1.0), ("backward", -1.0))
    ]
    return TaskSequence(tasks, n_cycles=FLIP_N_CYCLES if n_cycles is None else n_cycles, scale=scale, name="flip")


#: Steps per task of the dm_control suites. Appendix B.2 lost the number; 1M steps is the usual PPO budget for
#: one DMC locomotion task (and what the paper's "completed within 12 hours" on one GPU allows for 8 phases of
#: dog at about 1,000 simulator steps per second).
DMC_TIMESTEPS_PER_TASK = 1_000_000
#: Passes over the tasks of the dm_control suites: "repeated for two cycles" (Section 5.1).
DMC_N_CYCLES = 2
#: The walker tasks, in training order (Section 5.1).
DMC_WALKER_TASKS = ("stand", "walk", "run")
#: The dog tasks, in training order (Section 5.1).
DMC_DOG_TASKS = ("stand", "walk", "run", "trot")


def dm_control_suite(
    domain_name: str,
    task_names: Sequence[str],
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    timesteps_per_task: int = DMC_TIMESTEPS_PER_TASK,
    name: Optional[str] = None,
    **env_kwargs: Any,
) -> TaskSequence:
    """
    Tasks of one dm_control domain in sequence (same body, observations and actions; the reward changes), through
    shimmy, with flat ``float32`` observations. Episodes last 1000 steps. Recommended: the SimBa policy (the
    paper's network for these tasks, Section 5.1) and ``VecNormalize`` of observations and rewards.

    :param domain_name: The dm_control domain (``"walker"``, ``"dog"`` ...)
    :param task_names: The tasks of that domain, in training order
    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of passes over the tasks (``None``: :data:`DMC_N_CYCLES`)
    :param timesteps_per_task: Steps per task before ``scale``
    :param name: Name of the sequence (``None``: ``"dmc-<domain>"``)
    :param env_kwargs: Extra keyword arguments of ``gymnasium.make`` (``render_mode``, ``task_kwargs`` ...)
    :return: The task sequence
    """
    _check_suite_arguments(scale, n_cycles, timesteps_per_task)
    check_str("domain_name", domain_name)
    task_names = _check_names("task_names", task_names)
    tasks = [
        Task(
            task_name,
            make_dm_control_env,
            {**env_kwargs, "domain_name": domain_name, "task_name": task_name},
            timesteps_per_task,
        )
        for task_name in task_names
    ]
    return TaskSequence(
        tasks,
        n_cycles=DMC_N_CYCLES if n_cycles is None else n_cycles,
        scale=scale,
        name=name or f"dmc-{domain_name}",
        policy=SimbaActorCriticPolicy,
        normalize_kwargs={"norm_obs": True, "norm_reward": True},
    )


def dmc_walker_suite(scale: float = 1.0, n_cycles: Optional[int] = None, **kwargs: Any) -> TaskSequence:
    """
    dm_control walker: stand -> walk -> run, two cycles (Section 5.1), :data:`DMC_TIMESTEPS_PER_TASK` steps per
    task (6M steps at scale 1). Observations: 24 floats; actions: 6.

    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of cycles (``None``: :data:`DMC_N_CYCLES`)
    :param kwargs: Other arguments of :func:`dm_control_suite` (``timesteps_per_task``, environment arguments)
    :return: The task sequence
    """
    return dm_control_suite("walker", DMC_WALKER_TASKS, scale=scale, n_cycles=n_cycles, **kwargs)


def dmc_dog_suite(scale: float = 1.0, n_cycles: Optional[int] = None, **kwargs: Any) -> TaskSequence:
    """
    dm_control dog: stand -> walk -> run -> trot, two cycles (Section 5.1), :data:`DMC_TIMESTEPS_PER_TASK` steps
    per task (8M steps at scale 1). Observations: 223 floats; actions: 38. Building a dog environment takes a
    few seconds (its model is large).

    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of cycles (``None``: :data:`DMC_N_CYCLES`)
    :param kwargs: Other arguments of :func:`dm_control_suite` (``timesteps_per_task``, environment arguments)
    :return: The task sequence
    """
    return dm_control_suite("dog", DMC_DOG_TASKS, scale=scale, n_cycles=n_cycles, **kwargs)


#: The MuJoCo-v5 bodies of the cross-embodiment suites, in training order (Section 5.1).
MUJOCO_CROSS_ENV_IDS = ("HalfCheetah-v5", "Walker2d-v5", "Ant-v5", "Humanoid-v5")
#: Steps per task of the cross-embodiment suites: the usual 1M-step MuJoCo budget of PPO (Appendix B.2 lost
#: the paper's number).
MUJOCO_CROSS_TIMESTEPS_PER_TASK = 1_000_000
#: Passes over the bodies: "trained sequentially over three cycles" (Section 5.1).
MUJOCO_CROSS_N_CYCLES = 3


def mujoco_cross_suite(
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    reverse: bool = False,
    env_ids: Sequence[str] = MUJOCO_CROSS_ENV_IDS,
    timesteps_per_task: int = MUJOCO_CROSS_TIMESTEPS_PER_TASK,
    **env_kwargs: Any,
) -> TaskSequence:
    """
    Cross-embodiment MuJoCo: HalfCheetah-v5 -> Walker2d-v5 -> Ant-v5 -> Humanoid-v5 (or the reverse), three
    cycles (Section 5.1), :data:`MUJOCO_CROSS_TIMESTEPS_PER_TASK` steps per task (12M steps at scale 1). Task
    names are the ids without their version.

    The bodies have different observation (17, 17, 105, 348 floats) and action (6, 6, 8, 17) sizes: the tasks are
    given common spaces by :func:`~sb3_gtr.continual.cross_embodiment.pad_task_spaces` (a ``Dict`` of the
    zero-padded observation and the task id; padded actions in ``[-1, 1]``, cut to each body's size and scaled to
    its bounds before it steps). Building the suite builds each environment once to read its sizes.
    Recommended: :class:`~sb3_gtr.networks.task_routed.TaskRoutedActorCriticPolicy` (per-task input layers and
    actor heads around SimBa trunks; it reads each body's sizes from the observation space, which records them) and
    ``VecNormalize`` of the observation vector only (``norm_obs_keys=["observation"]``) and of the rewards.

    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of cycles (``None``: :data:`MUJOCO_CROSS_N_CYCLES`)
    :param reverse: Train the bodies in reverse order (the ``mujoco-cross-reverse`` suite)
    :param env_ids: Gymnasium ids of the bodies, in forward order
    :param timesteps_per_task: Steps per task before ``scale``
    :param env_kwargs: Extra keyword arguments of ``gymnasium.make``, for every body (``render_mode`` ...)
    :return: The task sequence
    """
    _check_suite_arguments(scale, n_cycles, timesteps_per_task)
    env_ids = _check_names("env_ids", env_ids)
    env_ids = list(reversed(env_ids)) if check_bool("reverse", reverse) else env_ids
    tasks = [Task(env_id.split("-v")[0], env_id, dict(env_kwargs), timesteps_per_task) for env_id in env_ids]
    padded = pad_task_spaces(tasks)
    return TaskSequence(
        padded.tasks,
        n_cycles=MUJOCO_CROSS_N_CYCLES if n_cycles is None else n_cycles,
        scale=scale,
        name="mujoco-cross-reverse" if reverse else "mujoco-cross",
        policy=TaskRoutedActorCriticPolicy,
        normalize_kwargs={"norm_obs": True, "norm_reward": True, "norm_obs_keys": ["observation"]},
    )


def mujoco_cross_reverse_suite(scale: float = 1.0, n_cycles: Optional[int] = None, **kwargs: Any) -> TaskSequence:
    """
    Cross-embodiment MuJoCo in reverse order: Humanoid-v5 -> Ant-v5 -> Walker2d-v5 -> HalfCheetah-v5, three cycles
    (see :func:`mujoco_cross_suite`).

    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of cycles (``None``: :data:`MUJOCO_CROSS_N_CYCLES`)
    :param kwargs: Other arguments of :func:`mujoco_cross_suite`
    :return: The task sequence
    """
    return mujoco_cross_suite(scale=scale, n_cycles=n_cycles, reverse=True, **kwargs)


#: The Meta-World v3 tasks, in training order: door open -> close, faucet open -> close (Appendix C).
METAWORLD_TASKS = ("door-open-v3", "door-close-v3", "faucet-open-v3", "faucet-close-v3")
#: Steps per Meta-World task: 1M, Continual World's per-task budget (the paper gives none).
METAWORLD_TIMESTEPS_PER_TASK = 1_000_000
#: Passes over the Meta-World tasks: "repeated for three cycles" (Appendix C).
METAWORLD_N_CYCLES = 3


def metaworld_suite(
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    env_names: Sequence[str] = METAWORLD_TASKS,
    timesteps_per_task: int = METAWORLD_TIMESTEPS_PER_TASK,
    **env_kwargs: Any,
) -> TaskSequence:
    """
    Meta-World+ (v3): door open -> door close -> faucet open -> faucet close, three cycles (Appendix C),
    :data:`METAWORLD_TIMESTEPS_PER_TASK` steps per task (12M steps at scale 1). Each task is a
    ``Meta-World/MT1`` environment (object and goal positions drawn from 50 fixed variations at each reset;
    500-step episodes; ``info["is_success"]`` at the end of an episode). Task names are the Meta-World names
    without ``-v3``. Same sawyer arm, observations (39 floats) and actions (4) for every task.

    Recommended: a tanh MLP (Appendix C), 256 units per layer as Meta-World policies usually have (wider than
    SB3's 64-unit default), and ``VecNormalize`` of observations and rewards.

    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of cycles (``None``: :data:`METAWORLD_N_CYCLES`)
    :param env_names: The Meta-World v3 task names, in training order
    :param timesteps_per_task: Steps per task before ``scale``
    :param env_kwargs: Extra keyword arguments of :func:`~sb3_gtr.continual.adapters.metaworld.make_metaworld_env`
    :return: The task sequence
    """
    _check_suite_arguments(scale, n_cycles, timesteps_per_task)
    env_names = _check_names("env_names", env_names)
    tasks = [
        Task(env_name.removesuffix("-v3"), make_metaworld_env, {**env_kwargs, "env_name": env_name}, timesteps_per_task)
        for env_name in env_names
    ]
    return TaskSequence(
        tasks,
        n_cycles=METAWORLD_N_CYCLES if n_cycles is None else n_cycles,
        scale=scale,
        name="metaworld",
        policy="MlpPolicy",
        policy_kwargs={"activation_fn": nn.Tanh, "net_arch": {"pi": [256, 256], "vf": [256, 256]}},
        normalize_kwargs={"norm_obs": True, "norm_reward": True},
    )


#: The three stages of the starpilot curriculum, from the easiest: procgen's distribution modes.
PROCGEN_STAGES = ("easy", "hard", "extreme")
#: Steps per stage: 25M, the budget of one Procgen game in easy mode (Cobbe et al., 2020); the paper compares
#: with PPO trained from scratch on each stage, which solves it (Section 3), and gives no number.
PROCGEN_TIMESTEPS_PER_TASK = 25_000_000
#: Passes over the stages: one, as in the paper's curriculum (Level 1 -> Level 2 -> Level 3).
PROCGEN_N_CYCLES = 1


def procgen_starpilot_suite(
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    stages: Sequence[str] = PROCGEN_STAGES,
    timesteps_per_task: int = PROCGEN_TIMESTEPS_PER_TASK,
    env_name: str = "starpilot",
    **env_kwargs: Any,
) -> TaskSequence:
    """
    Procgen starpilot with difficulty rising over three stages (Sections 3 and Appendix C): procgen's ``easy``,
    ``hard`` then ``extreme`` distribution modes (faster and more numerous enemies and bullets; ``extreme`` exists
    for starpilot), each over unlimited levels (``num_levels=0``; pass ``num_levels``/``start_level`` to fix a level
    set). The game, the 64x64x3 ``uint8`` observations and the 15 actions are the same in every stage, so the
    policy has to notice the change from the frames. :data:`PROCGEN_TIMESTEPS_PER_TASK` steps per stage (75M
    steps at scale 1). Needs the ``procgen-mirror`` package (see :mod:`sb3_gtr.continual.adapters.procgen`).

    Recommended: ``CnnPolicy`` with the IMPALA CNN (:class:`~sb3_gtr.networks.impala_cnn.ImpalaCnnExtractor`, 256
    features, heads directly on them: Appendix C), and ``VecNormalize`` of the rewards only (not of the images).

    :param scale: Factor applied to the steps per stage
    :param n_cycles: Number of passes over the stages (``None``: :data:`PROCGEN_N_CYCLES`)
    :param stages: The distribution modes of the stages, in training order
    :param timesteps_per_task: Steps per stage before ``scale``
    :param env_name: The procgen game
    :param env_kwargs: Extra keyword arguments of :class:`~sb3_gtr.continual.adapters.procgen.ProcgenGymnasiumEnv`
    :return: The task sequence
    """
    _check_suite_arguments(scale, n_cycles, timesteps_per_task)
    stages = [check_choice("stages", stage, PROCGEN_DISTRIBUTION_MODES) for stage in _check_names("stages", stages)]
    check_choice("env_name", env_name, PROCGEN_GAMES)
    if "extreme" in stages and env_name not in PROCGEN_EXTREME_GAMES:
        raise ValueError(f"procgen has no 'extreme' mode for {env_name!r}, only for {PROCGEN_EXTREME_GAMES}")
    check_keywords("procgen_starpilot_suite", env_kwargs, PROCGEN_ENV_KWARGS)
    env_kwargs.setdefault("num_levels", 0)
    env_kwargs.setdefault("start_level", 0)
    tasks = [
        Task(stage, make_procgen_env, {**env_kwargs, "env_name": env_name, "distribution_mode": stage}, timesteps_per_task)
        for stage in stages
    ]
    return TaskSequence(
        tasks,
        n_cycles=PROCGEN_N_CYCLES if n_cycles is None else n_cycles,
        scale=scale,
        name=f"procgen-{env_name}",
        policy="CnnPolicy",
        policy_kwargs={"features_extractor_class": ImpalaCnnExtractor, "features_extractor_kwargs": {}, "net_arch": []},
        normalize_kwargs={"norm_obs": False, "norm_reward": True},
    )


#: The fast suites' tasks: the task as it is, then with its actions reversed (see
#: :func:`~sb3_gtr.continual.transforms.make_transformed_env`).
REVERSAL_TASKS = ("normal", "reversed")
#: Passes over (normal, reversed) in the fast suites: three cycles, six phases switching back and forth.
REVERSAL_N_CYCLES = 3
#: The fast suites: name -> (gymnasium id, steps per task, return threshold of a solved task). The budgets and
#: thresholds are calibrated so that PPO trained from scratch reaches the threshold on each task within its budget
#: (docs/benchmarks/fast_suites.rst says how, with the seeds and the figures).
REVERSAL_SUITES: dict[str, tuple[str, int, float]] = {
    "cartpole-reversed": ("CartPole-v1", 51_200, 450.0),
    "pendulum-reversed": ("Pendulum-v1", 65_536, -250.0),
    "inverted-pendulum-reversed": ("InvertedPendulum-v5", 30_720, 950.0),
}


def action_reversal_suite(
    name: str,
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    tasks: Sequence[str] = REVERSAL_TASKS,
    timesteps_per_task: Optional[int] = None,
    **env_kwargs: Any,
) -> TaskSequence:
    """
    A fast suite of :data:`REVERSAL_SUITES`: one task as it is (``"normal"``) and with its actions reversed
    (``"reversed"``: a discrete action ``a`` of ``n`` is executed as ``n - 1 - a``, a continuous action ``a`` as
    ``-a``), alternating for :data:`REVERSAL_N_CYCLES` cycles. The observation does not say which mapping is on, and
    a switch demands the opposite behaviour (to push the cart the other way, to flip the sign of the torque), not
    just a new reading of the observation. Each task's ``reward_threshold`` is the suite's solved return.

    :param name: A key of :data:`REVERSAL_SUITES`
    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of (normal, reversed) cycles (``None``: :data:`REVERSAL_N_CYCLES`)
    :param tasks: The tasks, in order: both (the default), or one of them for single-task reference runs
    :param timesteps_per_task: Steps per task before ``scale`` (``None``: the suite's calibrated budget)
    :param env_kwargs: Extra keyword arguments of ``gymnasium.make`` (``max_episode_steps`` ...)
    :return: The task sequence
    """
    check_choice("name", name, tuple(REVERSAL_SUITES))
    env_id, budget, threshold = REVERSAL_SUITES[name]
    timesteps_per_task = budget if timesteps_per_task is None else timesteps_per_task
    _check_suite_arguments(scale, n_cycles, timesteps_per_task)
    task_names = _check_names("tasks", tasks)
    for task_name in task_names:
        check_choice("tasks", task_name, REVERSAL_TASKS)
    actions = {"normal": "identity", "reversed": "reversed"}
    sequence_tasks = [
        Task(
            task_name,
            make_transformed_env,
            {**env_kwargs, "env_id": env_id, "actions": actions[task_name]},
            timesteps_per_task,
            reward_threshold=threshold,
        )
        for task_name in task_names
    ]
    return TaskSequence(sequence_tasks, n_cycles=REVERSAL_N_CYCLES if n_cycles is None else n_cycles, scale=scale, name=name)


def cartpole_reversed_suite(scale: float = 1.0, n_cycles: Optional[int] = None, **kwargs: Any) -> TaskSequence:
    """
    CartPole-v1 with its two actions swapped every phase (see :func:`action_reversal_suite`): the discrete suite.

    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of (normal, reversed) cycles (``None``: :data:`REVERSAL_N_CYCLES`)
    :param kwargs: Other arguments of :func:`action_reversal_suite`
    :return: The task sequence
    """
    return action_reversal_suite("cartpole-reversed", scale=scale, n_cycles=n_cycles, **kwargs)


def pendulum_reversed_suite(scale: float = 1.0, n_cycles: Optional[int] = None, **kwargs: Any) -> TaskSequence:
    """
    Pendulum-v1 with its torque negated every phase (see :func:`action_reversal_suite`): the policy mean has to cross
    to the opposite sign.

    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of (normal, reversed) cycles (``None``: :data:`REVERSAL_N_CYCLES`)
    :param kwargs: Other arguments of :func:`action_reversal_suite`
    :return: The task sequence
    """
    return action_reversal_suite("pendulum-reversed", scale=scale, n_cycles=n_cycles, **kwargs)


def inverted_pendulum_reversed_suite(scale: float = 1.0, n_cycles: Optional[int] = None, **kwargs: Any) -> TaskSequence:
    """
    MuJoCo InvertedPendulum-v5 with its cart force negated every phase (see :func:`action_reversal_suite`).

    :param scale: Factor applied to the steps per task
    :param n_cycles: Number of (normal, reversed) cycles (``None``: :data:`REVERSAL_N_CYCLES`)
    :param kwargs: Other arguments of :func:`action_reversal_suite`
    :return: The task sequence
    """
    return action_reversal_suite("inverted-pendulum-reversed", scale=scale, n_cycles=n_cycles, **kwargs)


#: The named suites: name -> ``function(scale, n_cycles, **kwargs) -> TaskSequence``.
SUITES: dict[str, Callable[..., TaskSequence]] = {
    "flip": flip_suite,
    "dmc-walker": dmc_walker_suite,
    "dmc-dog": dmc_dog_suite,
    "mujoco-cross": mujoco_cross_suite,
    "mujoco-cross-reverse": mujoco_cross_reverse_suite,
    "metaworld": metaworld_suite,
    "procgen-starpilot": procgen_starpilot_suite,
    "cartpole-reversed": cartpole_reversed_suite,
    "pendulum-reversed": pendulum_reversed_suite,
    "inverted-pendulum-reversed": inverted_pendulum_reversed_suite,
}


def make_suite(name: str, scale: float = 1.0, n_cycles: Optional[int] = None, **kwargs: Any) -> TaskSequence:
    """
    Build a named continual-learning suite.

    :param name: A key of :data:`SUITES`
    :param scale: Factor applied to every task's step budget (``0.01`` for a smoke run)
    :param n_cycles: Number of passes over the tasks (``None``: the suite's default)
    :param kwargs: Suite-specific keyword arguments; those a suite does not take itself go to its environments,
        which refuse unknown ones when the first environment is built
        (:func:`~sb3_gtr.continual.vec_env.make_continual_vec_env`), before any training
    :return: The task sequence
    """
    if not isinstance(name, str) or name not in SUITES:
        raise ValueError(f"Unknown continual suite {name!r}, available suites: {', '.join(sorted(SUITES))}")
    check_finite_float("scale", scale, low=0.0, low_inclusive=False)
    if n_cycles is not None:
        check_positive_int("n_cycles", n_cycles)
    return SUITES[name](scale=scale, n_cycles=n_cycles, **kwargs)
