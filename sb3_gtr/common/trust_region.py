"""
The GTR policy objective (eqs. 4-6 of the paper): PPO's surrogate minus an advantage-weighted
trust-region penalty averaged over a mixture of anchor policies.

Everything here works on plain tensors, so it can be unit-tested, plotted, or reused outside of
Stable-Baselines3 (for instance on token log-probabilities in a GRPO trainer).

Bad arguments raise a ``ValueError`` naming the argument, what it must be and what was given:
per-sample tensors must all have the shape of ``log_prob`` (torch would otherwise broadcast a ``(batch, 1)``
tensor against a ``(batch,)`` one into a silent ``(batch, batch)`` computation), anchors must add one axis to
it, a mask must be boolean, and the scalar arguments must be in range. :func:`gtr_policy_loss` runs for every
minibatch of training, so the checks only read Python numbers and the types, dtypes and shapes of the
tensors: no tensor values, which would synchronise with the device, and no extra tensor operation.
"""

import math
import numbers
from typing import Any, NamedTuple, Optional, Union

import torch as th

from sb3_gtr.common.checks import check_bool, check_choice, check_finite_float, check_positive_int, describe, is_int
from sb3_gtr.common.penalties import PENALTY_NAMES, PenaltyFn, _check_float_tensor, _check_sigma, get_penalty_fn

#: ``penalty_coef`` value selecting the advantage-weighted coefficient ``|A| / clip_range``.
ADVANTAGE_WEIGHTED = "advantage"


class GTRPolicyLoss(NamedTuple):
    """
    The terms of the GTR policy objective for one minibatch (all to be minimised).

    :param surrogate_loss: ``-mean(surrogate)``, PPO's clipped (or plain) surrogate, negated
    :param penalty_loss: ``mean(lambda * P_mix)``, the trust-region term
    :param ratio: ``pi_theta / pi_old`` per sample, for diagnostics
    """

    surrogate_loss: th.Tensor
    penalty_loss: th.Tensor
    ratio: th.Tensor


def _check_same_shape(name: str, value: Any, shape: th.Size, what: str = "log-probabilities") -> None:
    """
    Check that a per-sample argument is a floating-point tensor with the shape of ``log_prob``.

    :param name: Name of the argument, for the message
    :param value: The value given
    :param shape: The shape of ``log_prob``
    :param what: What the tensor holds, for the message
    :raises ValueError: Otherwise
    """
    _check_float_tensor(name, value, what)
    if value.shape != shape:
        raise ValueError(
            f"`{name}` must have the shape of `log_prob`, {tuple(shape)} (one entry per sample), got {tuple(value.shape)}"
        )


def _check_anchor_log_probs(anchor_log_probs: Any, shape: th.Size) -> None:
    """
    Check the anchors' log-probabilities: a floating-point tensor of shape ``(*log_prob.shape, n_anchors)``.

    :param anchor_log_probs: The value given
    :param shape: The shape of ``log_prob``
    :raises ValueError: Otherwise (a missing anchor axis, a batch of another size, no anchor at all)
    """
    _check_float_tensor("anchor_log_probs", anchor_log_probs)
    anchor_shape = anchor_log_probs.shape
    if len(anchor_shape) != len(shape) + 1 or anchor_shape[:-1] != shape or anchor_shape[-1] < 1:
        expected = "(" + "".join(f"{size}, " for size in shape) + "n_anchors)"
        raise ValueError(
            f"`anchor_log_probs` must have shape {expected} with n_anchors >= 1 (the shape of `log_prob`, "
            f"{tuple(shape)}, plus one column per anchor), got {tuple(anchor_shape)}"
        )


def _check_mask(mask: Any, shape: th.Size, of: str) -> None:
    """
    Check a mask of valid samples: a boolean tensor of the shape of the values it selects.

    :param mask: The value given (not ``None``)
    :param shape: The shape of the values
    :param of: Name of the argument the mask applies to, for the message
    :raises ValueError: Otherwise (an integer mask would index the values instead of masking them)
    """
    if not isinstance(mask, th.Tensor):
        raise ValueError(f"`mask` must be a boolean tensor (True for the valid samples) or None, got {describe(mask)}")
    if mask.dtype != th.bool:
        raise ValueError(
            f"`mask` must be a boolean tensor (True for the valid samples) or None, got a tensor of dtype {mask.dtype} "
            "(mask.bool() converts a 0/1 mask)"
        )
    if mask.shape != shape:
        raise ValueError(f"`mask` must have the shape of `{of}`, {tuple(shape)}, got {tuple(mask.shape)}")


