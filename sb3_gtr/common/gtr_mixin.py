"""
What ``GTRPPO`` and ``RecurrentGTRPPO`` share: the GTR arguments and their checks, the mixture
anchor snapshots, and the update loop that optimises the GTR objective of
:func:`sb3_gtr.common.trust_region.gtr_policy_loss`.

The loop follows SB3's ``PPO.train`` step by step (so that ``penalty="none"`` reproduces PPO
exactly) and handles the padded minibatches of recurrent policies through a mask, so that the
two algorithms differ only in how a minibatch is evaluated.
"""

import io
import pathlib
from collections.abc import Iterable
from typing import Any, Optional, Union

import numpy as np
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.common.utils import FloatSchedule, explained_variance

from sb3_gtr.common.buffers import AnchorLogProbsMixin
from sb3_gtr.common.penalties import PENALTY_NAMES
from sb3_gtr.common.trust_region import ADVANTAGE_WEIGHTED, anchor_epochs, gtr_policy_loss, masked_mean

#: Samples per no-grad forward pass when evaluating a policy snapshot on the whole rollout.
ANCHOR_EVAL_BATCH_SIZE = 2048


class NonFiniteLossError(RuntimeError):
    """Raised when a GTR update produces a NaN or infinite loss or gradient; the weights are left untouched."""


def _check_positive_schedule(
    name: str, value: Union[float, Schedule], allow_zero: bool = False, allow_zero_at_end: bool = False
) -> None:
    """
    Check a float, or a schedule at the start and the end of training, against ``> 0`` (or ``>= 0``).

    The last update of ``learn()`` runs at progress remaining 0, so the end of a schedule is used.
    """
    bound = "non-negative" if allow_zero else "strictly positive"
    values = (
        [(value(1.0), allow_zero), (value(0.0), allow_zero or allow_zero_at_end)] if callable(value) else [(value, allow_zero)]
    )
    for current, zero_allowed in values:
        if not isinstance(current, (int, float, np.floating, np.integer)) or isinstance(current, bool):
            raise ValueError(f"`{name}` must be a {bound} float or a schedule returning one, got {current!r}.")
        if not np.isfinite(current) or current < 0 or (current == 0 and not zero_allowed):
            raise ValueError(f"`{name}` must be {bound}, got {current!r}.")


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
    for name, flag in (("mixture_anchor", mixture_anchor), ("clip_surrogate", clip_surrogate)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"`{name}` must be True or False, got {flag!r}.")
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

    # Provided by the PPO-family base class
    policy: Any
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
        self.sigma = sigma
        self.penalty_coef = penalty_coef
        self.mixture_anchor = bool(mixture_anchor)
        self.anchor_window = None if anchor_window is None else int(anchor_window)
        self.clip_surrogate = bool(clip_surrogate)

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

        entropy_losses, pg_losses, penalty_losses, value_losses = [], [], [], []
        clip_fractions, ratio_deviations, ratio_maxima, grad_norms = [], [], [], []
        n_anchors = 1

        continue_training = True
        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            if self._uses_snapshots and epoch > 0:
                self._store_snapshot(epoch)
            for minibatch, rollout_data in enumerate(self.rollout_buffer.get(self.batch_size)):
                values, log_prob, entropy, mask = self._evaluate_samples(rollout_data)
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

    def _raise_non_finite(self, epoch: int, minibatch: int, terms: dict[str, th.Tensor]) -> None:
        bad = [f"{name} = {value.item()}" for name, value in terms.items() if not th.isfinite(value)]
        raise NonFiniteLossError(
            f"Non-finite value in the GTR update at epoch {epoch}, minibatch {minibatch} "
            f"(train/n_updates = {self._n_updates}, after {self.num_timesteps} timesteps): "
            f"{', '.join(bad)}. Training was stopped before the optimizer step, so the weights are unchanged. "
            "Check the observations and rewards for NaN/inf (VecCheckNan helps), or lower the learning rate."
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
        for name, parameter in self.policy.named_parameters():
            if not th.isfinite(parameter).all():
                raise ValueError(f"Refusing to save a model whose parameter {name!r} contains NaN or inf values.")
        super().save(path, exclude=exclude, include=include)  # type: ignore[misc]
