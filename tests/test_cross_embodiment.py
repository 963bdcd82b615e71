import pickle

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from sb3_gtr import GTRPPO
from sb3_gtr.continual.callbacks import ContinualTaskCallback
from sb3_gtr.continual.cross_embodiment import CrossEmbodimentWrapper, pad_task_spaces
from sb3_gtr.continual.env import ContinualTaskEnv
from sb3_gtr.continual.suites import make_suite
from sb3_gtr.continual.tasks import Task
from sb3_gtr.continual.vec_env import make_continual_vec_env
from sb3_gtr.networks.task_routed import (
    OBSERVATION_KEY,
    TASK_ID_OBS_KEY,
    MaskedDiagGaussianDistribution,
    TaskRoutedActorCriticPolicy,
    TaskRoutedLinear,
    TaskRoutedObservationSpace,
    cross_embodiment_spaces,
)


class SpyEnv(gym.Env):
    """Observations ``1, 2, ..., obs_dim``; records every action it receives; episodes of ``episode_length`` steps."""

    def __init__(self, obs_dim=3, action_dim=2, low=-1.0, high=1.0, episode_length=5):
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(obs_dim,), dtype=np.float64)
        self.action_space = spaces.Box(low, high, shape=(action_dim,), dtype=np.float32)
        self.episode_length = episode_length
        self.actions = []
        self.n_steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.n_steps = 0
        return np.arange(1.0, self.observation_space.shape[0] + 1), {}

    def step(self, action):
        self.actions.append(np.array(action))
        self.n_steps += 1
        observation = np.arange(1.0, self.observation_space.shape[0] + 1)
        return observation, float(np.sum(action)), False, self.n_steps >= self.episode_length, {}


def spy_tasks(n_timesteps=16):
    return [
        Task("small", SpyEnv, {"obs_dim": 3, "action_dim": 2}, n_timesteps),
        Task("large", SpyEnv, {"obs_dim": 5, "action_dim": 4, "low": -0.4, "high": 0.4}, n_timesteps),
    ]


# ---- environment side ---------------------------------------------------------------------------


def test_pad_task_spaces_gives_common_padded_spaces():
    padded = pad_task_spaces(spy_tasks())
    assert padded.task_obs_dims == [3, 5]
    assert padded.task_action_dims == [2, 4]
    assert padded.policy_kwargs == {"task_obs_dims": [3, 5], "task_action_dims": [2, 4]}
    assert [task.name for task in padded.tasks] == ["small", "large"]
    expected_observation_space, expected_action_space = cross_embodiment_spaces(2, 5, 4)
    for task_id, task in enumerate(padded.tasks):
        env = task.make_env()
        assert env.observation_space == expected_observation_space
        assert env.action_space == expected_action_space
        observation, _ = env.reset(seed=0)
        assert env.observation_space.contains(observation)
        assert observation[OBSERVATION_KEY].dtype == np.float32
        assert observation[TASK_ID_OBS_KEY] == task_id
        n_real = padded.task_obs_dims[task_id]
        np.testing.assert_array_equal(observation[OBSERVATION_KEY][:n_real], np.arange(1, n_real + 1))
        np.testing.assert_array_equal(observation[OBSERVATION_KEY][n_real:], 0.0)


def test_padded_actions_are_cut_and_rescaled_before_the_env():
    env = ContinualTaskEnv(pad_task_spaces(spy_tasks()).tasks)
    env.reset(seed=0)
    env.step(np.array([0.5, -0.5, 0.9, 0.9], dtype=np.float32))
    env.set_task(1)
    env.step(np.zeros(4, dtype=np.float32))  # truncated by the switch, still on task 0
    env.reset()
    env.step(np.array([1.0, -1.0, 0.0, 0.5], dtype=np.float32))
    env.step(np.array([3.0, -3.0, 0.0, 0.0], dtype=np.float32))  # clipped to [-1, 1] first
    small, large = env.envs[0].unwrapped, env.envs[1].unwrapped
    assert [action.shape for action in small.actions] == [(2,), (2,)]
    np.testing.assert_allclose(small.actions[0], [0.5, -0.5])
    assert [action.shape for action in large.actions] == [(4,), (4,)]
    np.testing.assert_allclose(large.actions[0], [0.4, -0.4, 0.0, 0.2], atol=1e-6)
    np.testing.assert_allclose(large.actions[1], [0.4, -0.4, 0.0, 0.0], atol=1e-6)
    assert all(action.dtype == np.float32 for action in small.actions + large.actions)


