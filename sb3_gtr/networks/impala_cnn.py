"""
The IMPALA CNN (Espeholt et al., 2018) as used on Procgen (Cobbe et al., 2020), as a Stable-Baselines3 features
extractor: the GTR paper's network for Procgen starpilot (Appendix C).

Use it with ``CnnPolicy``::

    from sb3_gtr import GTRPPO
    from sb3_gtr.networks.impala_cnn import ImpalaCnnExtractor

    policy_kwargs = dict(features_extractor_class=ImpalaCnnExtractor, net_arch=[])
    model = GTRPPO("CnnPolicy", env, policy_kwargs=policy_kwargs)

or, the same in one name (which YAML files such as the RL Zoo's can give), ``GTRPPO("ImpalaCnnPolicy", env)``.
"""

from collections.abc import Sequence
from typing import Any, Optional

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticCnnPolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from sb3_gtr.common.checks import check_bool, describe
from sb3_gtr.networks.policy_checks import check_policy_arguments
from sb3_gtr.networks.torch_layers import NetArch, check_positive_int, get_activation_fn


class ImpalaResidualBlock(nn.Module):
    """
    Residual block of the IMPALA CNN: ``x + conv(relu(conv(relu(x))))`` with two 3x3 convolutions that keep
    the number of channels and the resolution.

    :param channels: Number of channels
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: th.Tensor) -> th.Tensor:
        """
        :param x: Input of shape ``(batch, channels, height, width)``
        :return: Output of the same shape
        """
        return x + self.conv1(th.relu(self.conv0(th.relu(x))))


class ImpalaConvSequence(nn.Module):
    """
    One stage of the IMPALA CNN: a 3x3 convolution, a 3x3 max-pool of stride 2 (halving the resolution,
    rounding up) and two :class:`ImpalaResidualBlock`.

    :param in_channels: Number of input channels
    :param out_channels: Number of output channels
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.res0 = ImpalaResidualBlock(out_channels)
        self.res1 = ImpalaResidualBlock(out_channels)

    def forward(self, x: th.Tensor) -> th.Tensor:
        """
        :param x: Input of shape ``(batch, in_channels, height, width)``
        :return: Output of shape ``(batch, out_channels, ceil(height / 2), ceil(width / 2))``
        """
        return self.res1(self.res0(self.pool(self.conv(x))))


class ImpalaCnnExtractor(BaseFeaturesExtractor):
    """
    The IMPALA CNN of Procgen's baselines: three :class:`ImpalaConvSequence` of ``(16, 32, 32)`` channels, a
    ReLU, a flatten and a ``Linear(., features_dim)`` with a ReLU (256 features). On Procgen's 64x64 frames the
    stages give 32x32, 16x16 then 8x8 maps, so the linear layer sees ``32 * 8 * 8 = 2048`` inputs.

    Images are expected channels-first, as SB3 hands them to features extractors (``VecTransposeImage`` is
    applied automatically to channels-last image observations) and scaled to ``[0, 1]`` by the policy
    (``normalize_images=True``).

    :param observation_space: An image observation space
    :param features_dim: Number of features (output of the last linear layer)
    :param channels: Output channels of each stage, a non-empty list of positive integers
    :param normalized_image: Whether the images are already normalised (then the uint8 check is skipped)
    :raises ValueError: If an argument is not allowed, or the observation space holds no images
    """

    def __init__(
        self,
        observation_space: spaces.Box,
        features_dim: int = 256,
        channels: Sequence[int] = (16, 32, 32),
        normalized_image: bool = False,
    ) -> None:
        features_dim = check_positive_int(features_dim, "features_dim")
        # A bare integer (channels=16) would otherwise fail as "'int' object is not iterable"
        if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence):
            raise ValueError(f"`channels` must be a list of positive integers, one per stage, got {describe(channels)}")
        channels = [check_positive_int(channel, "channels") for channel in channels]
        if not channels:
            raise ValueError("ImpalaCnnExtractor needs at least one stage in `channels`")
        normalized_image = check_bool("normalized_image", normalized_image)
        if not is_image_space(observation_space, check_channels=False, normalized_image=normalized_image):
            raise ValueError(
                f"ImpalaCnnExtractor needs an image observation space (uint8 Box of shape (C, H, W)), got {observation_space}"
            )
        super().__init__(observation_space, features_dim)
        stages, in_channels = [], observation_space.shape[0]
        for out_channels in channels:
            stages.append(ImpalaConvSequence(in_channels, out_channels))
            in_channels = out_channels
        self.cnn = nn.Sequential(*stages, nn.ReLU(), nn.Flatten())
        with th.no_grad():
            n_flatten = self.cnn(th.as_tensor(observation_space.sample()[None]).float()).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flatten, features_dim), nn.ReLU())

    def forward(self, observations: th.Tensor) -> th.Tensor:
        """
        :param observations: Images of shape ``(batch, C, H, W)``, scaled to ``[0, 1]``
        :return: Features of shape ``(batch, features_dim)``
        """
        return self.linear(self.cnn(observations))


#: The policies to name when the observation space does not fit, by observation type.
IMPALA_ALIASES = {"vector": "MlpPolicy", "image": "ImpalaCnnPolicy", "dict": "MultiInputPolicy"}
#: The boolean arguments of ``ActorCriticCnnPolicy``.
_FLAGS = (
    "ortho_init",
    "use_sde",
    "full_std",
    "use_expln",
    "squash_output",
    "share_features_extractor",
    "normalize_images",
)


class ImpalaCnnActorCriticPolicy(ActorCriticCnnPolicy):
    """
    SB3's ``ActorCriticCnnPolicy`` with the IMPALA CNN (:class:`ImpalaCnnExtractor`) and the actor and critic heads
    directly on its features (``net_arch=[]``) by default: the Procgen network of the GTR paper (Appendix C).
    Alias ``"ImpalaCnnPolicy"`` of ``GTRPPO``. Only these two defaults differ from ``ActorCriticCnnPolicy``.

    :param observation_space: Observation space (images)
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: Layers between the features and the heads (``None``: none, the heads sit on the features)
    :param features_extractor_class: Features extractor to use (the IMPALA CNN by default)
    :param kwargs: The other arguments of ``ActorCriticCnnPolicy`` (``activation_fn``, ``ortho_init``,
        ``features_extractor_kwargs``, ``optimizer_class`` ...); ``activation_fn`` may also be a name such as
        ``"relu"``, as for the SimBa policies
    :raises ValueError: If one of the arguments is not allowed (checked before anything is built)
    """

    #: The name that ``GTRPPO`` accepts for this class (in error messages)
    alias = "ImpalaCnnPolicy"

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: Optional[NetArch] = None,
        features_extractor_class: type[BaseFeaturesExtractor] = ImpalaCnnExtractor,
        **kwargs: Any,
    ) -> None:
        # The checks SB3 does not make; unknown keywords are left to SB3's own TypeError
        check_policy_arguments(
            self,
            observation_space,
            IMPALA_ALIASES,
            features_extractor_class,
            kwargs.get("features_extractor_kwargs"),
            kwargs.get("optimizer_class", th.optim.Adam),
            kwargs.get("optimizer_kwargs"),
            kwargs.get("log_std_init", 0.0),
            **{name: kwargs[name] for name in _FLAGS if name in kwargs},
        )
        if "activation_fn" in kwargs:
            # SB3 would build nn.Linear() (or call a name) deep inside its MlpExtractor
            kwargs["activation_fn"] = get_activation_fn(kwargs["activation_fn"])
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[] if net_arch is None else net_arch,
            features_extractor_class=features_extractor_class,
            **kwargs,
        )
