"""
SimBa actor-critic policies (Lee et al., 2024; Appendix B.2 of the GTR paper): SimBa residual trunks for SB3's
``PPO``, ``GTRPPO`` and any ``OnPolicyAlgorithm`` using ``ActorCriticPolicy``.
"""

from typing import Any, Optional

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, CombinedExtractor, FlattenExtractor, NatureCNN
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from sb3_gtr.networks.policy_checks import check_policy_arguments
from sb3_gtr.networks.torch_layers import ActivationFn, NetArch, SimbaExtractor, check_positive_int, get_activation_fn

#: The aliases of the SimBa policies (``GTRPPO("SimbaPolicy", env)``), by observation type.
SIMBA_ALIASES = {"vector": "SimbaPolicy", "image": "CnnSimbaPolicy", "dict": "MultiInputSimbaPolicy"}


class SimbaActorCriticPolicy(ActorCriticPolicy):
    """
    Actor-critic policy with SimBa residual trunks (Lee et al., 2024), as used for PPO in the GTR paper.

    Actor: ``Linear(features_dim, actor_hidden_dim)``, ``actor_num_blocks`` SimBa blocks, ``LayerNorm``,
    then SB3's action head (for ``Box`` actions: a linear mean and a learnable, state-independent log std).
    Critic: the same structure with its own weights, ``critic_hidden_dim`` and ``critic_num_blocks``,
    then a linear value head. Each SimBa block is ``x + Linear(4h, h)(ReLU(Linear(h, 4h)(LayerNorm(x))))``.
    The defaults (actor: width 128, one block; critic: width 512, two blocks) are those of the SimBa paper
    and of Appendix B.2 of the GTR paper. Works with ``Box``, ``Discrete``, ``MultiDiscrete`` and
    ``MultiBinary`` action spaces.

    ``net_arch`` is not used (pass the widths and block counts below instead) and must stay ``None``.
    SimBa's running observation normalisation is not included: use ``VecNormalize`` for it.

    :param observation_space: Observation space
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: Must be ``None`` (kept for compatibility with ``ActorCriticPolicy``)
    :param activation_fn: Activation inside the SimBa blocks, an ``nn.Module`` class or a name such as ``"relu"``
    :param ortho_init: Whether to use or not orthogonal initialization
    :param use_sde: Whether to use State Dependent Exploration or not
    :param log_std_init: Initial value for the log standard deviation
    :param full_std: Whether to use (n_features x n_actions) parameters
        for the std instead of only (n_features,) when using gSDE
    :param use_expln: Use ``expln()`` function instead of ``exp()`` to ensure
        a positive standard deviation (cf paper). It allows to keep variance
        above zero and prevent it from growing too fast. In practice, ``exp()`` is usually enough.
    :param squash_output: Whether to squash the output using a tanh function,
        this allows to ensure boundaries when using gSDE.
    :param features_extractor_class: Features extractor to use.
    :param features_extractor_kwargs: Keyword arguments
        to pass to the features extractor.
    :param share_features_extractor: If True, the features extractor is shared between the policy and value networks.
    :param normalize_images: Whether to normalize images or not,
         dividing by 255.0 (True by default)
    :param optimizer_class: The optimizer to use,
        ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments,
        excluding the learning rate, to pass to the optimizer
    :param actor_hidden_dim: Width of the actor trunk
    :param actor_num_blocks: Number of SimBa blocks of the actor trunk
    :param critic_hidden_dim: Width of the critic trunk
    :param critic_num_blocks: Number of SimBa blocks of the critic trunk
    :param block_expansion: Width multiplier inside each SimBa block (4 in SimBa)
    """

    #: The name that ``GTRPPO`` accepts for this class (in error messages)
    alias = "SimbaPolicy"

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: Optional[NetArch] = None,
        activation_fn: ActivationFn = nn.ReLU,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: Optional[dict[str, Any]] = None,
        share_features_extractor: bool = True,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: Optional[dict[str, Any]] = None,
        actor_hidden_dim: int = 128,
        actor_num_blocks: int = 1,
        critic_hidden_dim: int = 512,
        critic_num_blocks: int = 2,
        block_expansion: int = 4,
    ):
        if net_arch is not None:
            raise ValueError(
                f"{type(self).__name__} does not use `net_arch` (got {net_arch!r}): set `actor_hidden_dim`, "
                "`actor_num_blocks`, `critic_hidden_dim` and `critic_num_blocks` in policy_kwargs instead"
            )
        check_policy_arguments(
            self,
            observation_space,
            SIMBA_ALIASES,
            features_extractor_class,
            features_extractor_kwargs,
            optimizer_class,
            optimizer_kwargs,
            log_std_init,
            ortho_init=ortho_init,
            use_sde=use_sde,
            full_std=full_std,
            use_expln=use_expln,
            squash_output=squash_output,
            share_features_extractor=share_features_extractor,
            normalize_images=normalize_images,
        )
        activation_fn = get_activation_fn(activation_fn)
        # Validated here so that the messages name the policy_kwargs
        self.actor_hidden_dim = check_positive_int(actor_hidden_dim, "actor_hidden_dim")
        self.actor_num_blocks = check_positive_int(actor_num_blocks, "actor_num_blocks")
        self.critic_hidden_dim = check_positive_int(critic_hidden_dim, "critic_hidden_dim")
        self.critic_num_blocks = check_positive_int(critic_num_blocks, "critic_num_blocks")
        self.block_expansion = check_positive_int(block_expansion, "block_expansion")
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            None,
            activation_fn,
            ortho_init,
            use_sde,
            log_std_init,
            full_std,
            use_expln,
            squash_output,
            features_extractor_class,
            features_extractor_kwargs,
            share_features_extractor,
            normalize_images,
            optimizer_class,
            optimizer_kwargs,
        )
        # ActorCriticPolicy filled in its default MLP architecture, which is not used
        self.net_arch = None  # type: ignore[assignment]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            dict(
                net_arch=None,
                share_features_extractor=self.share_features_extractor,
                actor_hidden_dim=self.actor_hidden_dim,
                actor_num_blocks=self.actor_num_blocks,
                critic_hidden_dim=self.critic_hidden_dim,
                critic_num_blocks=self.critic_num_blocks,
                block_expansion=self.block_expansion,
            )
        )
        return data

    def _build_mlp_extractor(self) -> None:
        """Create the SimBa actor and critic trunks (in place of SB3's ``MlpExtractor``)."""
        self.mlp_extractor = SimbaExtractor(
            self.features_dim,
            actor_hidden_dim=self.actor_hidden_dim,
            actor_num_blocks=self.actor_num_blocks,
            critic_hidden_dim=self.critic_hidden_dim,
            critic_num_blocks=self.critic_num_blocks,
            expansion=self.block_expansion,
            activation_fn=self.activation_fn,
            device=self.device,
        )


