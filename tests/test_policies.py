import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.torch_layers import CombinedExtractor, FlattenExtractor, NatureCNN
from torch import nn

from sb3_gtr import GTRPPO, RecurrentGTRPPO
from sb3_gtr.networks.ln_gru import LnGruActorCriticCnnPolicy, LnGruActorCriticPolicy, LnGruMultiInputActorCriticPolicy
from sb3_gtr.networks.simba import SimbaActorCriticCnnPolicy, SimbaActorCriticPolicy, SimbaMultiInputActorCriticPolicy
from sb3_gtr.networks.torch_layers import LayerNormGRU


def lr_schedule(_: float) -> float:
    return 3e-4


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def layer_norm(dim: int) -> int:
    return 2 * dim


def simba_trunk(input_dim: int, hidden: int, n_blocks: int) -> int:
    """SimBa table: Linear(in, h); blocks of LayerNorm(h), Linear(h, 4h), Linear(4h, h); LayerNorm(h)."""
    block = layer_norm(hidden) + linear(hidden, 4 * hidden) + linear(4 * hidden, hidden)
    return linear(input_dim, hidden) + n_blocks * block + layer_norm(hidden)


def simba_policy(obs_dim: int, action_head: int, log_std: int) -> int:
    """Default SimBa policy: actor (128, 1 block) + action head + log std, critic (512, 2 blocks) + value head."""
    actor = simba_trunk(obs_dim, 128, 1) + linear(128, action_head) + log_std
    critic = simba_trunk(obs_dim, 512, 2) + linear(512, 1)
    return actor + critic


def ln_gru_policy(obs_dim: int, action_head: int, log_std: int, hidden: int = 256, shared: bool = True) -> int:
    """LN-GRU table: projection Linear+LN, LayerNormGRUCell, two Linear+LN layers per network and the heads."""
    projection = linear(obs_dim, hidden) + layer_norm(hidden)
    # Gates and candidate: Linear(x -> 3h) + Linear(h -> 3h), one LayerNorm per gate
    gru = linear(hidden, 3 * hidden) + linear(hidden, 3 * hidden) + 3 * layer_norm(hidden)
    fully_connected = 2 * (linear(hidden, hidden) + layer_norm(hidden))
    core = (projection + gru) * (1 if shared else 2)
    return core + 2 * fully_connected + linear(hidden, action_head) + log_std + linear(hidden, 1)


def assert_every_parameter_has_gradient(policy: nn.Module) -> None:
    for name, param in policy.named_parameters():
        assert param.grad is not None, f"{name} got no gradient"
        assert th.count_nonzero(param.grad) > 0, f"{name} got a zero gradient"


class TinyImageEnv(gym.Env):
    """Random 36x36 RGB images (the smallest size NatureCNN accepts), a reward for action 0."""

    observation_space = spaces.Box(0, 255, (36, 36, 3), np.uint8)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.n_steps = 0
        return self._obs(), {}

    def step(self, action):
        self.n_steps += 1
        return self._obs(), float(action == 0), self.n_steps >= 12, False, {}

    def _obs(self):
        return self.np_random.integers(0, 256, self.observation_space.shape, dtype=np.uint8)


