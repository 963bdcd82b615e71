import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from sb3_gtr.networks.impala_cnn import ImpalaCnnExtractor
from sb3_gtr.networks.torch_layers import (
    LayerNormGRU,
    LayerNormGRUCell,
    LayerNormMlpExtractor,
    SimbaBlock,
    SimbaExtractor,
    SimbaMLP,
    check_positive_int,
    get_activation_fn,
    parse_net_arch,
)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def simba_mlp_params(input_dim: int, hidden: int, n_blocks: int) -> int:
    """Closed form from the SimBa table: embedding, blocks (LN, h -> 4h, 4h -> h) and the final LN."""
    embedding = input_dim * hidden + hidden
    block = 2 * hidden + (hidden * 4 * hidden + 4 * hidden) + (4 * hidden * hidden + hidden)
    return embedding + n_blocks * block + 2 * hidden


def ln_gru_cell_params(input_size: int, hidden: int) -> int:
    """Two fused (3 gates) linear layers with biases and one LayerNorm affine per gate."""
    return 3 * hidden * (input_size + 1) + 3 * hidden * (hidden + 1) + 3 * 2 * hidden


def reference_cell(cell: LayerNormGRUCell, x: th.Tensor, h: th.Tensor) -> th.Tensor:
    """Unfused re-implementation of the documented equations, gate by gate."""
    size = cell.hidden_size
    w_i, w_h = cell.input_to_hidden.weight, cell.hidden_to_hidden.weight
    b_i, b_h = cell.input_to_hidden.bias, cell.hidden_to_hidden.bias

    def gate(k: int) -> tuple[th.Tensor, th.Tensor]:
        rows = slice(k * size, (k + 1) * size)
        return x @ w_i[rows].T + b_i[rows], h @ w_h[rows].T + b_h[rows]

    def norm(value: th.Tensor, weight: th.Tensor, bias: th.Tensor) -> th.Tensor:
        mean = value.mean(-1, keepdim=True)
        var = value.var(-1, unbiased=False, keepdim=True)
        return (value - mean) / th.sqrt(var + cell.eps) * weight + bias

    (xr, hr), (xz, hz), (xn, hn) = gate(0), gate(1), gate(2)
    r = th.sigmoid(norm(xr + hr, cell.gate_norm_weight[0], cell.gate_norm_bias[0]))
    z = th.sigmoid(norm(xz + hz, cell.gate_norm_weight[1], cell.gate_norm_bias[1]))
    n = th.tanh(norm(xn + r * hn, cell.candidate_norm.weight, cell.candidate_norm.bias))
    return (1 - z) * n + z * h


def randomize(module: nn.Module, seed: int = 0) -> None:
    """Move every parameter (LayerNorm affines included) away from its initial value."""
    generator = th.Generator().manual_seed(seed)
    with th.no_grad():
        for param in module.parameters():
            param.add_(0.3 * th.randn(param.shape, generator=generator))


# --------------------------------------------------------------------------------------------- SimBa


def test_simba_block_is_pre_norm_residual():
    th.manual_seed(0)
    block = SimbaBlock(8)
    randomize(block)
    x = th.randn(5, 8)
    expected = x + block.fc2(F.relu(block.fc1(F.layer_norm(x, (8,), block.norm.weight, block.norm.bias))))
    out = block(x)
    assert out.shape == (5, 8)
    th.testing.assert_close(out, expected)
    assert block.fc1.out_features == 32 and block.fc2.in_features == 32
    # With the last layer zeroed, the block is the identity (the residual path)
    with th.no_grad():
        block.fc2.weight.zero_()
        block.fc2.bias.zero_()
    th.testing.assert_close(block(x), x)


def test_simba_mlp_structure_shapes_and_param_count():
    mlp = SimbaMLP(7, 16, n_blocks=3)
    assert mlp.latent_dim == 16
    assert len(mlp.blocks) == 3
    assert n_params(mlp) == simba_mlp_params(7, 16, 3)
    out = mlp(th.randn(11, 7))
    assert out.shape == (11, 16)
    # Final LayerNorm with its initial affine: zero mean, unit variance per sample
    th.testing.assert_close(out.mean(-1), th.zeros(11), atol=1e-5, rtol=0)
    th.testing.assert_close(out.var(-1, unbiased=False), th.ones(11), atol=1e-3, rtol=0)
    # Extra leading dimensions are kept
    assert mlp(th.randn(2, 3, 7)).shape == (2, 3, 16)


def test_simba_extractor_defaults():
    extractor = SimbaExtractor(10)
    assert (extractor.latent_dim_pi, extractor.latent_dim_vf) == (128, 512)
    assert len(extractor.policy_net.blocks) == 1 and len(extractor.value_net.blocks) == 2
    assert n_params(extractor) == simba_mlp_params(10, 128, 1) + simba_mlp_params(10, 512, 2)
    features = th.randn(4, 10)
    latent_pi, latent_vf = extractor(features)
    assert latent_pi.shape == (4, 128) and latent_vf.shape == (4, 512)
    th.testing.assert_close(extractor.forward_actor(features), latent_pi)
    th.testing.assert_close(extractor.forward_critic(features), latent_vf)


