"""
Continue training a trained agent with GTR: :func:`load_into_gtr` turns a Stable-Baselines3 ``PPO``
(or an sb3-contrib ``RecurrentPPO``) agent, in memory or saved as a zip file, into a ``GTRPPO`` (or a
``RecurrentGTRPPO``) with the same policy, the same hyperparameters and the same optimizer state, on a
new environment, so that adapting a trained agent to a changed task is one call::

    import gymnasium as gym
    from sb3_gtr.adaptation import load_into_gtr

    model = load_into_gtr("ppo_halfcheetah.zip", gym.make("HalfCheetah-v5", forward_reward_weight=-1.0))
    model.learn(100_000)

Observation normalisation (``VecNormalize``) is not part of a model: wrap the new environment with the
statistics the agent was trained with, as for ``PPO.load``.
"""

import copy
import io
import pathlib
from typing import Any, Optional, Union

import torch as th
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.save_util import load_from_zip_file
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.utils import check_for_correct_spaces

from sb3_gtr.common.gtr_mixin import GTRMixin
from sb3_gtr.gtr_ppo import GTRPPO
from sb3_gtr.gtr_ppo_recurrent import RecurrentGTRPPO

#: Constructor arguments copied from the trained agent, shared by PPO and RecurrentPPO.
COPIED_HYPERPARAMETERS = (
    "learning_rate",
    "n_steps",
    "batch_size",
    "n_epochs",
    "gamma",
    "gae_lambda",
    "clip_range",
    "clip_range_vf",
    "normalize_advantage",
    "ent_coef",
    "vf_coef",
    "max_grad_norm",
    "use_sde",
    "sde_sample_freq",
    "target_kl",
    "tensorboard_log",
    "verbose",
    "seed",
)
#: The GTR arguments, copied too when the trained agent is itself a GTR agent (unless given).
GTR_ARGUMENTS = ("penalty", "sigma", "penalty_coef", "mixture_anchor", "anchor_window", "clip_surrogate")
#: Arguments that :func:`load_into_gtr` fixes itself: the weights are only valid for the trained architecture.
_FIXED_ARGUMENTS = ("policy", "policy_kwargs", "env", "_init_setup_model")
#: What PPO saves and its relatives without a clipped objective (A2C, TRPO) do not.
_PPO_ONLY_ATTRIBUTES = ("clip_range", "n_epochs", "batch_size")

_UNSUPPORTED_MESSAGE = (
    "Only PPO and RecurrentPPO agents (and their GTR versions GTRPPO and RecurrentGTRPPO) can be loaded into GTR"
)


def _read_model(model: BaseAlgorithm) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The attributes and the parameters (deep copies: the new agent must not share optimizer state) of an agent."""
    if not isinstance(model, (PPO, RecurrentPPO)):
        raise TypeError(f"{_UNSUPPORTED_MESSAGE}, got a {type(model).__name__}.")
    names = (*COPIED_HYPERPARAMETERS, *GTR_ARGUMENTS, "_stats_window_size", "policy_class", "policy_kwargs")
    data = {name: getattr(model, name) for name in names if hasattr(model, name)}
    data["observation_space"], data["action_space"] = model.observation_space, model.action_space
    return copy.deepcopy(data), copy.deepcopy(model.get_parameters())


def _read_zip(
    path: Union[str, pathlib.Path, io.BufferedIOBase], device: Union[th.device, str], custom_objects: Optional[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The saved attributes and parameters of an agent saved with ``model.save``."""
    data, params, _ = load_from_zip_file(path, device=device, custom_objects=custom_objects)
    if data is None or params is None or "policy_class" not in data:
        raise ValueError(f"{path!r} does not hold a saved Stable-Baselines3 agent (no data or parameters found).")
    policy_class = data["policy_class"]
    is_ppo_family = isinstance(policy_class, type) and issubclass(policy_class, ActorCriticPolicy)
    if not is_ppo_family or not all(name in data for name in _PPO_ONLY_ATTRIBUTES):
        name = getattr(policy_class, "__name__", repr(policy_class))
        raise TypeError(
            f"{_UNSUPPORTED_MESSAGE}: the agent saved in {path!r} has the policy {name}"
            + ("" if not is_ppo_family else f" but not PPO's {', '.join(_PPO_ONLY_ATTRIBUTES)} (A2C or TRPO?)")
            + "."
        )
    return data, params


