"""
Optuna samplers for the RL Zoo: the zoo's PPO search space plus the GTR arguments.

The zoo calls ``HYPERPARAMS_SAMPLER[algo](trial, n_actions, n_envs, additional_args)`` and expects the
keyword arguments of the algorithm; ``HYPERPARAMS_CONVERTER[algo]`` turns the raw parameters stored in an
Optuna study back into those keyword arguments (``train --storage ... --study-name ... --trial-id N``).
"""

from collections.abc import Sequence
from typing import Any

import optuna
from rl_zoo3.hyperparams_opt import convert_onpolicy_params, sample_ppo_params
from torch import nn

from sb3_gtr.common.trust_region import ADVANTAGE_WEIGHTED

# Widths and depths tried for SimBa policies, which take no ``net_arch`` (the paper's sizes are "paper").
SIMBA_ARCHS: dict[str, dict[str, int]] = {
    "small": dict(actor_hidden_dim=64, actor_num_blocks=1, critic_hidden_dim=128, critic_num_blocks=1),
    "paper": dict(actor_hidden_dim=128, actor_num_blocks=1, critic_hidden_dim=512, critic_num_blocks=2),
}
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}
# The raw GTR parameters a study stores, converted by :func:`convert_gtr_params`.
GTR_RAW_KEYS = ("sigma", "penalty_coef_mode", "penalty_coef_value", "clip_surrogate", "anchor_window_mode", "anchor_window")
MAX_ANCHOR_WINDOW = 20  # the largest n_epochs of the zoo's PPO search space
#: Range of ``sigma`` searched, log-uniform: from a tight kernel to one wider than PPO's usual ratio spread.
SIGMA_RANGE = (0.1, 2.0)


def _study_policy(trial: optuna.Trial) -> str:
    # The zoo stores the default hyperparameters as study user attributes before optimising; the sampler
    # has no other way to know the policy, and SimBa policies refuse the ``net_arch`` the MLP search uses.
    try:
        return str(trial.study.user_attrs.get("policy", ""))
    except AttributeError:  # e.g. an optuna.trial.FixedTrial
        return ""


def sample_gtr_raw_params(
    trial: optuna.Trial,
    penalty_coef_modes: Sequence[str] = (ADVANTAGE_WEIGHTED, "fixed"),
    max_anchor_window: int = MAX_ANCHOR_WINDOW,
) -> dict[str, Any]:
    """
    Sample the GTR arguments, as raw Optuna parameters (see :func:`gtr_kwargs_from_raw`).

    :param trial: Optuna trial
    :param penalty_coef_modes: The ``penalty_coef`` modes searched: ``"advantage"`` and/or ``"fixed"``
    :param max_anchor_window: Largest anchor window tried (windows are capped at ``n_epochs`` anyway)
    :return: ``sigma``, ``penalty_coef_mode`` (and ``penalty_coef_value`` when fixed), ``clip_surrogate``,
        ``anchor_window_mode`` (and ``anchor_window`` when windowed)
    """
    raw: dict[str, Any] = {
        "sigma": trial.suggest_float("sigma", *SIGMA_RANGE, log=True),
        "penalty_coef_mode": trial.suggest_categorical("penalty_coef_mode", list(penalty_coef_modes)),
    }
    if raw["penalty_coef_mode"] == "fixed":
        raw["penalty_coef_value"] = trial.suggest_float("penalty_coef_value", 0.01, 10.0, log=True)
    raw["clip_surrogate"] = trial.suggest_categorical("clip_surrogate", [True, False])
    raw["anchor_window_mode"] = trial.suggest_categorical("anchor_window_mode", ["all", "window"])
    if raw["anchor_window_mode"] == "window":
        # A fixed range keeps the search space static for the TPE sampler; the window is capped at n_epochs.
        raw["anchor_window"] = trial.suggest_int("anchor_window", 1, max_anchor_window)
    return raw


