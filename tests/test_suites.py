import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecNormalize

from sb3_gtr import GTRPPO
from sb3_gtr.continual.adapters.metaworld import EpisodeSuccessWrapper, make_metaworld_env
from sb3_gtr.continual.adapters.procgen import ProcgenGymnasiumEnv
from sb3_gtr.continual.adapters.wrappers import FlattenObservationFloat32
from sb3_gtr.continual.env import ContinualTaskEnv
from sb3_gtr.continual.suites import REVERSAL_SUITES, SUITES, make_suite
from sb3_gtr.continual.vec_env import make_continual_vec_env
from sb3_gtr.networks.impala_cnn import ImpalaCnnExtractor
from sb3_gtr.networks.simba import SimbaActorCriticPolicy
from sb3_gtr.networks.task_routed import OBSERVATION_KEY, TaskRoutedActorCriticPolicy

# name -> (task names, default cycles, steps per task at scale 1)
PAPER_SUITES = {
    "flip": (["forward", "backward"], 3, 200_000),
    "dmc-walker": (["stand", "walk", "run"], 2, 1_000_000),
    "dmc-dog": (["stand", "walk", "run", "trot"], 2, 1_000_000),
    "mujoco-cross": (["HalfCheetah", "Walker2d", "Ant", "Humanoid"], 3, 1_000_000),
    "mujoco-cross-reverse": (["Humanoid", "Ant", "Walker2d", "HalfCheetah"], 3, 1_000_000),
    "metaworld": (["door-open", "door-close", "faucet-open", "faucet-close"], 3, 1_000_000),
    "procgen-starpilot": (["easy", "hard", "extreme"], 1, 25_000_000),
}


def needs_procgen(name):
    # procgen-mirror is installed by `make install` (with --no-deps): a missing install must fail, not skip.
    if name.startswith("procgen"):
        import procgen  # noqa: F401


@pytest.mark.parametrize("name", sorted(PAPER_SUITES))
def test_suite_defaults_and_scale(name):
    task_names, n_cycles, budget = PAPER_SUITES[name]
    sequence = make_suite(name)
    assert sequence.name == name
    assert sequence.task_names == task_names
    assert sequence.n_cycles == n_cycles
    assert [sequence.task_timesteps(task_id) for task_id in range(len(sequence))] == [budget] * len(task_names)
    assert sequence.total_timesteps == budget * len(task_names) * n_cycles
    scaled = make_suite(name, scale=0.001, n_cycles=1)
    assert scaled.n_cycles == 1
    assert scaled.task_timesteps(0) == round(budget * 0.001)


def test_registry_names_every_suite():
    assert set(PAPER_SUITES) | set(REVERSAL_SUITES) == set(SUITES)
    with pytest.raises(ValueError, match="Unknown continual suite"):
        make_suite("dmc-cheetah")


@pytest.mark.parametrize("name", sorted(set(PAPER_SUITES) - {"flip"}))
def test_suite_builds_and_steps_every_task(name):
    needs_procgen(name)
    sequence = make_suite(name, scale=1e-5)
    env = ContinualTaskEnv(sequence)
    observation_space = env.observation_space
    try:
        for task_id in range(len(sequence)):
            env.set_task(task_id)
            observation, info = env.reset(seed=task_id)
            assert info["task_id"] == task_id
            assert observation_space.contains(observation), (name, task_id)
            for _ in range(3):
                observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
                assert observation_space.contains(observation), (name, task_id)
                assert np.isfinite(float(reward))
                assert isinstance(terminated, bool) and isinstance(truncated, bool)
                assert info["task_id"] == task_id
    finally:
        env.close()
    if name.startswith("procgen"):
        assert observation_space == spaces.Box(0, 255, (64, 64, 3), np.uint8)
        assert env.action_space == spaces.Discrete(15)
    elif name.startswith("mujoco-cross"):
        assert observation_space[OBSERVATION_KEY].shape == (348,)
        assert observation_space[OBSERVATION_KEY].dtype == np.float32
        assert env.action_space.shape == (17,)
    else:
        assert observation_space.dtype == np.float32
        expected_obs_dim = {"dmc-walker": 24, "dmc-dog": 223, "metaworld": 39}[name]
        assert observation_space.shape == (expected_obs_dim,)


# Small networks for the recommended policies: the architecture is the suite's, only narrower.
SMALL_POLICY_KWARGS = {
    "dmc-walker": {"actor_hidden_dim": 16, "critic_hidden_dim": 16, "critic_num_blocks": 1},
    "metaworld": {"net_arch": [16]},
    "procgen-starpilot": {"features_extractor_kwargs": {"features_dim": 32, "channels": (4, 8, 8)}},
}


@pytest.mark.parametrize("name", sorted(SMALL_POLICY_KWARGS))
def test_recommended_settings_train(name):
    needs_procgen(name)
    sequence = make_suite(name, scale=1e-5)
    expected_policy = {"dmc-walker": SimbaActorCriticPolicy, "metaworld": "MlpPolicy", "procgen-starpilot": "CnnPolicy"}[name]
    assert sequence.policy == expected_policy
    env = VecNormalize(make_continual_vec_env(sequence, n_envs=1, seed=0), **sequence.normalize_kwargs)
    policy_kwargs = {**sequence.policy_kwargs, **SMALL_POLICY_KWARGS[name]}
    model = GTRPPO(
        sequence.policy, env, n_steps=16, batch_size=16, n_epochs=1, seed=0, device="cpu", policy_kwargs=policy_kwargs
    )
    model.learn(16)
    if name == "metaworld":
        assert isinstance(model.policy.mlp_extractor.policy_net[1], th.nn.Tanh)
    if name == "procgen-starpilot":
        assert isinstance(model.policy.features_extractor, ImpalaCnnExtractor)
    env.close()