def load_into_gtr(
    path_or_model: Union[str, pathlib.Path, io.BufferedIOBase, BaseAlgorithm],
    env: Union[GymEnv, str],
    algorithm_class: Optional[type[BaseAlgorithm]] = None,
    device: Union[th.device, str] = "auto",
    copy_optimizer: bool = True,
    custom_objects: Optional[dict[str, Any]] = None,
    **gtr_kwargs: Any,
) -> Union[GTRPPO, RecurrentGTRPPO]:
    """
    Build a GTR agent that continues training a trained ``PPO`` or ``RecurrentPPO`` agent on a new environment.

    The new agent has the trained agent's policy class and ``policy_kwargs``, its hyperparameters
    (:data:`COPIED_HYPERPARAMETERS`: learning rate and clip-range schedules included, ``n_steps``, ``batch_size``,
    ``n_epochs``, ``gamma``, ``gae_lambda``, ``ent_coef``, ``vf_coef``, ``max_grad_norm``, ``use_sde``, ``seed`` ...),
    its policy weights and, by default, its optimizer state (Adam's moments), so that its predictions are
    the trained agent's and its first update continues the trained agent's optimisation. The GTR arguments
    are those given in ``gtr_kwargs``, else the trained agent's own when it is a GTR agent, else GTR's
    defaults. The step counter starts again from 0, and with it the schedules (as in any new ``learn()``
    with ``reset_num_timesteps=True``); the rollout buffer is GTR's own (the trained agent's buffer class
    is not copied: GTR's stores the anchor log-probabilities).

    :param path_or_model: A ``PPO``/``RecurrentPPO`` agent (``GTRPPO``/``RecurrentGTRPPO`` too), or the path
        (or file-like) of one saved with ``model.save``. An agent in memory is copied, never shared.
    :param env: The environment to continue training on (if registered in Gym, can be str); it must have the
        trained agent's observation and action spaces, and may have another number of sub-environments
    :param algorithm_class: The GTR class to build, ``GTRPPO``, ``RecurrentGTRPPO`` or a subclass (``None``: the
        one matching the trained agent, ``RecurrentGTRPPO`` for a recurrent policy)
    :param device: Device (cpu, cuda, ...) of the new agent
    :param copy_optimizer: Copy the optimizer state; ``False`` starts the optimizer afresh
    :param custom_objects: Objects replacing saved ones that cannot be deserialised, as in ``PPO.load``
        (only used for a saved agent)
    :param gtr_kwargs: GTR arguments (``penalty``, ``sigma``, ``penalty_coef``, ``mixture_anchor``, ``anchor_window``,
        ``clip_surrogate``) and any other constructor argument of ``algorithm_class``, overriding the copied value
        (``learning_rate``, ``n_steps``, ``seed``, ``verbose`` ...); ``policy`` and ``policy_kwargs`` cannot be changed
    :return: The GTR agent, ready for ``learn()``
    """
    fixed = sorted(set(gtr_kwargs) & set(_FIXED_ARGUMENTS))
    if fixed:
        raise ValueError(
            f"load_into_gtr() copies the trained agent's policy and policy_kwargs (the weights only fit them), "
            f"do not pass {', '.join(fixed)}."
        )
    if isinstance(path_or_model, BaseAlgorithm):
        data, params = _read_model(path_or_model)
    else:
        data, params = _read_zip(path_or_model, device, custom_objects)

    policy_class = data["policy_class"]
    recurrent = issubclass(policy_class, RecurrentActorCriticPolicy)
    if algorithm_class is None:
        algorithm_class = RecurrentGTRPPO if recurrent else GTRPPO
    if not (isinstance(algorithm_class, type) and issubclass(algorithm_class, GTRMixin)):
        raise TypeError(f"`algorithm_class` must be GTRPPO, RecurrentGTRPPO or a subclass, got {algorithm_class!r}.")
    if recurrent != issubclass(algorithm_class, RecurrentPPO):
        kind = "a recurrent" if recurrent else "a non-recurrent"
        raise ValueError(
            f"The trained agent has {kind} policy ({policy_class.__name__}), which {algorithm_class.__name__} cannot "
            f"use: pass algorithm_class={'RecurrentGTRPPO' if recurrent else 'GTRPPO'} (or None)."
        )

    policy_kwargs = dict(data.get("policy_kwargs") or {})
    # The device is the new agent's, as in `BaseAlgorithm.load`.
    policy_kwargs.pop("device", None)
    kwargs = {name: data[name] for name in (*COPIED_HYPERPARAMETERS, *GTR_ARGUMENTS) if name in data}
    if "_stats_window_size" in data:
        kwargs["stats_window_size"] = data["_stats_window_size"]
    kwargs.update(gtr_kwargs)

    model = algorithm_class(policy_class, env, policy_kwargs=policy_kwargs, device=device, _init_setup_model=False, **kwargs)
    # Checked before the networks are built, so a wrong environment fails fast and clearly.
    check_for_correct_spaces(model.env, data["observation_space"], data["action_space"])
    model._setup_model()

    if not copy_optimizer:
        params = {name: state for name, state in params.items() if not name.endswith("optimizer")}
    model.set_parameters(params, exact_match=copy_optimizer, device=model.device)
    return model