class TinyDictEnv(gym.Env):
    """Dict observations (a vector and a discrete flag), continuous actions."""

    observation_space = spaces.Dict({"vec": spaces.Box(-1, 1, (3,), np.float32), "flag": spaces.Discrete(3)})
    action_space = spaces.Box(-1, 1, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.n_steps = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        self.n_steps += 1
        return self.observation_space.sample(), -float(np.sum(np.square(action))), self.n_steps >= 10, False, {}


ACTION_SPACES = {
    "box": (spaces.Box(-1, 1, (3,), np.float32), 3, 3),
    "discrete": (spaces.Discrete(4), 4, 0),
    "multidiscrete": (spaces.MultiDiscrete([3, 2]), 5, 0),
    "multibinary": (spaces.MultiBinary(3), 3, 0),
}
OBS_SPACE = spaces.Box(-1, 1, (5,), np.float32)


def changed_parameters(before: dict[str, th.Tensor], policy: nn.Module) -> list[str]:
    return [name for name, param in policy.state_dict().items() if not th.equal(before[name], param)]


# --------------------------------------------------------------------------------------------- SimBa


@pytest.mark.parametrize("action_space, head, log_std", ACTION_SPACES.values(), ids=ACTION_SPACES.keys())
def test_simba_default_parameter_count(action_space, head, log_std):
    policy = SimbaActorCriticPolicy(OBS_SPACE, action_space, lr_schedule)
    assert n_params(policy) == simba_policy(5, head, log_std)
    extractor = policy.mlp_extractor
    assert (extractor.latent_dim_pi, extractor.latent_dim_vf) == (128, 512)
    assert (len(extractor.policy_net.blocks), len(extractor.value_net.blocks)) == (1, 2)
    assert policy.net_arch is None
    if isinstance(action_space, spaces.Box):
        # Learnable, state-independent log std (SB3's default for Box actions)
        assert policy.log_std.shape == (3,) and policy.log_std.requires_grad


def test_simba_policy_kwargs_change_the_trunks():
    policy = SimbaActorCriticPolicy(
        OBS_SPACE,
        spaces.Discrete(2),
        lr_schedule,
        actor_hidden_dim=32,
        actor_num_blocks=3,
        critic_hidden_dim=16,
        critic_num_blocks=1,
        activation_fn="gelu",
    )
    extractor = policy.mlp_extractor
    assert (extractor.latent_dim_pi, extractor.latent_dim_vf) == (32, 16)
    assert (len(extractor.policy_net.blocks), len(extractor.value_net.blocks)) == (3, 1)
    assert isinstance(extractor.policy_net.blocks[0].activation, nn.GELU)
    expected = simba_trunk(5, 32, 3) + linear(32, 2) + simba_trunk(5, 16, 1) + linear(16, 1)
    assert n_params(policy) == expected


@pytest.mark.parametrize("action_space", [space for space, _, _ in ACTION_SPACES.values()], ids=ACTION_SPACES.keys())
def test_simba_shapes_and_gradients(action_space):
    th.manual_seed(0)
    policy = SimbaActorCriticPolicy(OBS_SPACE, action_space, lr_schedule, actor_hidden_dim=16, critic_hidden_dim=24)
    obs = th.rand(6, 5) * 2 - 1
    actions, values, log_prob = policy(obs)
    assert actions.shape == (6, *action_space.shape)
    assert values.shape == (6, 1) and log_prob.shape == (6,)
    values, log_prob, entropy = policy.evaluate_actions(obs, actions.detach())
    (values.sum() + log_prob.sum() + entropy.sum()).backward()
    assert_every_parameter_has_gradient(policy)


@pytest.mark.parametrize(
    "env_id, policy_kwargs",
    [("Pendulum-v1", {}), ("CartPole-v1", dict(actor_hidden_dim=32, critic_hidden_dim=64))],
    ids=["Pendulum-v1-default-sizes", "CartPole-v1-small"],
)
def test_simba_learns_with_sb3_ppo(env_id, policy_kwargs):
    model = PPO(SimbaActorCriticPolicy, env_id, n_steps=64, batch_size=32, n_epochs=2, policy_kwargs=policy_kwargs, seed=0)
    before = {name: param.clone() for name, param in model.policy.state_dict().items()}
    model.learn(256)
    assert model.num_timesteps == 256
    # Both trunks and the heads were updated
    changed = changed_parameters(before, model.policy)
    for prefix in ("mlp_extractor.policy_net", "mlp_extractor.value_net", "action_net", "value_net"):
        assert any(name.startswith(prefix) for name in changed), prefix
    assert ("log_std" in changed) == (env_id == "Pendulum-v1")


def test_simba_cnn_and_multi_input_variants():
    cnn = PPO(SimbaActorCriticCnnPolicy, TinyImageEnv(), n_steps=16, batch_size=16, n_epochs=1, seed=0)
    assert isinstance(cnn.policy.features_extractor, NatureCNN)
    cnn.learn(32)
    assert cnn.num_timesteps == 32
    multi = PPO(SimbaMultiInputActorCriticPolicy, TinyDictEnv(), n_steps=16, batch_size=16, n_epochs=1, seed=0)
    assert isinstance(multi.policy.features_extractor, CombinedExtractor)
    assert multi.policy.mlp_extractor.latent_dim_vf == 512
    multi.learn(32)
    assert multi.num_timesteps == 32


def test_simba_save_load_round_trip(tmp_path):
    kwargs = dict(actor_hidden_dim=32, critic_hidden_dim=48, critic_num_blocks=1)
    model = PPO(SimbaActorCriticPolicy, "Pendulum-v1", n_steps=64, batch_size=32, n_epochs=1, policy_kwargs=kwargs, seed=0)
    model.learn(64)
    obs = np.stack([model.observation_space.sample() for _ in range(10)])
    actions, _ = model.predict(obs, deterministic=True)

    model.save(tmp_path / "simba")
    loaded = PPO.load(tmp_path / "simba")
    assert isinstance(loaded.policy, SimbaActorCriticPolicy)
    assert loaded.policy.mlp_extractor.latent_dim_vf == 48
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)

    # Policy-level save/load rebuilds the policy from its constructor parameters
    model.policy.save(tmp_path / "simba_policy.pth")
    policy = SimbaActorCriticPolicy.load(tmp_path / "simba_policy.pth")
    assert (policy.actor_hidden_dim, policy.critic_hidden_dim, policy.critic_num_blocks) == (32, 48, 1)
    np.testing.assert_array_equal(policy.predict(obs, deterministic=True)[0], actions)
    obs_tensor = th.as_tensor(obs)
    th.testing.assert_close(policy.predict_values(obs_tensor), model.policy.predict_values(obs_tensor), rtol=0, atol=0)