class SimbaActorCriticCnnPolicy(SimbaActorCriticPolicy):
    """
    :class:`SimbaActorCriticPolicy` with SB3's ``NatureCNN`` features extractor by default (image observations).

    :param observation_space: Observation space
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: Must be ``None`` (kept for compatibility with ``ActorCriticPolicy``)
    :param activation_fn: Activation inside the SimBa blocks, an ``nn.Module`` class or a name such as ``"relu"``
    :param ortho_init: Whether to use or not orthogonal initialization
    :param use_sde: Whether to use State Dependent Exploration or not
    :param log_std_init: Initial value for the log standard deviation
    :param full_std: Whether to use (n_features x n_actions) parameters
        for the std instead of only (n_features,) when using gSDE
    :param use_expln: Use ``expln()`` function instead of ``exp()`` to ensure
        a positive standard deviation (cf paper). It allows to keep variance
        above zero and prevent it from growing too fast. In practice, ``exp()`` is usually enough.
    :param squash_output: Whether to squash the output using a tanh function,
        this allows to ensure boundaries when using gSDE.
    :param features_extractor_class: Features extractor to use.
    :param features_extractor_kwargs: Keyword arguments
        to pass to the features extractor.
    :param share_features_extractor: If True, the features extractor is shared between the policy and value networks.
    :param normalize_images: Whether to normalize images or not,
         dividing by 255.0 (True by default)
    :param optimizer_class: The optimizer to use,
        ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments,
        excluding the learning rate, to pass to the optimizer
    :param actor_hidden_dim: Width of the actor trunk
    :param actor_num_blocks: Number of SimBa blocks of the actor trunk
    :param critic_hidden_dim: Width of the critic trunk
    :param critic_num_blocks: Number of SimBa blocks of the critic trunk
    :param block_expansion: Width multiplier inside each SimBa block (4 in SimBa)
    """

    #: The name that ``GTRPPO`` accepts for this class (in error messages)
    alias = "CnnSimbaPolicy"

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: Optional[NetArch] = None,
        activation_fn: ActivationFn = nn.ReLU,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] = NatureCNN,
        features_extractor_kwargs: Optional[dict[str, Any]] = None,
        share_features_extractor: bool = True,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: Optional[dict[str, Any]] = None,
        actor_hidden_dim: int = 128,
        actor_num_blocks: int = 1,
        critic_hidden_dim: int = 512,
        critic_num_blocks: int = 2,
        block_expansion: int = 4,
    ):
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch,
            activation_fn,
            ortho_init,
            use_sde,
            log_std_init,
            full_std,
            use_expln,
            squash_output,
            features_extractor_class,
            features_extractor_kwargs,
            share_features_extractor,
            normalize_images,
            optimizer_class,
            optimizer_kwargs,
            actor_hidden_dim,
            actor_num_blocks,
            critic_hidden_dim,
            critic_num_blocks,
            block_expansion,
        )


