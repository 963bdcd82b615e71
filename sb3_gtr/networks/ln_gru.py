"""
LayerNorm-GRU actor-critic policies (the Craftax recurrent PPO baseline with LayerNorm; Appendix B.2 of the GTR
paper), for sb3-contrib's ``RecurrentPPO`` and ``RecurrentGTRPPO``.
"""

from typing import Any, Optional

import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, CombinedExtractor, FlattenExtractor, NatureCNN
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from sb3_gtr.networks.policy_checks import check_policy_arguments
from sb3_gtr.networks.torch_layers import (
    ActivationFn,
    LayerNormGRU,
    LayerNormMlpExtractor,
    NetArch,
    check_positive_int,
    get_activation_fn,
    parse_net_arch,
)

#: The aliases of the LayerNorm-GRU policies (``RecurrentGTRPPO("MlpLnGruPolicy", env)``), by observation type.
LN_GRU_ALIASES = {"vector": "MlpLnGruPolicy", "image": "CnnLnGruPolicy", "dict": "MultiInputLnGruPolicy"}


class LnGruActorCriticPolicy(RecurrentActorCriticPolicy):
    """
    Recurrent actor-critic policy with a LayerNorm GRU core, for sb3-contrib's ``RecurrentPPO``
    (the RNN policy of Appendix B.2 of the GTR paper: the Craftax PPO-RNN baseline with LayerNorm).

    Architecture: features extractor, input projection ``Linear(features_dim, projection_dim) -> LayerNorm
    -> ReLU``, a :class:`~sb3_gtr.networks.torch_layers.LayerNormGRU` core of ``gru_hidden_size`` units, then
    for the actor and for the critic the ``Linear -> LayerNorm -> ReLU`` layers given by ``net_arch``
    (two layers of ``gru_hidden_size`` units each by default) and SB3's action / value heads.
    With ``shared_gru=True`` (default: the table of Appendix B.2 lists the projection and the recurrent core once
    for both networks, as in the Craftax baseline) the projection and the GRU are shared
    by the actor and the critic, and both losses train them (unlike sb3-contrib's ``shared_lstm``, which
    detaches the critic); with ``shared_gru=False`` the critic has its own projection and GRU
    (``lstm_critic``).

    Interface with ``RecurrentPPO``: ``lstm_actor`` / ``lstm_critic`` are the GRU modules (``lstm_critic`` is
    ``None`` when shared, as with ``shared_lstm``) and expose ``num_layers`` (1) and ``hidden_size``.
    Hidden states are exchanged as the ``(h, c)`` tuples of the parent class: ``h`` is the GRU state and
    ``c`` is a dummy tensor of zeros of the same shape, ignored on input. When the GRU is shared, the
    critic states returned (``RNNStates.vf``) are the actor states. Hidden states are zeroed at episode
    starts exactly as sb3-contrib does for its LSTM.

    :param observation_space: Observation space
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: Widths of the ``Linear -> LayerNorm -> activation`` layers after the GRU:
        a list for both networks or ``dict(pi=[...], vf=[...])`` with both keys (``[]`` for none);
        ``None`` means ``[gru_hidden_size] * 2``
    :param activation_fn: Activation of the projection and of the post-GRU layers,
        an ``nn.Module`` class or a name such as ``"relu"``
    :param ortho_init: Whether to use or not orthogonal initialization (of the features extractor,
        projection, post-GRU layers and heads; the GRU has its own initialisation)
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
        Must be True when ``shared_gru`` is True.
    :param normalize_images: Whether to normalize images or not,
         dividing by 255.0 (True by default)
    :param optimizer_class: The optimizer to use,
        ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments,
        excluding the learning rate, to pass to the optimizer
    :param gru_hidden_size: Number of hidden units of the GRU (default 256, as sb3-contrib's ``lstm_hidden_size``;
        the Craftax baseline uses wider layers, e.g. 512)
    :param projection_dim: Output width of the input projection; ``None`` means ``gru_hidden_size``
    :param shared_gru: Whether the actor and the critic share the projection and the GRU
    """

    #: The name that ``RecurrentGTRPPO`` accepts for this class (in error messages)
    alias = "MlpLnGruPolicy"

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
        gru_hidden_size: int = 256,
        projection_dim: Optional[int] = None,
        shared_gru: bool = True,
    ):
        check_policy_arguments(
            self,
            observation_space,
            LN_GRU_ALIASES,
            features_extractor_class,
            features_extractor_kwargs,
            optimizer_class,
            optimizer_kwargs,
            log_std_init,
            shared_gru=shared_gru,
            ortho_init=ortho_init,
            use_sde=use_sde,
            full_std=full_std,
            use_expln=use_expln,
            squash_output=squash_output,
            share_features_extractor=share_features_extractor,
            normalize_images=normalize_images,
        )
        activation_fn = get_activation_fn(activation_fn)
        self.gru_hidden_size = check_positive_int(gru_hidden_size, "gru_hidden_size")
        self.projection_dim = (
            self.gru_hidden_size if projection_dim is None else check_positive_int(projection_dim, "projection_dim")
        )
        if shared_gru and not share_features_extractor:
            raise ValueError("`shared_gru=True` requires `share_features_extractor=True`: a shared GRU needs shared features")
        self.shared_gru = bool(shared_gru)
        if net_arch is None:
            net_arch = [self.gru_hidden_size, self.gru_hidden_size]
        parse_net_arch(net_arch)  # validate early, with a message naming `net_arch`
        if isinstance(net_arch, dict) and set(net_arch) != {"pi", "vf"}:
            # SB3 reads a missing key as no layer, which silently drops the layers meant for that network
            raise ValueError(
                f"`net_arch` as a dict must give both 'pi' and 'vf' (an empty list puts that head directly on the GRU "
                f"output), got {net_arch!r}"
            )
        # Attributes of RecurrentActorCriticPolicy, kept for code that reads them
        self.lstm_output_dim = self.gru_hidden_size
        self.lstm_kwargs: dict[str, Any] = {}
        self.shared_lstm = shared_gru
        self.enable_critic_lstm = not shared_gru
        # RecurrentActorCriticPolicy.__init__ is skipped on purpose: it would build nn.LSTM modules.
        # The projection(s) and GRU(s) are built in ``_build_mlp_extractor``, before the optimizer.
        ActorCriticPolicy.__init__(
            self,
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
        )
        self.critic = None
        # For the predict() method, to initialize hidden states: (n_layers, batch_size, hidden_size)
        self.lstm_hidden_state_shape = (self.lstm_actor.num_layers, 1, self.gru_hidden_size)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            dict(
                share_features_extractor=self.share_features_extractor,
                gru_hidden_size=self.gru_hidden_size,
                projection_dim=self.projection_dim,
                shared_gru=self.shared_gru,
            )
        )
        return data

    def _make_input_projection(self) -> nn.Sequential:
        """:return: ``Linear(features_dim, projection_dim) -> LayerNorm -> activation``, orthogonally initialised if asked"""
        projection = nn.Sequential(
            nn.Linear(self.features_dim, self.projection_dim),
            nn.LayerNorm(self.projection_dim),
            self.activation_fn(),
        )
        if self.ortho_init:
            projection.apply(lambda module: self.init_weights(module, gain=2**0.5))
        return projection

    def _build_mlp_extractor(self) -> None:
        """
        Create the input projection(s), the GRU(s) and the post-GRU layers (``mlp_extractor``).
        Called by ``ActorCriticPolicy._build`` before the optimizer is created.
        """
        self.gru_input_projection = self._make_input_projection()
        self.lstm_actor = LayerNormGRU(self.projection_dim, self.gru_hidden_size)
        self.critic_input_projection: Optional[nn.Sequential] = None
        self.lstm_critic = None
        if not self.shared_gru:
            self.critic_input_projection = self._make_input_projection()
            self.lstm_critic = LayerNormGRU(self.projection_dim, self.gru_hidden_size)
        self.mlp_extractor = LayerNormMlpExtractor(
            self.gru_hidden_size,
            net_arch=self.net_arch,
            activation_fn=self.activation_fn,
            device=self.device,
        )

    @staticmethod
    def _process_sequence(  # type: ignore[override]
        features: th.Tensor,
        lstm_states: tuple[th.Tensor, th.Tensor],
        episode_starts: th.Tensor,
        lstm: LayerNormGRU,
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """
        Do a forward pass in the GRU, with the batch layout of sb3-contrib's LSTM version.

        :param features: Input tensor of shape ``(n_seq * seq_len, input_size)``, sequence by sequence
        :param lstm_states: ``(h, c)``, each of shape ``(1, n_seq, hidden_size)``; ``c`` is ignored
        :param episode_starts: Indicates when a new episode starts, shape ``(n_seq * seq_len,)``;
            the hidden state is zeroed before such a step.
        :param lstm: The GRU
        :return: GRU output of shape ``(n_seq * seq_len, hidden_size)`` and the new ``(h, zeros_like(h))``
        """
        n_seq = lstm_states[0].shape[1]
        # (n_seq * seq_len, input_size) -> (seq_len, n_seq, input_size)
        features_sequence = features.reshape((n_seq, -1, lstm.input_size)).swapaxes(0, 1)
        episode_starts = episode_starts.reshape((n_seq, -1)).swapaxes(0, 1)
        output, hidden = lstm(features_sequence, lstm_states[0], episode_starts)
        # (seq_len, n_seq, hidden_size) -> (n_seq * seq_len, hidden_size)
        output = th.flatten(output.transpose(0, 1), start_dim=0, end_dim=1)
        return output, (hidden, th.zeros_like(hidden))

    def _actor_latent(
        self, features: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """
        :param features: Actor features, ``(n_seq * seq_len, features_dim)``
        :param lstm_states: ``(h, c)`` of the actor GRU
        :param episode_starts: Episode-start flags, ``(n_seq * seq_len,)``
        :return: GRU output of the actor and its new ``(h, c)``
        """
        return self._process_sequence(self.gru_input_projection(features), lstm_states, episode_starts, self.lstm_actor)

    def _critic_latent(
        self, features: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """
        :param features: Critic features, ``(n_seq * seq_len, features_dim)``
        :param lstm_states: ``(h, c)`` of the critic GRU (the actor GRU when shared)
        :param episode_starts: Episode-start flags, ``(n_seq * seq_len,)``
        :return: GRU output for the critic and the new ``(h, c)``
        """
        if self.lstm_critic is None:
            return self._actor_latent(features, lstm_states, episode_starts)
        assert self.critic_input_projection is not None
        return self._process_sequence(self.critic_input_projection(features), lstm_states, episode_starts, self.lstm_critic)

    def _latents(
        self, obs: th.Tensor, lstm_states: RNNStates, episode_starts: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, RNNStates]:
        """
        :param obs: Observations, sequence after sequence
        :param lstm_states: States of the actor and of the critic at the start of each sequence
        :param episode_starts: Episode-start flags
        :return: Latent of the actor, latent of the critic (after the post-GRU layers) and the new states
        """
        features = self.extract_features(obs)
        if self.share_features_extractor:
            pi_features = vf_features = features
        else:
            pi_features, vf_features = features
        latent_pi, states_pi = self._actor_latent(pi_features, lstm_states.pi, episode_starts)
        if self.lstm_critic is None:
            # Shared projection and GRU: the critic reads the same latent, with gradients
            latent_vf, states_vf = latent_pi, states_pi
        else:
            latent_vf, states_vf = self._critic_latent(vf_features, lstm_states.vf, episode_starts)
        latent_pi = self.mlp_extractor.forward_actor(latent_pi)
        latent_vf = self.mlp_extractor.forward_critic(latent_vf)
        return latent_pi, latent_vf, RNNStates(states_pi, states_vf)

    def forward(
        self,
        obs: th.Tensor,
        lstm_states: RNNStates,
        episode_starts: th.Tensor,
        deterministic: bool = False,
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor, RNNStates]:
        """
        Forward pass in all the networks (actor and critic)

        :param obs: Observation
        :param lstm_states: The last ``(h, c)`` states of the actor and of the critic (``c`` is a dummy)
        :param episode_starts: Whether the observations correspond to new episodes
            or not (we reset the GRU states in that case).
        :param deterministic: Whether to sample or use deterministic actions
        :return: action, value, log probability of the action and the new states
        """
        latent_pi, latent_vf, states = self._latents(obs, lstm_states, episode_starts)
        values = self.value_net(latent_vf)
        distribution = self._get_action_dist_from_latent(latent_pi)
        actions = distribution.get_actions(deterministic=deterministic)
        log_prob = distribution.log_prob(actions)
        actions = actions.reshape((-1, *self.action_space.shape))  # type: ignore[misc]
        return actions, values, log_prob, states

    def get_distribution(
        self,
        obs: th.Tensor,
        lstm_states: tuple[th.Tensor, th.Tensor],
        episode_starts: th.Tensor,
    ) -> tuple[Distribution, tuple[th.Tensor, ...]]:
        """
        Get the current policy distribution given the observations.

        :param obs: Observation.
        :param lstm_states: The last ``(h, c)`` states of the actor (``c`` is a dummy)
        :param episode_starts: Whether the observations correspond to new episodes
            or not (we reset the GRU states in that case).
        :return: the action distribution and new hidden states.
        """
        features = BasePolicy.extract_features(self, obs, self.pi_features_extractor)
        latent_pi, lstm_states = self._actor_latent(features, lstm_states, episode_starts)
        latent_pi = self.mlp_extractor.forward_actor(latent_pi)
        return self._get_action_dist_from_latent(latent_pi), lstm_states

    def predict_values(
        self,
        obs: th.Tensor,
        lstm_states: tuple[th.Tensor, th.Tensor],
        episode_starts: th.Tensor,
    ) -> th.Tensor:
        """
        Get the estimated values according to the current policy given the observations.

        :param obs: Observation.
        :param lstm_states: The last ``(h, c)`` states of the critic (``c`` is a dummy)
        :param episode_starts: Whether the observations correspond to new episodes
            or not (we reset the GRU states in that case).
        :return: the estimated values.
        """
        features = BasePolicy.extract_features(self, obs, self.vf_features_extractor)
        latent_vf, _ = self._critic_latent(features, lstm_states, episode_starts)
        latent_vf = self.mlp_extractor.forward_critic(latent_vf)
        return self.value_net(latent_vf)

    def evaluate_actions(
        self, obs: th.Tensor, actions: th.Tensor, lstm_states: RNNStates, episode_starts: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """
        Evaluate actions according to the current policy,
        given the observations.

        :param obs: Observation.
        :param actions: Actions to evaluate
        :param lstm_states: The ``(h, c)`` states of the actor and of the critic at the start of each sequence
        :param episode_starts: Whether the observations correspond to new episodes
            or not (we reset the GRU states in that case).
        :return: estimated value, log likelihood of taking those actions
            and entropy of the action distribution.
        """
        latent_pi, latent_vf, _ = self._latents(obs, lstm_states, episode_starts)
        distribution = self._get_action_dist_from_latent(latent_pi)
        log_prob = distribution.log_prob(actions)
        values = self.value_net(latent_vf)
        return values, log_prob, distribution.entropy()


class LnGruActorCriticCnnPolicy(LnGruActorCriticPolicy):
    """
    :class:`LnGruActorCriticPolicy` with SB3's ``NatureCNN`` features extractor by default (image observations),
    like sb3-contrib's ``RecurrentActorCriticCnnPolicy``.

    :param observation_space: Observation space
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: Widths of the ``Linear -> LayerNorm -> activation`` layers after the GRU:
        a list for both networks or ``dict(pi=[...], vf=[...])`` with both keys (``[]`` for none);
        ``None`` means ``[gru_hidden_size] * 2``
    :param activation_fn: Activation of the projection and of the post-GRU layers,
        an ``nn.Module`` class or a name such as ``"relu"``
    :param ortho_init: Whether to use or not orthogonal initialization (of the features extractor,
        projection, post-GRU layers and heads; the GRU has its own initialisation)
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
        Must be True when ``shared_gru`` is True.
    :param normalize_images: Whether to normalize images or not,
         dividing by 255.0 (True by default)
    :param optimizer_class: The optimizer to use,
        ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments,
        excluding the learning rate, to pass to the optimizer
    :param gru_hidden_size: Number of hidden units of the GRU (default 256, as sb3-contrib's ``lstm_hidden_size``;
        the Craftax baseline uses wider layers, e.g. 512)
    :param projection_dim: Output width of the input projection; ``None`` means ``gru_hidden_size``
    :param shared_gru: Whether the actor and the critic share the projection and the GRU
    """

    #: The name that ``RecurrentGTRPPO`` accepts for this class (in error messages)
    alias = "CnnLnGruPolicy"

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
        gru_hidden_size: int = 256,
        projection_dim: Optional[int] = None,
        shared_gru: bool = True,
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
            gru_hidden_size,
            projection_dim,
            shared_gru,
        )


class LnGruMultiInputActorCriticPolicy(LnGruActorCriticPolicy):
    """
    :class:`LnGruActorCriticPolicy` with SB3's ``CombinedExtractor`` features extractor by default
    (``Dict`` observations), like sb3-contrib's ``RecurrentMultiInputActorCriticPolicy``.

    :param observation_space: Observation space
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: Widths of the ``Linear -> LayerNorm -> activation`` layers after the GRU:
        a list for both networks or ``dict(pi=[...], vf=[...])`` with both keys (``[]`` for none);
        ``None`` means ``[gru_hidden_size] * 2``
    :param activation_fn: Activation of the projection and of the post-GRU layers,
        an ``nn.Module`` class or a name such as ``"relu"``
    :param ortho_init: Whether to use or not orthogonal initialization (of the features extractor,
        projection, post-GRU layers and heads; the GRU has its own initialisation)
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
        Must be True when ``shared_gru`` is True.
    :param normalize_images: Whether to normalize images or not,
         dividing by 255.0 (True by default)
    :param optimizer_class: The optimizer to use,
        ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments,
        excluding the learning rate, to pass to the optimizer
    :param gru_hidden_size: Number of hidden units of the GRU (default 256, as sb3-contrib's ``lstm_hidden_size``;
        the Craftax baseline uses wider layers, e.g. 512)
    :param projection_dim: Output width of the input projection; ``None`` means ``gru_hidden_size``
    :param shared_gru: Whether the actor and the critic share the projection and the GRU
    """

    #: The name that ``RecurrentGTRPPO`` accepts for this class (in error messages)
    alias = "MultiInputLnGruPolicy"

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
        gru_hidden_size: int = 256,
        projection_dim: Optional[int] = None,
        shared_gru: bool = True,
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
            gru_hidden_size,
            projection_dim,
            shared_gru,
        )