@pytest.mark.parametrize(
    "policy_kwargs, match",
    [
        (dict(actor_hidden_dim=0), "`actor_hidden_dim` must be a positive integer"),
        (dict(critic_hidden_dim=-64), "`critic_hidden_dim` must be a positive integer"),
        (dict(actor_num_blocks=0), "`actor_num_blocks` must be a positive integer"),
        (dict(critic_num_blocks=1.5), "`critic_num_blocks` must be a positive integer"),
        (dict(block_expansion=0), "`block_expansion` must be a positive integer"),
        (dict(activation_fn="sparkle"), "Unknown `activation_fn` 'sparkle'.*'relu'"),
        (dict(net_arch=[64, 64]), "does not use `net_arch`.*actor_hidden_dim"),
        # these failed deep inside SB3's construction, or were silently accepted
        (
            dict(activation_fn=nn.Linear),
            r"`activation_fn` must be an activation module built without arguments.*Linear\(\) fails",
        ),
        (
            dict(features_extractor_class=int),
            "`features_extractor_class` must be a subclass of SB3's BaseFeaturesExtractor.*int",
        ),
        (dict(features_extractor_class="FlattenExtractor"), "`features_extractor_class` must be a subclass"),
        (dict(features_extractor_kwargs=[1]), "`features_extractor_kwargs` must be a dict or None"),
        (dict(ortho_init="x"), "`ortho_init` must be True or False, got 'x'"),
        (dict(share_features_extractor="no"), "`share_features_extractor` must be True or False, got 'no'"),
        (dict(normalize_images="no"), "`normalize_images` must be True or False"),
        (dict(full_std="yes"), "`full_std` must be True or False, got 'yes'"),
        (dict(log_std_init=float("nan")), "`log_std_init` must be a finite number"),
        (dict(optimizer_class="adam"), "`optimizer_class` must be a torch.optim.Optimizer class"),
        (dict(optimizer_kwargs=[1]), "`optimizer_kwargs` must be a dict or None"),
    ],
)
def test_simba_bad_policy_kwargs(policy_kwargs, match):
    with pytest.raises(ValueError, match=match):
        PPO(SimbaActorCriticPolicy, "CartPole-v1", policy_kwargs=policy_kwargs)


