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

Bad arguments raise a ``ValueError`` naming the argument: a log-ratio that is not a floating-point
tensor, a ``sigma`` that is not a finite number ``> 0``, an unknown penalty name. These functions run for
every minibatch of training, so the checks only look at Python numbers and at the type of the tensors, never at
their values (that would synchronise with the device).
"""

import math
from collections.abc import Callable
from typing import Any, Optional

import numpy as np
import torch as th

from sb3_gtr.common.checks import check_choice, check_finite_float

#: Log-ratios are clamped to this magnitude before exponentiation. ``exp(20) ~ 5e8``: far beyond
#: any ratio a trust region should see, yet finite in float32, so that a single outlier (or a
#: padded entry of a recurrent minibatch) can never turn the loss or its gradient into inf/NaN.
MAX_LOG_RATIO = 20.0

PenaltyFn = Callable[[th.Tensor, float], th.Tensor]


def _check_float_tensor(name: str, value: Any, what: str = "log-probabilities") -> None:
    """
    Check that an argument is a floating-point tensor, from its type and dtype only (no device sync).

    :param name: Name of the argument, for the message
    :param value: The value given
    :param what: What the tensor holds, for the message
    :raises ValueError: If ``value`` is not a ``torch.Tensor`` of a floating-point dtype
    """
    if isinstance(value, th.Tensor):
        if value.is_floating_point():
            return
        raise ValueError(f"`{name}` must be a floating-point tensor of {what}, got a tensor of dtype {value.dtype}")
    kind = type(value)
    kind_name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    # NumPy arrays (and lists) are a common slip when these functions are used outside SB3: say how to convert
    hint = " (th.as_tensor converts it)" if isinstance(value, (np.ndarray, np.generic, list, tuple)) else ""
    raise ValueError(f"`{name}` must be a torch.Tensor of {what}, got a {kind_name}{hint}")


def _check_sigma(sigma: Any) -> None:
    """
    Check the width of the Gaussian kernel: a finite number ``> 0`` (0 would divide by zero, a negative
    width would silently act as its absolute value).

    :param sigma: The value given
    :raises ValueError: Otherwise
    """
    # Fast path for the Python float that training passes each minibatch; NaN fails both comparisons
    if type(sigma) is float and 0.0 < sigma < math.inf:
        return
    check_finite_float("sigma", sigma, low=0.0, low_inclusive=False)


def _ratio(log_ratio: th.Tensor) -> th.Tensor:
    return th.exp(th.clamp(log_ratio, -MAX_LOG_RATIO, MAX_LOG_RATIO))


def kl_penalty(log_ratio: th.Tensor, sigma: Optional[float] = None) -> th.Tensor:
    """
    Inverse (reverse) KL penalty ``f(r) = r log r - r + 1``, whose expectation under the reference
    policy is ``KL(pi_theta || pi_ref)``.

    :param log_ratio: ``log pi_theta - log pi_ref``, a floating-point tensor of any shape
    :param sigma: Unused, accepted so that every penalty has the same signature
    :return: The pointwise penalty, same shape as ``log_ratio``
    :raises ValueError: If ``log_ratio`` is not a floating-point tensor
    """
    _check_float_tensor("log_ratio", log_ratio, "log-ratios")
    ratio = _ratio(log_ratio)
    return ratio * th.clamp(log_ratio, -MAX_LOG_RATIO, MAX_LOG_RATIO) - ratio + 1.0


def pearson_penalty(log_ratio: th.Tensor, sigma: Optional[float] = None) -> th.Tensor:
    """
    Pearson chi-squared penalty ``f(r) = (r - 1)^2 / 2`` (the chi-squared alignment of SPO).

    :param log_ratio: ``log pi_theta - log pi_ref``, a floating-point tensor of any shape
    :param sigma: Unused, accepted so that every penalty has the same signature
    :return: The pointwise penalty, same shape as ``log_ratio``
    :raises ValueError: If ``log_ratio`` is not a floating-point tensor
    """
    _check_float_tensor("log_ratio", log_ratio, "log-ratios")
    return 0.5 * (_ratio(log_ratio) - 1.0) ** 2


def gaussian_penalty(log_ratio: th.Tensor, sigma: float) -> th.Tensor:
    """
    Gaussian trust-region penalty of GTR, ``f(r) = sigma^2 (1 - exp(-(r - 1)^2 / (2 sigma^2)))``.

    Near ``r = 1`` it equals the Pearson penalty ``(r - 1)^2 / 2``; it is bounded by ``sigma^2`` and
    its restoring force ``|g(r)|`` peaks near ``|r - 1| = sigma`` and vanishes beyond it.

    :param log_ratio: ``log pi_theta - log pi_ref``, a floating-point tensor of any shape
    :param sigma: Width of the Gaussian kernel, a finite number ``> 0``
    :return: The pointwise penalty, same shape as ``log_ratio``
    :raises ValueError: If ``log_ratio`` is not a floating-point tensor or ``sigma`` is not a finite number ``> 0``
    """
    _check_float_tensor("log_ratio", log_ratio, "log-ratios")
    _check_sigma(sigma)
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
    :raises ValueError: If ``name`` is not one of them (a list or another unhashable value included)
    """
    if isinstance(name, str) and name in PENALTIES:
        return PENALTIES[name]
    # Raises, naming the penalties (`in` on the dict would raise a bare TypeError for an unhashable ["kl"])
    return PENALTIES[check_choice("penalty", name, PENALTIES)]