def test_cross_embodiment_suites_recommend_the_task_routed_policy():
    forward, reverse = make_suite("mujoco-cross"), make_suite("mujoco-cross-reverse")
    assert forward.policy is reverse.policy is TaskRoutedActorCriticPolicy
    # The body sizes have one source, the environments: the padded observation space records them for the policy.
    for sequence, obs_dims, action_dims in (
        (forward, [17, 17, 105, 348], [6, 6, 8, 17]),
        (reverse, [348, 105, 17, 17], [17, 8, 6, 6]),
    ):
        assert sequence.policy_kwargs == {}
        env = sequence.tasks[0].make_env()
        assert env.observation_space.task_obs_dims == obs_dims
        assert env.observation_space.task_action_dims == action_dims
        env.close()
    assert forward.normalize_kwargs["norm_obs_keys"] == [OBSERVATION_KEY]


# ---- adapters -----------------------------------------------------------------------------------


class DictObservationEnv(gym.Env):
    """Builds its dict observation in another key order than its (sorted) space."""

    observation_space = spaces.Dict(
        {"b": spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float64), "a": spaces.Box(0.0, 1.0, shape=(), dtype=np.float64)}
    )
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return {"b": np.array([2.0, 3.0]), "a": np.array(1.0)}, {}

    def step(self, action):
        return {"b": np.array([2.0, 3.0]), "a": np.array(1.0)}, 0.0, False, False, {}


def test_flatten_observation_float32_follows_the_space_order():
    env = FlattenObservationFloat32(DictObservationEnv())
    assert env.observation_space.dtype == np.float32
    np.testing.assert_array_equal(env.observation_space.low, [0.0, -np.inf, -np.inf])
    observation, _ = env.reset()
    assert observation.dtype == np.float32
    np.testing.assert_array_equal(observation, [1.0, 2.0, 3.0])
    assert FlattenObservationFloat32(DictObservationEnv(), unbounded=True).observation_space.low[0] == -np.inf


class SuccessEnv(gym.Env):
    """Meta-World-like: ``info["success"]`` is 1.0 at step 2 only; episodes of 4 steps."""

    observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, dtype=np.float32), 0.0, False, self.t >= 4, {"success": float(self.t == 2)}


def test_episode_success_is_reported_at_the_end():
    env = EpisodeSuccessWrapper(SuccessEnv())
    env.reset()
    infos = [env.step(np.zeros(1))[-1] for _ in range(4)]
    assert [info.get("is_success") for info in infos] == [None, None, None, True]
    env.reset()
    env.unwrapped.t = 2  # the success step is skipped
    assert env.step(np.zeros(1))[-1].get("is_success") is None
    assert env.step(np.zeros(1))[-1]["is_success"] is False


def test_metaworld_seeded_reset_is_reproducible():
    env = make_metaworld_env("door-close-v3")
    first, _ = env.reset(seed=3)
    env.step(env.action_space.sample())
    second, _ = env.reset(seed=3)
    other, _ = env.reset(seed=4)
    env.close()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)  # another object/goal variation


def test_impala_cnn_shapes():
    extractor = ImpalaCnnExtractor(spaces.Box(0, 255, (3, 64, 64), np.uint8))
    assert extractor.features_dim == 256
    assert extractor.linear[0].in_features == 32 * 8 * 8
    assert extractor(th.rand(2, 3, 64, 64)).shape == (2, 256)
    with pytest.raises(ValueError, match="image observation space"):
        ImpalaCnnExtractor(spaces.Box(-1.0, 1.0, (4,), np.float32))


def test_procgen_adapter_episodes_and_seeding():
    env = ProcgenGymnasiumEnv(distribution_mode="easy")
    games = []
    make_game = env._make_game
    env._make_game = lambda rand_seed: games.append(rand_seed) or make_game(rand_seed)

    def rollout(seed, n_steps=20):
        observation, _ = env.reset(seed=seed)
        observations = [observation]
        for step in range(n_steps):
            observations.append(env.step(step % 15)[0])
        return np.stack(observations)

    first, again = rollout(seed=1), rollout(seed=1)
    assert first.dtype == np.uint8 and first.shape == (21, 64, 64, 3)
    np.testing.assert_array_equal(first, again)
    assert len(games) == 2
    env.reset()  # in the middle of an episode: a fresh game
    assert len(games) == 3
    for _ in range(10_000):
        observation, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not truncated
        if terminated:
            break
    assert terminated
    # gym3 has already begun the next episode: reset continues into it rather than starting another game
    first_observation, _ = env.reset()
    np.testing.assert_array_equal(first_observation, observation)
    assert len(games) == 3
    env.close()


def test_procgen_adapter_checks_modes():
    with pytest.raises(ValueError, match="distribution_mode"):
        ProcgenGymnasiumEnv(distribution_mode="memory")
    with pytest.raises(ValueError, match="no 'extreme' mode"):
        ProcgenGymnasiumEnv(env_name="coinrun", distribution_mode="extreme")