def masked_mean(values: th.Tensor, mask: Optional[th.Tensor] = None) -> th.Tensor:
    """
    Mean over the valid entries of a (possibly padded) minibatch.

    :param values: Per-sample values, a floating-point tensor with at least one entry
    :param mask: Boolean mask of the valid samples (padded recurrent sequences), of the shape of ``values``,
        with at least one ``True``; ``None`` for all
    :return: The mean, a scalar tensor
    :raises ValueError: If ``values`` is not a floating-point tensor, ``mask`` is not a boolean tensor of its
        shape, or no sample is left to average (the mean would be NaN)
    """
    _check_float_tensor("values", values, "per-sample values")
    if mask is None:
        if values.numel() == 0:
            raise ValueError("`values` is empty: the mean of no sample is undefined (NaN)")
    else:
        _check_mask(mask, values.shape, "values")
    return _masked_mean(values, mask)


def _masked_mean(values: th.Tensor, mask: Optional[th.Tensor]) -> th.Tensor:
    """:func:`masked_mean` without the checks of its arguments, for arguments already checked."""
    if mask is None:
        return th.mean(values)
    selected = values[mask]
    # Boolean indexing has already counted the selected entries (synchronising on a GPU), so this check is free
    if selected.numel() == 0:
        raise ValueError("`mask` selects no sample (all False or an empty batch): the mean of no sample is undefined (NaN)")
    return th.mean(selected)


def anchor_epochs(epoch: int, window: Optional[int] = None) -> range:
    """
    The mixture anchor ``K_e`` used during a given epoch: the snapshots ``pi_k`` with ``k <= epoch``
    (``pi_0`` is the behaviour policy, ``pi_k`` the policy at the start of epoch ``k``), limited to
    the ``window`` most recent ones.

    :param epoch: The current epoch ``e``, counted from 0 (an integer ``>= 0``)
    :param window: Keep only the most recent ``window`` snapshots, an integer ``>= 1`` (``None``: all of them)
    :return: The indices ``k`` of the snapshots in the mixture, never empty
    :raises ValueError: If ``epoch`` or ``window`` is not an integer of its range (a window of 0 would leave
        no anchor)
    """
    epoch = check_positive_int("epoch", epoch, allow_zero=True)
    if window is not None and not (is_int(window) and window >= 1):
        raise ValueError(f"`window` must be None (all the snapshots) or an integer >= 1, got {describe(window)}")
    first = 0 if window is None else max(0, epoch + 1 - window)
    return range(first, epoch + 1)


def mixture_penalty(
    log_prob: th.Tensor,
    anchor_log_probs: th.Tensor,
    penalty: str = "gaussian",
    sigma: float = 0.5,
) -> th.Tensor:
    """
    The mixture penalty ``P_mix = (1/|K|) sum_k f(pi_theta / pi_k)`` of eq. 5, per sample.

    :param log_prob: Log-probabilities under the current policy, shape ``(batch,)`` (or any shape)
    :param anchor_log_probs: Log-probabilities of the same samples under each anchor,
        shape ``(batch, n_anchors)`` (the shape of ``log_prob`` plus a last axis), ``n_anchors >= 1``
    :param penalty: ``"gaussian"``, ``"pearson"`` or ``"kl"``
    :param sigma: Width of the Gaussian kernel, a finite number ``> 0`` (unused by the other penalties)
    :return: ``P_mix`` per sample, shape ``(batch,)``
    :raises ValueError: If a tensor is not floating-point or has another shape, or ``penalty`` or ``sigma`` is
        not allowed
    """
    _check_float_tensor("log_prob", log_prob)
    _check_anchor_log_probs(anchor_log_probs, log_prob.shape)
    return _mixture_penalty(log_prob, anchor_log_probs, get_penalty_fn(penalty), sigma)


def _mixture_penalty(log_prob: th.Tensor, anchor_log_probs: th.Tensor, penalty_fn: PenaltyFn, sigma: float) -> th.Tensor:
    """:func:`mixture_penalty` without the checks of its tensors, for tensors already checked."""
    log_ratios = log_prob.unsqueeze(-1) - anchor_log_probs
    return penalty_fn(log_ratios, sigma).mean(dim=-1)


