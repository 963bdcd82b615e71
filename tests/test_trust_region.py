import pytest
import torch as th

from sb3_gtr.common.penalties import gaussian_penalty, pearson_penalty
from sb3_gtr.common.trust_region import anchor_epochs, gtr_policy_loss, masked_mean, mixture_penalty, penalty_term


def make_batch(batch_size: int = 32, n_anchors: int = 3, seed: int = 0):
    generator = th.Generator().manual_seed(seed)
    old_log_prob = -th.rand(batch_size, generator=generator, dtype=th.float64) * 3
    log_prob = old_log_prob + 0.4 * th.randn(batch_size, generator=generator, dtype=th.float64)
    advantages = th.randn(batch_size, generator=generator, dtype=th.float64)
    anchor_log_probs = old_log_prob.unsqueeze(-1) + 0.3 * th.randn(
        batch_size, n_anchors, generator=generator, dtype=th.float64
    )
    return log_prob, old_log_prob, advantages, anchor_log_probs


def test_no_penalty_is_ppo_clipped_surrogate():
    log_prob, old_log_prob, advantages, _ = make_batch()
    ratio = th.exp(log_prob - old_log_prob)
    expected = -th.mean(th.min(ratio * advantages, th.clamp(ratio, 0.8, 1.2) * advantages))
    loss = gtr_policy_loss(log_prob, old_log_prob, advantages, clip_range=0.2, penalty="none")
    assert loss.surrogate_loss.item() == pytest.approx(expected.item(), rel=1e-12)
    assert loss.penalty_loss.item() == 0.0
    th.testing.assert_close(loss.ratio, ratio)


def test_unclipped_surrogate():
    log_prob, old_log_prob, advantages, _ = make_batch()
    loss = gtr_policy_loss(log_prob, old_log_prob, advantages, penalty="none", clip_surrogate=False)
    expected = -th.mean(th.exp(log_prob - old_log_prob) * advantages)
    assert loss.surrogate_loss.item() == pytest.approx(expected.item(), rel=1e-12)
    clipped = gtr_policy_loss(log_prob, old_log_prob, advantages, penalty="none", clip_surrogate=True)
    # min(rA, clip(r)A) <= rA, so the clipped loss is never smaller
    assert clipped.surrogate_loss.item() > loss.surrogate_loss.item()


def test_single_anchor_advantage_weighted_gaussian():
    log_prob, old_log_prob, advantages, _ = make_batch()
    r = th.exp(log_prob - old_log_prob)
    expected = th.mean(th.abs(advantages) / 0.2 * 0.5**2 * (1 - th.exp(-((r - 1) ** 2) / (2 * 0.5**2))))
    loss = gtr_policy_loss(log_prob, old_log_prob, advantages, clip_range=0.2, sigma=0.5)
    assert loss.penalty_loss.item() == pytest.approx(expected.item(), rel=1e-10)
    # No anchors given = anchored on the behaviour policy
    explicit = gtr_policy_loss(log_prob, old_log_prob, advantages, anchor_log_probs=old_log_prob.unsqueeze(-1))
    assert explicit.penalty_loss.item() == pytest.approx(loss.penalty_loss.item(), rel=1e-12)


def test_fixed_coefficient_pearson():
    log_prob, old_log_prob, advantages, _ = make_batch()
    r = th.exp(log_prob - old_log_prob)
    loss = gtr_policy_loss(log_prob, old_log_prob, advantages, penalty="pearson", penalty_coef=0.3)
    assert loss.penalty_loss.item() == pytest.approx(th.mean(0.3 * (r - 1) ** 2 / 2).item(), rel=1e-10)


def test_mixture_penalty_is_anchor_average():
    log_prob, _, _, anchor_log_probs = make_batch(n_anchors=4)
    expected = th.stack([gaussian_penalty(log_prob - anchor_log_probs[:, k], 0.7) for k in range(4)]).mean(dim=0)
    th.testing.assert_close(mixture_penalty(log_prob, anchor_log_probs, "gaussian", 0.7), expected)


