from typing import Any, ClassVar, Optional, TypeVar, Union

import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule

from sb3_gtr.common.arguments import check_base_arguments, check_learn_arguments, check_ppo_arguments
from sb3_gtr.common.buffers import GTRRecurrentDictRolloutBuffer, GTRRecurrentRolloutBuffer
from sb3_gtr.common.gtr_mixin import GTRMixin
from sb3_gtr.common.trust_region import ADVANTAGE_WEIGHTED
from sb3_gtr.gtr_ppo_recurrent.policies import (
    CnnLnGruPolicy,
    CnnLstmPolicy,
    MlpLnGruPolicy,
    MlpLstmPolicy,
    MultiInputLnGruPolicy,
    MultiInputLstmPolicy,
)

SelfRecurrentGTRPPO = TypeVar("SelfRecurrentGTRPPO", bound="RecurrentGTRPPO")


class RecurrentGTRPPO(GTRMixin, RecurrentPPO):
    """
    Recurrent GTR: sb3-contrib's ``RecurrentPPO`` with the Gaussian trust-region objective of
    :class:`sb3_gtr.GTRPPO` (the same update loop and the same math, see :mod:`sb3_gtr.common.gtr_mixin`).

    The anchor log-probabilities of a snapshot are those the recurrent policy gives when it is run over
    the stored sequences from the stored initial hidden states, exactly like the minibatches it trains on.
    Works with sb3-contrib's LSTM policies and with the LayerNorm-GRU policies of this package.

    :param policy: The policy model to use (MlpLstmPolicy, MlpLnGruPolicy, CnnLnGruPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The learning rate, it can be a function
        of the current progress remaining (from 1 to 0)
    :param n_steps: The number of steps to run for each environment per update
        (i.e. batch size is n_steps * n_env where n_env is number of environment copies running in parallel)
    :param batch_size: Minibatch size
    :param n_epochs: Number of epoch when optimizing the surrogate loss
    :param gamma: Discount factor
    :param gae_lambda: Factor for trade-off of bias vs variance for Generalized Advantage Estimator
    :param clip_range: Clipping parameter ``eps``, it can be a function of the current progress
        remaining (from 1 to 0). It also scales the advantage-weighted penalty coefficient ``|A| / eps``.
    :param clip_range_vf: Clipping parameter for the value function,
        it can be a function of the current progress remaining (from 1 to 0).
        If None is passed (default), no clipping will be done on the value function.
    :param normalize_advantage: Whether to normalize or not the advantage
    :param ent_coef: Entropy coefficient for the loss calculation
    :param vf_coef: Value function coefficient for the loss calculation
    :param max_grad_norm: The maximum value for the gradient clipping
    :param use_sde: Whether to use generalized State Dependent Exploration (gSDE)
        instead of action noise exploration (default: False)
    :param sde_sample_freq: Sample a new noise matrix every n steps when using gSDE
        Default: -1 (only sample at the beginning of the rollout)
    :param target_kl: Limit the KL divergence between updates, early stopping when it is exceeded.
    :param penalty: The trust-region penalty: ``"gaussian"`` (GTR, default), ``"pearson"``
        (chi-squared, as SPO), ``"kl"`` (inverse KL) or ``"none"`` (plain RecurrentPPO)
    :param sigma: Width of the Gaussian kernel (strictly positive), it can be a function of the current
        progress remaining (from 1 to 0)
    :param penalty_coef: Penalty coefficient ``lambda``: ``"advantage"`` for ``|A| / clip_range`` (default)
        or a fixed non-negative float (or schedule)
    :param mixture_anchor: Average the penalty over the behaviour policy and the policies at the start of
        each epoch (eq. 5); ``False`` anchors it on the behaviour policy alone (eq. 4)
    :param anchor_window: Keep only the most recent ``anchor_window`` snapshots in the mixture
        (``None``: all of them, up to ``n_epochs``)
    :param clip_surrogate: Use PPO's clipped surrogate; ``False`` uses the plain surrogate ``r A``
    :param stats_window_size: Window size for the rollout logging, specifying the number of episodes to average
        the reported success rate, mean episode length, and mean reward over
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation
    :param verbose: the verbosity level: 0 no output, 1 info, 2 debug
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
        Setting it to auto, the code will be run on the GPU if possible.
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    _allows_full_batch: ClassVar[bool] = True
    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpLstmPolicy": MlpLstmPolicy,
        "CnnLstmPolicy": CnnLstmPolicy,
        "MultiInputLstmPolicy": MultiInputLstmPolicy,
        "MlpLnGruPolicy": MlpLnGruPolicy,
        "CnnLnGruPolicy": CnnLnGruPolicy,
        "MultiInputLnGruPolicy": MultiInputLnGruPolicy,
    }

    def __init__(
        self,
        policy: Union[str, type[BasePolicy]],
        env: Union[GymEnv, str],
        learning_rate: Union[float, Schedule] = 3e-4,
        n_steps: int = 128,
        batch_size: Optional[int] = 128,
        n_epochs: int = 10,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_range: Union[float, Schedule] = 0.2,
        clip_range_vf: Union[float, Schedule, None] = None,
        normalize_advantage: bool = True,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        target_kl: Optional[float] = None,
        penalty: str = "gaussian",
        sigma: Union[float, Schedule] = 0.5,
        penalty_coef: Union[str, float, Schedule] = ADVANTAGE_WEIGHTED,
        mixture_anchor: bool = True,
        anchor_window: Optional[int] = None,
        clip_surrogate: bool = True,
        stats_window_size: int = 100,
        tensorboard_log: Optional[str] = None,
        policy_kwargs: Optional[dict[str, Any]] = None,
        verbose: int = 0,
        seed: Optional[int] = None,
        device: Union[th.device, str] = "auto",
        _init_setup_model: bool = True,
    ):
        # Checked before the environment or the networks are built, so bad input fails fast.
        self._set_gtr_arguments(
            penalty, sigma, penalty_coef, mixture_anchor, anchor_window, clip_surrogate, clip_range, n_epochs
        )
        check_ppo_arguments(
            learning_rate,
            n_steps,
            batch_size,
            gamma,
            gae_lambda,
            clip_range_vf,
            normalize_advantage,
            ent_coef,
            vf_coef,
            max_grad_norm,
            target_kl,
            allow_full_batch=self._allows_full_batch,
        )
        check_base_arguments(
            policy=policy,
            policy_aliases=self.policy_aliases,
            policy_hint=" (feed-forward policies belong to GTRPPO)",
            # `load` builds the model without an environment first
            env=env if _init_setup_model else "",
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
        )
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps,
            batch_size=batch_size,
            n_epochs=n_epochs,
            gamma=gamma,
            gae_lambda=gae_lambda,
            clip_range=clip_range,
            clip_range_vf=clip_range_vf,
            normalize_advantage=normalize_advantage,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
            target_kl=target_kl,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._check_arguments()
        with self._building_model():
            super()._setup_model()
        # RecurrentPPO picks its buffer class itself: swap in the one that carries the anchor columns.
        buffer_class = (
            GTRRecurrentDictRolloutBuffer if isinstance(self.observation_space, spaces.Dict) else GTRRecurrentRolloutBuffer
        )
        self.rollout_buffer = buffer_class(
            self.n_steps,
            self.observation_space,
            self.action_space,
            self.rollout_buffer.hidden_state_shape,
            self.device,
            gamma=self.gamma,
            gae_lambda=self.gae_lambda,
            n_envs=self.n_envs,
        )
        self._setup_gtr()

    def _evaluate_samples(self, samples: Any) -> tuple[th.Tensor, th.Tensor, Optional[th.Tensor], th.Tensor]:
        values, log_prob, entropy = self.policy.evaluate_actions(
            samples.observations, self._actions(samples), samples.lstm_states, samples.episode_starts
        )
        # Convert mask from float to bool: padded steps of the sequences are left out of every mean
        return values, log_prob, entropy, samples.mask > 1e-8

    def _anchor_log_prob(self, samples: Any) -> tuple[th.Tensor, th.Tensor]:
        distribution, _ = self.policy.get_distribution(samples.observations, samples.lstm_states.pi, samples.episode_starts)
        return distribution.log_prob(self._actions(samples)), samples.mask > 1e-8

    def learn(
        self: SelfRecurrentGTRPPO,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "RecurrentGTRPPO",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfRecurrentGTRPPO:
        total_timesteps = check_learn_arguments(
            total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar
        )
        self._check_can_learn()
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )
