"""
Trust-region penalties as pure functions of the log-ratio.

Each penalty ``f`` is written as a function of ``log_ratio = log pi_theta(a|s) - log pi_ref(a|s)``
so that it can be used on any tensor of log-probabilities (actions of a control policy, tokens of
a language model, ...). With ``r = exp(log_ratio)`` the gradient of ``f(r)`` with respect to the
log-ratio is the *score multiplier* ``g(r) = r * f'(r)`` of Appendix A.2 of the GTR paper:

=====================  ===============================================  ======================================
penalty                ``f(r)``                                         ``g(r) = r f'(r)``
=====================  ===============================================  ======================================
``"kl"`` (inverse KL)  ``r log r - r + 1``                              ``r log r``
``"pearson"`` (SPO)    ``(r - 1)^2 / 2``                                ``r (r - 1)``
``"gaussian"`` (GTR)   ``sigma^2 (1 - exp(-(r-1)^2 / (2 sigma^2)))``    ``r (r - 1) exp(-(r-1)^2 / (2 sigma^2))``
=====================  ===============================================  ======================================

All three vanish with zero gradient at ``r = 1`` and have curvature one there; only the Gaussian
penalty is bounded (by ``sigma^2``) and lets its restoring force fade for large ratios.
"""

from collections.abc import Callable
from typing import Optional

import torch as th

#: Log-ratios are clamped to this magnitude before exponentiation. ``exp(20) ~ 5e8``: far beyond
#: any ratio a trust region should see, yet finite in float32, so that a single outlier (or a
#: padded entry of a recurrent minibatch) can never turn the loss or its gradient into inf/NaN.
MAX_LOG_RATIO = 20.0

PenaltyFn = Callable[[th.Tensor, float], th.Tensor]


def _ratio(log_ratio: th.Tensor) -> th.Tensor:
    return th.exp(th.clamp(log_ratio, -MAX_LOG_RATIO, MAX_LOG_RATIO))


def kl_penalty(log_ratio: th.Tensor, sigma: Optional[float] = None) -> th.Tensor:
    """
    Inverse (reverse) KL penalty ``f(r) = r log r - r + 1``, whose expectation under the reference
    policy is ``KL(pi_theta || pi_ref)``.

    :param log_ratio: ``log pi_theta - log pi_ref``, any shape
    :param sigma: Unused, accepted so that every penalty has the same signature
    :return: The pointwise penalty, same shape as ``log_ratio``
    """
    ratio = _ratio(log_ratio)
    return ratio * th.clamp(log_ratio, -MAX_LOG_RATIO, MAX_LOG_RATIO) - ratio + 1.0


def pearson_penalty(log_ratio: th.Tensor, sigma: Optional[float] = None) -> th.Tensor:
    """
    Pearson chi-squared penalty ``f(r) = (r - 1)^2 / 2`` (the chi-squared alignment of SPO).

    :param log_ratio: ``log pi_theta - log pi_ref``, any shape
    :param sigma: Unused, accepted so that every penalty has the same signature
    :return: The pointwise penalty, same shape as ``log_ratio``
    """
    return 0.5 * (_ratio(log_ratio) - 1.0) ** 2


def gaussian_penalty(log_ratio: th.Tensor, sigma: float) -> th.Tensor:
    """
    Gaussian trust-region penalty of GTR, ``f(r) = sigma^2 (1 - exp(-(r - 1)^2 / (2 sigma^2)))``.

    Near ``r = 1`` it equals the Pearson penalty ``(r - 1)^2 / 2``; it is bounded by ``sigma^2`` and
    its restoring force ``|g(r)|`` peaks near ``|r - 1| = sigma`` and vanishes beyond it.

    :param log_ratio: ``log pi_theta - log pi_ref``, any shape
    :param sigma: Width of the Gaussian kernel, strictly positive
    :return: The pointwise penalty, same shape as ``log_ratio``
    """
    variance = sigma**2
    return variance * -th.expm1(-((_ratio(log_ratio) - 1.0) ** 2) / (2.0 * variance))


#: The penalty functions by name, as accepted by the ``penalty`` argument (besides ``"none"``).
PENALTIES: dict[str, PenaltyFn] = {
    "gaussian": gaussian_penalty,
    "pearson": pearson_penalty,
    "kl": kl_penalty,
}

#: The values accepted for the ``penalty`` argument of the GTR algorithms.
PENALTY_NAMES = (*PENALTIES, "none")


def get_penalty_fn(name: str) -> PenaltyFn:
    """
    Look a penalty up by name.

    :param name: One of ``"gaussian"``, ``"pearson"`` or ``"kl"``
    :return: The penalty function ``f(log_ratio, sigma)``
    """
    if name not in PENALTIES:
        raise ValueError(f"Unknown penalty {name!r}: `penalty` must be one of {', '.join(map(repr, PENALTIES))}.")
    return PENALTIES[name]