@pytest.mark.parametrize("penalty", ["gaussian", "pearson", "kl"])
def test_penalty_gradient_is_weighted_score_multiplier(penalty):
    """d/d log pi of lambda * P_mix = lambda / K * sum_k g(r_k), with g the score multiplier."""
    log_prob, old_log_prob, advantages, anchor_log_probs = make_batch(n_anchors=3)
    log_prob = log_prob.clone().requires_grad_(True)
    loss = gtr_policy_loss(log_prob, old_log_prob, advantages, anchor_log_probs=anchor_log_probs, penalty=penalty, sigma=0.5)
    (grad,) = th.autograd.grad(loss.penalty_loss, log_prob)
    r = th.exp(log_prob.detach().unsqueeze(-1) - anchor_log_probs)
    g = {
        "gaussian": r * (r - 1) * th.exp(-((r - 1) ** 2) / (2 * 0.5**2)),
        "pearson": r * (r - 1),
        "kl": r * th.log(r),
    }[penalty]
    expected = th.abs(advantages) / 0.2 * g.mean(dim=-1) / len(advantages)
    th.testing.assert_close(grad, expected, rtol=1e-9, atol=1e-12)


def test_mask_ignores_padding():
    log_prob, old_log_prob, advantages, anchor_log_probs = make_batch(batch_size=20)
    mask = th.arange(20) < 13
    # Padded entries hold garbage, including extreme log-probabilities
    padded_log_prob = log_prob.clone()
    padded_log_prob[~mask] = 500.0
    masked = gtr_policy_loss(padded_log_prob, old_log_prob, advantages, anchor_log_probs=anchor_log_probs, mask=mask)
    subset = gtr_policy_loss(log_prob[mask], old_log_prob[mask], advantages[mask], anchor_log_probs=anchor_log_probs[mask])
    assert masked.surrogate_loss.item() == pytest.approx(subset.surrogate_loss.item(), rel=1e-12)
    assert masked.penalty_loss.item() == pytest.approx(subset.penalty_loss.item(), rel=1e-12)
    assert masked_mean(advantages, mask).item() == pytest.approx(advantages[:13].mean().item())


def test_padded_extremes_give_finite_gradients():
    log_prob, old_log_prob, advantages, anchor_log_probs = make_batch(batch_size=8)
    anchor_log_probs[-2:] = 0.0  # padding value of the recurrent buffers
    log_prob = log_prob.clone()
    log_prob[-2:] = 150.0
    log_prob.requires_grad_(True)
    mask = th.arange(8) < 6
    loss = gtr_policy_loss(log_prob, old_log_prob, advantages, anchor_log_probs=anchor_log_probs, mask=mask)
    (grad,) = th.autograd.grad(loss.penalty_loss, log_prob)
    assert th.all(th.isfinite(grad))
    assert th.all(grad[-2:] == 0)


def test_token_level_use_outside_sb3():
    """GRPO-style: per-token log-probabilities, a fixed coefficient, no clipping, a padding mask."""
    generator = th.Generator().manual_seed(1)
    old = -th.rand(4, 10, generator=generator)
    new = old + 0.1 * th.randn(4, 10, generator=generator)
    advantages = th.randn(4, 1, generator=generator).expand(4, 10)
    mask = th.ones(4, 10, dtype=th.bool)
    mask[:, 7:] = False
    loss = gtr_policy_loss(new, old, advantages, penalty_coef=0.1, clip_surrogate=False, mask=mask)
    r = th.exp(new - old)[mask]
    expected = th.mean(0.1 * 0.25 * (1 - th.exp(-((r - 1) ** 2) / 0.5)))
    assert loss.penalty_loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert pearson_penalty(new - old).shape == (4, 10)


def test_penalty_term_is_the_per_sample_term_the_loss_averages():
    """The unreduced term a GRPO trainer adds to its per-token loss: closed form, and the mean gtr_policy_loss takes."""
    log_prob, old_log_prob, advantages, anchor_log_probs = make_batch(n_anchors=3)
    log_prob, advantages = log_prob.reshape(4, 8), advantages.reshape(4, 8)
    anchor_log_probs, old_log_prob = anchor_log_probs.reshape(4, 8, 3), old_log_prob.reshape(4, 8)
    ratios = th.exp(log_prob.unsqueeze(-1) - anchor_log_probs)
    gaussian = (0.3**2 * (1 - th.exp(-((ratios - 1) ** 2) / (2 * 0.3**2)))).mean(dim=-1)
    term = penalty_term(log_prob, anchor_log_probs, advantages, sigma=0.3, penalty_coef=0.7)
    assert term.shape == (4, 8)
    th.testing.assert_close(term, 0.7 * gaussian, rtol=1e-12, atol=0)
    weighted = penalty_term(log_prob, anchor_log_probs, advantages, sigma=0.3, penalty_coef="advantage", clip_range=0.25)
    th.testing.assert_close(weighted, th.abs(advantages) / 0.25 * gaussian, rtol=1e-12, atol=0)
    loss = gtr_policy_loss(
        log_prob,
        old_log_prob,
        advantages,
        anchor_log_probs=anchor_log_probs,
        sigma=0.3,
        penalty_coef="advantage",
        clip_range=0.25,
    )
    assert loss.penalty_loss.item() == pytest.approx(weighted.mean().item(), rel=1e-12)
    # Bad input names the argument
    with pytest.raises(ValueError, match="`penalty` must be one of 'gaussian', 'pearson', 'kl'; got 'none'"):
        penalty_term(log_prob, anchor_log_probs, advantages, penalty="none")
    with pytest.raises(ValueError, match="`penalty_coef` must be 'advantage'"):
        penalty_term(log_prob, anchor_log_probs, advantages, penalty_coef="fixed")
    with pytest.raises(ValueError, match="`anchor_log_probs` must have shape"):
        penalty_term(log_prob, anchor_log_probs[..., 0], advantages)
    with pytest.raises(ValueError, match="`sigma`"):
        penalty_term(log_prob, anchor_log_probs, advantages, sigma=0.0)