class SimbaMultiInputActorCriticPolicy(SimbaActorCriticPolicy):
    """
    :class:`SimbaActorCriticPolicy` with SB3's ``CombinedExtractor`` features extractor by default
    (``Dict`` observations).

    :param observation_space: Observation space
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: Must be ``None`` (kept for compatibility with ``ActorCriticPolicy``)
    :param activation_fn: Activation inside the SimBa blocks, an ``nn.Module`` class or a name such as ``"relu"``
    :param ortho_init: Whether to use or not orthogonal initialization
    :param use_sde: Whether to use State Dependent Exploration or not
    :param log_std_init: Initial value for the log standard deviation
    :param full_std: Whether to use (n_features x n_actions) parameters
        for the std instead of only (n_features,) when using gSDE
    :param use_expln: Use ``expln()`` function instead of ``exp()`` to ensure
        a positive standard deviation (cf paper). It allows to keep variance
        above zero and prevent it from growing too fast. In practice, ``exp()`` is usually enough.
    :param squash_output: Whether to squash the output using a tanh function,
        this allows to ensure boundaries when using gSDE.
    :param features_extractor_class: Features extractor to use.
    :param features_extractor_kwargs: Keyword arguments
        to pass to the features extractor.
    :param share_features_extractor: If True, the features extractor is shared between the policy and value networks.
    :param normalize_images: Whether to normalize images or not,
         dividing by 255.0 (True by default)
    :param optimizer_class: The optimizer to use,
        ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments,
        excluding the learning rate, to pass to the optimizer
    :param actor_hidden_dim: Width of the actor trunk
    :param actor_num_blocks: Number of SimBa blocks of the actor trunk
    :param critic_hidden_dim: Width of the critic trunk
    :param critic_num_blocks: Number of SimBa blocks of the critic trunk
    :param block_expansion: Width multiplier inside each SimBa block (4 in SimBa)
    """

    #: The name that ``GTRPPO`` accepts for this class (in error messages)
    alias = "MultiInputSimbaPolicy"

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: Optional[NetArch] = None,
        activation_fn: ActivationFn = nn.ReLU,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] = CombinedExtractor,
        features_extractor_kwargs: Optional[dict[str, Any]] = None,
        share_features_extractor: bool = True,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: Optional[dict[str, Any]] = None,
        actor_hidden_dim: int = 128,
        actor_num_blocks: int = 1,
        critic_hidden_dim: int = 512,
        critic_num_blocks: int = 2,
        block_expansion: int = 4,
    ):
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch,
            activation_fn,
            ortho_init,
            use_sde,
            log_std_init,
            full_std,
            use_expln,
            squash_output,
            features_extractor_class,
            features_extractor_kwargs,
            share_features_extractor,
            normalize_images,
            optimizer_class,
            optimizer_kwargs,
            actor_hidden_dim,
            actor_num_blocks,
            critic_hidden_dim,
            critic_num_blocks,
            block_expansion,
        )
