"""
The checks of the arguments ``GTRPPO`` and ``RecurrentGTRPPO`` take: the GTR arguments and those shared
with PPO, which SB3 checks late (inside training, with a bare ``assert``) or not at all. Each raises a
``ValueError`` naming the argument and what it may be. Schedules are checked at
:data:`SCHEDULE_CHECK_POINTS`; :class:`~sb3_gtr.common.gtr_mixin.GTRMixin` checks their values again at
every update.
"""

import math
import os
import warnings
from collections.abc import Mapping
from typing import Any, Optional, Union

import numpy as np
import torch as th
from stable_baselines3.common.buffers import BaseBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import Schedule

from sb3_gtr.common.checks import (
    check_bool,
    check_finite_float,
    check_optional_mapping,
    check_positive_int,
    describe,
    is_int,
)
from sb3_gtr.common.penalties import PENALTY_NAMES
from sb3_gtr.common.trust_region import ADVANTAGE_WEIGHTED

#: Points of progress remaining (1: start of training, 0: the last update) at which a schedule is checked
#: before training; :meth:`sb3_gtr.common.gtr_mixin.GTRMixin.train` checks the value of every update as well.
SCHEDULE_CHECK_POINTS = tuple(np.linspace(1.0, 0.0, 101))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def as_float_or_schedule(name: str, value: Union[float, Schedule]) -> Union[float, Schedule]:
    """
    A number as a Python ``float`` (SB3's ``FloatSchedule`` rejects ``np.float32``), a schedule as it is.

    :param name: Name of the argument, for the error message
    :param value: A number or a schedule (a callable of the progress remaining)
    :return: ``float(value)`` or ``value``
    """
    if _is_number(value):
        return float(value)
    if callable(value):
        return value
    raise ValueError(f"`{name}` must be a float or a schedule (a function of the progress remaining), got {value!r}.")


def check_value(name: str, value: Any, allow_zero: bool = False, progress: Optional[float] = None) -> None:
    """
    Check one value of an argument against ``> 0`` (or ``>= 0``) and finiteness.

    :param name: Name of the argument, for the error message
    :param value: The value (of a float argument, or of a schedule at ``progress``)
    :param allow_zero: Whether 0 is allowed
    :param progress: Progress remaining at which a schedule gave ``value`` (``None``: not a schedule)
    """
    bound = "non-negative" if allow_zero else "strictly positive"
    where = "" if progress is None else f" at progress remaining {progress:.3g} (1: start of training, 0: end)"
    if not _is_number(value):
        raise ValueError(f"`{name}` must be a {bound} float or a schedule returning one, got {value!r}{where}.")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"`{name}` must be {bound} and finite, got {float(value)}{where}.")


def _check_positive_schedule(
    name: str, value: Union[float, Schedule], allow_zero: bool = False, allow_zero_at_end: bool = False
) -> None:
    """
    Check a float, or a schedule at each of :data:`SCHEDULE_CHECK_POINTS`, against ``> 0`` (or ``>= 0``).

    The last update of ``learn()`` runs at progress remaining 0, so the end of a schedule counts.
    """
    value = as_float_or_schedule(name, value)
    if not callable(value):
        check_value(name, value, allow_zero)
        return
    for progress in SCHEDULE_CHECK_POINTS:
        try:
            current = value(progress)
        except Exception as error:
            raise ValueError(f"The `{name}` schedule failed at progress remaining {progress:.3g}: {error!r}.") from error
        check_value(name, current, allow_zero or (allow_zero_at_end and progress == 0.0), progress)


