"""
What ``GTRPPO`` and ``RecurrentGTRPPO`` share: the GTR arguments (checked by
:mod:`sb3_gtr.common.arguments`, on construction, on ``load`` and at every update), the mixture
anchor snapshots, the update loop that optimises the GTR objective of
:func:`sb3_gtr.common.trust_region.gtr_policy_loss`, and what stops a run that goes numerically wrong.

The loop follows SB3's ``PPO.train`` step by step (so that ``penalty="none"`` reproduces PPO
exactly) and handles the padded minibatches of recurrent policies through a mask, so that the
two algorithms differ only in how a minibatch is evaluated.
"""

import contextlib
import inspect
import io
import pathlib
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, Optional, Union

import numpy as np
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.save_util import json_to_data, open_path
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.common.utils import FloatSchedule, explained_variance

from sb3_gtr.common.arguments import (
    as_float_or_schedule,
    check_base_arguments,
    check_gtr_arguments,
    check_ppo_arguments,
    check_value,
    is_zero_everywhere,
)
from sb3_gtr.common.buffers import AnchorLogProbsMixin
from sb3_gtr.common.checks import check_keywords
from sb3_gtr.common.trust_region import ADVANTAGE_WEIGHTED, anchor_epochs, gtr_policy_loss, masked_mean

#: Samples per no-grad forward pass when evaluating a policy snapshot on the whole rollout.
ANCHOR_EVAL_BATCH_SIZE = 2048


class NonFiniteLossError(RuntimeError):
    """Raised when a GTR update produces a NaN or infinite loss or gradient; the weights are left untouched."""


class NonFiniteEnvironmentError(ValueError):
    """Raised when the environment returns a NaN or infinite observation or reward; the weights are left untouched."""


def _is_distribution_error(error: ValueError) -> bool:
    """Whether ``error`` is torch's check of a distribution's parameters (raised on NaN logits or means)."""
    return "Expected parameter" in str(error)


def _path_name(path: Any) -> str:
    """A path as it reads in a message (``'model.zip'``, not ``PosixPath('model.zip')``)."""
    return repr(str(path)) if isinstance(path, (str, pathlib.Path)) else repr(path)


def _read_saved_data(path: Union[str, pathlib.Path, io.BufferedIOBase], custom_objects: Optional[dict[str, Any]]) -> Any:
    """
    The saved attributes of an agent saved with ``model.save``, without its weights, or a ``ValueError`` saying
    why there are none (SB3 names ``model.zip.zip`` for a missing ``model.zip`` and asserts on a zip without data).
    """
    if isinstance(path, (str, pathlib.Path)):
        candidates = [pathlib.Path(path)] + ([] if str(path).endswith(".zip") else [pathlib.Path(f"{path}.zip")])
        if not any(candidate.is_file() for candidate in candidates):
            raise FileNotFoundError(f"No saved agent at {' or '.join(map(str, candidates))}.")
    file = open_path(path, "r", verbose=0, suffix="zip")
    try:
        with zipfile.ZipFile(file) as archive:
            if "data" not in archive.namelist():
                raise ValueError(f"{_path_name(path)} is a zip file without a saved agent (no 'data' entry): not from save()?")
            return json_to_data(archive.read("data").decode(), custom_objects=custom_objects)
    except zipfile.BadZipFile:
        raise ValueError(f"{_path_name(path)} is not a zip file written by save().") from None
    finally:
        if isinstance(path, (str, pathlib.Path)):
            file.close()


def _check_finite_parameters(named_parameters: Iterable[tuple[str, th.Tensor]], refusal: str) -> None:
    for name, parameter in named_parameters:
        if not th.isfinite(parameter).all():
            raise ValueError(f"{refusal}: the policy parameter {name!r} contains NaN or inf values.")


def _constructor_arguments(cls: type) -> set[str]:
    """The keyword arguments ``load`` may change: the constructor's."""
    return set(inspect.signature(cls.__init__).parameters) - {"self", "policy", "env", "_init_setup_model"}


