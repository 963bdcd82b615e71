"""
Bad input to the GTR objective's pure functions (:mod:`sb3_gtr.common.trust_region`,
:mod:`sb3_gtr.common.penalties`), which are documented for use outside SB3, on token log-probabilities say.
Each row is (function, arguments, keyword arguments, expected fragment of the message): the
fragment names the argument, what it must be and what was given. Without the checks most of these inputs were
silently broadcast (a ``(batch, 1)`` tensor against a ``(batch,)`` one computes over all ``batch x batch``
pairs), gave NaN or inf, or failed inside torch with a message naming no argument.
"""

import math

import numpy as np
import pytest
import torch as th

from sb3_gtr.common.penalties import gaussian_penalty, get_penalty_fn, kl_penalty, pearson_penalty
from sb3_gtr.common.trust_region import anchor_epochs, gtr_policy_loss, masked_mean, mixture_penalty

B = 6
LOG_PROB = -th.rand(B, generator=th.Generator().manual_seed(0))
OLD = -th.rand(B, generator=th.Generator().manual_seed(1))
ADV = th.randn(B, generator=th.Generator().manual_seed(2))
ANCHORS = OLD.unsqueeze(-1) - th.rand(B, 3, generator=th.Generator().manual_seed(3))
BATCH = (LOG_PROB, OLD, ADV)
ALL_FALSE = th.zeros(B, dtype=th.bool)

SHAPE_ROWS = [
    # The K axis forgotten: anchors of shape (batch,) would be broadcast to (batch, batch)
    (mixture_penalty, (LOG_PROB, OLD), {}, r"`anchor_log_probs` must have shape \(6, n_anchors\).*got \(6,\)"),
    (
        mixture_penalty,
        (LOG_PROB.unsqueeze(-1), OLD.unsqueeze(-1)),
        {},
        r"`anchor_log_probs` must have shape \(6, 1, n_anchors\).*got \(6, 1\)",
    ),
    (mixture_penalty, (LOG_PROB, th.zeros(B, 0)), {}, r"`anchor_log_probs` .*n_anchors >= 1.*got \(6, 0\)"),
    (
        mixture_penalty,
        (LOG_PROB, th.zeros(B + 1, 3)),
        {},
        r"`anchor_log_probs` must have shape \(6, n_anchors\).*got \(7, 3\)",
    ),
    (
        gtr_policy_loss,
        (LOG_PROB, OLD.unsqueeze(-1), ADV),
        {},
        r"`old_log_prob` must have the shape of `log_prob`, \(6,\).*got \(6, 1\)",
    ),
    (
        gtr_policy_loss,
        (LOG_PROB, OLD, ADV.unsqueeze(-1)),
        {},
        r"`advantages` must have the shape of `log_prob`, \(6,\).*got \(6, 1\)",
    ),
    (gtr_policy_loss, (LOG_PROB, OLD[:1], ADV), {}, r"`old_log_prob` must have the shape of `log_prob`, \(6,\).*got \(1,\)"),
    (
        gtr_policy_loss,
        (LOG_PROB.unsqueeze(-1), OLD, ADV),
        {},
        r"`old_log_prob` must have the shape of `log_prob`, \(6, 1\).*got \(6,\)",
    ),
    (gtr_policy_loss, BATCH, dict(anchor_log_probs=OLD), r"`anchor_log_probs` must have shape \(6, n_anchors\).*got \(6,\)"),
    (
        gtr_policy_loss,
        BATCH,
        dict(anchor_log_probs=ANCHORS.T),
        r"`anchor_log_probs` must have shape \(6, n_anchors\).*got \(3, 6\)",
    ),
    (
        gtr_policy_loss,
        BATCH,
        dict(mask=th.ones(B + 1, dtype=th.bool)),
        r"`mask` must have the shape of `log_prob`, \(6,\), got \(7,\)",
    ),
    (
        masked_mean,
        (LOG_PROB, th.ones(B, 1, dtype=th.bool)),
        {},
        r"`mask` must have the shape of `values`, \(6,\), got \(6, 1\)",
    ),
]

