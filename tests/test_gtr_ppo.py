import math

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import (
    FakeImageEnv,
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
    SimpleMultiObsEnv,
)
from stable_baselines3.common.logger import configure
from stable_baselines3.common.utils import get_linear_fn
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_gtr import GTRPPO
from sb3_gtr.common.gtr_mixin import NonFiniteLossError

SMALL = dict(n_steps=64, batch_size=32, n_epochs=3, seed=0, device="cpu")


def flat_parameters(model) -> th.Tensor:
    return th.cat([p.detach().flatten() for p in model.policy.parameters()])


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
@pytest.mark.parametrize("mixture_anchor", [False, True])
def test_no_penalty_reproduces_ppo(env_id, mixture_anchor):
    """GTRPPO(penalty="none") follows SB3's PPO exactly: same seed, same parameters after several updates."""
    ppo = PPO("MlpPolicy", env_id, **SMALL).learn(256)
    gtr = GTRPPO("MlpPolicy", env_id, penalty="none", mixture_anchor=mixture_anchor, **SMALL).learn(256)
    assert th.equal(flat_parameters(ppo), flat_parameters(gtr))
    # ... and the trust-region penalty does change the update
    gaussian = GTRPPO("MlpPolicy", env_id, **SMALL).learn(256)
    assert not th.allclose(flat_parameters(ppo), flat_parameters(gaussian))


SPACES = {
    "discrete": (lambda: IdentityEnv(4), "MlpPolicy"),
    "box": (lambda: IdentityEnvBox(eps=0.5), "MlpPolicy"),
    "multidiscrete": (lambda: IdentityEnvMultiDiscrete(3), "MlpPolicy"),
    "multibinary": (lambda: IdentityEnvMultiBinary(3), "MlpPolicy"),
    "image-discrete": (lambda: FakeImageEnv(screen_height=36, screen_width=36, n_channels=1, discrete=True), "CnnPolicy"),
    "image-box": (lambda: FakeImageEnv(screen_height=36, screen_width=36, n_channels=3, discrete=False), "CnnPolicy"),
    "dict": (lambda: SimpleMultiObsEnv(random_start=False), "MultiInputPolicy"),
}


@pytest.mark.parametrize(
    "space, penalty",
    [(space, "gaussian") for space in SPACES]
    + [(space, penalty) for space in ("discrete", "box") for penalty in ("pearson", "kl")],
)
def test_spaces(space, penalty):
    make_env, policy = SPACES[space]
    model = GTRPPO(policy, make_env(), penalty=penalty, n_steps=32, batch_size=16, n_epochs=3, seed=0, device="cpu")
    model.learn(64)
    assert th.all(th.isfinite(flat_parameters(model)))
    # pi_1 and pi_2 were evaluated on every stored action
    assert model.rollout_buffer.anchor_log_probs.shape == (32, 2)
    assert np.all(model.rollout_buffer.anchor_log_probs < 0) or space in ("box", "image-box")


def test_several_envs_and_vecnormalize():
    env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=3, seed=0))
    model = GTRPPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=4, seed=0, device="cpu").learn(3 * 32 * 2)
    assert model.rollout_buffer.anchor_log_probs.shape == (96, 3)
    assert model.num_timesteps == 192


@pytest.mark.parametrize(
    "device",
    ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not th.cuda.is_available(), reason="needs a CUDA device"))],
)
def test_devices(device):
    model = GTRPPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=2, device=device).learn(64)
    assert next(model.policy.parameters()).device.type == device


def test_snapshots_are_the_policies_at_each_epoch_start(monkeypatch):
    """Column k - 1 of the anchor log-probabilities is pi_k, the policy at the start of epoch k."""
    model = GTRPPO("MlpPolicy", "Pendulum-v1", n_steps=64, batch_size=16, n_epochs=4, seed=0, device="cpu")
    snapshots = {}
    store_snapshot = model._store_snapshot

    def recording_store_snapshot(epoch):
        snapshots[epoch] = {name: tensor.clone() for name, tensor in model.policy.state_dict().items()}
        store_snapshot(epoch)

    monkeypatch.setattr(model, "_store_snapshot", recording_store_snapshot)
    model.learn(64)
    assert sorted(snapshots) == [1, 2, 3]
    buffer = model.rollout_buffer
    reference = model.policy_class(model.observation_space, model.action_space, model.lr_schedule, **model.policy_kwargs)
    for epoch, state in snapshots.items():
        reference.load_state_dict(state)
        with th.no_grad():
            _, log_prob, _ = reference.evaluate_actions(th.as_tensor(buffer.observations), th.as_tensor(buffer.actions))
        np.testing.assert_allclose(buffer.anchor_log_probs[:, epoch - 1], log_prob.numpy(), rtol=1e-5, atol=1e-5)
    # The snapshots differ from each other and from the behaviour policy: the policy moved
    assert not np.allclose(buffer.anchor_log_probs[:, 0], buffer.anchor_log_probs[:, 2])
    assert not np.allclose(buffer.anchor_log_probs[:, 0], buffer.log_probs.flatten())