def gtr_policy_loss(
    log_prob: th.Tensor,
    old_log_prob: th.Tensor,
    advantages: th.Tensor,
    anchor_log_probs: Optional[th.Tensor] = None,
    clip_range: float = 0.2,
    penalty: str = "gaussian",
    sigma: float = 0.5,
    penalty_coef: Union[str, float] = ADVANTAGE_WEIGHTED,
    clip_surrogate: bool = True,
    mask: Optional[th.Tensor] = None,
) -> GTRPolicyLoss:
    """
    The GTR policy objective of eq. 6, as a loss to minimise:

    ``-mean(min(r A, clip(r, 1 - eps, 1 + eps) A)) + mean(lambda * P_mix)``

    with ``r = pi_theta / pi_old`` and ``lambda = |A| / eps`` (advantage-weighted) or a fixed float.

    The per-sample tensors may have any shape (``(n_sequences, n_tokens)`` for a language model, say) as long
    as they all have the shape of ``log_prob``; shapes are checked rather than broadcast.

    :param log_prob: Log-probabilities of the taken actions under the current policy, ``(batch,)``,
        a floating-point tensor with at least one entry
    :param old_log_prob: Log-probabilities under the behaviour policy ``pi_old``, ``(batch,)``
    :param advantages: (Normalised) advantages, ``(batch,)``
    :param anchor_log_probs: Log-probabilities under the mixture anchors, ``(batch, n_anchors)`` with
        ``n_anchors >= 1``; ``None`` anchors the penalty on the behaviour policy alone
    :param clip_range: PPO's clip range ``eps``, also the scale of the advantage-weighted coefficient: a finite
        number ``> 0`` (``>= 0`` when the coefficient is fixed or there is no penalty)
    :param penalty: ``"gaussian"`` (GTR), ``"pearson"`` (SPO), ``"kl"`` or ``"none"`` (plain PPO)
    :param sigma: Width of the Gaussian kernel, a finite number ``> 0`` (unused by the other penalties)
    :param penalty_coef: ``"advantage"`` for ``|A| / clip_range`` or a fixed finite number ``>= 0``
    :param clip_surrogate: Use PPO's clipped surrogate; ``False`` uses ``r A`` alone (as SPO does)
    :param mask: Valid samples of a padded minibatch, a boolean tensor of the shape of ``log_prob`` with at
        least one ``True``; ``None`` when all are valid
    :return: The surrogate and penalty losses and the ratios
    :raises ValueError: If an argument is not allowed (the message names it, what it must be and what was
        given); nothing is computed then
    """
    # Checks first, all cheap (see the module docstring): the fast paths take the Python floats of training.
    _check_float_tensor("log_prob", log_prob)
    shape = log_prob.shape
    if log_prob.numel() == 0:
        raise ValueError(f"`log_prob` is empty (shape {tuple(shape)}): the loss needs at least one sample")
    _check_same_shape("old_log_prob", old_log_prob, shape)
    _check_same_shape("advantages", advantages, shape, "advantages")
    if not (isinstance(penalty, str) and penalty in PENALTY_NAMES):
        check_choice("penalty", penalty, PENALTY_NAMES)  # raises
    if isinstance(penalty_coef, str):
        if penalty_coef != ADVANTAGE_WEIGHTED:
            raise ValueError(
                f"`penalty_coef` must be {ADVANTAGE_WEIGHTED!r} (|A| / clip_range) or a finite number >= 0, "
                f"got {describe(penalty_coef)}"
            )
    elif not (type(penalty_coef) is float and 0.0 <= penalty_coef < math.inf):
        try:
            penalty_coef = check_finite_float("penalty_coef", penalty_coef, low=0.0)
        except ValueError:
            raise ValueError(
                f"`penalty_coef` must be {ADVANTAGE_WEIGHTED!r} (|A| / clip_range) or a finite number >= 0, "
                f"got {describe(penalty_coef)}"
            ) from None
    advantage_weighted = penalty != "none" and penalty_coef == ADVANTAGE_WEIGHTED
    # clip_range 0 is a valid (degenerate) clip, except as the divisor of the advantage-weighted coefficient
    if not (
        type(clip_range) is float
        and clip_range < math.inf
        and (clip_range > 0.0 or (clip_range == 0.0 and not advantage_weighted))
    ):
        try:
            clip_range = check_finite_float("clip_range", clip_range, low=0.0, low_inclusive=not advantage_weighted)
        except ValueError as error:
            if advantage_weighted and isinstance(clip_range, numbers.Real) and clip_range == 0:
                raise ValueError(
                    f"{error}: the advantage-weighted `penalty_coef` is |A| / clip_range "
                    "(a fixed `penalty_coef`, or penalty='none', allows 0)"
                ) from None
            raise
    if penalty == "gaussian":
        _check_sigma(sigma)
    if clip_surrogate is not True and clip_surrogate is not False:
        clip_surrogate = check_bool("clip_surrogate", clip_surrogate)
    if anchor_log_probs is not None:
        _check_anchor_log_probs(anchor_log_probs, shape)
    if mask is not None:
        _check_mask(mask, shape, "log_prob")

    ratio = th.exp(log_prob - old_log_prob)
    surrogate = advantages * ratio
    if clip_surrogate:
        surrogate = th.min(surrogate, advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range))
    surrogate_loss = -_masked_mean(surrogate, mask)

    if penalty == "none":
        return GTRPolicyLoss(surrogate_loss, th.zeros_like(surrogate_loss), ratio)

    if anchor_log_probs is None:
        anchor_log_probs = old_log_prob.unsqueeze(-1)
    penalty_loss = _masked_mean(
        _penalty_term(log_prob, anchor_log_probs, advantages, penalty, sigma, penalty_coef, clip_range), mask
    )
    return GTRPolicyLoss(surrogate_loss, penalty_loss, ratio)