def check_gtr_arguments(
    penalty: str,
    sigma: Union[float, Schedule],
    penalty_coef: Union[str, float, Schedule],
    mixture_anchor: bool,
    anchor_window: Optional[int],
    clip_surrogate: bool,
    clip_range: Union[float, Schedule],
    n_epochs: int,
) -> None:
    """
    Check the GTR arguments, raising a ``ValueError`` that names the argument and its allowed values.

    :param penalty: Trust-region penalty
    :param sigma: Width of the Gaussian kernel
    :param penalty_coef: ``"advantage"`` or a non-negative float (or schedule)
    :param mixture_anchor: Whether to use the mixture anchor
    :param anchor_window: Number of most recent snapshots in the mixture, ``None`` for all
    :param clip_surrogate: Whether the surrogate is clipped
    :param clip_range: PPO's clip range
    :param n_epochs: Number of epochs per rollout
    """
    if penalty not in PENALTY_NAMES:
        raise ValueError(f"Unknown `penalty` {penalty!r}: it must be one of {', '.join(map(repr, PENALTY_NAMES))}.")
    _check_positive_schedule("sigma", sigma)
    if isinstance(penalty_coef, str):
        if penalty_coef != ADVANTAGE_WEIGHTED:
            raise ValueError(
                f"Unknown `penalty_coef` {penalty_coef!r}: it must be {ADVANTAGE_WEIGHTED!r} (|A| / clip_range), "
                "a non-negative float or a schedule."
            )
    else:
        _check_positive_schedule("penalty_coef", penalty_coef, allow_zero=True)
    check_bool("mixture_anchor", mixture_anchor)
    check_bool("clip_surrogate", clip_surrogate)
    if anchor_window is not None and (
        isinstance(anchor_window, bool) or not isinstance(anchor_window, (int, np.integer)) or anchor_window < 1
    ):
        raise ValueError(f"`anchor_window` must be None (all snapshots) or an integer >= 1, got {anchor_window!r}.")
    advantage_weighted = penalty != "none" and penalty_coef == ADVANTAGE_WEIGHTED
    try:
        # The advantage-weighted coefficient |A| / clip_range needs clip_range > 0 in every update, the last included.
        _check_positive_schedule("clip_range", clip_range, allow_zero_at_end=not advantage_weighted)
    except ValueError as error:
        if advantage_weighted and callable(clip_range):
            raise ValueError(
                f"{error} The advantage-weighted penalty coefficient |A| / clip_range needs clip_range > 0 up to the "
                "last update (progress 0): give a linear schedule a floor (e.g. lin_0.2 -> 0.2 * p + 0.02) "
                "or use a fixed `penalty_coef`."
            ) from None
        raise
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, (int, np.integer)) or n_epochs < 1:
        raise ValueError(f"`n_epochs` must be an integer >= 1, got {n_epochs!r}.")


def check_ppo_arguments(
    learning_rate: Union[float, Schedule],
    n_steps: int,
    batch_size: Optional[int],
    gamma: float,
    gae_lambda: float,
    clip_range_vf: Union[float, Schedule, None],
    normalize_advantage: bool,
    ent_coef: float,
    vf_coef: float,
    max_grad_norm: float,
    target_kl: Optional[float],
    allow_full_batch: bool = False,
) -> None:
    """
    Check the arguments GTR shares with PPO, which SB3 checks late (inside training) or not at all,
    raising a ``ValueError`` that names the argument and its allowed values.

    :param learning_rate: Learning rate (float or schedule): non-negative, strictly positive at the start
    :param n_steps: Steps per environment and rollout, an integer >= 1
    :param batch_size: Minibatch size, an integer >= 1 (>= 2 when advantages are normalised)
    :param gamma: Discount factor in [0, 1]
    :param gae_lambda: GAE factor in [0, 1]
    :param clip_range_vf: ``None`` or a strictly positive float (or schedule)
    :param normalize_advantage: Whether advantages are normalised per minibatch
    :param ent_coef: Entropy coefficient, a finite float
    :param vf_coef: Value-loss coefficient, a non-negative float
    :param max_grad_norm: Gradient-norm bound, strictly positive (``inf``: no clipping)
    :param target_kl: ``None`` or a strictly positive float
    :param allow_full_batch: Whether ``batch_size=None`` (the whole rollout, as in ``RecurrentPPO``) is allowed
    """
    _check_positive_schedule("learning_rate", learning_rate, allow_zero=True)
    start = learning_rate(1.0) if callable(learning_rate) else learning_rate
    if start == 0:
        raise ValueError(f"`learning_rate` must be strictly positive at the start of training, got {start!r}.")
    if not is_int(n_steps) or n_steps < 1:
        raise ValueError(f"`n_steps` must be an integer >= 1 (steps per environment and rollout), got {n_steps!r}.")
    min_batch_size = 2 if normalize_advantage else 1
    if not (batch_size is None and allow_full_batch) and (not is_int(batch_size) or batch_size < min_batch_size):
        reason = " (advantages are normalised per minibatch, see normalize_advantage)" if normalize_advantage else ""
        full = " or None (the whole rollout)" if allow_full_batch else ""
        raise ValueError(f"`batch_size` must be an integer >= {min_batch_size}{reason}{full}, got {batch_size!r}.")
    check_finite_float("gamma", gamma, 0.0, 1.0)
    check_finite_float("gae_lambda", gae_lambda, 0.0, 1.0)
    if clip_range_vf is not None:
        _check_positive_schedule("clip_range_vf", clip_range_vf)
    check_bool("normalize_advantage", normalize_advantage)
    check_finite_float("ent_coef", ent_coef)
    check_value("vf_coef", vf_coef, allow_zero=True)
    if not _is_number(max_grad_norm) or np.isnan(max_grad_norm) or max_grad_norm <= 0:
        raise ValueError(f"`max_grad_norm` must be strictly positive (float('inf'): no clipping), got {max_grad_norm!r}.")
    if target_kl is not None:
        check_value("target_kl", target_kl)