# --------------------------------------------------------------------------------------------- LayerNorm GRU


def zero_states(policy: LnGruActorCriticPolicy, n: int) -> RNNStates:
    shape = (1, n, policy.gru_hidden_size)
    return RNNStates((th.zeros(shape), th.zeros(shape)), (th.zeros(shape), th.zeros(shape)))


def random_states(policy: LnGruActorCriticPolicy, n: int) -> RNNStates:
    """Random GRU states (dummy zero cell states); with a shared GRU the critic carries the actor states."""
    shape = (1, n, policy.gru_hidden_size)
    pi = (th.randn(shape), th.zeros(shape))
    return RNNStates(pi, pi if policy.shared_gru else (th.randn(shape), th.zeros(shape)))


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("action_space, head, log_std", ACTION_SPACES.values(), ids=ACTION_SPACES.keys())
def test_ln_gru_default_parameter_count(action_space, head, log_std, shared):
    policy = LnGruActorCriticPolicy(OBS_SPACE, action_space, lr_schedule, shared_gru=shared)
    assert n_params(policy) == ln_gru_policy(5, head, log_std, shared=shared)
    assert isinstance(policy, RecurrentActorCriticPolicy)
    assert isinstance(policy.lstm_actor, LayerNormGRU)
    assert (policy.lstm_actor.num_layers, policy.lstm_actor.hidden_size) == (1, 256)
    assert policy.lstm_hidden_state_shape == (1, 1, 256)
    assert policy.net_arch == [256, 256]
    if shared:
        assert policy.lstm_critic is None and policy.critic_input_projection is None
    else:
        assert isinstance(policy.lstm_critic, LayerNormGRU) and policy.lstm_critic is not policy.lstm_actor
    # Input projection is Linear -> LayerNorm -> ReLU; each post-GRU layer is Linear -> LayerNorm -> ReLU
    assert [type(m) for m in policy.gru_input_projection] == [nn.Linear, nn.LayerNorm, nn.ReLU]
    assert [type(m) for m in policy.mlp_extractor.value_net] == [nn.Linear, nn.LayerNorm, nn.ReLU] * 2


def test_ln_gru_policy_kwargs_change_the_network():
    policy = LnGruActorCriticPolicy(
        OBS_SPACE,
        spaces.Discrete(2),
        lr_schedule,
        gru_hidden_size=8,
        projection_dim=6,
        net_arch=dict(pi=[5], vf=[7, 3]),
        activation_fn="tanh",
    )
    assert (policy.lstm_actor.input_size, policy.lstm_actor.hidden_size) == (6, 8)
    assert isinstance(policy.gru_input_projection[2], nn.Tanh)
    expected = (
        linear(5, 6)
        + layer_norm(6)
        + linear(6, 24)
        + linear(8, 24)
        + 3 * layer_norm(8)
        + linear(8, 5)
        + layer_norm(5)
        + linear(8, 7)
        + layer_norm(7)
        + linear(7, 3)
        + layer_norm(3)
        + linear(5, 2)
        + linear(3, 1)
    )
    assert n_params(policy) == expected