def test_padded_tasks_pickle_for_subprocesses():
    sequence = make_suite("mujoco-cross", scale=1e-5)
    tasks = pickle.loads(pickle.dumps(sequence.tasks))
    env = tasks[3].make_env()
    assert env.observation_space[OBSERVATION_KEY].shape == (348,)
    assert env.unwrapped.spec.id == "Humanoid-v5"
    env.close()


def test_wrapper_checks_sizes():
    with pytest.raises(ValueError, match="more than the padded sizes"):
        CrossEmbodimentWrapper(SpyEnv(obs_dim=6), task_id=0, n_tasks=1, obs_dim=5, action_dim=4)
    with pytest.raises(ValueError, match="1-D Box action space"):
        CrossEmbodimentWrapper(gym.make("CartPole-v1"), task_id=0, n_tasks=1, obs_dim=5, action_dim=4)
    # declared sizes that do not match the environment are caught when it is built
    padded = pad_task_spaces(spy_tasks(), task_obs_dims=[3, 6], task_action_dims=[2, 4])
    with pytest.raises(ValueError, match="were declared"):
        padded.tasks[1].make_env()


def test_ppo_never_sends_padded_action_dimensions_to_an_env():
    padded = pad_task_spaces(spy_tasks(n_timesteps=32))
    sequence_env = make_continual_vec_env(padded.tasks, n_envs=2, seed=0)
    model = PPO(
        TaskRoutedActorCriticPolicy,
        sequence_env,
        n_steps=8,
        batch_size=16,
        n_epochs=1,
        seed=0,
        device="cpu",
        policy_kwargs={**padded.policy_kwargs, "trunk": "mlp", "net_arch": [8]},
    )
    model.learn(16)
    sequence_env.env_method("set_task", 1)
    model.learn(32, reset_num_timesteps=False)
    for continual_env in sequence_env.get_attr("unwrapped"):
        for task_id, env in continual_env.envs.items():
            expected = padded.task_action_dims[task_id]
            assert env.unwrapped.actions, task_id
            assert {action.shape for action in env.unwrapped.actions} == {(expected,)}


# ---- policy side --------------------------------------------------------------------------------

TASK_OBS_DIMS = [2, 6, 4]
TASK_ACTION_DIMS = [1, 4, 3]


def make_policy(**kwargs):
    observation_space, action_space = cross_embodiment_spaces(3, 6, 4)
    policy_kwargs = {"actor_hidden_dim": 8, "critic_hidden_dim": 8, "critic_num_blocks": 1, **kwargs}
    th.manual_seed(0)
    return TaskRoutedActorCriticPolicy(
        observation_space,
        action_space,
        lambda _: 1e-3,
        task_obs_dims=TASK_OBS_DIMS,
        task_action_dims=TASK_ACTION_DIMS,
        **policy_kwargs,
    )


def batch(task_ids, seed=0):
    """Observations as the rollout buffer gives them: padded vectors and task ids of shape (batch, 1)."""
    generator = th.Generator().manual_seed(seed)
    task_ids = th.as_tensor(task_ids)
    observation = th.randn(len(task_ids), 6, generator=generator)
    for row, task_id in enumerate(task_ids.tolist()):
        observation[row, TASK_OBS_DIMS[task_id] :] = 0.0
    return {OBSERVATION_KEY: observation, TASK_ID_OBS_KEY: task_ids.float().reshape(-1, 1)}


def outputs(policy, obs):
    with th.no_grad():
        return policy.get_distribution(obs).distribution.mean.clone(), policy.predict_values(obs).clone()


TASK_SPECIFIC = ("input_layer.layers.", "action_net.layers.")


def test_task_routed_linear_sizes():
    layer = TaskRoutedLinear([2, 5], [3, 1])
    x = th.randn(4, 5)
    output = layer(x, th.tensor([0, 1, 0, 1]))
    assert output.shape == (4, 3)
    assert th.all(output[[1, 3], 1:] == 0)
    th.testing.assert_close(output[0], layer.layers[0](x[0, :2]))
    th.testing.assert_close(output[1, :1], layer.layers[1](x[1]))
    with pytest.raises(ValueError, match="n_tasks"):
        TaskRoutedLinear(3, 4)


