"""
Network building blocks of the two policy families of the GTR paper (Appendix B.2).

* **SimBa** (Lee et al., 2024): a linear embedding followed by pre-LayerNorm residual MLP blocks
  and a final LayerNorm (:class:`SimbaBlock`, :class:`SimbaMLP`, :class:`SimbaExtractor`).
* **LayerNorm GRU** (Ba et al., 2016; the Craftax recurrent PPO baseline of Matthews et al., 2024
  with LayerNorm added): a GRU cell whose gate and candidate pre-activations are layer-normalised
  (:class:`LayerNormGRUCell`, :class:`LayerNormGRU`), followed by ``Linear -> LayerNorm -> ReLU``
  layers (:class:`LayerNormMlpExtractor`).
* **Task-routed layers** of the cross-embodiment policy (:mod:`sb3_gtr.networks.task_routed`): per-task input
  layers around a shared trunk (:class:`TaskRoutedLinear`, :class:`TaskRoutedNetwork`).
"""

from collections.abc import Sequence
from itertools import pairwise
from typing import Optional, Union

import torch as th
from stable_baselines3.common.utils import get_device
from torch import nn
from torch.nn import functional as F

from sb3_gtr.common import checks

#: Activation functions that may be given by name (case-insensitive, an optional ``nn.`` prefix is ignored).
ACTIVATION_FNS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "leakyrelu": nn.LeakyReLU,
}

ActivationFn = Union[type[nn.Module], str]
NetArch = Union[list[int], dict[str, list[int]]]


def check_positive_int(value: object, name: str) -> int:
    """
    Check that ``value`` is a strictly positive integer (a width, a number of blocks, ...).

    The argument order of the network modules, ``(value, name)``; the check itself is the package's shared
    :func:`sb3_gtr.common.checks.check_positive_int`.

    :param value: The value to check
    :param name: Name of the argument, used in the error message
    :return: ``value`` as a Python ``int``
    :raises ValueError: If ``value`` is not an integer ``>= 1`` (booleans are rejected)
    """
    return checks.check_positive_int(name, value)


def get_activation_fn(activation_fn: ActivationFn, name: str = "activation_fn") -> type[nn.Module]:
    """
    Resolve an activation function given as an ``nn.Module`` class (SB3 convention, e.g. ``nn.ReLU``)
    or by name (e.g. ``"relu"``, ``"nn.ReLU"``, convenient in RL Zoo hyperparameter files).

    :param activation_fn: An ``nn.Module`` subclass built without arguments, or one of the names of
        :data:`ACTIVATION_FNS`
    :param name: Name of the argument, used in the error message
    :return: The activation class (instantiate it with no argument)
    :raises ValueError: If the name is unknown, the value is neither a name nor an ``nn.Module`` subclass, or the
        class cannot be built without arguments (``nn.Linear``: not an activation)
    """
    allowed = ", ".join(repr(key) for key in ACTIVATION_FNS)
    if isinstance(activation_fn, type) and issubclass(activation_fn, nn.Module):
        # The networks build the activation as `activation_fn()`: try it now, so that a module that needs
        # arguments is refused here, naming the argument, rather than deep inside the network's construction
        try:
            activation_fn()
        except Exception as error:
            raise ValueError(
                f"`{name}` must be an activation module built without arguments (nn.ReLU, nn.Tanh, ...) or one of "
                f"{allowed}, got {activation_fn.__qualname__}, and {activation_fn.__qualname__}() fails: {error}"
            ) from None
        return activation_fn
    if isinstance(activation_fn, str):
        key = activation_fn.strip().lower().removeprefix("nn.")
        if key in ACTIVATION_FNS:
            return ACTIVATION_FNS[key]
    raise ValueError(f"Unknown `{name}` {activation_fn!r}: expected an nn.Module subclass or one of {allowed}")


