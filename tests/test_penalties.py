import math

import pytest
import torch as th

from sb3_gtr.common.penalties import (
    MAX_LOG_RATIO,
    PENALTIES,
    gaussian_penalty,
    get_penalty_fn,
    kl_penalty,
    pearson_penalty,
)

SIGMAS = [0.25, 0.5, 1.0]


def closed_form_penalty(name: str, r: th.Tensor, sigma: float) -> th.Tensor:
    if name == "kl":
        return r * th.log(r) - r + 1
    if name == "pearson":
        return (r - 1) ** 2 / 2
    return sigma**2 * (1 - th.exp(-((r - 1) ** 2) / (2 * sigma**2)))


def closed_form_score_multiplier(name: str, r: th.Tensor, sigma: float) -> th.Tensor:
    if name == "kl":
        return r * th.log(r)
    if name == "pearson":
        return r * (r - 1)
    return r * (r - 1) * th.exp(-((r - 1) ** 2) / (2 * sigma**2))


def ratios() -> th.Tensor:
    return th.exp(th.linspace(-4.0, 3.0, 701, dtype=th.float64))


@pytest.mark.parametrize("name", list(PENALTIES))
@pytest.mark.parametrize("sigma", SIGMAS)
def test_penalty_matches_closed_form(name, sigma):
    r = ratios()
    expected = closed_form_penalty(name, r, sigma)
    th.testing.assert_close(PENALTIES[name](th.log(r), sigma), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(PENALTIES))
@pytest.mark.parametrize("sigma", SIGMAS)
def test_score_multiplier_is_r_times_derivative(name, sigma):
    """Appendix A.2: the gradient of E_ref[f(r)] is E_ref[g(r) grad log pi] with g(r) = r f'(r)."""
    r = ratios().requires_grad_(True)
    (f_prime,) = th.autograd.grad(PENALTIES[name](th.log(r), sigma).sum(), r)

    log_ratio = th.log(ratios()).requires_grad_(True)
    (grad_log_ratio,) = th.autograd.grad(PENALTIES[name](log_ratio, sigma).sum(), log_ratio)

    expected = closed_form_score_multiplier(name, ratios(), sigma)
    th.testing.assert_close(ratios() * f_prime, expected, rtol=1e-9, atol=1e-12)
    th.testing.assert_close(grad_log_ratio, expected, rtol=1e-9, atol=1e-12)


def _score_multiplier(name: str, r: float, sigma: float = 0.5) -> float:
    log_ratio = th.tensor(math.log(r), dtype=th.float64, requires_grad=True)
    (grad,) = th.autograd.grad(PENALTIES[name](log_ratio, sigma), log_ratio)
    return grad.item()


@pytest.mark.parametrize("sigma", SIGMAS)
def test_gaussian_forgetting(sigma):
    """(i) g(r) -> 0 as r -> 0: an action that is no longer sampled gets no pull."""
    values = [abs(_score_multiplier("gaussian", r, sigma)) for r in (1e-1, 1e-3, 1e-6)]
    assert values[0] > values[1] > values[2]
    assert values[2] < 1e-5


@pytest.mark.parametrize("name", list(PENALTIES))
def test_unchanged_policy(name):
    """(ii) f(1) = 0 and g(1) = 0: no regularisation while the policy is unchanged."""
    log_ratio = th.zeros(3, dtype=th.float64, requires_grad=True)
    value = PENALTIES[name](log_ratio, 0.5)
    (grad,) = th.autograd.grad(value.sum(), log_ratio)
    assert th.all(value == 0)
    assert th.all(grad == 0)


@pytest.mark.parametrize("sigma", SIGMAS)
def test_gaussian_local_chi_squared_curvature(sigma):
    """(iii) f(r) ~ (r - 1)^2 / 2 near r = 1, the curvature of the Pearson penalty (SPO)."""
    for delta in (1e-2, -1e-2, 1e-3):
        r = th.tensor(1 + delta, dtype=th.float64)
        gaussian = gaussian_penalty(th.log(r), sigma)
        pearson = pearson_penalty(th.log(r))
        # f = d^2/2 - d^4 / (8 sigma^2) + ...: the relative gap is d^2 / (4 sigma^2)
        assert abs(gaussian / pearson - 1) < 2 * delta**2 / (4 * sigma**2)
    r = th.tensor(1.0, dtype=th.float64, requires_grad=True)
    (first,) = th.autograd.grad(gaussian_penalty(th.log(r), sigma), r, create_graph=True)
    (second,) = th.autograd.grad(first, r)
    assert second.item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("sigma", SIGMAS)
def test_gaussian_vanishing_constraint_and_boundedness(sigma):
    """(iv) g(r) -> 0 as r -> inf and f <= sigma^2: sustained high-advantage updates can escape."""
    far = [abs(_score_multiplier("gaussian", r, sigma)) for r in (1 + 4 * sigma, 1 + 8 * sigma, 1e3)]
    assert far[0] > far[1] > far[2]
    assert far[2] < 1e-12
    values = gaussian_penalty(th.log(ratios()), sigma)
    assert th.all(values <= sigma**2)
    assert gaussian_penalty(th.tensor(math.log(1e3)), sigma).item() == pytest.approx(sigma**2)
    # The monotone penalties keep growing
    assert pearson_penalty(th.tensor(math.log(1e3))) > 1e5
    assert kl_penalty(th.tensor(math.log(1e3))) > 1e3


@pytest.mark.parametrize("sigma", SIGMAS)
def test_gaussian_restoring_force_peaks_at_sigma(sigma):
    """g(r) / r = (r - 1) exp(-(r-1)^2 / 2 sigma^2) is largest at r - 1 = sigma."""
    r = 1 + th.linspace(0, 6 * sigma, 60_001, dtype=th.float64)
    log_ratio = th.log(r).requires_grad_(True)
    (g,) = th.autograd.grad(gaussian_penalty(log_ratio, sigma).sum(), log_ratio)
    peak = r[th.argmax(g / r)] - 1
    assert peak.item() == pytest.approx(sigma, abs=1e-3)


@pytest.mark.parametrize("name", list(PENALTIES))
def test_extreme_log_ratios_stay_finite(name):
    log_ratio = th.tensor([-1e4, -100.0, 100.0, 1e4], requires_grad=True)
    value = PENALTIES[name](log_ratio, 0.5)
    (grad,) = th.autograd.grad(value.sum(), log_ratio)
    assert th.all(th.isfinite(value))
    assert th.all(th.isfinite(grad))
    # Inside the clamp the float32 path agrees with the closed form
    r = th.exp(th.tensor([-MAX_LOG_RATIO / 2, 2.0]))
    th.testing.assert_close(PENALTIES[name](th.log(r), 0.5), closed_form_penalty(name, r, 0.5), rtol=1e-5, atol=1e-6)


def test_penalties_work_on_any_shape():
    token_log_ratio = th.randn(4, 7, 3)
    for name in PENALTIES:
        assert PENALTIES[name](token_log_ratio, 0.5).shape == (4, 7, 3)


def test_unknown_penalty_name():
    assert get_penalty_fn("gaussian") is gaussian_penalty
    with pytest.raises(ValueError, match=r"`penalty` must be one of 'gaussian', 'pearson', 'kl'"):
        get_penalty_fn("gauss")