def is_zero_everywhere(value: Union[float, Schedule]) -> bool:
    """Whether a float, or a schedule at every one of :data:`SCHEDULE_CHECK_POINTS`, is 0."""
    try:
        values = [value(progress) for progress in SCHEDULE_CHECK_POINTS] if callable(value) else [value]
    except Exception:
        return False
    return all(_is_number(current) and current == 0 for current in values)


#: The largest seed numpy's and gymnasium's generators take.
MAX_SEED = 2**32 - 1


def check_base_arguments(
    *,
    policy: Any = None,
    policy_aliases: Optional[Mapping[str, type]] = None,
    policy_hint: str = "",
    env: Any = "",
    use_sde: bool = False,
    sde_sample_freq: int = -1,
    rollout_buffer_class: Any = None,
    rollout_buffer_kwargs: Any = None,
    stats_window_size: int = 100,
    tensorboard_log: Any = None,
    policy_kwargs: Any = None,
    verbose: int = 0,
    seed: Optional[int] = None,
    device: Any = "auto",
) -> None:
    """
    Check the arguments every SB3 on-policy algorithm takes, which SB3 checks late (a ``TypeError`` deep in
    ``learn()``) or not at all, raising a ``ValueError`` that names the argument.

    :param policy: The policy alias or class (``None``: not checked, as when loading)
    :param policy_aliases: The algorithm's ``policy_aliases``
    :param policy_hint: What to say when ``policy`` is an unknown alias (e.g. which other algorithm takes it)
    :param env: The environment (``None`` is refused; the default ``""`` means not checked)
    :param use_sde: Whether gSDE is used, a boolean
    :param sde_sample_freq: Steps between gSDE noise samples, an integer (<= 0: once per rollout)
    :param rollout_buffer_class: ``None`` or a rollout buffer class
    :param rollout_buffer_kwargs: ``None`` or a mapping of keyword arguments
    :param stats_window_size: Episodes in the rollout statistics, an integer >= 1
    :param tensorboard_log: ``None`` or a folder path
    :param policy_kwargs: ``None`` or a mapping of keyword arguments
    :param verbose: An integer >= 0
    :param seed: ``None`` or an integer in ``[0, 2**32 - 1]``
    :param device: ``"auto"``, a torch device or its name (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...)
    """
    if policy is not None or policy_aliases is not None:
        if isinstance(policy, str):
            if policy_aliases is not None and policy not in policy_aliases:
                raise ValueError(
                    f"Unknown `policy` {policy!r}: use one of {', '.join(sorted(policy_aliases))} or a policy class"
                    f"{policy_hint}."
                )
        elif not (isinstance(policy, type) and issubclass(policy, BasePolicy)):
            raise ValueError(
                f"`policy` must be a policy alias ({', '.join(sorted(policy_aliases or ()))}) or a subclass of "
                f"stable_baselines3's BasePolicy, got {describe(policy)}."
            )
    if env is None:
        raise ValueError("`env` must be an environment, a VecEnv or a registered id, got None (load a saved model with load).")
    check_bool("use_sde", use_sde)
    if not is_int(sde_sample_freq):
        raise ValueError(
            f"`sde_sample_freq` must be an integer (steps between gSDE noise samples, -1: once per rollout), "
            f"got {describe(sde_sample_freq)}."
        )
    if rollout_buffer_class is not None and not (
        isinstance(rollout_buffer_class, type) and issubclass(rollout_buffer_class, BaseBuffer)
    ):
        raise ValueError(
            f"`rollout_buffer_class` must be None or a rollout buffer class (see sb3_gtr.common.buffers), "
            f"got {describe(rollout_buffer_class)}."
        )
    check_optional_mapping("rollout_buffer_kwargs", rollout_buffer_kwargs)
    check_optional_mapping("policy_kwargs", policy_kwargs)
    check_positive_int("stats_window_size", stats_window_size)
    if tensorboard_log is not None:
        if not isinstance(tensorboard_log, (str, os.PathLike)):
            raise ValueError(f"`tensorboard_log` must be None or a folder path, got {describe(tensorboard_log)}.")
        if os.path.exists(tensorboard_log) and not os.path.isdir(tensorboard_log):
            raise ValueError(f"`tensorboard_log` {str(tensorboard_log)!r} is a file, not a folder.")
    check_positive_int("verbose", verbose, allow_zero=True)
    if seed is not None and (not is_int(seed) or not 0 <= seed <= MAX_SEED):
        raise ValueError(f"`seed` must be None or an integer in [0, 2**32 - 1], got {describe(seed)}.")
    if isinstance(device, str) and device == "auto":
        return
    try:
        torch_device = th.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"`device` must be 'auto', 'cpu', 'cuda', 'cuda:<index>' (or another torch device), got {describe(device)}."
        ) from None
    if torch_device.type == "cuda" and not th.cuda.is_available():
        warnings.warn(f"`device` {str(device)!r} was asked for, but CUDA is not available: training runs on the CPU.")