def parse_net_arch(net_arch: NetArch, name: str = "net_arch") -> tuple[list[int], list[int]]:
    """
    Split an SB3-style ``net_arch`` into the layer widths of the actor and of the critic.

    ``[64, 64]`` gives the same layers to both; ``dict(pi=[64], vf=[128, 128])`` gives separate layers
    (a missing key means no layer, as in SB3's ``MlpExtractor``).

    :param net_arch: A list of layer widths or a dict with keys ``"pi"`` and/or ``"vf"``
    :param name: Name of the argument, used in the error message
    :return: The actor widths and the critic widths
    :raises ValueError: On unknown keys, non-list values or widths that are not positive integers
    """
    if isinstance(net_arch, dict):
        unknown = set(net_arch) - {"pi", "vf"}
        if unknown:
            raise ValueError(f"`{name}` may only have the keys 'pi' and 'vf', got unknown keys {sorted(unknown)}")
        pi_dims, vf_dims = net_arch.get("pi", []), net_arch.get("vf", [])
    else:
        pi_dims = vf_dims = net_arch
    checked = []
    for key, dims in (("pi", pi_dims), ("vf", vf_dims)):
        if not isinstance(dims, (list, tuple)):
            raise ValueError(f"`{name}` must be a list of positive integers or a dict(pi=[...], vf=[...]), got {net_arch!r}")
        checked.append([check_positive_int(dim, f"{name}[{key!r}]" if isinstance(net_arch, dict) else name) for dim in dims])
    return checked[0], checked[1]


class SimbaBlock(nn.Module):
    """
    Pre-LayerNorm residual MLP block of SimBa (Lee et al., 2024):
    ``x + Linear(4h, h)(act(Linear(h, 4h)(LayerNorm(x))))``.

    :param hidden_dim: Width ``h`` of the residual stream
    :param expansion: Width multiplier of the inverted bottleneck (4 in SimBa)
    :param activation_fn: Activation between the two linear layers (ReLU in SimBa)
    """

    def __init__(self, hidden_dim: int, expansion: int = 4, activation_fn: ActivationFn = nn.ReLU) -> None:
        super().__init__()
        hidden_dim = check_positive_int(hidden_dim, "hidden_dim")
        expansion = check_positive_int(expansion, "expansion")
        activation = get_activation_fn(activation_fn)
        self.hidden_dim = hidden_dim
        self.norm = nn.LayerNorm(hidden_dim)
        self.fc1 = nn.Linear(hidden_dim, expansion * hidden_dim)
        self.activation = activation()
        self.fc2 = nn.Linear(expansion * hidden_dim, hidden_dim)

    def forward(self, x: th.Tensor) -> th.Tensor:
        """
        :param x: Input of shape ``(..., hidden_dim)``
        :return: Output of the same shape
        """
        return x + self.fc2(self.activation(self.fc1(self.norm(x))))