def read_progress(model, tmp_path, timesteps=128) -> pd.DataFrame:
    model.set_logger(configure(str(tmp_path), ["csv", "tensorboard"]))
    model.learn(timesteps)
    return pd.read_csv(tmp_path / "progress.csv")


@pytest.mark.parametrize(
    "kwargs, n_anchors",
    [
        (dict(), 5),
        (dict(anchor_window=2), 2),
        (dict(mixture_anchor=False), 1),
        (dict(penalty="none"), 1),
    ],
)
def test_logged_diagnostics(tmp_path, kwargs, n_anchors):
    model = GTRPPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=5, seed=0, device="cpu", **kwargs)
    progress = read_progress(model, tmp_path)
    for key in [
        "train/gtr_penalty",
        "train/ratio_deviation",
        "train/ratio_max",
        "train/grad_norm",
        "train/n_anchors",
        "train/sigma",
        "train/approx_kl",
        "train/clip_fraction",
        "train/entropy_loss",
        "train/value_loss",
        "train/policy_gradient_loss",
    ]:
        assert key in progress.columns, key
    last = progress.dropna(subset=["train/n_anchors"]).iloc[-1]
    assert last["train/n_anchors"] == n_anchors
    assert last["train/ratio_max"] >= 1.0
    assert last["train/ratio_deviation"] > 0
    assert last["train/grad_norm"] > 0
    if kwargs.get("penalty") == "none":
        assert last["train/gtr_penalty"] == 0
    else:
        assert last["train/gtr_penalty"] > 0
    assert list(tmp_path.glob("events.out.tfevents.*")), "no TensorBoard event file"


def test_schedules(tmp_path):
    model = GTRPPO(
        "MlpPolicy",
        "CartPole-v1",
        learning_rate=get_linear_fn(1e-3, 1e-4, 1.0),
        clip_range=get_linear_fn(0.3, 0.1, 1.0),
        sigma=get_linear_fn(1.0, 0.2, 1.0),
        penalty_coef=lambda progress: 2.0 * progress,
        n_steps=64,
        batch_size=32,
        n_epochs=2,
        seed=0,
        device="cpu",
    )
    progress = read_progress(model, tmp_path, timesteps=256).dropna(subset=["train/sigma"])
    sigmas = progress["train/sigma"].to_numpy()
    assert sigmas[0] > sigmas[-1]
    assert progress["train/penalty_coef"].iloc[0] > progress["train/penalty_coef"].iloc[-1]


def test_save_load_round_trip(tmp_path):
    env = DummyVecEnv([lambda: gym.make("Pendulum-v1")])
    model = GTRPPO(
        "MlpPolicy",
        env,
        penalty="pearson",
        sigma=0.8,
        penalty_coef=0.25,
        anchor_window=2,
        clip_surrogate=False,
        n_steps=64,
        batch_size=32,
        n_epochs=3,
        seed=0,
        device="cpu",
    ).learn(128)
    model.save(tmp_path / "model.zip")
    loaded = GTRPPO.load(tmp_path / "model.zip", env=env, device="cpu")
    assert loaded.penalty == "pearson"
    assert loaded.sigma(1.0) == 0.8
    assert loaded.penalty_coef(1.0) == 0.25
    assert loaded.anchor_window == 2
    assert loaded.mixture_anchor is True
    assert loaded.clip_surrogate is False
    assert th.equal(flat_parameters(model), flat_parameters(loaded))
    observations = np.stack([env.observation_space.sample() for _ in range(10)])
    np.testing.assert_array_equal(
        model.predict(observations, deterministic=True)[0], loaded.predict(observations, deterministic=True)[0]
    )
    # Training continues from where it stopped, also after `set_env`
    loaded.set_env(DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    loaded.learn(64, reset_num_timesteps=False)
    assert loaded.num_timesteps == 192
    assert loaded._n_updates == 9


def test_adaptive_coefficient_round_trip(tmp_path):
    model = GTRPPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=2, device="cpu")
    model.save(tmp_path / "model")
    loaded = GTRPPO.load(tmp_path / "model", device="cpu")
    assert loaded.penalty_coef == "advantage"
    assert loaded.penalty == "gaussian" and loaded.sigma(0.5) == 0.5