def test_simba_activation_by_name_or_class():
    assert isinstance(SimbaBlock(4, activation_fn="gelu").activation, nn.GELU)
    assert isinstance(SimbaBlock(4, activation_fn=nn.SiLU).activation, nn.SiLU)
    assert get_activation_fn("nn.ReLU") is nn.ReLU
    assert get_activation_fn("Tanh") is nn.Tanh


# --------------------------------------------------------------------------------------------- validation

IMAGES = spaces.Box(0, 255, (3, 64, 64), np.uint8)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: SimbaMLP(4, 0), "`hidden_dim` must be a positive integer"),
        (lambda: SimbaMLP(4, -8), "`hidden_dim` must be a positive integer"),
        (lambda: SimbaMLP(4, 8, n_blocks=0), "`n_blocks` must be a positive integer"),
        (lambda: SimbaMLP(0, 8), "`input_dim` must be a positive integer"),
        (lambda: SimbaBlock(8, expansion=0), "`expansion` must be a positive integer"),
        (lambda: SimbaBlock(8.0), "`hidden_dim` must be a positive integer"),  # type: ignore[arg-type]
        (lambda: SimbaBlock(8, activation_fn="swish-ish"), "Unknown `activation_fn` 'swish-ish'.*'relu'"),
        (lambda: SimbaBlock(8, activation_fn=th.relu), "Unknown `activation_fn`"),  # type: ignore[arg-type]
        (lambda: LayerNormGRUCell(0, 8), "`input_size` must be a positive integer"),
        (lambda: LayerNormGRU(4, -1), "`hidden_size` must be a positive integer"),
        (lambda: LayerNormMlpExtractor(4, [8, 0]), r"`net_arch` must be a positive integer"),
        (lambda: LayerNormMlpExtractor(4, dict(pi=[8], qf=[8])), "unknown keys \\['qf'\\]"),
        (lambda: LayerNormMlpExtractor(4, dict(pi=[-2])), r"`net_arch\['pi'\]` must be a positive integer"),
        (lambda: LayerNormMlpExtractor(4, 64), "must be a list of positive integers"),  # type: ignore[arg-type]
        # an nn.Module that needs arguments is no activation ("Linear.__init__() missing 2 required ...")
        (lambda: SimbaBlock(8, activation_fn=nn.Linear), r"`activation_fn` must be an activation module .*Linear\(\) fails"),
        (lambda: LayerNormMlpExtractor(4, [8], activation_fn=nn.LayerNorm), r"LayerNorm\(\) fails: .*normalized_shape"),
        (
            lambda: ImpalaCnnExtractor(IMAGES, channels=16),
            r"`channels` must be a list of positive integers, one per stage, got 16",
        ),
        (lambda: ImpalaCnnExtractor(IMAGES, channels=[16, 0]), r"`channels` must be a positive integer"),
        (lambda: ImpalaCnnExtractor(IMAGES, features_dim=0), r"`features_dim` must be a positive integer"),
        (lambda: ImpalaCnnExtractor(IMAGES, normalized_image="no"), r"`normalized_image` must be True or False, got 'no'"),
    ],
)
def test_invalid_arguments_raise_value_error(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_check_positive_int():
    assert check_positive_int(3, "x") == 3
    assert check_positive_int(np.int64(3), "x") == 3 and type(check_positive_int(np.int64(3), "x")) is int
    for bad in (True, 0, -1, 2.0, "3", None):
        with pytest.raises(ValueError, match="`x` must be a positive integer"):
            check_positive_int(bad, "x")


def test_parse_net_arch():
    assert parse_net_arch([4, 5]) == ([4, 5], [4, 5])
    assert parse_net_arch(dict(pi=[4])) == ([4], [])
    assert parse_net_arch(dict(pi=[4], vf=[6, 7])) == ([4], [6, 7])
    assert parse_net_arch([]) == ([], [])


def test_layer_norm_mlp_extractor():
    extractor = LayerNormMlpExtractor(6, dict(pi=[8, 4], vf=[]))
    assert (extractor.latent_dim_pi, extractor.latent_dim_vf) == (4, 6)
    assert [type(m) for m in extractor.policy_net] == [nn.Linear, nn.LayerNorm, nn.ReLU] * 2
    assert n_params(extractor) == (6 * 8 + 8 + 2 * 8) + (8 * 4 + 4 + 2 * 4)
    features = th.randn(3, 6)
    latent_pi, latent_vf = extractor(features)
    assert latent_pi.shape == (3, 4)
    # An empty list is the identity, as in SB3's MlpExtractor
    th.testing.assert_close(latent_vf, features)


# --------------------------------------------------------------------------------------------- LayerNorm GRU


def test_ln_gru_cell_matches_reference_equations():
    th.manual_seed(0)
    cell = LayerNormGRUCell(5, 7)
    randomize(cell)
    assert n_params(cell) == ln_gru_cell_params(5, 7)
    x, h = th.randn(4, 5), th.randn(4, 7)
    out = cell(x, h)
    assert out.shape == (4, 7)
    th.testing.assert_close(out, reference_cell(cell, x, h))
    # No hidden state means a zero hidden state
    th.testing.assert_close(cell(x), reference_cell(cell, x, th.zeros(4, 7)))


def test_ln_gru_cell_initialisation():
    cell = LayerNormGRUCell(5, 6)
    for weight in cell.hidden_to_hidden.weight.chunk(3, dim=0):
        th.testing.assert_close(weight @ weight.T, th.eye(6), atol=1e-5, rtol=0)
    assert th.all(cell.hidden_to_hidden.bias == 0) and th.all(cell.input_to_hidden.bias == 0)
    assert th.all(cell.gate_norm_weight == 1) and th.all(cell.gate_norm_bias == 0)


def test_ln_gru_sequence_equals_cell_steps():
    th.manual_seed(1)
    gru = LayerNormGRU(3, 6)
    randomize(gru)
    assert (gru.num_layers, gru.hidden_size, gru.input_size) == (1, 6, 3)
    assert n_params(gru) == ln_gru_cell_params(3, 6)
    x, h0 = th.randn(9, 4, 3), th.randn(1, 4, 6)
    output, h_n = gru(x, h0)
    assert output.shape == (9, 4, 6) and h_n.shape == (1, 4, 6)
    h = h0[0]
    for t in range(9):
        h = gru.cell(x[t], h)
        th.testing.assert_close(output[t], h)
    th.testing.assert_close(h_n[0], h)
    # Default initial state is zero; (batch, hidden) initial states are accepted too
    th.testing.assert_close(gru(x)[0], gru(x, th.zeros(1, 4, 6))[0])
    th.testing.assert_close(gru(x, h0[0])[0], output)


def test_ln_gru_zero_length_sequence():
    gru = LayerNormGRU(3, 6)
    h0 = th.randn(1, 2, 6)
    output, h_n = gru(th.zeros(0, 2, 3), h0)
    assert output.shape == (0, 2, 6)
    th.testing.assert_close(h_n, h0)


def test_ln_gru_rejects_bad_input_shape():
    gru = LayerNormGRU(3, 6)
    with pytest.raises(ValueError, match=r"\(seq_len, batch, 3\)"):
        gru(th.zeros(4, 3))
    with pytest.raises(ValueError, match=r"\(seq_len, batch, 3\)"):
        gru(th.zeros(4, 2, 5))


def test_ln_gru_episode_starts_zero_the_state_before_the_step():
    th.manual_seed(2)
    gru = LayerNormGRU(3, 5)
    randomize(gru)
    seq_len, start = 8, 3
    x, h0 = th.randn(seq_len, 2, 3), th.randn(1, 2, 5)
    starts = th.zeros(seq_len, 2)
    starts[start, 0] = 1.0  # only the first sequence of the batch starts a new episode, at step 3
    output, h_n = gru(x, h0, starts)
    no_reset, _ = gru(x, h0)

    # Before the episode start and for the other sequence: as without resets
    th.testing.assert_close(output[:start], no_reset[:start])
    th.testing.assert_close(output[:, 1], no_reset[:, 1])
    # From the episode start on: as a fresh run from a zero state
    fresh, fresh_h_n = gru(x[start:, :1], th.zeros(1, 1, 5))
    th.testing.assert_close(output[start:, :1], fresh)
    th.testing.assert_close(h_n[:, :1], fresh_h_n)
    # The reset really changes the result (the test is not vacuous)
    assert not th.allclose(output[start:, 0], no_reset[start:, 0], atol=1e-3)

    # Step-by-step with the same masks, as during rollouts: (1 - start) * h before each step
    h = h0[0]
    for t in range(seq_len):
        h = gru.cell(x[t], (1.0 - starts[t]).unsqueeze(-1) * h)
        th.testing.assert_close(output[t], h)

    # An all-zero mask is the same as no mask; a start at step 0 is the same as a zero initial state
    th.testing.assert_close(gru(x, h0, th.zeros(seq_len, 2))[0], no_reset)
    first = th.zeros(seq_len, 2)
    first[0] = 1.0
    th.testing.assert_close(gru(x, h0, first)[0], gru(x)[0])


def test_ln_gru_gradients_reach_every_parameter():
    th.manual_seed(3)
    gru = LayerNormGRU(3, 4)
    x = th.randn(6, 2, 3, requires_grad=True)
    h0 = th.randn(1, 2, 4, requires_grad=True)
    output, h_n = gru(x, h0)
    (output.square().sum() + h_n.sum()).backward()
    for name, param in gru.named_parameters():
        assert param.grad is not None, name
        assert th.count_nonzero(param.grad) > 0, name
    assert th.count_nonzero(x.grad) > 0 and th.count_nonzero(h0.grad) > 0