@pytest.mark.parametrize("shared", [True, False])
def test_ln_gru_step_by_step_equals_sequence(shared):
    """What RecurrentPPO relies on: rollout steps (one at a time) and training sequences give the same outputs."""
    th.manual_seed(0)
    policy = LnGruActorCriticPolicy(OBS_SPACE, spaces.Box(-1, 1, (2,)), lr_schedule, gru_hidden_size=16, shared_gru=shared)
    n_seq, seq_len = 3, 7
    obs = th.rand(n_seq, seq_len, 5)
    starts = th.zeros(n_seq, seq_len)
    starts[0, 4] = 1.0
    starts[2, 1] = 1.0
    initial = random_states(policy, n_seq)

    states = initial
    step_values, step_log_probs, step_actions = [], [], []
    with th.no_grad():
        for t in range(seq_len):
            actions, values, log_prob, states = policy(obs[:, t], states, starts[:, t], deterministic=True)
            step_actions.append(actions)
            step_values.append(values)
            step_log_probs.append(log_prob)
            assert states.pi[0].shape == (1, n_seq, 16)
            # Dummy cell state: zeros of the shape of h
            assert th.equal(states.pi[1], th.zeros(1, n_seq, 16))
            if shared:
                assert states.vf[0] is states.pi[0]
        # Training layout: sequence after sequence
        values, log_prob, _ = policy.evaluate_actions(
            obs.reshape(-1, 5), th.stack(step_actions, 1).reshape(-1, 2), initial, starts.reshape(-1)
        )
        th.testing.assert_close(values.reshape(n_seq, seq_len), th.cat(step_values, 1))
        th.testing.assert_close(log_prob.reshape(n_seq, seq_len), th.stack(step_log_probs, 1))
        th.testing.assert_close(policy.predict_values(obs.reshape(-1, 5), initial.vf, starts.reshape(-1)), values)
        distribution, last = policy.get_distribution(obs.reshape(-1, 5), initial.pi, starts.reshape(-1))
        th.testing.assert_close(last[0], states.pi[0])
        th.testing.assert_close(distribution.log_prob(th.stack(step_actions, 1).reshape(-1, 2)), log_prob)


class ContribLoopAdapter:
    """Lets sb3-contrib's own ``_process_sequence`` drive the GRU: it then masks the states with its LSTM code."""

    def __init__(self, gru: LayerNormGRU):
        self.gru = gru
        self.input_size = gru.input_size

    def __call__(self, features: th.Tensor, states: tuple[th.Tensor, th.Tensor]):
        output, hidden = self.gru(features, states[0])
        return output, (hidden, th.zeros_like(hidden))


@pytest.mark.parametrize("with_starts", [True, False])
def test_ln_gru_process_sequence_matches_sb3_contrib(with_starts):
    th.manual_seed(3)
    gru = LayerNormGRU(4, 6)
    n_seq, seq_len = 3, 5
    features = th.randn(n_seq * seq_len, 4)
    states = (th.randn(1, n_seq, 6), th.zeros(1, n_seq, 6))
    starts = th.zeros(n_seq, seq_len)
    if with_starts:
        starts[0, 2] = starts[1, 0] = starts[2, 4] = 1.0
    expected, expected_states = RecurrentActorCriticPolicy._process_sequence(
        features, states, starts.reshape(-1), ContribLoopAdapter(gru)
    )
    output, new_states = LnGruActorCriticPolicy._process_sequence(features, states, starts.reshape(-1), gru)
    assert output.shape == (n_seq * seq_len, 6)
    th.testing.assert_close(output, expected)
    th.testing.assert_close(new_states[0], expected_states[0])
    assert th.equal(new_states[1], th.zeros(1, n_seq, 6))
    if with_starts:
        no_reset, _ = LnGruActorCriticPolicy._process_sequence(features, states, th.zeros(n_seq * seq_len), gru)
        assert not th.allclose(output, no_reset)


def test_ln_gru_hidden_state_reset_at_episode_start():
    th.manual_seed(1)
    policy = LnGruActorCriticPolicy(OBS_SPACE, spaces.Discrete(3), lr_schedule, gru_hidden_size=16)
    seq_len, start = 6, 2
    obs = th.rand(seq_len, 5)
    initial = random_states(policy, 1)
    starts = th.zeros(seq_len)
    starts[start] = 1.0
    with th.no_grad():
        with_start = policy.predict_values(obs, initial.vf, starts)
        without_start = policy.predict_values(obs, initial.vf, th.zeros(seq_len))
        fresh = policy.predict_values(obs[start:], zero_states(policy, 1).vf, th.zeros(seq_len - start))
    th.testing.assert_close(with_start[:start], without_start[:start])
    th.testing.assert_close(with_start[start:], fresh)
    assert not th.allclose(with_start[start:], without_start[start:])


