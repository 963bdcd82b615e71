"""
The GTR policy objective (eqs. 4-6 of the paper): PPO's surrogate minus an advantage-weighted
trust-region penalty averaged over a mixture of anchor policies.

Everything here works on plain tensors, so it can be unit-tested, plotted, or reused outside of
Stable-Baselines3 (for instance on token log-probabilities in a GRPO trainer).
"""

from typing import NamedTuple, Optional, Union

import torch as th

from sb3_gtr.common.penalties import get_penalty_fn

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


def masked_mean(values: th.Tensor, mask: Optional[th.Tensor] = None) -> th.Tensor:
    """
    Mean over the valid entries of a (possibly padded) minibatch.

    :param values: Per-sample values
    :param mask: Boolean mask of the valid samples (padded recurrent sequences), ``None`` for all
    :return: The mean, a scalar tensor
    """
    return th.mean(values) if mask is None else th.mean(values[mask])


def anchor_epochs(epoch: int, window: Optional[int] = None) -> range:
    """
    The mixture anchor ``K_e`` used during a given epoch: the snapshots ``pi_k`` with ``k <= epoch``
    (``pi_0`` is the behaviour policy, ``pi_k`` the policy at the start of epoch ``k``), limited to
    the ``window`` most recent ones.

    :param epoch: The current epoch ``e``, counted from 0
    :param window: Keep only the most recent ``window`` snapshots (``None``: all of them)
    :return: The indices ``k`` of the snapshots in the mixture
    """
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

    :param log_prob: Log-probabilities under the current policy, shape ``(batch,)``
    :param anchor_log_probs: Log-probabilities of the same samples under each anchor,
        shape ``(batch, n_anchors)``
    :param penalty: ``"gaussian"``, ``"pearson"`` or ``"kl"``
    :param sigma: Width of the Gaussian kernel
    :return: ``P_mix`` per sample, shape ``(batch,)``
    """
    penalty_fn = get_penalty_fn(penalty)
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

    :param log_prob: Log-probabilities of the taken actions under the current policy, ``(batch,)``
    :param old_log_prob: Log-probabilities under the behaviour policy ``pi_old``, ``(batch,)``
    :param advantages: (Normalised) advantages, ``(batch,)``
    :param anchor_log_probs: Log-probabilities under the mixture anchors, ``(batch, n_anchors)``;
        ``None`` anchors the penalty on the behaviour policy alone
    :param clip_range: PPO's clip range ``eps``, also the scale of the advantage-weighted coefficient
    :param penalty: ``"gaussian"`` (GTR), ``"pearson"`` (SPO), ``"kl"`` or ``"none"`` (plain PPO)
    :param sigma: Width of the Gaussian kernel
    :param penalty_coef: ``"advantage"`` for ``|A| / clip_range`` or a fixed non-negative float
    :param clip_surrogate: Use PPO's clipped surrogate; ``False`` uses ``r A`` alone (as SPO does)
    :param mask: Valid samples of a padded minibatch, ``None`` when all are valid
    :return: The surrogate and penalty losses and the ratios
    """
    ratio = th.exp(log_prob - old_log_prob)
    surrogate = advantages * ratio
    if clip_surrogate:
        surrogate = th.min(surrogate, advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range))
    surrogate_loss = -masked_mean(surrogate, mask)

    if penalty == "none":
        return GTRPolicyLoss(surrogate_loss, th.zeros_like(surrogate_loss), ratio)

    if anchor_log_probs is None:
        anchor_log_probs = old_log_prob.unsqueeze(-1)
    if penalty_coef == ADVANTAGE_WEIGHTED:
        coefficient = th.abs(advantages) / clip_range
    else:
        coefficient = penalty_coef
    penalty_loss = masked_mean(coefficient * mixture_penalty(log_prob, anchor_log_probs, penalty, sigma), mask)
    return GTRPolicyLoss(surrogate_loss, penalty_loss, ratio)