class SimbaMLP(nn.Module):
    """
    SimBa trunk: ``Linear(input_dim, h)`` embedding, ``n_blocks`` :class:`SimbaBlock` and a final ``LayerNorm(h)``.

    SimBa's running-statistics observation normalisation is not part of the module: wrap the
    environment in SB3's ``VecNormalize`` for it.

    :param input_dim: Dimension of the input features
    :param hidden_dim: Width ``h`` of the residual stream (also the output dimension, ``latent_dim``)
    :param n_blocks: Number of residual blocks (at least one)
    :param expansion: Width multiplier inside each block
    :param activation_fn: Activation inside each block
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        n_blocks: int = 1,
        expansion: int = 4,
        activation_fn: ActivationFn = nn.ReLU,
    ) -> None:
        super().__init__()
        input_dim = check_positive_int(input_dim, "input_dim")
        hidden_dim = check_positive_int(hidden_dim, "hidden_dim")
        n_blocks = check_positive_int(n_blocks, "n_blocks")
        self.latent_dim = hidden_dim
        self.embedding = nn.Linear(input_dim, hidden_dim)
        self.blocks = nn.Sequential(*(SimbaBlock(hidden_dim, expansion, activation_fn) for _ in range(n_blocks)))
        self.final_norm = nn.LayerNorm(hidden_dim)

    def forward(self, x: th.Tensor) -> th.Tensor:
        """
        :param x: Input of shape ``(..., input_dim)``
        :return: Latent of shape ``(..., hidden_dim)``
        """
        return self.final_norm(self.blocks(self.embedding(x)))


class _ActorCriticExtractor(nn.Module):
    """
    What SB3's ``MlpExtractor`` exposes to a policy: ``policy_net`` and ``value_net`` built by the subclass,
    ``latent_dim_pi``, ``latent_dim_vf`` and the three forward methods below.
    """

    policy_net: nn.Module
    value_net: nn.Module
    latent_dim_pi: int
    latent_dim_vf: int

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """
        :param features: Features of shape ``(batch, feature_dim)``
        :return: The latent of the actor and the latent of the critic
        """
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        """
        :param features: Features of shape ``(batch, feature_dim)``
        :return: Latent of the actor, shape ``(batch, latent_dim_pi)``
        """
        return self.policy_net(features)

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        """
        :param features: Features of shape ``(batch, feature_dim)``
        :return: Latent of the critic, shape ``(batch, latent_dim_vf)``
        """
        return self.value_net(features)


class SimbaExtractor(_ActorCriticExtractor):
    """
    Drop-in replacement of SB3's ``MlpExtractor`` with one SimBa trunk for the actor and one for the critic.

    The defaults follow SimBa (Lee et al., 2024) and Appendix B.2 of the GTR paper: a narrow actor
    (width 128, one block) and a wide critic (width 512, two blocks).

    :param feature_dim: Dimension of the feature vector (output of the features extractor)
    :param actor_hidden_dim: Width of the actor trunk
    :param actor_num_blocks: Number of residual blocks of the actor trunk
    :param critic_hidden_dim: Width of the critic trunk
    :param critic_num_blocks: Number of residual blocks of the critic trunk
    :param expansion: Width multiplier inside each block
    :param activation_fn: Activation inside each block
    :param device: PyTorch device
    """

    def __init__(
        self,
        feature_dim: int,
        actor_hidden_dim: int = 128,
        actor_num_blocks: int = 1,
        critic_hidden_dim: int = 512,
        critic_num_blocks: int = 2,
        expansion: int = 4,
        activation_fn: ActivationFn = nn.ReLU,
        device: Union[th.device, str] = "auto",
    ) -> None:
        super().__init__()
        self.policy_net = SimbaMLP(feature_dim, actor_hidden_dim, actor_num_blocks, expansion, activation_fn)
        self.value_net = SimbaMLP(feature_dim, critic_hidden_dim, critic_num_blocks, expansion, activation_fn)
        self.latent_dim_pi = self.policy_net.latent_dim
        self.latent_dim_vf = self.value_net.latent_dim
        self.to(get_device(device))


def layer_norm_mlp(input_dim: int, layer_dims: list[int], activation_fn: ActivationFn = nn.ReLU) -> nn.Sequential:
    """
    Stack of ``Linear -> LayerNorm -> activation`` layers (an identity module if ``layer_dims`` is empty).

    :param input_dim: Dimension of the input
    :param layer_dims: Width of each layer
    :param activation_fn: Activation after each LayerNorm
    :return: The stack
    """
    activation = get_activation_fn(activation_fn)
    layers: list[nn.Module] = []
    last_dim = check_positive_int(input_dim, "input_dim")
    for dim in layer_dims:
        dim = check_positive_int(dim, "layer_dims")
        layers += [nn.Linear(last_dim, dim), nn.LayerNorm(dim), activation()]
        last_dim = dim
    return nn.Sequential(*layers)


class LayerNormMlpExtractor(_ActorCriticExtractor):
    """
    SB3 ``MlpExtractor`` whose hidden layers are ``Linear -> LayerNorm -> activation``
    (the fully connected layers after the recurrent core in Appendix B.2 of the GTR paper).

    :param feature_dim: Dimension of the input (e.g. the GRU output)
    :param net_arch: Layer widths, ``[64, 64]`` for both networks or ``dict(pi=[...], vf=[...])``
    :param activation_fn: Activation after each LayerNorm
    :param device: PyTorch device
    """

    def __init__(
        self,
        feature_dim: int,
        net_arch: NetArch,
        activation_fn: ActivationFn = nn.ReLU,
        device: Union[th.device, str] = "auto",
    ) -> None:
        super().__init__()
        pi_dims, vf_dims = parse_net_arch(net_arch)
        self.policy_net = layer_norm_mlp(feature_dim, pi_dims, activation_fn)
        self.value_net = layer_norm_mlp(feature_dim, vf_dims, activation_fn)
        self.latent_dim_pi = pi_dims[-1] if pi_dims else feature_dim
        self.latent_dim_vf = vf_dims[-1] if vf_dims else feature_dim
        self.to(get_device(device))


class LayerNormGRUCell(nn.Module):
    """
    GRU cell with LayerNorm on the gate and candidate pre-activations.

    .. code-block:: text

        r, z = sigmoid(LN_r(W_ir x + b_ir + W_hr h + b_hr)), sigmoid(LN_z(W_iz x + b_iz + W_hz h + b_hz))
        n    = tanh(LN_n(W_in x + b_in + r * (W_hn h + b_hn)))
        h'   = (1 - z) * n + z * h

    The candidate uses the "reset after the recurrent matmul" variant of cuDNN, ``torch.nn.GRUCell`` and
    Flax's ``GRUCell`` (the one of the Craftax baseline): ``r`` multiplies ``W_hn h + b_hn`` rather than
    ``h`` before the matmul (Cho et al., 2014). This lets all recurrent matmuls be fused into one.

    Parameters: one fused ``Linear(input_size, 3 * hidden_size)`` (``input_to_hidden``), one fused
    ``Linear(hidden_size, 3 * hidden_size)`` (``hidden_to_hidden``), gates in the order ``(r, z, n)``
    as in PyTorch; a separate LayerNorm affine (weight and bias of size ``hidden_size``) per gate.
    Initialisation: the recurrent weight of each gate is orthogonal, the input weights keep PyTorch's
    ``nn.Linear`` default, biases are zero, LayerNorms start as the identity affine.

    :param input_size: Dimension of the input ``x``
    :param hidden_size: Dimension of the hidden state ``h``
    :param eps: Epsilon of the LayerNorms
    """

    def __init__(self, input_size: int, hidden_size: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.eps = eps
        self.input_to_hidden = nn.Linear(self.input_size, 3 * self.hidden_size)
        self.hidden_to_hidden = nn.Linear(self.hidden_size, 3 * self.hidden_size)
        # LayerNorm affine of the reset and update gates, one row per gate
        self.gate_norm_weight = nn.Parameter(th.ones(2, self.hidden_size))
        self.gate_norm_bias = nn.Parameter(th.zeros(2, self.hidden_size))
        self.candidate_norm = nn.LayerNorm(self.hidden_size, eps=eps)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Orthogonal recurrent weights (per gate), default input weights, zero biases, identity LayerNorms."""
        self.input_to_hidden.reset_parameters()
        for weight in self.hidden_to_hidden.weight.data.chunk(3, dim=0):
            nn.init.orthogonal_(weight)
        nn.init.zeros_(self.input_to_hidden.bias)
        nn.init.zeros_(self.hidden_to_hidden.bias)
        nn.init.ones_(self.gate_norm_weight)
        nn.init.zeros_(self.gate_norm_bias)
        self.candidate_norm.reset_parameters()

    def step(self, input_projection: th.Tensor, hidden: th.Tensor) -> th.Tensor:
        """
        One recurrent update from an already computed input projection.

        :param input_projection: ``input_to_hidden(x)``, shape ``(batch, 3 * hidden_size)``
        :param hidden: Previous hidden state, shape ``(batch, hidden_size)``
        :return: New hidden state, shape ``(batch, hidden_size)``
        """
        size = self.hidden_size
        # ``split`` rather than slicing: autograd then concatenates the gradients once
        input_gates, input_candidate = input_projection.split((2 * size, size), dim=-1)
        recurrent_gates, recurrent_candidate = self.hidden_to_hidden(hidden).split((2 * size, size), dim=-1)
        gates = F.layer_norm((input_gates + recurrent_gates).unflatten(-1, (2, size)), (size,), eps=self.eps)
        gates = th.sigmoid(th.addcmul(self.gate_norm_bias, gates, self.gate_norm_weight))
        reset, update = gates.unbind(-2)
        candidate = th.tanh(self.candidate_norm(th.addcmul(input_candidate, reset, recurrent_candidate)))
        # (1 - z) * n + z * h
        return th.lerp(candidate, hidden, update)

    def forward(self, input: th.Tensor, hidden: Optional[th.Tensor] = None) -> th.Tensor:
        """
        :param input: Input of shape ``(batch, input_size)``
        :param hidden: Previous hidden state of shape ``(batch, hidden_size)``; zeros if ``None``
        :return: New hidden state of shape ``(batch, hidden_size)``
        """
        if hidden is None:
            hidden = input.new_zeros((*input.shape[:-1], self.hidden_size))
        return self.step(self.input_to_hidden(input), hidden)


