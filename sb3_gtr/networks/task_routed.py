"""
The policy half of one policy across embodiments (Section 5.1 of the GTR paper): "we employ task-specific input
layers for both actors and critics and task-specific output heads for actors".

:class:`TaskRoutedActorCriticPolicy`, for ``GTRPPO`` and SB3's ``PPO``, reads the observations that
:func:`~sb3_gtr.continual.cross_embodiment.pad_task_spaces` gives every task (a ``Dict`` of the zero-padded
observation vector, :data:`OBSERVATION_KEY`, and the task id, :data:`TASK_ID_OBS_KEY`): per-task input layers
(actor and critic, each reading only its task's real observation entries), shared trunks (SimBa by default, the
paper's network, or an MLP), per-task actor heads giving the mean of a Gaussian over the task's real action
dimensions, per-task log standard deviations and a shared value head. A sample is routed by its task id; padded
action dimensions are masked out of the log-probability and the entropy (:class:`MaskedDiagGaussianDistribution`)
so that they cannot distort the probability ratio.
"""

from collections.abc import Sequence
from functools import partial
from typing import Any, Optional, Union

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import DiagGaussianDistribution, Distribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from stable_baselines3.common.utils import get_device
from torch import nn
from torch.distributions import Normal

from sb3_gtr.common import checks
from sb3_gtr.networks.torch_layers import (
    ActivationFn,
    NetArch,
    TaskRoutedLinear,
    TaskRoutedNetwork,
    check_positive_int,
    get_activation_fn,
    mlp_task_routed_network,
    parse_net_arch,
    per_task_sizes,
    simba_task_routed_network,
)

#: Key of the padded observation vector in the observations of
#: :class:`~sb3_gtr.continual.cross_embodiment.CrossEmbodimentWrapper`.
OBSERVATION_KEY = "observation"
#: Key of the task id (a ``Discrete(n_tasks)`` entry) in the same observations.
TASK_ID_OBS_KEY = "task_id"
#: Trunks of :class:`TaskRoutedActorCriticPolicy`.
TRUNKS = ("simba", "mlp")


class TaskRoutedObservationSpace(spaces.Dict):
    """
    The observation space of padded cross-embodiment tasks: ``Dict(OBSERVATION_KEY: Box, TASK_ID_OBS_KEY: Discrete)``
    that also records each task's real observation and action sizes, so that :class:`TaskRoutedActorCriticPolicy`
    reads them from the environment (the sizes have one source: the tasks' own environments, probed by
    :func:`~sb3_gtr.continual.cross_embodiment.pad_task_spaces`). It compares equal to a plain ``Dict`` of the same
    subspaces, and to another one only if the recorded sizes agree.

    :param n_tasks: Number of tasks
    :param obs_dim: Size of the padded observation vector (the largest task's)
    :param task_obs_dims: Observation size of each task (``None``: not recorded)
    :param task_action_dims: Action size of each task (``None``: not recorded)
    :param seed: Seed of the space's sampler
    """

    def __init__(
        self,
        n_tasks: int,
        obs_dim: int,
        task_obs_dims: Optional[Sequence[int]] = None,
        task_action_dims: Optional[Sequence[int]] = None,
        seed: Optional[int] = None,
    ) -> None:
        n_tasks = checks.check_positive_int("n_tasks", n_tasks)
        obs_dim = checks.check_positive_int("obs_dim", obs_dim)
        super().__init__(
            {
                OBSERVATION_KEY: spaces.Box(-np.inf, np.inf, shape=(obs_dim,), dtype=np.float32),
                TASK_ID_OBS_KEY: spaces.Discrete(n_tasks),
            },
            seed=seed,
        )
        self.task_obs_dims = None if task_obs_dims is None else per_task_sizes(list(task_obs_dims), n_tasks, "task_obs_dims")
        self.task_action_dims = (
            None if task_action_dims is None else per_task_sizes(list(task_action_dims), n_tasks, "task_action_dims")
        )

    def __eq__(self, other: object) -> bool:
        if not super().__eq__(other):
            return False
        return all(
            getattr(self, name) is None or getattr(other, name, None) in (None, getattr(self, name))
            for name in ("task_obs_dims", "task_action_dims")
        )