@pytest.mark.parametrize("trunk", ["simba", "mlp"])
def test_each_task_has_its_own_layers(trunk):
    kwargs = {"trunk": trunk, "net_arch": [8, 8]} if trunk == "mlp" else {}
    policy = make_policy(**kwargs)
    obs = batch([0, 1, 2, 1, 0, 2])
    is_task_1 = obs[TASK_ID_OBS_KEY].flatten() == 1
    means, values = outputs(policy, obs)
    with th.no_grad():
        policy.action_net.layers[1].bias.add_(1.0)
    new_means, new_values = outputs(policy, obs)
    assert th.all(new_means[is_task_1, :4] != means[is_task_1, :4])
    th.testing.assert_close(new_means[~is_task_1], means[~is_task_1])
    th.testing.assert_close(new_values, values)
    with th.no_grad():
        policy.mlp_extractor.value_net.input_layer.layers[1].weight.mul_(2.0)
    newer_means, newer_values = outputs(policy, obs)
    th.testing.assert_close(newer_means, new_means)
    assert th.all(newer_values[is_task_1] != new_values[is_task_1])
    th.testing.assert_close(newer_values[~is_task_1], new_values[~is_task_1])
    # the first layer of each task reads only that task's observation entries
    padded_obs = {key: value.clone() for key, value in obs.items()}
    for row, task_id in enumerate(obs[TASK_ID_OBS_KEY].flatten().long().tolist()):
        padded_obs[OBSERVATION_KEY][row, TASK_OBS_DIMS[task_id] :] = 100.0
    th.testing.assert_close(outputs(policy, padded_obs)[0], newer_means)


def test_gradients_of_a_task_reach_only_its_layers_and_the_shared_trunk():
    policy = make_policy()
    obs = batch([1, 1, 1, 1])
    actions = th.randn(4, 4)
    values, log_prob, entropy = policy.evaluate_actions(obs, actions)
    (values.sum() + log_prob.sum() + entropy.sum()).backward()
    for name, parameter in policy.named_parameters():
        has_gradient = parameter.grad is not None and bool(th.any(parameter.grad != 0))
        task_specific = any(marker in name for marker in TASK_SPECIFIC)
        if name == "log_std":
            assert th.all(parameter.grad[[0, 2]] == 0)
            assert th.all(parameter.grad[1, :4] != 0)
        elif task_specific:
            assert has_gradient == ("layers.1." in name), name
        else:
            assert has_gradient, name  # shared trunks and value head


def test_log_prob_and_entropy_ignore_padded_action_dimensions():
    policy = make_policy()
    obs = batch([0, 2, 1])
    actions = th.randn(3, 4)
    other_actions = actions.clone()
    for row, task_id in enumerate([0, 2, 1]):
        other_actions[row, TASK_ACTION_DIMS[task_id] :] = 50.0
    with th.no_grad():
        _, log_prob, entropy = policy.evaluate_actions(obs, actions)
        _, other_log_prob, _ = policy.evaluate_actions(obs, other_actions)
        policy.log_std[:, :] = th.tensor([-1.0, -0.5, 0.0, 0.5])
        _, _, new_entropy = policy.evaluate_actions(obs, actions)
        means = policy.get_distribution(obs).distribution.mean
    th.testing.assert_close(log_prob, other_log_prob)
    for row, task_id in enumerate([0, 2, 1]):
        n_real = TASK_ACTION_DIMS[task_id]
        std = policy.log_std[task_id, :n_real].exp().detach()
        expected = th.distributions.Normal(means[row, :n_real], std).entropy().sum()
        th.testing.assert_close(new_entropy[row], expected)
    assert not th.allclose(entropy, new_entropy)


def test_masked_distribution_actions_are_zero_on_padded_dimensions():
    distribution = MaskedDiagGaussianDistribution(3)
    mask = th.tensor([[True, False, False], [True, True, True]])
    distribution.proba_distribution(th.ones(2, 3), th.zeros(2, 3), mask)
    for actions in (distribution.sample(), distribution.mode()):
        assert th.all(actions[0, 1:] == 0)
        assert th.all(actions[1] != 0)
    expected = th.distributions.Normal(th.ones(1), th.ones(1)).log_prob(th.zeros(1)).sum()
    th.testing.assert_close(distribution.log_prob(th.zeros(2, 3))[0], expected)
    policy = make_policy()
    obs = batch([0, 1, 2])
    with th.no_grad():
        for deterministic in (False, True):
            actions, _, _ = policy(obs, deterministic=deterministic)
            for row, task_id in enumerate([0, 1, 2]):
                assert th.all(actions[row, TASK_ACTION_DIMS[task_id] :] == 0)