def _check_saved_agent(cls: type, path: Any, data: dict[str, Any]) -> None:
    """Refuse a saved agent of another algorithm than ``cls``, saying which class loads it."""
    policy_class = data["policy_class"]
    policy_name = getattr(policy_class, "__name__", repr(policy_class))
    saved_recurrent = isinstance(policy_class, type) and issubclass(policy_class, RecurrentActorCriticPolicy)
    wants_recurrent = issubclass(cls, RecurrentPPO)
    if "penalty" not in data:
        base = "sb3_contrib.RecurrentPPO" if saved_recurrent else "stable_baselines3.PPO"
        raise ValueError(
            f"{_path_name(path)} holds an agent saved by another algorithm than {cls.__name__} (policy {policy_name}, no GTR "
            f"arguments), most likely {base}. Load it with {base}.load, or continue training it with GTR through "
            "sb3_gtr.adaptation.load_into_gtr(path, env)."
        )
    if saved_recurrent != wants_recurrent:
        other = "RecurrentGTRPPO" if saved_recurrent else "GTRPPO"
        raise ValueError(
            f"{_path_name(path)} holds a {other} agent (policy {policy_name}), not a {cls.__name__} one: "
            f"load it with {other}.load."
        )


class GTRMixin:
    """
    Turns an SB3 on-policy algorithm of the PPO family into its GTR version.

    The class using it must set the attributes below (the GTR arguments) before calling
    ``_setup_model`` and implement :meth:`_evaluate_samples` and :meth:`_anchor_log_prob`.
    """

    penalty: str
    sigma: Union[float, Schedule]
    penalty_coef: Union[str, float, Schedule]
    mixture_anchor: bool
    anchor_window: Optional[int]
    clip_surrogate: bool

    #: Whether ``batch_size=None`` is allowed (the whole rollout, as in ``RecurrentPPO``)
    _allows_full_batch: ClassVar[bool] = False

    # Provided by the PPO-family base class
    policy: Any
    learning_rate: Union[float, Schedule]
    n_steps: int
    gamma: float
    gae_lambda: float
    _last_obs: Any
    rollout_buffer: Any
    logger: Any
    action_space: spaces.Space
    n_epochs: int
    batch_size: int
    clip_range: Schedule
    clip_range_vf: Optional[Schedule]
    normalize_advantage: bool
    ent_coef: float
    vf_coef: float
    max_grad_norm: float
    target_kl: Optional[float]
    verbose: int
    _n_updates: int
    num_timesteps: int
    _current_progress_remaining: float

    def _set_gtr_arguments(
        self,
        penalty: str,
        sigma: Union[float, Schedule],
        penalty_coef: Union[str, float, Schedule],
        mixture_anchor: bool,
        anchor_window: Optional[int],
        clip_surrogate: bool,
        clip_range: Union[float, Schedule],
        n_epochs: int,
    ) -> None:
        check_gtr_arguments(penalty, sigma, penalty_coef, mixture_anchor, anchor_window, clip_surrogate, clip_range, n_epochs)
        self.penalty = penalty
        self.sigma = as_float_or_schedule("sigma", sigma)
        self.penalty_coef = (
            penalty_coef if isinstance(penalty_coef, str) else as_float_or_schedule("penalty_coef", penalty_coef)
        )
        self.mixture_anchor = bool(mixture_anchor)
        self.anchor_window = None if anchor_window is None else int(anchor_window)
        self.clip_surrogate = bool(clip_surrogate)

    def _check_arguments(self) -> None:
        """
        Check every argument as it is set on the model, first thing in ``_setup_model``: the constructor checked
        them before building anything, but ``load`` sets the saved ones, its ``custom_objects`` and its keyword
        arguments directly. Numbers become Python floats, which SB3's ``FloatSchedule`` needs.

        A learning rate and a clip range of 0 everywhere pass: that is how SB3 and the zoo load a model for
        prediction only (the ``custom_objects`` of ``rl_zoo3.enjoy``); an update with them is stopped by
        :meth:`_check_update_inputs`.
        """
        # Any valid stand-in, so that the other arguments are still checked
        for_prediction = {name: is_zero_everywhere(getattr(self, name)) for name in ("learning_rate", "clip_range")}
        check_gtr_arguments(
            self.penalty,
            self.sigma,
            self.penalty_coef,
            self.mixture_anchor,
            self.anchor_window,
            self.clip_surrogate,
            1.0 if for_prediction["clip_range"] else self.clip_range,
            self.n_epochs,
        )
        check_ppo_arguments(
            1.0 if for_prediction["learning_rate"] else self.learning_rate,
            self.n_steps,
            self.batch_size,
            self.gamma,
            self.gae_lambda,
            self.clip_range_vf,
            self.normalize_advantage,
            self.ent_coef,
            self.vf_coef,
            self.max_grad_norm,
            self.target_kl,
            allow_full_batch=self._allows_full_batch,
        )
        check_base_arguments(
            use_sde=self.use_sde,
            sde_sample_freq=self.sde_sample_freq,
            rollout_buffer_class=getattr(self, "rollout_buffer_class", None),
            rollout_buffer_kwargs=getattr(self, "rollout_buffer_kwargs", None),
            stats_window_size=self._stats_window_size,
            tensorboard_log=self.tensorboard_log,
            policy_kwargs=self.policy_kwargs,
            verbose=self.verbose,
            seed=self.seed,
        )
        self.learning_rate = as_float_or_schedule("learning_rate", self.learning_rate)
        self.clip_range = as_float_or_schedule("clip_range", self.clip_range)
        if self.clip_range_vf is not None:
            self.clip_range_vf = as_float_or_schedule("clip_range_vf", self.clip_range_vf)

    @contextlib.contextmanager
    def _building_model(self) -> Iterator[None]:
        """
        SB3 builds the policy and the rollout buffer inside ``_setup_model``, where a bad ``policy_kwargs`` entry of
        its own policies (``net_arch=[-1]``, ``activation_fn="relu"``) is a torch ``RuntimeError`` or a bare
        ``TypeError``: say which policy and keyword arguments it was.
        """
        try:
            yield
        except (TypeError, RuntimeError, AssertionError) as error:
            policy = getattr(self.policy_class, "__name__", repr(self.policy_class))  # type: ignore[attr-defined]
            buffer_kwargs = getattr(self, "rollout_buffer_kwargs", None)
            also = f" and rollout_buffer_kwargs {buffer_kwargs}" if buffer_kwargs else ""
            raise ValueError(
                f"Cannot build {type(self).__name__} with the policy {policy}, policy_kwargs {self.policy_kwargs}"
                f"{also}: {type(error).__name__}: {error}"
            ) from error

    def _check_can_learn(self) -> None:
        """Refuse ``learn()`` without an environment (a model loaded without ``env``), which SB3 meets with a bare assert."""
        if self.env is None:  # type: ignore[attr-defined]
            raise ValueError(
                f"This {type(self).__name__} has no environment to learn from: pass `env` to load() or call set_env(env)."
            )

    def _setup_gtr(self) -> None:
        """Turn the GTR arguments that accept schedules into schedules; called from ``_setup_model``."""
        self.sigma = FloatSchedule(self.sigma)
        if self.penalty_coef != ADVANTAGE_WEIGHTED:
            self.penalty_coef = FloatSchedule(self.penalty_coef)
        if self._uses_snapshots and not isinstance(self.rollout_buffer, AnchorLogProbsMixin):
            raise ValueError(
                f"The mixture anchor needs a rollout buffer that stores anchor log-probabilities "
                f"(see sb3_gtr.common.buffers), got {type(self.rollout_buffer).__name__}: "
                "use the default `rollout_buffer_class` or pass `mixture_anchor=False`."
            )

    @property
    def _uses_snapshots(self) -> bool:
        """Whether the penalty is anchored on epoch snapshots besides the behaviour policy."""
        return self.penalty != "none" and self.mixture_anchor and self.n_epochs > 1

    def _evaluate_samples(self, samples: Any) -> tuple[th.Tensor, th.Tensor, Optional[th.Tensor], Optional[th.Tensor]]:
        """
        Evaluate the current policy on a minibatch.

        :param samples: A minibatch from the rollout buffer
        :return: values, log-probabilities of the taken actions, entropy (or ``None``) and the mask of
            valid samples (``None`` when the minibatch is not padded)
        """
        raise NotImplementedError

    def _anchor_log_prob(self, samples: Any) -> tuple[th.Tensor, Optional[th.Tensor]]:
        """
        Log-probabilities of the taken actions under the current policy, without the value head.

        :param samples: A batch from ``rollout_buffer.ordered_samples``
        :return: log-probabilities and the mask of valid samples (``None`` when not padded)
        """
        raise NotImplementedError

    def _actions(self, samples: Any) -> th.Tensor:
        if isinstance(self.action_space, spaces.Discrete):
            # Convert discrete action from float to long
            return samples.actions.long().flatten()
        return samples.actions

    @th.no_grad()
    def _store_snapshot(self, epoch: int) -> None:
        """Store the log-probabilities of every stored action under the policy at the start of ``epoch``."""
        n_samples = self.rollout_buffer.buffer_size * self.rollout_buffer.n_envs
        log_probs = np.empty(n_samples, dtype=np.float32)
        for flat_slice, samples in self.rollout_buffer.ordered_samples(ANCHOR_EVAL_BATCH_SIZE):
            log_prob, mask = self._anchor_log_prob(samples)
            log_probs[flat_slice] = (log_prob if mask is None else log_prob[mask]).cpu().numpy()
        # Column k - 1 holds pi_k; pi_0 is the behaviour policy, already stored as `old_log_prob`.
        self.rollout_buffer.store_anchor_log_probs(epoch - 1, log_probs, n_columns=self.n_epochs - 1)

    def _mixture_anchor_log_probs(self, samples: Any, epoch: int) -> Optional[th.Tensor]:
        """The log-probabilities of the minibatch under the anchors of epoch ``epoch``, ``(batch, n_anchors)``."""
        if not self._uses_snapshots:
            return None
        epochs = anchor_epochs(epoch, self.anchor_window)
        columns = [samples.old_log_prob.unsqueeze(-1)] if epochs.start == 0 else []
        first_snapshot = max(epochs.start, 1)
        if epochs.stop > first_snapshot:
            columns.append(samples.anchor_log_probs[:, first_snapshot - 1 : epochs.stop - 1])
        return columns[0] if len(columns) == 1 else th.cat(columns, dim=-1)

    def train(self) -> None:
        """
        Update policy using the currently gathered rollout buffer, with the GTR objective.
        """
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        # Update optimizer learning rate
        self._update_learning_rate(self.policy.optimizer)  # type: ignore[attr-defined]
        progress_remaining = self._current_progress_remaining
        clip_range = self.clip_range(progress_remaining)
        clip_range_vf = None if self.clip_range_vf is None else self.clip_range_vf(progress_remaining)
        sigma = self.sigma(progress_remaining)  # type: ignore[operator]
        penalty_coef = self.penalty_coef if isinstance(self.penalty_coef, str) else self.penalty_coef(progress_remaining)
        self._check_update_inputs(progress_remaining, clip_range, clip_range_vf, sigma, penalty_coef)

        entropy_losses, pg_losses, penalty_losses, value_losses = [], [], [], []
        clip_fractions, ratio_deviations, ratio_maxima, grad_norms = [], [], [], []
        n_anchors = 1

        continue_training = True
        # Optimizer steps of this update so far, for the messages of a failure
        n_steps = 0
        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            if self._uses_snapshots and epoch > 0:
                try:
                    self._store_snapshot(epoch)
                except ValueError as error:
                    where = f"in the snapshot at the start of epoch {epoch}, {self._steps_applied(n_steps)}"
                    self._explain_distribution_error(error, where, None, "")
                    raise
            for minibatch, rollout_data in enumerate(self.rollout_buffer.get(self.batch_size)):
                try:
                    values, log_prob, entropy, mask = self._evaluate_samples(rollout_data)
                except ValueError as error:
                    where = f"in the update at epoch {epoch}, minibatch {minibatch}, {self._steps_applied(n_steps)}"
                    self._explain_distribution_error(error, where, None, "")
                    raise
                values = values.flatten()
                # Normalize advantage (normalization does not make sense if mini batchsize == 1, see SB3 GH#325)
                advantages = rollout_data.advantages
                if self.normalize_advantage and len(advantages) > 1:
                    valid_advantages = advantages if mask is None else advantages[mask]
                    advantages = (advantages - valid_advantages.mean()) / (valid_advantages.std() + 1e-8)

                anchor_log_probs = self._mixture_anchor_log_probs(rollout_data, epoch)
                n_anchors = 1 if anchor_log_probs is None else anchor_log_probs.shape[-1]
                surrogate_loss, penalty_loss, ratio = gtr_policy_loss(
                    log_prob,
                    rollout_data.old_log_prob,
                    advantages,
                    anchor_log_probs=anchor_log_probs,
                    clip_range=clip_range,
                    penalty=self.penalty,
                    sigma=sigma,
                    penalty_coef=penalty_coef,
                    clip_surrogate=self.clip_surrogate,
                    mask=mask,
                )

                if clip_range_vf is None:
                    values_pred = values
                else:
                    # Clip the difference between old and new value (depends on the reward scaling)
                    values_pred = rollout_data.old_values + th.clamp(
                        values - rollout_data.old_values, -clip_range_vf, clip_range_vf
                    )
                # Value loss using the TD(gae_lambda) target
                if mask is None:
                    value_loss = F.mse_loss(rollout_data.returns, values_pred)
                else:
                    value_loss = masked_mean((rollout_data.returns - values_pred) ** 2, mask)
                # Entropy loss favours exploration; approximate it when there is no analytical form
                entropy_loss = -masked_mean(-log_prob if entropy is None else entropy, mask)

                loss = surrogate_loss + penalty_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss

                with th.no_grad():
                    # Diagnostics (Section 3 of the paper), kept as tensors: a single sync per rollout
                    valid_ratio = ratio if mask is None else ratio[mask]
                    pg_losses.append(surrogate_loss.detach())
                    penalty_losses.append(penalty_loss.detach())
                    value_losses.append(value_loss.detach())
                    entropy_losses.append(entropy_loss.detach())
                    ratio_deviation = th.abs(valid_ratio - 1)
                    clip_fractions.append(th.mean((ratio_deviation > clip_range).float()))
                    ratio_deviations.append(th.mean(ratio_deviation))
                    ratio_maxima.append(th.max(valid_ratio))
                    # Approximate reverse KL for early stopping (see SB3 GH#417 and Schulman's blog)
                    log_ratio = log_prob - rollout_data.old_log_prob
                    approx_kl_divs.append(masked_mean((th.exp(log_ratio) - 1) - log_ratio, mask))

                if self.target_kl is not None:
                    approx_kl_div = approx_kl_divs[-1].item()
                    if approx_kl_div > 1.5 * self.target_kl:
                        continue_training = False
                        if self.verbose >= 1:
                            print(f"Early stopping at step {epoch} due to reaching max kl: {approx_kl_div:.2f}")
                        break

                # Optimization step
                self.policy.optimizer.zero_grad()
                loss.backward()
                grad_norm = th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                # A non-finite loss always gives a non-finite gradient norm: one check covers both, before the step.
                if not th.isfinite(grad_norm):
                    self._raise_non_finite(
                        epoch,
                        minibatch,
                        n_steps,
                        {
                            "policy surrogate": surrogate_loss,
                            f"{self.penalty} trust-region penalty": penalty_loss,
                            "value loss": value_loss,
                            "entropy loss": entropy_loss,
                            "gradient norm": grad_norm,
                        },
                    )
                grad_norms.append(grad_norm.detach())
                self.policy.optimizer.step()
                n_steps += 1

            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten())

        def _mean(tensors: list) -> float:
            return th.stack(tensors).mean().item() if tensors else float("nan")

        # Logs
        self.logger.record("train/entropy_loss", _mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", _mean(pg_losses))
        self.logger.record("train/value_loss", _mean(value_losses))
        self.logger.record("train/approx_kl", _mean(approx_kl_divs))
        self.logger.record("train/clip_fraction", _mean(clip_fractions))
        self.logger.record("train/loss", loss.item())
        self.logger.record("train/explained_variance", explained_var)
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/gtr_penalty", _mean(penalty_losses))
        self.logger.record("train/ratio_deviation", _mean(ratio_deviations))
        self.logger.record("train/ratio_max", th.stack(ratio_maxima).max().item() if ratio_maxima else float("nan"))
        self.logger.record("train/grad_norm", _mean(grad_norms))
        self.logger.record("train/n_anchors", n_anchors)
        self.logger.record("train/sigma", sigma)
        if not isinstance(penalty_coef, str):
            self.logger.record("train/penalty_coef", penalty_coef)

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        if clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)

    def _update_current_progress_remaining(self, num_timesteps: int, total_timesteps: int) -> None:
        # The last rollout may overshoot `total_timesteps`: schedules are defined from 1 to 0 (and checked there).
        super()._update_current_progress_remaining(num_timesteps, total_timesteps)  # type: ignore[misc]
        self._current_progress_remaining = max(self._current_progress_remaining, 0.0)

    def _check_update_inputs(
        self,
        progress_remaining: float,
        clip_range: float,
        clip_range_vf: Optional[float],
        sigma: float,
        penalty_coef: Union[str, float],
    ) -> None:
        """
        Check what an update is about to use: the schedules' current values (checked at
        :data:`SCHEDULE_CHECK_POINTS` before training, but a callable may misbehave in between) and the
        rollout's rewards, so that a bad value stops training before it reaches the weights.
        """
        advantage_weighted = self.penalty != "none" and penalty_coef == ADVANTAGE_WEIGHTED
        values = [
            ("learning_rate", self.lr_schedule(progress_remaining), True),  # type: ignore[attr-defined]
            ("clip_range", clip_range, not advantage_weighted and progress_remaining == 0.0),
            ("sigma", sigma, False),
        ]
        if clip_range_vf is not None:
            values.append(("clip_range_vf", clip_range_vf, False))
        if not isinstance(penalty_coef, str):
            values.append(("penalty_coef", penalty_coef, True))
        try:
            for name, value, allow_zero in values:
                check_value(name, value, allow_zero, progress_remaining)
        except ValueError as error:
            raise ValueError(f"{error} Training was stopped before this update, so the weights are unchanged.") from None
        rewards = self.rollout_buffer.rewards
        if not np.isfinite(rewards).all():
            step, env_index = np.argwhere(~np.isfinite(rewards))[0]
            raise NonFiniteEnvironmentError(
                f"The environment returned a non-finite reward ({rewards[step, env_index]}) at step {step} of the "
                f"rollout ending at timestep {self.num_timesteps} (env index {env_index}). Training was stopped "
                "before the update, so the weights are unchanged. VecCheckNan(env, raise_exception=True) finds the "
                "step that produces it."
            )

    def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: Any, n_rollout_steps: int) -> bool:
        try:
            return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)  # type: ignore[misc]
        except ValueError as error:
            self._explain_distribution_error(
                error,
                f"at timestep {self.num_timesteps}",
                self._last_obs,
                "The environment returned a non-finite observation (NaN or inf) at timestep {timestep}. Training was "
                "stopped before using it, so the weights are unchanged. VecCheckNan(env, raise_exception=True) finds "
                "the step that produces it.",
            )
            raise

    def predict(
        self,
        observation: Any,
        state: Optional[tuple[np.ndarray, ...]] = None,
        episode_start: Optional[np.ndarray] = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Optional[tuple[np.ndarray, ...]]]:
        """
        Get the policy action from an observation (and optional hidden state), as SB3's ``predict``, with a clear
        error for an observation that holds NaN or inf.

        :param observation: the input observation
        :param state: The last hidden states (can be None, used in recurrent policies)
        :param episode_start: The last masks (can be None, used in recurrent policies)
        :param deterministic: Whether or not to return deterministic actions.
        :return: the model's action and the next hidden state (used in recurrent policies)
        """
        try:
            return super().predict(observation, state, episode_start, deterministic)  # type: ignore[misc]
        except ValueError as error:
            self._explain_distribution_error(
                error, "in predict()", observation, "The observation given to predict() contains NaN or inf values."
            )
            raise

    def _explain_distribution_error(self, error: ValueError, where: str, observation: Any, observation_message: str) -> None:
        """
        torch's distributions reject NaN parameters with a message about ``logits`` or ``loc``: say whether the
        observation or the policy caused it. Returns when ``error`` is something else, for the caller to re-raise.
        """
        if not _is_distribution_error(error):
            return
        observations = observation.values() if isinstance(observation, dict) else [observation]
        arrays = [np.asarray(obs) for obs in observations if obs is not None]
        if not all(np.isfinite(obs).all() for obs in arrays if np.issubdtype(obs.dtype, np.floating)):
            raise NonFiniteEnvironmentError(observation_message.format(timestep=self.num_timesteps)) from error
        non_finite = [name for name, parameter in self.policy.named_parameters() if not th.isfinite(parameter).all()]
        detail = (
            f"its parameters {', '.join(non_finite)} contain NaN or inf values"
            if non_finite
            else "its parameters are finite but give NaN or inf outputs (a learning rate far too large?)"
        )
        raise NonFiniteLossError(f"The policy's action distribution is undefined {where}: {detail}.") from error

    @staticmethod
    def _steps_applied(n_steps: int) -> str:
        if n_steps == 0:
            return "before its first optimizer step, so the weights are those of the rollout"
        return (
            f"after {n_steps} optimizer step(s) of this update, which were applied (the weights are finite, "
            "but may be far from the rollout's policy)"
        )

    def _raise_non_finite(self, epoch: int, minibatch: int, n_steps: int, terms: dict[str, th.Tensor]) -> None:
        bad = [f"{name} = {value.item()}" for name, value in terms.items() if not th.isfinite(value)]
        raise NonFiniteLossError(
            f"Non-finite value in the GTR update at epoch {epoch}, minibatch {minibatch} "
            f"(train/n_updates = {self._n_updates}, after {self.num_timesteps} timesteps): "
            f"{', '.join(bad)}. Training was stopped {self._steps_applied(n_steps)}; the failing step was not applied. "
            "The observations and rewards of the rollout were finite: a value loss that overflows points at rewards "
            "too large for float32 (VecNormalize's norm_reward or a reward scale helps), otherwise lower the "
            "learning rate or max_grad_norm."
        )

    @classmethod
    def load(  # type: ignore[override]
        cls,
        path: Union[str, pathlib.Path, io.BufferedIOBase],
        env: Any = None,
        device: Union[th.device, str] = "auto",
        custom_objects: Optional[dict[str, Any]] = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> Any:
        """
        Load the model from a zip-file, after checking that it holds an agent of this class: a ``PPO`` or
        ``RecurrentPPO`` zip (no GTR arguments in it) is refused with the way to continue it with GTR, and a
        ``RecurrentGTRPPO`` zip is refused by ``GTRPPO`` (and the reverse). The loaded arguments, with
        ``custom_objects`` and ``kwargs`` applied, are checked like the constructor's.

        :param path: path to the file (or a file-like) where to load the agent from
        :param env: the new environment to run the loaded model on (can be None if you only need prediction)
        :param device: Device on which the code should run.
        :param custom_objects: Dictionary of objects to replace upon loading, as in SB3's ``load``
        :param print_system_info: Whether to print system info from the saved model
        :param force_reset: Force call to ``reset()`` before training to avoid unexpected behavior.
        :param kwargs: extra arguments to change the model when loading
        :return: new model instance with loaded parameters
        """
        data = _read_saved_data(path, custom_objects)
        if "policy_class" in data:
            _check_saved_agent(cls, path, data)
        # SB3 sets any keyword as an attribute: a misspelt one would be ignored silently
        check_keywords(f"{cls.__name__}.load", kwargs, _constructor_arguments(cls))
        return super().load(  # type: ignore[misc]
            path,
            env=env,
            device=device,
            custom_objects=custom_objects,
            print_system_info=print_system_info,
            force_reset=force_reset,
            **kwargs,
        )

    def save(
        self,
        path: Union[str, pathlib.Path, io.BufferedIOBase],
        exclude: Optional[Iterable[str]] = None,
        include: Optional[Iterable[str]] = None,
    ) -> None:
        """
        Save all the attributes of the object and the model parameters in a zip-file, refusing to
        write non-finite weights.

        :param path: path to the file where the rl agent should be saved
        :param exclude: name of parameters that should be excluded in addition to the default ones
        :param include: name of parameters that might be excluded but should be included anyway
        """
        _check_finite_parameters(self.policy.named_parameters(), "Refusing to save a model")
        for name, names in (("exclude", exclude), ("include", include)):
            if names is not None and (isinstance(names, str) or not all(isinstance(one, str) for one in names)):
                raise ValueError(f"`{name}` must be None or a list of attribute names, got {names!r}.")
        if isinstance(path, (str, pathlib.Path)):
            # What SB3 writes: `path`, or `path.zip` when it has no suffix
            target = pathlib.Path(path) if pathlib.Path(path).suffix else pathlib.Path(f"{path}.zip")
            if target.is_dir():
                example = str(target / "model")
                raise ValueError(f"`path` {str(path)!r} is a folder ({target}): give a file name, e.g. {example!r}.")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ValueError(f"Cannot save to {str(path)!r}: cannot create its folder ({error}).") from None
        try:
            super().save(path, exclude=exclude, include=include)  # type: ignore[misc]
        except (OSError, RecursionError) as error:
            # SB3's open_path retries an unwritable path until the recursion limit
            raise ValueError(f"Cannot save to {str(path)!r}: {type(error).__name__}.") from None

    def set_parameters(self, load_path_or_dict: Any, exact_match: bool = True, device: Union[th.device, str] = "auto") -> None:
        """
        Load parameters from a given zip-file or a nested dictionary containing parameters for different
        modules (see ``get_parameters``), refusing NaN or inf values in the policy.

        :param load_path_or_dict: Location of the saved model (path or file-like) or a dict of parameters
        :param exact_match: If True, the given parameters must include parameters for each module and each of their
            parameters, otherwise raises an Exception
        :param device: Device on which the code should run.
        """
        super().set_parameters(load_path_or_dict, exact_match=exact_match, device=device)  # type: ignore[misc]
        _check_finite_parameters(self.policy.named_parameters(), "Refusing parameters")