def cross_embodiment_spaces(
    n_tasks: int,
    obs_dim: int,
    action_dim: int,
    task_obs_dims: Optional[Sequence[int]] = None,
    task_action_dims: Optional[Sequence[int]] = None,
) -> tuple[TaskRoutedObservationSpace, spaces.Box]:
    """
    :param n_tasks: Number of tasks
    :param obs_dim: Size of the padded observation vector (the largest task's)
    :param action_dim: Size of the padded action vector (the largest task's)
    :param task_obs_dims: Observation size of each task, recorded in the observation space (``None``: not recorded)
    :param task_action_dims: Action size of each task, recorded in the observation space (``None``: not recorded)
    :return: The observation space and the action space shared by all tasks
    """
    action_dim = checks.check_positive_int("action_dim", action_dim)
    observation_space = TaskRoutedObservationSpace(n_tasks, obs_dim, task_obs_dims, task_action_dims)
    return observation_space, spaces.Box(-1.0, 1.0, shape=(action_dim,), dtype=np.float32)


class TaskObservationExtractor(BaseFeaturesExtractor):
    """
    Features of :class:`TaskRoutedActorCriticPolicy`: the padded observation vector followed by the one-hot task
    id, ``(batch, obs_dim + n_tasks)``. It has no parameters: the task-specific layers come after it.

    :param observation_space: A ``Dict`` with the keys ``"observation"`` (a 1-D ``Box``) and ``"task_id"`` (a
        ``Discrete``), as :func:`cross_embodiment_spaces` makes
    """

    def __init__(self, observation_space: spaces.Dict) -> None:
        check_cross_embodiment_observation_space(observation_space)
        self.obs_dim = int(observation_space[OBSERVATION_KEY].shape[0])
        self.n_tasks = int(observation_space[TASK_ID_OBS_KEY].n)
        super().__init__(observation_space, self.obs_dim + self.n_tasks)

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """
        :param observations: Preprocessed observations (the task id one-hot encoded)
        :return: The features
        """
        # The one-hot task id is (batch, n_tasks) from predict() but (batch, 1, n_tasks) from the rollout buffers
        observation, task_one_hot = observations[OBSERVATION_KEY], observations[TASK_ID_OBS_KEY]
        return th.cat([observation.float().flatten(start_dim=1), task_one_hot.float().flatten(start_dim=1)], dim=-1)


def check_cross_embodiment_observation_space(observation_space: spaces.Space) -> None:
    """
    Raise a ``ValueError`` unless ``observation_space`` is a ``Dict`` of a 1-D ``Box`` ``"observation"`` and a
    ``Discrete`` ``"task_id"`` (the observations of :class:`~sb3_gtr.continual.cross_embodiment.CrossEmbodimentWrapper`).

    :param observation_space: The observation space
    """
    valid = (
        isinstance(observation_space, spaces.Dict)
        and set(observation_space.spaces) == {OBSERVATION_KEY, TASK_ID_OBS_KEY}
        and isinstance(observation_space[OBSERVATION_KEY], spaces.Box)
        and len(observation_space[OBSERVATION_KEY].shape) == 1
        and isinstance(observation_space[TASK_ID_OBS_KEY], spaces.Discrete)
    )
    if not valid:
        raise ValueError(
            f"Task-routed policies need Dict({OBSERVATION_KEY!r}: 1-D Box, {TASK_ID_OBS_KEY!r}: Discrete) observations, "
            f"as made by sb3_gtr.continual.cross_embodiment.pad_task_spaces; got {observation_space}"
        )