TYPE_ROWS = [
    # NumPy arrays gave "exp(): argument 'input' must be Tensor"
    (gtr_policy_loss, (LOG_PROB.numpy(), OLD, ADV), {}, r"`log_prob` must be a torch.Tensor .*numpy.ndarray \(th.as_tensor"),
    (gtr_policy_loss, (LOG_PROB, OLD.numpy(), ADV), {}, r"`old_log_prob` must be a torch.Tensor .*numpy.ndarray"),
    (gtr_policy_loss, (LOG_PROB, OLD, ADV.tolist()), {}, r"`advantages` must be a torch.Tensor .*got a list"),
    (gtr_policy_loss, BATCH, dict(anchor_log_probs=ANCHORS.numpy()), r"`anchor_log_probs` must be a torch.Tensor"),
    (gtr_policy_loss, (LOG_PROB.long(), OLD, ADV), {}, r"`log_prob` must be a floating-point tensor .*torch.int64"),
    (mixture_penalty, (LOG_PROB.numpy(), ANCHORS), {}, r"`log_prob` must be a torch.Tensor"),
    (gaussian_penalty, (np.zeros(3), 0.5), {}, r"`log_ratio` must be a torch.Tensor of log-ratios, got a numpy.ndarray"),
    (kl_penalty, (th.zeros(3, dtype=th.long),), {}, r"`log_ratio` must be a floating-point tensor .*torch.int64"),
    (pearson_penalty, ([0.0, 0.1],), {}, r"`log_ratio` must be a torch.Tensor of log-ratios, got a list"),
    # An integer mask was read as indices, a float mask raised an IndexError
    (masked_mean, (LOG_PROB, th.ones(B, dtype=th.long)), {}, r"`mask` must be a boolean tensor .*torch.int64 \(mask.bool\(\)"),
    (gtr_policy_loss, BATCH, dict(mask=th.ones(B)), r"`mask` must be a boolean tensor .*torch.float32"),
    (gtr_policy_loss, BATCH, dict(mask=[True] * B), r"`mask` must be a boolean tensor .*got \[True"),
    (masked_mean, (LOG_PROB.numpy(),), {}, r"`values` must be a torch.Tensor"),
]

EMPTY_ROWS = [
    # The mean of no sample is NaN
    (gtr_policy_loss, BATCH, dict(mask=ALL_FALSE), r"`mask` selects no sample"),
    (gtr_policy_loss, (th.zeros(0), th.zeros(0), th.zeros(0)), {}, r"`log_prob` is empty \(shape \(0,\)\)"),
    (masked_mean, (LOG_PROB, ALL_FALSE), {}, r"`mask` selects no sample"),
    (masked_mean, (th.zeros(0),), {}, r"`values` is empty"),
    (masked_mean, (th.zeros(0), th.zeros(0, dtype=th.bool)), {}, r"`mask` selects no sample"),
]

SCALAR_ROWS = [
    # sigma 0 returned 0, a negative sigma acted as its absolute value, NaN/inf gave NaN, None/"0.5" a pow TypeError
    (gaussian_penalty, (LOG_PROB, 0.0), {}, r"`sigma` must be a finite number > 0, got 0.0 \(float\)"),
    (gaussian_penalty, (LOG_PROB, -0.5), {}, r"`sigma` must be a finite number > 0, got -0.5"),
    (gaussian_penalty, (LOG_PROB, math.nan), {}, r"`sigma` must be a finite number > 0, got nan"),
    (gaussian_penalty, (LOG_PROB, math.inf), {}, r"`sigma` must be a finite number > 0, got inf"),
    (gaussian_penalty, (LOG_PROB, None), {}, r"`sigma` must be a finite number > 0, got None"),
    (gaussian_penalty, (LOG_PROB, "0.5"), {}, r"`sigma` must be a finite number > 0, got '0.5'"),
    (gaussian_penalty, (LOG_PROB, True), {}, r"`sigma` must be a finite number > 0, got True \(bool\)"),
    (mixture_penalty, (LOG_PROB, ANCHORS), dict(sigma=0.0), r"`sigma` must be a finite number > 0"),
    (gtr_policy_loss, BATCH, dict(sigma=-0.5), r"`sigma` must be a finite number > 0, got -0.5"),
    (gtr_policy_loss, BATCH, dict(sigma=None), r"`sigma` must be a finite number > 0, got None"),
    # clip_range 0 divided by zero in |A| / clip_range; negative or NaN gave negative or NaN losses
    (gtr_policy_loss, BATCH, dict(clip_range=0.0), r"`clip_range` must be a finite number > 0, got 0.0.*\|A\| / clip_range"),
    (gtr_policy_loss, BATCH, dict(clip_range=-0.2), r"`clip_range` must be a finite number > 0, got -0.2"),
    (gtr_policy_loss, BATCH, dict(clip_range=math.nan), r"`clip_range` must be a finite number > 0, got nan"),
    (gtr_policy_loss, BATCH, dict(clip_range=math.inf), r"`clip_range` must be a finite number > 0, got inf"),
    (gtr_policy_loss, BATCH, dict(clip_range=-0.2, penalty="none"), r"`clip_range` must be a finite number >= 0, got -0.2"),
    (gtr_policy_loss, BATCH, dict(clip_range="0.2"), r"`clip_range` must be a finite number > 0, got '0.2'"),
    (
        gtr_policy_loss,
        BATCH,
        dict(penalty_coef=-1.0),
        r"`penalty_coef` must be 'advantage' \(\|A\| / clip_range\) or a finite number >= 0, got -1.0",
    ),
    (gtr_policy_loss, BATCH, dict(penalty_coef=math.nan), r"`penalty_coef` must be 'advantage' .* got nan"),
    (gtr_policy_loss, BATCH, dict(penalty_coef=math.inf), r"`penalty_coef` must be 'advantage' .* got inf"),
    (gtr_policy_loss, BATCH, dict(penalty_coef="adv"), r"`penalty_coef` must be 'advantage' .* got 'adv'"),
    (gtr_policy_loss, BATCH, dict(penalty_coef=None), r"`penalty_coef` must be 'advantage' .* got None"),
    (gtr_policy_loss, BATCH, dict(penalty_coef=th.tensor(0.1)), r"`penalty_coef` must be 'advantage' .* got tensor"),
    # "no" is truthy: it used to clip
    (gtr_policy_loss, BATCH, dict(clip_surrogate="no"), r"`clip_surrogate` must be True or False, got 'no'"),
    (gtr_policy_loss, BATCH, dict(clip_surrogate=0), r"`clip_surrogate` must be True or False, got 0"),
    (
        gtr_policy_loss,
        BATCH,
        dict(penalty="gauss"),
        r"`penalty` must be one of 'gaussian', 'pearson', 'kl', 'none'; got 'gauss'",
    ),
    (gtr_policy_loss, BATCH, dict(penalty=["kl"]), r"`penalty` must be one of .*; got \['kl'\]"),
    (gtr_policy_loss, BATCH, dict(penalty=None), r"`penalty` must be one of .*; got None"),
    (
        mixture_penalty,
        (LOG_PROB, ANCHORS),
        dict(penalty="none"),
        r"`penalty` must be one of 'gaussian', 'pearson', 'kl'; got 'none'",
    ),
    # An unhashable name raised "unhashable type: 'list'"
    (get_penalty_fn, (["kl"],), {}, r"`penalty` must be one of 'gaussian', 'pearson', 'kl'; got \['kl'\]"),
    (get_penalty_fn, ("Gaussian",), {}, r"`penalty` must be one of 'gaussian', 'pearson', 'kl'; got 'Gaussian'"),
    # A window of 0 or less returned no anchor at all
    (anchor_epochs, (3, 0), {}, r"`window` must be None \(all the snapshots\) or an integer >= 1, got 0"),
    (anchor_epochs, (3, -1), {}, r"`window` must be None .* got -1"),
    (anchor_epochs, (3, 2.0), {}, r"`window` must be None .* got 2.0 \(float\)"),
    (anchor_epochs, (-1,), {}, r"`epoch` must be an integer >= 0, got -1"),
    (anchor_epochs, (1.0,), {}, r"`epoch` must be an integer >= 0, got 1.0 \(float\)"),
]


