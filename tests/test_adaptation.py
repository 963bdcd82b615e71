"""Continuing a trained PPO / RecurrentPPO agent with GTR on a changed environment."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from sb3_contrib import RecurrentPPO
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.utils import LinearSchedule

from sb3_gtr import GTRPPO, RecurrentGTRPPO
from sb3_gtr.adaptation import load_into_gtr


def pendulum(g: float = 10.0) -> gym.Env:
    return gym.make("Pendulum-v1", g=g)


def trained_ppo(**kwargs) -> PPO:
    model = PPO(
        "MlpPolicy",
        pendulum(),
        n_steps=64,
        batch_size=32,
        n_epochs=2,
        gamma=0.95,
        gae_lambda=0.9,
        clip_range=LinearSchedule(0.3, 0.1, 1.0),
        learning_rate=LinearSchedule(1e-3, 1e-4, 1.0),
        ent_coef=0.01,
        vf_coef=0.4,
        max_grad_norm=0.7,
        policy_kwargs={"net_arch": [16, 16]},
        seed=0,
        device="cpu",
        **kwargs,
    )
    return model.learn(128)


def trained_recurrent_ppo() -> RecurrentPPO:
    model = RecurrentPPO(
        "MlpLstmPolicy",
        pendulum(),
        n_steps=32,
        batch_size=32,
        n_epochs=2,
        gamma=0.95,
        policy_kwargs={"lstm_hidden_size": 8, "net_arch": [16]},
        seed=0,
        device="cpu",
    )
    return model.learn(64)


def observations(n: int = 16) -> np.ndarray:
    space = pendulum().observation_space
    space.seed(1)
    return np.stack([space.sample() for _ in range(n)])


def parameters(model) -> list[th.Tensor]:
    return [param.detach().clone() for param in model.policy.parameters()]


def assert_same_optimizer_state(source, target) -> None:
    source_state, target_state = source.policy.optimizer.state_dict(), target.policy.optimizer.state_dict()
    assert source_state["state"].keys() == target_state["state"].keys() and source_state["state"]
    for key, state in source_state["state"].items():
        for name, value in state.items():
            assert th.equal(th.as_tensor(value), th.as_tensor(target_state["state"][key][name])), (key, name)


@pytest.mark.parametrize("from_file", [True, False])
def test_ppo_into_gtrppo(tmp_path, from_file):
    ppo = trained_ppo()
    source = tmp_path / "ppo.zip"
    ppo.save(source)
    before = parameters(ppo)

    model = load_into_gtr(source if from_file else ppo, pendulum(g=12.0), sigma=0.3, device="cpu")

    assert type(model) is GTRPPO
    assert model.policy_class is ppo.policy_class
    assert model.policy.net_arch == [16, 16]
    assert (model.penalty, model.sigma(1.0), model.mixture_anchor) == ("gaussian", 0.3, True)
    for name in ("n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "ent_coef", "vf_coef", "max_grad_norm", "seed"):
        assert getattr(model, name) == getattr(ppo, name), name
    for progress in (1.0, 0.5, 0.0):
        assert model.lr_schedule(progress) == pytest.approx(ppo.lr_schedule(progress))
        assert model.clip_range(progress) == pytest.approx(ppo.clip_range(progress))
    # Same weights, same predictions, same Adam moments
    obs = observations()
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], ppo.predict(obs, deterministic=True)[0])
    for source_param, param in zip(ppo.policy.parameters(), model.policy.parameters(), strict=True):
        assert th.equal(source_param, param)
    assert_same_optimizer_state(ppo, model)
    assert model.env.get_attr("g")[0] == 12.0

    model.learn(128)

    assert model.num_timesteps == 128
    assert any(not th.equal(old, new) for old, new in zip(before, model.policy.parameters(), strict=True))
    # The trained agent is copied, not shared
    for old, param in zip(before, ppo.policy.parameters(), strict=True):
        assert th.equal(old, param)


def test_gtr_arguments_and_overrides():
    ppo = trained_ppo()
    spo = load_into_gtr(ppo, pendulum(), penalty="pearson", clip_surrogate=False, n_steps=32, seed=3, copy_optimizer=False)
    assert (spo.penalty, spo.clip_surrogate, spo.n_steps, spo.seed) == ("pearson", False, 32, 3)
    assert spo.rollout_buffer.buffer_size == 32
    assert not spo.policy.optimizer.state_dict()["state"]
    # A GTR agent passes its own GTR arguments on, unless overridden
    again = load_into_gtr(spo, pendulum(), n_epochs=3)
    assert (again.penalty, again.clip_surrogate, again.n_steps, again.n_epochs) == ("pearson", False, 32, 3)


def test_recurrent_ppo_into_recurrent_gtrppo(tmp_path):
    ppo = trained_recurrent_ppo()
    ppo.save(tmp_path / "rppo.zip")
    before = parameters(ppo)

    model = load_into_gtr(tmp_path / "rppo.zip", pendulum(g=12.0), device="cpu", mixture_anchor=False)

    assert type(model) is RecurrentGTRPPO
    assert model.policy.lstm_actor.hidden_size == 8
    assert (model.n_steps, model.batch_size, model.gamma, model.mixture_anchor) == (32, 32, 0.95, False)
    obs = observations(4)
    starts = np.ones(4, dtype=bool)
    source_actions, source_states = ppo.predict(obs, episode_start=starts, deterministic=True)
    actions, states = model.predict(obs, episode_start=starts, deterministic=True)
    np.testing.assert_array_equal(actions, source_actions)
    # The hidden state carries over too
    np.testing.assert_array_equal(
        model.predict(obs, state=states, episode_start=~starts, deterministic=True)[0],
        ppo.predict(obs, state=source_states, episode_start=~starts, deterministic=True)[0],
    )
    assert_same_optimizer_state(ppo, model)

    model.learn(64)

    assert any(not th.equal(old, new) for old, new in zip(before, model.policy.parameters(), strict=True))


def test_unsupported_agents_and_mismatches(tmp_path):
    a2c = A2C("MlpPolicy", pendulum(), n_steps=8, device="cpu")
    with pytest.raises(TypeError, match="Only PPO and RecurrentPPO"):
        load_into_gtr(a2c, pendulum())
    a2c.save(tmp_path / "a2c.zip")
    with pytest.raises(TypeError, match="A2C or TRPO"):
        load_into_gtr(tmp_path / "a2c.zip", pendulum())

    ppo = PPO("MlpPolicy", pendulum(), n_steps=64, device="cpu")
    with pytest.raises(ValueError, match="Observation spaces do not match"):
        load_into_gtr(ppo, gym.make("MountainCarContinuous-v0"))
    with pytest.raises(ValueError, match="RecurrentGTRPPO cannot use"):
        load_into_gtr(ppo, pendulum(), algorithm_class=RecurrentGTRPPO)
    with pytest.raises(TypeError, match="algorithm_class"):
        load_into_gtr(ppo, pendulum(), algorithm_class=PPO)
    with pytest.raises(ValueError, match="policy_kwargs"):
        load_into_gtr(ppo, pendulum(), policy_kwargs={"net_arch": [8]})
    with pytest.raises(ValueError, match="penalty"):
        load_into_gtr(ppo, pendulum(), penalty="huber")