def gtr_kwargs_from_raw(raw: dict[str, Any], n_epochs: int = MAX_ANCHOR_WINDOW) -> dict[str, Any]:
    """
    Turn raw GTR parameters (of :func:`sample_gtr_raw_params`) into keyword arguments.

    :param raw: Raw parameters; keys other than :data:`GTR_RAW_KEYS` are ignored
    :param n_epochs: The run's epochs per update: the anchor window is capped at it
    :return: Those of ``sigma``, ``penalty_coef``, ``clip_surrogate`` and ``anchor_window`` that ``raw`` sets
    """
    kwargs: dict[str, Any] = {}
    if "sigma" in raw:
        kwargs["sigma"] = raw["sigma"]
    if "penalty_coef_mode" in raw:
        mode = raw["penalty_coef_mode"]
        kwargs["penalty_coef"] = ADVANTAGE_WEIGHTED if mode == ADVANTAGE_WEIGHTED else raw["penalty_coef_value"]
    if "clip_surrogate" in raw:
        kwargs["clip_surrogate"] = bool(raw["clip_surrogate"])
    if raw.get("anchor_window_mode") == "window":
        kwargs["anchor_window"] = min(int(raw["anchor_window"]), int(n_epochs))
    elif "anchor_window_mode" in raw:
        kwargs["anchor_window"] = None
    return kwargs


def convert_gtr_params(sampled_params: dict[str, Any]) -> dict[str, Any]:
    """
    Turn raw sampled parameters (the zoo's on-policy ones plus the GTR ones) into keyword arguments.

    :param sampled_params: Raw parameters, as stored in an Optuna study
    :return: Keyword arguments of :class:`~sb3_gtr.GTRPPO` / :class:`~sb3_gtr.RecurrentGTRPPO`
    """
    params = dict(sampled_params)
    gtr = {key: params.pop(key) for key in GTR_RAW_KEYS if key in params}
    simba_arch = params.pop("simba_arch", None)
    gru_hidden_size = params.pop("gru_hidden_size", None)
    if simba_arch is not None:
        activation_fn = ACTIVATIONS[params.pop("activation_fn")]
        hyperparams = convert_onpolicy_params({**params, "net_arch": "tiny", "activation_fn": "tanh"})
        hyperparams["policy_kwargs"] = {**SIMBA_ARCHS[simba_arch], "activation_fn": activation_fn}
    else:
        hyperparams = convert_onpolicy_params(params)
    if gru_hidden_size is not None:
        hyperparams["policy_kwargs"]["gru_hidden_size"] = gru_hidden_size

    hyperparams.update(gtr_kwargs_from_raw(gtr, int(hyperparams.get("n_epochs", MAX_ANCHOR_WINDOW))))
    return hyperparams


def _sample_onpolicy_raw(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict) -> dict[str, Any]:
    # The zoo's PPO sampler, then its raw parameters back from the trial (it returns converted values only).
    sample_ppo_params(trial, n_actions, n_envs, additional_args)
    return dict(trial.params)


def sample_gtr_ppo_params(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict) -> dict[str, Any]:
    """
    Sampler for GTRPPO hyperparameters: the zoo's PPO search space, plus ``sigma`` (log-uniform in
    [0.1, 2]), the ``penalty_coef`` mode (``"advantage"`` or a fixed float), ``clip_surrogate`` and
    ``anchor_window`` (``None`` or 1..n_epochs). For a SimBa policy, the SimBa sizes replace ``net_arch``.

    :param trial: Optuna trial
    :param n_actions: Number of actions (unused, the zoo's signature)
    :param n_envs: Number of environments (unused, the zoo's signature)
    :param additional_args: Extra arguments of the zoo (unused)
    :return: Keyword arguments for :class:`~sb3_gtr.GTRPPO`
    """
    raw = _sample_onpolicy_raw(trial, n_actions, n_envs, additional_args)
    if "Simba" in _study_policy(trial):
        # The zoo's sampler already drew ``net_arch``; SimBa ignores it and uses its own sizes.
        raw.pop("net_arch", None)
        raw["simba_arch"] = trial.suggest_categorical("simba_arch", list(SIMBA_ARCHS))
    raw.update(sample_gtr_raw_params(trial))
    return convert_gtr_params(raw)


def sample_gtr_ppo_recurrent_params(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict) -> dict[str, Any]:
    """
    Sampler for RecurrentGTRPPO hyperparameters: those of :func:`sample_gtr_ppo_params` (``net_arch`` sizes the
    layers after the GRU) plus ``gru_hidden_size``.

    :param trial: Optuna trial
    :param n_actions: Number of actions (unused, the zoo's signature)
    :param n_envs: Number of environments (unused, the zoo's signature)
    :param additional_args: Extra arguments of the zoo (unused)
    :return: Keyword arguments for :class:`~sb3_gtr.RecurrentGTRPPO`
    """
    raw = _sample_onpolicy_raw(trial, n_actions, n_envs, additional_args)
    raw["gru_hidden_size"] = trial.suggest_categorical("gru_hidden_size", [64, 128, 256])
    raw.update(sample_gtr_raw_params(trial))
    return convert_gtr_params(raw)