@pytest.mark.parametrize("shared", [True, False])
def test_ln_gru_gradients_reach_every_parameter(shared):
    th.manual_seed(2)
    policy = LnGruActorCriticPolicy(OBS_SPACE, spaces.Box(-1, 1, (2,)), lr_schedule, gru_hidden_size=8, shared_gru=shared)
    obs, actions = th.rand(2 * 5, 5), th.rand(2 * 5, 2)
    values, log_prob, entropy = policy.evaluate_actions(obs, actions, random_states(policy, 2), th.zeros(2 * 5))
    assert values.shape == (10, 1) and log_prob.shape == (10,)
    (values.sum() + log_prob.sum() + entropy.sum()).backward()
    assert_every_parameter_has_gradient(policy)


def test_ln_gru_shared_core_is_trained_by_the_critic():
    """Unlike sb3-contrib's shared_lstm, the value loss reaches the shared projection and GRU."""
    policy = LnGruActorCriticPolicy(OBS_SPACE, spaces.Discrete(2), lr_schedule, gru_hidden_size=8)
    obs = th.rand(4, 5)
    policy.predict_values(obs, random_states(policy, 1).vf, th.zeros(4)).sum().backward()
    assert th.count_nonzero(policy.lstm_actor.cell.hidden_to_hidden.weight.grad) > 0
    assert th.count_nonzero(policy.gru_input_projection[0].weight.grad) > 0
    assert policy.action_net.weight.grad is None


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_ln_gru_learns_with_recurrent_ppo(env_id):
    env = make_vec_env(env_id, n_envs=2, seed=0)
    model = RecurrentPPO(
        LnGruActorCriticPolicy, env, n_steps=32, batch_size=32, n_epochs=2, policy_kwargs=dict(gru_hidden_size=32), seed=0
    )
    assert model._last_lstm_states.pi[0].shape == (1, 2, 32)
    before = {name: param.clone() for name, param in model.policy.state_dict().items()}
    model.learn(256)
    assert model.num_timesteps == 256
    changed = changed_parameters(before, model.policy)
    for prefix in ("gru_input_projection", "lstm_actor.cell", "mlp_extractor.policy_net", "mlp_extractor.value_net"):
        assert any(name.startswith(prefix) for name in changed), prefix
    # The carried hidden state is a GRU state, the cell state stays a dummy
    assert th.count_nonzero(model._last_lstm_states.pi[0]) > 0
    assert th.count_nonzero(model._last_lstm_states.pi[1]) == 0


def test_ln_gru_cnn_and_multi_input_variants():
    cnn = RecurrentPPO(
        LnGruActorCriticCnnPolicy,
        TinyImageEnv(),
        n_steps=16,
        batch_size=16,
        n_epochs=1,
        policy_kwargs=dict(gru_hidden_size=16),
        seed=0,
    )
    assert isinstance(cnn.policy.features_extractor, NatureCNN)
    assert cnn.policy.lstm_actor.input_size == 16
    cnn.learn(32)
    assert cnn.num_timesteps == 32

    multi = RecurrentPPO(
        LnGruMultiInputActorCriticPolicy,
        TinyDictEnv(),
        n_steps=16,
        batch_size=16,
        n_epochs=1,
        policy_kwargs=dict(gru_hidden_size=16, shared_gru=False),
        seed=0,
    )
    assert isinstance(multi.policy.features_extractor, CombinedExtractor)
    assert isinstance(multi.policy.lstm_critic, LayerNormGRU)
    multi.learn(32)
    assert multi.num_timesteps == 32
    # The plain policy keeps SB3's flatten extractor
    assert isinstance(LnGruActorCriticPolicy(OBS_SPACE, spaces.Discrete(2), lr_schedule).features_extractor, FlattenExtractor)


