"""
:func:`check_policy_arguments`: the argument checks every policy of sb3-gtr runs before it builds anything, so that a
bad argument is refused with a message naming it and what it may be, rather than failing inside SB3's construction
or, for a boolean given as a string such as ``"no"`` (which is true), being silently reinterpreted.
"""

from collections.abc import Mapping
from typing import Any

from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, CombinedExtractor, FlattenExtractor, NatureCNN

from sb3_gtr.common.checks import check_bool, check_finite_float, check_optional_mapping, describe


def _policy_name(policy: BasePolicy) -> str:
    """:return: The policy's class name, with its alias when the class has one (``X ("SimbaPolicy")``)"""
    alias = vars(type(policy)).get("alias")
    return type(policy).__name__ + (f" ({alias!r})" if alias else "")


#: Boolean arguments of ``ActorCriticPolicy`` that SB3's ``_get_constructor_parameters`` saves as ``None`` when
#: gSDE is off, so that a saved policy passes ``None`` back on load.
_SDE_ONLY_FLAGS = frozenset({"full_std", "use_expln", "squash_output"})


def _describe_class(value: Any) -> str:
    """:return: ``the class int`` for a class (whose ``repr`` reads ``<class 'int'>``), else the value's description"""
    return f"the class {value.__qualname__}" if isinstance(value, type) else describe(value)


def check_policy_arguments(
    policy: BasePolicy,
    observation_space: spaces.Space,
    aliases: Mapping[str, str],
    features_extractor_class: Any,
    features_extractor_kwargs: Any,
    optimizer_class: Any,
    optimizer_kwargs: Any,
    log_std_init: Any,
    **flags: Any,
) -> None:
    """
    Check the arguments that SB3's ``ActorCriticPolicy`` takes without checking them, before anything is built.

    :param policy: The policy being built (for its name in the messages)
    :param observation_space: Observation space
    :param aliases: The aliases of the policy family by observation type (keys ``"vector"``, ``"image"`` and
        ``"dict"``), to name the right one when the observation space does not fit the features extractor
    :param features_extractor_class: A subclass of SB3's ``BaseFeaturesExtractor``
    :param features_extractor_kwargs: ``None`` or a dict
    :param optimizer_class: An optimizer class (a callable)
    :param optimizer_kwargs: ``None`` or a dict
    :param log_std_init: A finite number
    :param flags: The boolean arguments, by name (``ortho_init=True, ...``), each True or False (``full_std``,
        ``use_expln`` and ``squash_output`` may also be ``None``, as SB3 saves them without gSDE)
    :raises ValueError: Naming the first bad argument and what it may be
    """
    for name, value in flags.items():
        # SB3 saves these three as None when gSDE is off (they are unused then), and loading passes them back
        if value is None and name in _SDE_ONLY_FLAGS:
            continue
        # "no" and "False" are true: refuse them rather than silently turning the option on
        check_bool(name, value)
    check_finite_float("log_std_init", log_std_init)
    if not (isinstance(features_extractor_class, type) and issubclass(features_extractor_class, BaseFeaturesExtractor)):
        raise ValueError(
            "`features_extractor_class` must be a subclass of SB3's BaseFeaturesExtractor (FlattenExtractor, NatureCNN, "
            f"CombinedExtractor or your own), got {_describe_class(features_extractor_class)}"
        )
    features_extractor_kwargs = check_optional_mapping("features_extractor_kwargs", features_extractor_kwargs) or {}
    if optimizer_class is None or not callable(optimizer_class):
        raise ValueError(
            "`optimizer_class` must be a torch.optim.Optimizer class such as th.optim.Adam, "
            f"got {_describe_class(optimizer_class)}"
        )
    check_optional_mapping("optimizer_kwargs", optimizer_kwargs)

    # SB3's default extractors fail on the wrong observation space with an AttributeError (CombinedExtractor on a
    # Box), an assertion about CnnPolicy (NatureCNN) or only at the first forward pass (FlattenExtractor on a Dict)
    extractor, name = features_extractor_class.__name__, _policy_name(policy)
    if issubclass(features_extractor_class, CombinedExtractor) and not isinstance(observation_space, spaces.Dict):
        raise ValueError(
            f"{name} needs a Dict observation space for its features extractor {extractor}, got {observation_space}: "
            f"use {aliases['vector']!r} for vector observations or {aliases['image']!r} for images"
        )
    if issubclass(features_extractor_class, FlattenExtractor) and isinstance(observation_space, spaces.Dict):
        raise ValueError(
            f"{name} cannot read a Dict observation space with its features extractor {extractor}, got "
            f"{observation_space}: use {aliases['dict']!r}"
        )
    normalized_image = features_extractor_kwargs.get("normalized_image", False)
    if issubclass(features_extractor_class, NatureCNN) and not is_image_space(
        observation_space, check_channels=False, normalized_image=normalized_image
    ):
        raise ValueError(
            f"{name} needs image observations (a uint8 Box of shape (C, H, W) or (H, W, C)) for its features extractor "
            f"{extractor}, got {observation_space}: use {aliases['vector']!r} for vector observations or "
            f"{aliases['dict']!r} for Dict observations"
        )