class TaskRoutedExtractor(nn.Module):
    """
    Replacement of SB3's ``MlpExtractor`` for :class:`TaskRoutedActorCriticPolicy`: one :class:`TaskRoutedNetwork`
    for the actor and one for the critic (separate per-task input layers and trunks), reading the features of
    :class:`TaskObservationExtractor`.

    :param obs_dim: Size of the padded observation vector
    :param policy_net: The actor network
    :param value_net: The critic network
    :param device: PyTorch device
    """

    def __init__(
        self, obs_dim: int, policy_net: TaskRoutedNetwork, value_net: TaskRoutedNetwork, device: Union[th.device, str] = "auto"
    ) -> None:
        super().__init__()
        self.obs_dim = obs_dim
        self.policy_net = policy_net
        self.value_net = value_net
        self.latent_dim_pi = policy_net.latent_dim
        self.latent_dim_vf = value_net.latent_dim
        self.to(get_device(device))

    def split(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """
        :param features: Features of :class:`TaskObservationExtractor`
        :return: The padded observations and the task id of each sample
        """
        return features[:, : self.obs_dim], features[:, self.obs_dim :].argmax(dim=-1)

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """
        :param features: Features of :class:`TaskObservationExtractor`
        :return: The latent of the actor and the latent of the critic
        """
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        """
        :param features: Features of :class:`TaskObservationExtractor`
        :return: The latent of the actor
        """
        return self.policy_net(*self.split(features))

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        """
        :param features: Features of :class:`TaskObservationExtractor`
        :return: The latent of the critic
        """
        return self.value_net(*self.split(features))


class MaskedDiagGaussianDistribution(DiagGaussianDistribution):
    """
    Diagonal Gaussian over padded actions, where each sample has its own standard deviations and a mask of the
    action dimensions that exist for it. Masked dimensions add nothing to the log-probability or the entropy
    (so they cannot move the probability ratio), and are 0 in sampled and deterministic actions.

    :param action_dim: Size of the padded action vector
    """

    def __init__(self, action_dim: int) -> None:
        super().__init__(action_dim)
        self.action_mask: Optional[th.Tensor] = None

    def proba_distribution(  # type: ignore[override]
        self, mean_actions: th.Tensor, log_std: th.Tensor, action_mask: Optional[th.Tensor] = None
    ) -> "MaskedDiagGaussianDistribution":
        """
        :param mean_actions: Means, shape ``(batch, action_dim)``
        :param log_std: Log standard deviations, broadcastable to the means
        :param action_mask: ``True`` where a dimension exists, broadcastable to the means (``None``: all)
        :return: The distribution itself
        """
        self.distribution = Normal(mean_actions, th.ones_like(mean_actions) * log_std.exp())
        mask = th.ones_like(mean_actions, dtype=th.bool) if action_mask is None else action_mask.bool()
        self.action_mask = mask.expand_as(mean_actions)
        return self

    def _masked_sum(self, values: th.Tensor) -> th.Tensor:
        return values.masked_fill(~self.action_mask, 0.0).sum(dim=-1)

    def log_prob(self, actions: th.Tensor) -> th.Tensor:
        """
        :param actions: Padded actions (the masked entries are ignored)
        :return: Log-probability over the existing dimensions, shape ``(batch,)``
        """
        return self._masked_sum(self.distribution.log_prob(actions))

    def entropy(self) -> th.Tensor:
        """:return: Entropy over the existing dimensions, shape ``(batch,)``"""
        return self._masked_sum(self.distribution.entropy())

    def sample(self) -> th.Tensor:
        """:return: A sample (reparametrised), 0 on the masked dimensions"""
        return self.distribution.rsample().masked_fill(~self.action_mask, 0.0)

    def mode(self) -> th.Tensor:
        """:return: The means, 0 on the masked dimensions"""
        return self.distribution.mean.masked_fill(~self.action_mask, 0.0)


def _recorded_sizes(observation_space: spaces.Dict, name: str, given: Optional[Sequence[int]]) -> Optional[Sequence[int]]:
    """
    :return: The task sizes given to the policy, else those the observation space records (``None`` if neither);
        given sizes that contradict recorded ones are refused
    """
    recorded = getattr(observation_space, name, None)
    if given is None or recorded is None:
        return recorded if given is None else given
    if isinstance(given, Sequence) and list(given) != list(recorded):
        raise ValueError(
            f"`{name}` {list(given)} contradicts the sizes the observation space records, {list(recorded)}: "
            f"leave `{name}` out to use the environment's"
        )
    return given


class TaskRoutedActorCriticPolicy(ActorCriticPolicy):
    """
    Actor-critic policy for tasks with different observation and action spaces (Section 5.1 of the GTR paper),
    for ``GTRPPO`` and SB3's ``PPO``, on the ``Dict`` observations and padded ``Box`` actions of
    :func:`pad_task_spaces`.

    For a sample of task ``k`` (its ``"task_id"``):

    - actor: ``Linear(obs_dim_k, h)`` (task ``k``'s own), a shared trunk, then task ``k``'s head
      ``Linear(h, action_dim_k)`` giving the mean of a Gaussian, with task ``k``'s learnable log standard
      deviations; padded action dimensions are masked out (:class:`MaskedDiagGaussianDistribution`);
    - critic: ``Linear(obs_dim_k, h)`` (task ``k``'s own, separate from the actor's), a shared trunk and a shared
      value head.

    The trunk is SimBa by default (``trunk="simba"``: the paper's architecture, widths and block counts as in
    :class:`~sb3_gtr.networks.simba.SimbaActorCriticPolicy`, the first linear layer of each SimBa network being
    the per-task one) or an MLP (``trunk="mlp"``: ``net_arch`` as in SB3, its first layer per task). Only the
    input layers, heads and log standard deviations are per task: a small fraction of the parameters.

    Each per-task input layer reads only the first ``task_obs_dims[k]`` entries of the padded observation, and a
    sample's gradients reach only its own task's layers, the shared trunks and the value head.

    :param observation_space: ``Dict("observation": Box, "task_id": Discrete)`` (see :func:`cross_embodiment_spaces`)
    :param action_space: The padded action space, a 1-D ``Box``
    :param lr_schedule: Learning rate schedule (could be constant)
    :param task_obs_dims: Observation size of each task (``None``: the sizes the observation space records, a
        :class:`TaskRoutedObservationSpace` built by :func:`~sb3_gtr.continual.cross_embodiment.pad_task_spaces`;
        if it records none, every task uses the whole padded vector)
    :param task_action_dims: Action size of each task (``None``: the sizes the observation space records; if it
        records none, every task uses every action dimension)
    :param trunk: ``"simba"`` or ``"mlp"``
    :param net_arch: Layer widths of the MLP trunk, SB3 style (``None``: ``dict(pi=[64, 64], vf=[64, 64])``);
        must be ``None`` with the SimBa trunk
    :param activation_fn: Activation of the trunk, an ``nn.Module`` class or a name such as ``"relu"``
    :param ortho_init: Whether to use or not orthogonal initialization
    :param use_sde: Must be ``False`` (gSDE is not supported)
    :param log_std_init: Initial value for the log standard deviations
    :param full_std: Not used (gSDE only)
    :param use_expln: Not used (gSDE only)
    :param squash_output: Must be ``False``
    :param features_extractor_class: Must be :class:`TaskObservationExtractor` (or a subclass)
    :param features_extractor_kwargs: Keyword arguments to pass to the features extractor
    :param share_features_extractor: Must be ``True`` (the extractor has no parameters)
    :param normalize_images: Not used (no image observations)
    :param optimizer_class: The optimizer to use, ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments, excluding the learning rate, to pass to the optimizer
    :param actor_hidden_dim: Width of the actor's SimBa trunk
    :param actor_num_blocks: Number of SimBa blocks of the actor
    :param critic_hidden_dim: Width of the critic's SimBa trunk
    :param critic_num_blocks: Number of SimBa blocks of the critic
    :param block_expansion: Width multiplier inside each SimBa block
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        task_obs_dims: Optional[Sequence[int]] = None,
        task_action_dims: Optional[Sequence[int]] = None,
        trunk: str = "simba",
        net_arch: Optional[NetArch] = None,
        activation_fn: ActivationFn = nn.ReLU,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] = TaskObservationExtractor,
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
        check_cross_embodiment_observation_space(observation_space)
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(f"{type(self).__name__} needs a 1-D Box action space, got {action_space}")
        if use_sde or squash_output:
            raise ValueError(f"{type(self).__name__} does not support gSDE (`use_sde`, `squash_output`)")
        if not share_features_extractor:
            raise ValueError(f"{type(self).__name__} needs `share_features_extractor=True` (its extractor has no parameters)")
        if not (isinstance(features_extractor_class, type) and issubclass(features_extractor_class, TaskObservationExtractor)):
            raise ValueError(f"{type(self).__name__} needs a TaskObservationExtractor, got {features_extractor_class}")
        if trunk not in TRUNKS:
            raise ValueError(f"`trunk` must be one of {TRUNKS}, got {trunk!r}")
        if trunk == "simba" and net_arch is not None:
            raise ValueError(
                f"The SimBa trunk does not use `net_arch` (got {net_arch!r}): set `actor_hidden_dim`, `actor_num_blocks`, "
                "`critic_hidden_dim` and `critic_num_blocks`, or pass trunk='mlp'"
            )
        n_tasks = int(observation_space[TASK_ID_OBS_KEY].n)
        obs_dim, action_dim = int(observation_space[OBSERVATION_KEY].shape[0]), int(action_space.shape[0])
        task_obs_dims = _recorded_sizes(observation_space, "task_obs_dims", task_obs_dims)
        task_action_dims = _recorded_sizes(observation_space, "task_action_dims", task_action_dims)
        self.task_obs_dims = per_task_sizes(
            obs_dim if task_obs_dims is None else list(task_obs_dims), n_tasks, "task_obs_dims"
        )
        self.task_action_dims = per_task_sizes(
            action_dim if task_action_dims is None else list(task_action_dims), n_tasks, "task_action_dims"
        )
        if max(self.task_obs_dims) > obs_dim or max(self.task_action_dims) > action_dim:
            raise ValueError(
                f"Task sizes {self.task_obs_dims} (observations) and {self.task_action_dims} (actions) exceed the padded "
                f"sizes {obs_dim} and {action_dim}"
            )
        self.trunk = trunk
        self.actor_hidden_dim = check_positive_int(actor_hidden_dim, "actor_hidden_dim")
        self.actor_num_blocks = check_positive_int(actor_num_blocks, "actor_num_blocks")
        self.critic_hidden_dim = check_positive_int(critic_hidden_dim, "critic_hidden_dim")
        self.critic_num_blocks = check_positive_int(critic_num_blocks, "critic_num_blocks")
        self.block_expansion = check_positive_int(block_expansion, "block_expansion")
        self._net_arch_arg = net_arch
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=net_arch,
            activation_fn=get_activation_fn(activation_fn),
            ortho_init=ortho_init,
            use_sde=False,
            log_std_init=log_std_init,
            full_std=full_std,
            use_expln=use_expln,
            squash_output=False,
            features_extractor_class=features_extractor_class,
            features_extractor_kwargs=features_extractor_kwargs,
            share_features_extractor=True,
            normalize_images=normalize_images,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )

    @property
    def n_tasks(self) -> int:
        """Number of tasks."""
        return len(self.task_obs_dims)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            dict(
                net_arch=self._net_arch_arg,
                task_obs_dims=list(self.task_obs_dims),
                task_action_dims=list(self.task_action_dims),
                trunk=self.trunk,
                actor_hidden_dim=self.actor_hidden_dim,
                actor_num_blocks=self.actor_num_blocks,
                critic_hidden_dim=self.critic_hidden_dim,
                critic_num_blocks=self.critic_num_blocks,
                block_expansion=self.block_expansion,
            )
        )
        return data

    def _build_mlp_extractor(self) -> None:
        """Create the per-task input layers and the shared trunks of the actor and of the critic."""
        if self.trunk == "simba":
            policy_net = simba_task_routed_network(
                self.task_obs_dims, self.actor_hidden_dim, self.actor_num_blocks, self.block_expansion, self.activation_fn
            )
            value_net = simba_task_routed_network(
                self.task_obs_dims, self.critic_hidden_dim, self.critic_num_blocks, self.block_expansion, self.activation_fn
            )
        else:
            pi_dims, vf_dims = parse_net_arch(self.net_arch)
            policy_net = mlp_task_routed_network(self.task_obs_dims, pi_dims, self.activation_fn)
            value_net = mlp_task_routed_network(self.task_obs_dims, vf_dims, self.activation_fn)
        self.mlp_extractor = TaskRoutedExtractor(
            int(self.observation_space[OBSERVATION_KEY].shape[0]), policy_net, value_net, device=self.device
        )

    def _build(self, lr_schedule: Schedule) -> None:
        """
        Create the networks, the per-task action heads and log standard deviations, and the optimizer.

        :param lr_schedule: Learning rate schedule, ``lr_schedule(1)`` is the initial learning rate
        """
        self._build_mlp_extractor()
        action_dim = int(self.action_space.shape[0])
        self.action_dist = MaskedDiagGaussianDistribution(action_dim)
        self.action_net = TaskRoutedLinear(self.mlp_extractor.latent_dim_pi, self.task_action_dims)
        # Per task: the padded entries receive no gradient (masked out of the log-probability and the entropy)
        self.log_std = nn.Parameter(th.full((self.n_tasks, action_dim), float(self.log_std_init)), requires_grad=True)
        action_mask = th.arange(action_dim)[None, :] < th.as_tensor(self.task_action_dims)[:, None]
        self.register_buffer("action_mask", action_mask, persistent=False)
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, 1)
        if self.ortho_init:
            # SB3's gains: sqrt(2) for the hidden layers, 0.01 for the action heads, 1 for the value head
            for module, gain in ((self.mlp_extractor, np.sqrt(2)), (self.action_net, 0.01), (self.value_net, 1.0)):
                module.apply(partial(self.init_weights, gain=gain))
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]

    def _features(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        features = super().extract_features(obs, self.features_extractor)
        return features, self.mlp_extractor.split(features)[1]  # type: ignore[index, arg-type]

    def _task_distribution(self, latent_pi: th.Tensor, task_ids: th.Tensor) -> MaskedDiagGaussianDistribution:
        mean_actions = self.action_net(latent_pi, task_ids)
        return self.action_dist.proba_distribution(mean_actions, self.log_std[task_ids], self.action_mask[task_ids])

    def _get_action_dist_from_latent(self, latent_pi: th.Tensor) -> Distribution:
        raise NotImplementedError(f"{type(self).__name__} needs the task ids: use get_distribution(obs)")

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """
        Forward pass in all the networks (actor and critic).

        :param obs: Observation
        :param deterministic: Whether to sample or use deterministic actions
        :return: action, value and log probability of the action
        """
        features, task_ids = self._features(obs)
        latent_pi, latent_vf = self.mlp_extractor(features)
        values = self.value_net(latent_vf)
        distribution = self._task_distribution(latent_pi, task_ids)
        actions = distribution.get_actions(deterministic=deterministic)
        log_prob = distribution.log_prob(actions)
        return actions.reshape((-1, *self.action_space.shape)), values, log_prob  # type: ignore[misc]

    def evaluate_actions(self, obs: PyTorchObs, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor, Optional[th.Tensor]]:
        """
        Evaluate actions according to the current policy, given the observations.

        :param obs: Observation
        :param actions: Padded actions (entries past a task's action size are ignored)
        :return: estimated value, log likelihood of taking those actions and entropy of the action distribution
        """
        features, task_ids = self._features(obs)
        latent_pi, latent_vf = self.mlp_extractor(features)
        distribution = self._task_distribution(latent_pi, task_ids)
        return self.value_net(latent_vf), distribution.log_prob(actions), distribution.entropy()

    def get_distribution(self, obs: PyTorchObs) -> Distribution:
        """
        Get the current policy distribution given the observations.

        :param obs: Observation
        :return: the action distribution
        """
        features, task_ids = self._features(obs)
        return self._task_distribution(self.mlp_extractor.forward_actor(features), task_ids)