@pytest.mark.parametrize(
    "epoch, window, expected",
    [
        (0, None, [0]),
        (3, None, [0, 1, 2, 3]),
        (3, 2, [2, 3]),
        (1, 5, [0, 1]),
        (9, 1, [9]),
    ],
)
def test_anchor_epochs(epoch, window, expected):
    assert list(anchor_epochs(epoch, window)) == expected


def reference_loss(log_prob, old_log_prob, advantages, anchor_log_probs, clip_range, sigma, penalty_coef, mask):
    """The objective written out with the operations of gtr_policy_loss, without any check."""
    ratio = th.exp(log_prob - old_log_prob)
    surrogate = th.min(advantages * ratio, advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range))
    log_ratios = th.clamp(log_prob.unsqueeze(-1) - anchor_log_probs, -20.0, 20.0)
    variance = sigma**2
    penalty = (variance * -th.expm1(-((th.exp(log_ratios) - 1.0) ** 2) / (2.0 * variance))).mean(dim=-1)
    coefficient = th.abs(advantages) / clip_range if penalty_coef == "advantage" else penalty_coef
    return -th.mean(surrogate[mask]), th.mean((coefficient * penalty)[mask])


@pytest.mark.parametrize("penalty_coef", ["advantage", 0.3])
@pytest.mark.parametrize("dtype", [th.float32, th.float64])
def test_valid_inputs_give_the_same_bits_as_the_formula(penalty_coef, dtype):
    """The argument checks change nothing for valid inputs, down to the last bit."""
    log_prob, old_log_prob, advantages, anchor_log_probs = (x.to(dtype) for x in make_batch(batch_size=64))
    mask = th.arange(64) % 5 != 0
    loss = gtr_policy_loss(
        log_prob, old_log_prob, advantages, anchor_log_probs, clip_range=0.2, sigma=0.5, penalty_coef=penalty_coef, mask=mask
    )
    surrogate, penalty = reference_loss(log_prob, old_log_prob, advantages, anchor_log_probs, 0.2, 0.5, penalty_coef, mask)
    assert th.equal(loss.surrogate_loss, surrogate) and th.equal(loss.penalty_loss, penalty)


def test_checks_read_no_tensor_value(monkeypatch):
    """
    The loss runs for every minibatch: its checks may look at shapes and dtypes only. Reading a value
    (``.item()``, ``bool(tensor)``, ``.any()`` ...) would synchronise with the device on a GPU.
    """
    log_prob, old_log_prob, advantages, anchor_log_probs = make_batch()
    mask = th.arange(32) < 30

    def forbidden(*args, **kwargs):
        raise AssertionError("a tensor value was read")

    for method in ("item", "tolist", "any", "all", "__bool__", "__float__", "__int__", "numpy"):
        monkeypatch.setattr(th.Tensor, method, forbidden)
    for penalty in ("gaussian", "pearson", "kl", "none"):
        for coef in ("advantage", 0.1):
            gtr_policy_loss(
                log_prob, old_log_prob, advantages, anchor_log_probs, penalty=penalty, penalty_coef=coef, mask=mask
            )
    gtr_policy_loss(log_prob, old_log_prob, advantages)
    mixture_penalty(log_prob, anchor_log_probs)
    masked_mean(advantages, mask)
    masked_mean(advantages)
    monkeypatch.undo()
    with pytest.raises(AssertionError, match="a tensor value was read"):  # the patch does catch a read
        monkeypatch.setattr(th.Tensor, "__bool__", forbidden)
        bool(log_prob[0] > 0)