def test_clip_range_schedule_ending_at_zero():
    """The RL Zoo's ``lin_0.2`` ends at 0, where the last update runs: fine for PPO, not for |A| / clip_range."""
    zoo_linear = lambda progress: 0.2 * progress  # noqa: E731
    with pytest.raises(ValueError, match=r"`clip_range` must be strictly positive.*floor"):
        GTRPPO("MlpPolicy", "CartPole-v1", clip_range=zoo_linear, **SMALL)
    for kwargs in (dict(penalty="none"), dict(penalty_coef=0.5)):
        model = GTRPPO("MlpPolicy", "CartPole-v1", clip_range=zoo_linear, **kwargs, **SMALL).learn(128)
        assert th.all(th.isfinite(flat_parameters(model)))


def test_mixture_needs_an_anchor_buffer():
    with pytest.raises(ValueError, match="rollout buffer that stores anchor log-probabilities"):
        GTRPPO("MlpPolicy", "CartPole-v1", rollout_buffer_class=RolloutBuffer, device="cpu")
    # Without the mixture, any SB3 rollout buffer works
    GTRPPO("MlpPolicy", "CartPole-v1", rollout_buffer_class=RolloutBuffer, mixture_anchor=False, **SMALL).learn(64)


class HugeRewardEnv(gym.Wrapper):
    """Pendulum whose rewards become too large for float32 returns after a number of steps (finite, yet they overflow)."""

    def __init__(self, huge_after: int):
        super().__init__(gym.make("Pendulum-v1"))
        self.huge_after = huge_after
        self.n_steps = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.n_steps += 1
        return obs, (1e37 if self.n_steps > self.huge_after else reward), terminated, truncated, info


def test_non_finite_loss_stops_training_with_finite_weights(tmp_path):
    # NaN rewards are refused before the update (tests/test_bad_input.py); finite rewards can still overflow the loss
    model = GTRPPO("MlpPolicy", HugeRewardEnv(huge_after=100), **SMALL)
    with pytest.raises(
        NonFiniteLossError, match=r"epoch 0, minibatch 0 \(train/n_updates = 3, after 128 timesteps\).*value loss = inf"
    ):
        model.learn(256)
    assert th.all(th.isfinite(flat_parameters(model)))
    model.save(tmp_path / "still_finite.zip")


def test_save_refuses_non_finite_weights(tmp_path):
    model = GTRPPO("MlpPolicy", "CartPole-v1", **SMALL)
    with th.no_grad():
        next(model.policy.parameters())[0] = math.nan
    with pytest.raises(ValueError, match=r"Refusing to save.*NaN"):
        model.save(tmp_path / "nan_model.zip")
    assert not (tmp_path / "nan_model.zip").exists()


def test_policy_aliases_and_progress_bar():
    assert {"MlpPolicy", "CnnPolicy", "MultiInputPolicy"} <= set(GTRPPO.policy_aliases)
    GTRPPO("MlpPolicy", "CartPole-v1", **SMALL).learn(64, progress_bar=True)


def test_target_kl_early_stopping(tmp_path):
    model = GTRPPO("MlpPolicy", "CartPole-v1", target_kl=1e-9, learning_rate=1e-2, **SMALL)
    read_progress(model, tmp_path)
    # Each rollout stops in its first epoch (the first minibatch has kl = 0, the second exceeds it)
    assert model._n_updates == 2


@pytest.mark.parametrize(
    "policy, make_env",
    [
        ("SimbaPolicy", lambda: gym.make("Pendulum-v1")),
        ("CnnSimbaPolicy", lambda: FakeImageEnv(screen_height=36, screen_width=36, n_channels=1, discrete=True)),
        ("MultiInputSimbaPolicy", lambda: SimpleMultiObsEnv(random_start=False)),
    ],
)
def test_simba_aliases_round_trip(tmp_path, policy, make_env):
    env = DummyVecEnv([make_env])
    policy_kwargs = dict(actor_hidden_dim=16, critic_hidden_dim=32)
    model = GTRPPO(policy, env, policy_kwargs=policy_kwargs, n_steps=32, batch_size=16, n_epochs=2, seed=0, device="cpu")
    model.learn(32)
    model.save(tmp_path / "model.zip")
    loaded = GTRPPO.load(tmp_path / "model.zip", env=env, device="cpu")
    assert type(loaded.policy) is GTRPPO.policy_aliases[policy]
    assert th.equal(flat_parameters(model), flat_parameters(loaded))
    observation = env.reset()
    np.testing.assert_array_equal(
        model.predict(observation, deterministic=True)[0], loaded.predict(observation, deterministic=True)[0]
    )