class LayerNormGRU(nn.Module):
    """
    Single-layer :class:`LayerNormGRUCell` unrolled over a sequence, with the interface of ``torch.nn.GRU``
    (sequence-first) plus optional per-step episode-start masks.

    At step ``t``, the hidden state is multiplied by ``1 - episode_starts[t]`` *before* the update,
    exactly like sb3-contrib's ``RecurrentActorCriticPolicy._process_sequence`` does for its LSTM
    (so a new episode starts from a zero hidden state). The input projection of every step is
    computed with a single matmul before the time loop.

    ``num_layers`` (always 1) and ``hidden_size`` are exposed because ``sb3_contrib.RecurrentPPO``
    reads them to shape the stored hidden states.

    :param input_size: Dimension of the input
    :param hidden_size: Dimension of the hidden state
    :param eps: Epsilon of the LayerNorms
    """

    #: Only single-layer GRUs are supported (read by ``RecurrentPPO._setup_model``).
    num_layers: int = 1
    #: Inputs are ``(seq_len, batch, input_size)``, as for ``nn.LSTM`` with its default ``batch_first=False``.
    batch_first: bool = False

    def __init__(self, input_size: int, hidden_size: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.cell = LayerNormGRUCell(input_size, hidden_size, eps=eps)
        self.input_size = self.cell.input_size
        self.hidden_size = self.cell.hidden_size

    def forward(
        self,
        input: th.Tensor,
        hidden: Optional[th.Tensor] = None,
        episode_starts: Optional[th.Tensor] = None,
    ) -> tuple[th.Tensor, th.Tensor]:
        """
        :param input: Input sequence of shape ``(seq_len, batch, input_size)``
        :param hidden: Initial hidden state of shape ``(1, batch, hidden_size)`` (or ``(batch, hidden_size)``);
            zeros if ``None``
        :param episode_starts: Optional ``(seq_len, batch)`` tensor, 1.0 where a new episode starts at that
            step (the hidden state is zeroed before the step), 0.0 elsewhere
        :return: The hidden state of every step ``(seq_len, batch, hidden_size)`` and the last hidden state
            ``(1, batch, hidden_size)``
        """
        if input.dim() != 3 or input.shape[-1] != self.input_size:
            raise ValueError(f"Expected an input of shape (seq_len, batch, {self.input_size}), got {tuple(input.shape)}")
        seq_len, batch_size = input.shape[0], input.shape[1]
        if hidden is None:
            hidden = input.new_zeros(batch_size, self.hidden_size)
        else:
            hidden = hidden.reshape(batch_size, self.hidden_size)

        keep = None
        if episode_starts is not None:
            starts = episode_starts.reshape(seq_len, batch_size)
            # Skip the masking entirely when no episode starts inside the sequence (rollout steps, most minibatches)
            if bool(th.any(starts != 0)):
                keep = (1.0 - starts.to(hidden.dtype)).unsqueeze(-1)

        # One matmul for the input projection of all the steps. ``unbind`` rather than indexing in the loop:
        # autograd then stacks the per-step gradients once instead of scattering each into a full-size zero tensor.
        input_projections = self.cell.input_to_hidden(input).unbind(0)
        outputs = []
        for step in range(seq_len):
            if keep is not None:
                hidden = hidden * keep[step]
            hidden = self.cell.step(input_projections[step], hidden)
            outputs.append(hidden)
        if seq_len == 0:
            return input.new_zeros(0, batch_size, self.hidden_size), hidden.unsqueeze(0)
        return th.stack(outputs), hidden.unsqueeze(0)


# Task-routed layers of the cross-embodiment policy (sb3_gtr.networks.task_routed)


def per_task_sizes(value: Union[int, Sequence[int]], n_tasks: int, name: str) -> list[int]:
    """One positive size per task: ``value`` repeated if it is one int, else checked to have ``n_tasks`` entries."""
    if isinstance(value, Sequence):
        if len(value) != n_tasks:
            raise ValueError(f"`{name}` needs one entry per task ({n_tasks}), got {len(value)}")
        return [check_positive_int(item, name) for item in value]
    return [check_positive_int(value, name)] * n_tasks


class TaskRoutedLinear(nn.Module):
    """
    One ``nn.Linear`` per task, chosen for each sample by its task id. Task ``k``'s layer reads the first
    ``in_features[k]`` entries of the input and writes the first ``out_features[k]`` entries of the output (the
    others are zero), so tasks may have inputs and outputs of different sizes. Only the layers of the tasks
    present in a batch are run, so a sample contributes gradients to its own task's layer only.

    :param in_features: Input size, per task or common
    :param out_features: Output size, per task or common
    :param n_tasks: Number of tasks (needed when both sizes are common)
    """

    def __init__(
        self, in_features: Union[int, Sequence[int]], out_features: Union[int, Sequence[int]], n_tasks: Optional[int] = None
    ) -> None:
        super().__init__()
        if n_tasks is None:
            sizes = [value for value in (in_features, out_features) if isinstance(value, Sequence)]
            if not sizes:
                raise ValueError("TaskRoutedLinear needs `n_tasks` when the sizes are the same for every task")
            n_tasks = len(sizes[0])
        self.n_tasks = check_positive_int(n_tasks, "n_tasks")
        self.in_features = per_task_sizes(in_features, self.n_tasks, "in_features")
        self.out_features = per_task_sizes(out_features, self.n_tasks, "out_features")
        self.max_in_features, self.max_out_features = max(self.in_features), max(self.out_features)
        self.layers = nn.ModuleList(
            nn.Linear(n_in, n_out) for n_in, n_out in zip(self.in_features, self.out_features, strict=True)
        )

    def forward_task(self, x: th.Tensor, task_id: int) -> th.Tensor:
        """
        :param x: Inputs of one task, shape ``(batch, >= in_features[task_id])``
        :param task_id: The task
        :return: Outputs zero-padded to ``(batch, max(out_features))``
        """
        output = self.layers[task_id](x[:, : self.in_features[task_id]])
        return F.pad(output, (0, self.max_out_features - output.shape[-1]))

    def forward(self, x: th.Tensor, task_ids: th.Tensor) -> th.Tensor:
        """
        :param x: Inputs, shape ``(batch, >= max(in_features))`` (entries past a task's size are ignored)
        :param task_ids: Task id of each sample, shape ``(batch,)``
        :return: Outputs, shape ``(batch, max(out_features))``
        """
        present = th.unique(task_ids).tolist()
        if len(present) == 1:
            return self.forward_task(x, int(present[0]))
        output = x.new_zeros(x.shape[0], self.max_out_features)
        for task_id in present:
            index = th.nonzero(task_ids == task_id, as_tuple=True)[0]
            output = output.index_copy(0, index, self.forward_task(x[index], int(task_id)))
        return output


class TaskRoutedNetwork(nn.Module):
    """
    A per-task input layer (:class:`TaskRoutedLinear`) followed by a trunk shared by all tasks.

    :param input_layer: The per-task input layers
    :param trunk: The shared trunk
    :param latent_dim: Output size of the trunk
    """

    def __init__(self, input_layer: TaskRoutedLinear, trunk: nn.Module, latent_dim: int) -> None:
        super().__init__()
        self.input_layer = input_layer
        self.trunk = trunk
        self.latent_dim = latent_dim

    def forward(self, x: th.Tensor, task_ids: th.Tensor) -> th.Tensor:
        """
        :param x: Padded observations, shape ``(batch, obs_dim)``
        :param task_ids: Task id of each sample
        :return: Latent, shape ``(batch, latent_dim)``
        """
        return self.trunk(self.input_layer(x, task_ids))


def simba_task_routed_network(
    task_obs_dims: Sequence[int], hidden_dim: int, n_blocks: int, expansion: int, activation_fn: ActivationFn
) -> TaskRoutedNetwork:
    """
    SimBa with a per-task embedding: ``Linear(obs_dim_k, h)`` for task ``k``, then ``n_blocks`` shared SimBa
    blocks and a shared ``LayerNorm(h)`` (Appendix B.2 of the GTR paper, with the first layer made per task).

    :param task_obs_dims: Observation size of each task
    :param hidden_dim: Width ``h``
    :param n_blocks: Number of SimBa blocks
    :param expansion: Width multiplier inside each block
    :param activation_fn: Activation inside each block
    :return: The network
    """
    hidden_dim = check_positive_int(hidden_dim, "hidden_dim")
    blocks = [SimbaBlock(hidden_dim, expansion, activation_fn) for _ in range(check_positive_int(n_blocks, "n_blocks"))]
    trunk = nn.Sequential(*blocks, nn.LayerNorm(hidden_dim))
    return TaskRoutedNetwork(TaskRoutedLinear(task_obs_dims, hidden_dim), trunk, hidden_dim)


def mlp_task_routed_network(
    task_obs_dims: Sequence[int], layer_dims: Sequence[int], activation_fn: ActivationFn
) -> TaskRoutedNetwork:
    """
    MLP with a per-task first layer: ``Linear(obs_dim_k, layer_dims[0])`` for task ``k``, then the shared
    ``Linear`` layers of ``layer_dims[1:]``, each layer followed by the activation.

    :param task_obs_dims: Observation size of each task
    :param layer_dims: Widths of the layers (at least one)
    :param activation_fn: Activation after each layer
    :return: The network
    """
    if not layer_dims:
        raise ValueError("The MLP trunk needs at least one layer (the per-task input layer)")
    activation = get_activation_fn(activation_fn)
    layers: list[nn.Module] = [activation()]
    for in_dim, out_dim in pairwise(layer_dims):
        layers += [nn.Linear(in_dim, out_dim), activation()]
    return TaskRoutedNetwork(TaskRoutedLinear(task_obs_dims, layer_dims[0]), nn.Sequential(*layers), layer_dims[-1])