def _penalty_term(
    log_prob: th.Tensor,
    anchor_log_probs: th.Tensor,
    advantages: th.Tensor,
    penalty: str,
    sigma: float,
    penalty_coef: Union[str, float],
    clip_range: float,
) -> th.Tensor:
    """:func:`penalty_term` without the checks of its arguments, for arguments already checked."""
    coefficient = th.abs(advantages) / clip_range if penalty_coef == ADVANTAGE_WEIGHTED else penalty_coef
    return coefficient * _mixture_penalty(log_prob, anchor_log_probs, get_penalty_fn(penalty), sigma)


def penalty_term(
    log_prob: th.Tensor,
    anchor_log_probs: th.Tensor,
    advantages: th.Tensor,
    penalty: str = "gaussian",
    sigma: float = 0.5,
    penalty_coef: Union[str, float] = ADVANTAGE_WEIGHTED,
    clip_range: float = 0.2,
) -> th.Tensor:
    """
    The trust-region term ``lambda * P_mix`` of eq. 6 per sample, before any averaging: what
    :func:`gtr_policy_loss` averages into its ``penalty_loss``. A trainer that aggregates per-token losses its own
    way (a GRPO trainer's per-sequence or per-token normalisation) adds this to its per-token loss.

    :param log_prob: Log-probabilities under the current policy, a floating-point tensor of any shape
    :param anchor_log_probs: Log-probabilities of the same samples under each anchor, the shape of ``log_prob``
        plus a last axis of ``n_anchors >= 1``
    :param advantages: Advantages, the shape of ``log_prob`` (read by the advantage-weighted coefficient only)
    :param penalty: ``"gaussian"`` (GTR), ``"pearson"`` (SPO) or ``"kl"``
    :param sigma: Width of the Gaussian kernel, a finite number ``> 0`` (unused by the other penalties)
    :param penalty_coef: ``"advantage"`` for ``|A| / clip_range`` or a fixed finite number ``>= 0``
    :param clip_range: The scale of the advantage-weighted coefficient, a finite number ``> 0`` (unused with a
        fixed coefficient)
    :return: ``lambda * P_mix``, the shape of ``log_prob``
    :raises ValueError: If an argument is not allowed (the message names it); nothing is computed then
    """
    _check_float_tensor("log_prob", log_prob)
    _check_anchor_log_probs(anchor_log_probs, log_prob.shape)
    _check_same_shape("advantages", advantages, log_prob.shape, "advantages")
    get_penalty_fn(penalty)  # raises for an unknown name; "none" has no term to compute
    if penalty == "gaussian":
        _check_sigma(sigma)
    if isinstance(penalty_coef, str):
        if penalty_coef != ADVANTAGE_WEIGHTED:
            raise ValueError(
                f"`penalty_coef` must be {ADVANTAGE_WEIGHTED!r} (|A| / clip_range) or a finite number >= 0, "
                f"got {describe(penalty_coef)}"
            )
        clip_range = check_finite_float("clip_range", clip_range, low=0.0, low_inclusive=False)
    else:
        penalty_coef = check_finite_float("penalty_coef", penalty_coef, low=0.0)
    return _penalty_term(log_prob, anchor_log_probs, advantages, penalty, sigma, penalty_coef, clip_range)