ROWS = SHAPE_ROWS + TYPE_ROWS + EMPTY_ROWS + SCALAR_ROWS


def row_id(row) -> str:
    """``gtr_policy_loss-sigma``: the function and the argument its message names."""
    function, _, _, match = row
    return f"{function.__name__}-{match.split('`')[1]}"


@pytest.mark.parametrize("function, args, kwargs, match", ROWS, ids=[row_id(row) for row in ROWS])
def test_bad_input_is_refused_naming_the_argument(function, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        function(*args, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        # clip_range 0 is a degenerate but valid clip without the advantage-weighted coefficient (a schedule may
        # reach it at the end of training, which GTRPPO allows then)
        dict(clip_range=0.0, penalty="none"),
        dict(clip_range=0.0, penalty_coef=0.1),
        dict(clip_range=2, penalty_coef=0),
        # NumPy numbers and booleans are numbers and booleans
        dict(clip_range=np.float32(0.2), sigma=np.float64(0.5), penalty_coef=np.float32(0.1), clip_surrogate=np.bool_(False)),
        # sigma is not used by these penalties
        dict(penalty="kl", sigma=None),
        dict(penalty="pearson", sigma=-1.0),
        dict(anchor_log_probs=ANCHORS[:, :1], mask=th.arange(B) < 1),
    ],
)
def test_valid_edge_cases_are_accepted(kwargs):
    terms = gtr_policy_loss(*BATCH, **kwargs)
    assert all(bool(th.isfinite(term).all()) for term in terms)


def test_the_same_shape_everywhere_is_any_shape():
    # Token log-probabilities (sequences, tokens) with a matching mask and anchors
    log_prob, old, advantages = LOG_PROB.reshape(2, 3), OLD.reshape(2, 3), ADV.reshape(2, 3)
    mask = th.tensor([[True, True, False], [True, False, False]])
    terms = gtr_policy_loss(log_prob, old, advantages, anchor_log_probs=ANCHORS.reshape(2, 3, 3), mask=mask)
    assert terms.ratio.shape == (2, 3)
    with pytest.raises(ValueError, match=r"`advantages` must have the shape of `log_prob`, \(2, 3\).*got \(2, 1\)"):
        gtr_policy_loss(log_prob, old, advantages[:, :1])
    with pytest.raises(ValueError, match=r"`anchor_log_probs` must have shape \(2, 3, n_anchors\)"):
        gtr_policy_loss(log_prob, old, advantages, anchor_log_probs=ANCHORS)
