import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.type_aliases import RNNStates

from sb3_gtr.common.buffers import (
    GTRDictRolloutBuffer,
    GTRRecurrentDictRolloutBuffer,
    GTRRecurrentRolloutBuffer,
    GTRRolloutBuffer,
)

BUFFER_SIZE, N_ENVS, HIDDEN = 16, 3, 4
BOX = spaces.Box(-1, 1, (2,))
DICT = spaces.Dict({"a": spaces.Box(-1, 1, (2,)), "b": spaces.Discrete(3)})


def fill(buffer_class, observation_space, recurrent: bool):
    kwargs = dict(gamma=0.99, gae_lambda=0.95, n_envs=N_ENVS)
    if recurrent:
        buffer = buffer_class(BUFFER_SIZE, observation_space, BOX, (BUFFER_SIZE, 1, N_ENVS, HIDDEN), "cpu", **kwargs)
    else:
        buffer = buffer_class(BUFFER_SIZE, observation_space, BOX, "cpu", **kwargs)
    rng = np.random.default_rng(0)
    for step in range(BUFFER_SIZE):
        obs = (
            {"a": rng.random((N_ENVS, 2)), "b": np.zeros(N_ENVS)}
            if isinstance(observation_space, spaces.Dict)
            else rng.random((N_ENVS, 2))
        )
        # Distinct log-probabilities identify each sample; episodes restart every 5 steps
        log_prob = th.tensor([-(step * N_ENVS + env + 1) / 100 for env in range(N_ENVS)])
        add_kwargs = {}
        if recurrent:
            state = th.full((1, N_ENVS, HIDDEN), float(step))
            add_kwargs["lstm_states"] = RNNStates((state, state), (state, state))
        buffer.add(
            obs,
            rng.random((N_ENVS, 2)),
            rng.random(N_ENVS),
            np.full(N_ENVS, step % 5 == 0),
            th.zeros(N_ENVS),
            log_prob,
            **add_kwargs,
        )
    buffer.compute_returns_and_advantage(th.zeros(N_ENVS), np.zeros(N_ENVS))
    return buffer


CASES = [
    (GTRRolloutBuffer, BOX, False),
    (GTRDictRolloutBuffer, DICT, False),
    (GTRRecurrentRolloutBuffer, BOX, True),
    (GTRRecurrentDictRolloutBuffer, DICT, True),
]


@pytest.mark.parametrize("buffer_class, observation_space, recurrent", CASES)
def test_anchor_columns_follow_their_samples(buffer_class, observation_space, recurrent):
    buffer = fill(buffer_class, observation_space, recurrent)
    # Before any anchor is stored, samples carry None
    first = next(buffer.get(8))
    assert first.anchor_log_probs is None

    # Ordered iteration visits every flattened sample once, in order, and leaves the RNG alone
    state = np.random.get_state()
    seen = []
    for flat_slice, samples in buffer.ordered_samples(7):
        old = samples.old_log_prob if not recurrent else samples.old_log_prob[samples.mask > 0]
        assert th.equal(old, th.as_tensor(buffer.log_probs[flat_slice].flatten()))
        seen.append(np.arange(flat_slice.start, flat_slice.stop))
    assert np.array_equal(np.concatenate(seen), np.arange(BUFFER_SIZE * N_ENVS))
    assert np.array_equal(np.random.get_state()[1], state[1])

    # Column k holds (k + 2) * old_log_prob: every shuffled (or padded) minibatch must see exactly that
    for column in range(2):
        buffer.store_anchor_log_probs(column, (column + 2) * buffer.log_probs.flatten(), n_columns=2)
    n_valid = 0
    for samples in buffer.get(10):
        valid = samples.mask > 0 if recurrent else th.ones_like(samples.old_log_prob, dtype=th.bool)
        assert samples.anchor_log_probs.shape == (len(samples.old_log_prob), 2)
        for column in range(2):
            th.testing.assert_close(samples.anchor_log_probs[valid, column], (column + 2) * samples.old_log_prob[valid])
        n_valid += int(valid.sum())
    assert n_valid == BUFFER_SIZE * N_ENVS

    buffer.reset()
    assert buffer.anchor_log_probs is None