def rollout_predictions(model, observations: np.ndarray, episode_starts: np.ndarray):
    state, actions, hidden = None, [], []
    for obs, start in zip(observations, episode_starts, strict=True):
        action, state = model.predict(obs, state=state, episode_start=start, deterministic=True)
        actions.append(action)
        hidden.append(state[0])
    return np.stack(actions), np.stack(hidden)


def test_ln_gru_save_load_round_trip(tmp_path):
    kwargs = dict(gru_hidden_size=16, projection_dim=12, net_arch=dict(pi=[16], vf=[16, 8]), shared_gru=False)
    model = RecurrentPPO(LnGruActorCriticPolicy, "Pendulum-v1", n_steps=32, batch_size=32, n_epochs=1, policy_kwargs=kwargs)
    model.learn(32)
    rng = np.random.default_rng(0)
    observations = rng.uniform(-1, 1, (8, 1, 3)).astype(np.float32)
    episode_starts = np.zeros((8, 1), dtype=bool)
    episode_starts[5] = True
    actions, hidden = rollout_predictions(model, observations, episode_starts)
    assert hidden.shape == (8, 1, 1, 16)

    model.save(tmp_path / "ln_gru")
    loaded = RecurrentPPO.load(tmp_path / "ln_gru")
    assert isinstance(loaded.policy, LnGruActorCriticPolicy)
    assert loaded.policy.projection_dim == 12 and loaded.policy.lstm_critic is not None
    loaded_actions, loaded_hidden = rollout_predictions(loaded, observations, episode_starts)
    np.testing.assert_array_equal(loaded_actions, actions)
    np.testing.assert_array_equal(loaded_hidden, hidden)

    model.policy.save(tmp_path / "ln_gru_policy.pth")
    policy = LnGruActorCriticPolicy.load(tmp_path / "ln_gru_policy.pth")
    assert policy.net_arch == dict(pi=[16], vf=[16, 8]) and not policy.shared_gru
    policy_actions, policy_hidden = rollout_predictions(policy, observations, episode_starts)
    np.testing.assert_array_equal(policy_actions, actions)
    np.testing.assert_array_equal(policy_hidden, hidden)


@pytest.mark.parametrize(
    "policy_kwargs, match",
    [
        (dict(gru_hidden_size=0), "`gru_hidden_size` must be a positive integer"),
        (dict(projection_dim=-4), "`projection_dim` must be a positive integer"),
        (dict(net_arch=[64, 0]), "`net_arch` must be a positive integer"),
        (dict(net_arch=dict(pi=[64], qf=[64])), "unknown keys \\['qf'\\]"),
        (dict(activation_fn="relu6"), "Unknown `activation_fn` 'relu6'.*'relu'"),
        (dict(share_features_extractor=False), "`shared_gru=True` requires `share_features_extractor=True`"),
        # "no" was a true shared_gru, a dict without 'vf' silently gave the critic no layer
        (dict(shared_gru="no"), "`shared_gru` must be True or False, got 'no'"),
        (dict(shared_gru=0, share_features_extractor=False), "`shared_gru` must be True or False, got 0"),
        (dict(net_arch=dict(pi=[8])), r"`net_arch` as a dict must give both 'pi' and 'vf'.*got \{'pi': \[8\]\}"),
        (dict(net_arch=dict(vf=[8])), r"`net_arch` as a dict must give both 'pi' and 'vf'"),
        (dict(ortho_init="x"), "`ortho_init` must be True or False, got 'x'"),
        (dict(activation_fn=nn.Linear), "`activation_fn` must be an activation module built without arguments"),
        (dict(features_extractor_class=int), "`features_extractor_class` must be a subclass of SB3's BaseFeaturesExtractor"),
    ],
)
def test_ln_gru_bad_policy_kwargs(policy_kwargs, match):
    with pytest.raises(ValueError, match=match):
        RecurrentPPO(LnGruActorCriticPolicy, "CartPole-v1", policy_kwargs=policy_kwargs)