def test_mixed_batch_matches_per_task_batches():
    policy = make_policy()
    obs = batch([2, 0, 1, 0, 2])
    actions = th.randn(5, 4)
    with th.no_grad():
        values, log_prob, entropy = policy.evaluate_actions(obs, actions)
        for row in range(5):
            single = {key: value[row : row + 1] for key, value in obs.items()}
            row_values, row_log_prob, row_entropy = policy.evaluate_actions(single, actions[row : row + 1])
            th.testing.assert_close(row_values, values[row : row + 1])
            th.testing.assert_close(row_log_prob, log_prob[row : row + 1])
            th.testing.assert_close(row_entropy, entropy[row : row + 1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"net_arch": [8]}, "does not use `net_arch`"),
        ({"trunk": "gru"}, "`trunk` must be one of"),
        ({"task_obs_dims": [2, 6]}, "one entry per task"),
        ({"task_action_dims": [1, 5, 3]}, "exceed the padded sizes"),
        ({"use_sde": True}, "gSDE"),
    ],
)
def test_bad_policy_kwargs(kwargs, match):
    observation_space, action_space = cross_embodiment_spaces(3, 6, 4)
    arguments = {"task_obs_dims": TASK_OBS_DIMS, "task_action_dims": TASK_ACTION_DIMS, **kwargs}
    with pytest.raises(ValueError, match=match):
        TaskRoutedActorCriticPolicy(observation_space, action_space, lambda _: 1e-3, **arguments)


def test_observation_space_records_the_body_sizes_for_the_policy():
    padded = pad_task_spaces(spy_tasks())
    env = ContinualTaskEnv(padded.tasks)
    space = env.observation_space
    assert isinstance(space, TaskRoutedObservationSpace)
    assert (space.task_obs_dims, space.task_action_dims) == ([3, 5], [2, 4])
    # Saved models pickle their spaces; the sizes travel with them
    assert pickle.loads(pickle.dumps(space)).task_obs_dims == [3, 5]
    plain = spaces.Dict(dict(space.spaces))
    assert space == plain and plain == space
    assert space != cross_embodiment_spaces(2, 5, 4, task_obs_dims=[5, 5], task_action_dims=[2, 4])[0]

    model = GTRPPO("TaskRoutedPolicy", env, n_steps=16, batch_size=16, device="cpu", policy_kwargs={"trunk": "mlp"})
    assert (model.policy.task_obs_dims, model.policy.task_action_dims) == ([3, 5], [2, 4])
    with pytest.raises(
        ValueError, match=r"`task_obs_dims` \[5, 5\] contradicts the sizes the observation space records, \[3, 5\]"
    ):
        GTRPPO("TaskRoutedPolicy", env, device="cpu", policy_kwargs={"trunk": "mlp", "task_obs_dims": [5, 5]})
    # Explicit sizes that agree are accepted
    agreeing = GTRPPO("TaskRoutedPolicy", env, device="cpu", policy_kwargs={"trunk": "mlp", **padded.policy_kwargs})
    assert agreeing.policy.task_action_dims == [2, 4]


def test_policy_needs_task_observations():
    with pytest.raises(ValueError, match="Task-routed policies need"):
        PPO(TaskRoutedActorCriticPolicy, "Pendulum-v1", device="cpu")


# ---- training on the MuJoCo suite ---------------------------------------------------------------


def test_gtr_ppo_learns_across_mujoco_bodies_and_round_trips(tmp_path):
    # 64 steps per body, one cycle; short episodes keep the evaluations quick
    sequence = make_suite("mujoco-cross", scale=64 / 1_000_000, n_cycles=1, max_episode_steps=16)
    assert sequence.policy is TaskRoutedActorCriticPolicy
    env = VecNormalize(make_continual_vec_env(sequence, n_envs=2, seed=0), **sequence.normalize_kwargs)
    policy_kwargs = {**sequence.policy_kwargs, "actor_hidden_dim": 16, "critic_hidden_dim": 16, "critic_num_blocks": 1}
    model = GTRPPO(
        sequence.policy, env, n_steps=32, batch_size=32, n_epochs=2, seed=0, device="cpu", policy_kwargs=policy_kwargs
    )
    callback = ContinualTaskCallback(sequence, eval_freq=0, n_eval_episodes=1, eval_seed=0)
    model.learn(sequence.total_timesteps, callback=callback)
    assert [phase.task_id for phase in callback.phases] == [0, 1, 2, 3]
    assert callback.evaluations.returns.shape == (5, 4)
    assert np.all(np.isfinite(callback.evaluations.returns))

    model.save(tmp_path / "model.zip")
    loaded = GTRPPO.load(tmp_path / "model.zip", device="cpu")
    assert loaded.policy.task_action_dims == [6, 6, 8, 17]
    assert loaded.policy.task_obs_dims == [17, 17, 105, 348]
    for task_id in range(4):
        obs = {
            OBSERVATION_KEY: np.random.default_rng(task_id).normal(size=(3, 348)).astype(np.float32),
            TASK_ID_OBS_KEY: np.full(3, task_id),
        }
        actions, _ = model.predict(obs, deterministic=True)
        loaded_actions, _ = loaded.predict(obs, deterministic=True)
        np.testing.assert_allclose(actions, loaded_actions, atol=1e-6)
        assert np.all(actions[:, model.policy.task_action_dims[task_id] :] == 0)