def check_learn_arguments(
    total_timesteps: Any,
    callback: Any,
    log_interval: Any,
    tb_log_name: Any,
    reset_num_timesteps: Any,
    progress_bar: Any,
) -> int:
    """
    Check the arguments of ``learn()``, which SB3 takes as they come (``total_timesteps=0`` or ``-1`` train
    nothing silently, ``log_interval=0`` fails after the first rollout, a bad callback at the first step).

    :param total_timesteps: Steps to train for, an integer >= 1 (an integral float such as ``1e5`` is accepted)
    :param callback: ``None``, a ``BaseCallback``, a callable ``(locals, globals) -> bool`` or a list of those
    :param log_interval: ``None`` or an integer >= 1 (rollouts between logs)
    :param tb_log_name: A run name (a folder name inside ``tensorboard_log``)
    :param reset_num_timesteps: A boolean
    :param progress_bar: A boolean
    :return: ``total_timesteps`` as an ``int``
    """
    integral = is_int(total_timesteps) or (
        isinstance(total_timesteps, (float, np.floating)) and math.isfinite(total_timesteps) and total_timesteps.is_integer()
    )
    if not integral or total_timesteps < 1:
        raise ValueError(f"`total_timesteps` must be an integer >= 1, got {describe(total_timesteps)}.")
    callbacks = callback if isinstance(callback, list) else [callback]
    for one in callbacks:
        if one is None and not isinstance(callback, list):
            continue
        if isinstance(one, type):
            raise ValueError(f"`callback` must be a callback instance, got the class {one.__name__}: call it first.")
        if not (isinstance(one, BaseCallback) or callable(one)):
            raise ValueError(
                "`callback` must be None, a BaseCallback, a callable (locals, globals) -> bool or a list of them, "
                f"got {describe(one)}."
            )
    if log_interval is not None:
        check_positive_int("log_interval", log_interval)
    if not isinstance(tb_log_name, str) or not tb_log_name or os.sep in tb_log_name or tb_log_name in (".", ".."):
        raise ValueError(f"`tb_log_name` must be a run name (a folder name, no path separator), got {describe(tb_log_name)}.")
    check_bool("reset_num_timesteps", reset_num_timesteps)
    check_bool("progress_bar", progress_bar)
    return int(total_timesteps)