def test_ln_gru_separate_features_extractors():
    policy = LnGruActorCriticPolicy(
        OBS_SPACE, spaces.Discrete(2), lr_schedule, gru_hidden_size=8, shared_gru=False, share_features_extractor=False
    )
    assert policy.pi_features_extractor is not policy.vf_features_extractor
    actions, values, _, states = policy(th.rand(3, 5), zero_states(policy, 3), th.zeros(3))
    assert actions.shape == (3,) and values.shape == (3, 1)
    assert not th.equal(states.pi[0], states.vf[0])


@pytest.mark.parametrize(
    "algorithm, policy, env, match",
    [
        # CombinedExtractor on a Box raised "'Box' object has no attribute 'spaces'"
        (
            GTRPPO,
            "MultiInputSimbaPolicy",
            "CartPole-v1",
            r"\('MultiInputSimbaPolicy'\) needs a Dict observation space.*use 'SimbaPolicy'",
        ),
        (RecurrentGTRPPO, "MultiInputLnGruPolicy", "CartPole-v1", r"needs a Dict observation space.*use 'MlpLnGruPolicy'"),
        # FlattenExtractor on a Dict only failed at the first forward pass
        (
            GTRPPO,
            "SimbaPolicy",
            TinyDictEnv,
            r"\('SimbaPolicy'\) cannot read a Dict observation space.*use 'MultiInputSimbaPolicy'",
        ),
        (RecurrentGTRPPO, "MlpLnGruPolicy", TinyDictEnv, r"cannot read a Dict observation space.*use 'MultiInputLnGruPolicy'"),
        # NatureCNN asserted, naming CnnPolicy and MlpPolicy rather than these aliases
        (GTRPPO, "CnnSimbaPolicy", "CartPole-v1", r"\('CnnSimbaPolicy'\) needs image observations.*use 'SimbaPolicy'"),
        (RecurrentGTRPPO, "CnnLnGruPolicy", "CartPole-v1", r"needs image observations.*use 'MlpLnGruPolicy'"),
    ],
)
def test_policy_alias_on_the_wrong_observation_space(algorithm, policy, env, match):
    with pytest.raises(ValueError, match=match):
        algorithm(policy, env if isinstance(env, str) else env(), n_steps=16, batch_size=16, device="cpu")


def test_loaded_policies_pass_the_checks(tmp_path):
    """SB3 saves ``full_std``, ``use_expln`` and ``squash_output`` as None without gSDE: loading must accept them."""
    model = GTRPPO("SimbaPolicy", "Pendulum-v1", n_steps=16, batch_size=16, policy_kwargs=dict(actor_hidden_dim=8))
    assert model.policy._get_constructor_parameters()["full_std"] is None
    model.save(tmp_path / "simba")
    assert GTRPPO.load(tmp_path / "simba").policy.actor_hidden_dim == 8


@pytest.mark.parametrize(
    "policy_kwargs, match",
    [
        (dict(ortho_init="x"), "`ortho_init` must be True or False, got 'x'"),
        (dict(activation_fn=nn.Linear), r"`activation_fn` must be an activation module .*Linear\(\) fails"),
        (dict(features_extractor_class=int), "`features_extractor_class` must be a subclass of SB3's BaseFeaturesExtractor"),
        (dict(features_extractor_kwargs=dict(channels=16)), "`channels` must be a list of positive integers"),
    ],
)
def test_impala_cnn_bad_policy_kwargs(policy_kwargs, match):
    with pytest.raises(ValueError, match=match):
        GTRPPO("ImpalaCnnPolicy", TinyImageEnv(), n_steps=16, batch_size=16, policy_kwargs=policy_kwargs, device="cpu")


def test_impala_cnn_activation_by_name():
    # As for the SimBa policies; SB3 itself would call the string
    model = GTRPPO("ImpalaCnnPolicy", TinyImageEnv(), n_steps=16, batch_size=16, policy_kwargs=dict(activation_fn="tanh"))
    assert model.policy.activation_fn is nn.Tanh
