import gymnasium as gym
import numpy as np
import pytest
import torch as th
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import FakeImageEnv, SimpleMultiObsEnv
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_gtr import RecurrentGTRPPO

SMALL = dict(n_steps=64, batch_size=32, n_epochs=3, seed=0, device="cpu")
SMALL_GRU = dict(gru_hidden_size=16)


def flat_parameters(model) -> th.Tensor:
    return th.cat([p.detach().flatten() for p in model.policy.parameters()])


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_no_penalty_reproduces_recurrent_ppo(env_id):
    lstm = dict(policy_kwargs=dict(lstm_hidden_size=32))
    ppo = RecurrentPPO("MlpLstmPolicy", env_id, **lstm, **SMALL).learn(256)
    gtr = RecurrentGTRPPO("MlpLstmPolicy", env_id, penalty="none", **lstm, **SMALL).learn(256)
    assert th.equal(flat_parameters(ppo), flat_parameters(gtr))
    gaussian = RecurrentGTRPPO("MlpLstmPolicy", env_id, **lstm, **SMALL).learn(256)
    assert not th.allclose(flat_parameters(ppo), flat_parameters(gaussian))


@pytest.mark.parametrize(
    "policy, policy_kwargs", [("MlpLstmPolicy", dict(lstm_hidden_size=16)), ("MlpLnGruPolicy", SMALL_GRU)]
)
def test_snapshots_replay_the_stored_sequences(monkeypatch, policy, policy_kwargs):
    """pi_k's column equals running pi_k step by step over each env's trajectory from its stored initial state."""
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    model = RecurrentGTRPPO(policy, env, policy_kwargs=policy_kwargs, **SMALL)
    snapshots = {}
    store_snapshot = model._store_snapshot

    def recording_store_snapshot(epoch):
        snapshots[epoch] = {name: tensor.clone() for name, tensor in model.policy.state_dict().items()}
        store_snapshot(epoch)

    monkeypatch.setattr(model, "_store_snapshot", recording_store_snapshot)
    model.learn(2 * 64 * 2)
    assert sorted(snapshots) == [1, 2]
    buffer = model.rollout_buffer
    assert buffer.episode_starts.sum() > 2, "the rollout should contain episode boundaries"
    reference = model.policy_class(model.observation_space, model.action_space, model.lr_schedule, **model.policy_kwargs)
    for epoch, state in snapshots.items():
        reference.load_state_dict(state)
        expected = []
        with th.no_grad():
            for env_index in range(2):
                start = env_index * 64
                hidden = th.as_tensor(buffer.hidden_states_pi[start]).unsqueeze(1)
                states = (hidden, th.as_tensor(buffer.cell_states_pi[start]).unsqueeze(1))
                for step in range(start, start + 64):
                    distribution, states = reference.get_distribution(
                        th.as_tensor(buffer.observations[step : step + 1]),
                        states,
                        th.as_tensor(buffer.episode_starts[step : step + 1]),
                    )
                    expected.append(distribution.log_prob(th.as_tensor(buffer.actions[step]).long()).item())
        np.testing.assert_allclose(buffer.anchor_log_probs[:, epoch - 1], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "make_env, policy",
    [
        (lambda: gym.make("CartPole-v1"), "MlpLnGruPolicy"),
        (lambda: gym.make("Pendulum-v1"), "MlpLnGruPolicy"),
        (lambda: gym.make("Pendulum-v1"), "MlpLstmPolicy"),
        (lambda: FakeImageEnv(screen_height=36, screen_width=36, n_channels=1, discrete=True), "CnnLnGruPolicy"),
        (lambda: SimpleMultiObsEnv(random_start=False), "MultiInputLnGruPolicy"),
        (lambda: SimpleMultiObsEnv(random_start=False), "MultiInputLstmPolicy"),
    ],
    ids=["gru-discrete", "gru-box", "lstm-box", "gru-image", "gru-dict", "lstm-dict"],
)
def test_policies_and_spaces(make_env, policy):
    policy_kwargs = SMALL_GRU if "Gru" in policy else dict(lstm_hidden_size=16)
    model = RecurrentGTRPPO(policy, make_env(), policy_kwargs=policy_kwargs, n_steps=32, batch_size=16, n_epochs=3, seed=0)
    model.learn(64)
    assert th.all(th.isfinite(flat_parameters(model)))
    assert model.rollout_buffer.anchor_log_probs.shape == (32, 2)


def test_save_load_round_trip(tmp_path):
    env = DummyVecEnv([lambda: gym.make("CartPole-v1")])
    model = RecurrentGTRPPO(
        "MlpLnGruPolicy", env, sigma=0.7, anchor_window=2, penalty_coef=0.5, policy_kwargs=SMALL_GRU, **SMALL
    ).learn(128)
    model.save(tmp_path / "model.zip")
    loaded = RecurrentGTRPPO.load(tmp_path / "model.zip", env=env, device="cpu")
    assert (loaded.penalty, loaded.sigma(1.0), loaded.penalty_coef(1.0), loaded.anchor_window) == ("gaussian", 0.7, 0.5, 2)
    assert th.equal(flat_parameters(model), flat_parameters(loaded))
    observations = np.stack([env.observation_space.sample() for _ in range(5)])
    starts = np.ones(5, dtype=bool)
    actions, _ = model.predict(observations, episode_start=starts, deterministic=True)
    loaded_actions, _ = loaded.predict(observations, episode_start=starts, deterministic=True)
    np.testing.assert_array_equal(actions, loaded_actions)
    loaded.learn(64, reset_num_timesteps=False)
    assert loaded.num_timesteps == 192


def test_bad_arguments():
    with pytest.raises(ValueError, match="`sigma` must be strictly positive"):
        RecurrentGTRPPO("MlpLstmPolicy", "NoSuchEnv-v0", sigma=0)
    with pytest.raises(ValueError, match="`penalty`"):
        RecurrentGTRPPO("MlpLstmPolicy", "NoSuchEnv-v0", penalty="trust-me")
