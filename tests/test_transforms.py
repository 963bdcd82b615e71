import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from sb3_gtr.continual.suites import REVERSAL_SUITES, make_suite
from sb3_gtr.continual.transforms import NegatedActions, PermutedActions, make_transformed_env


class RecordActions(gym.Env):
    """Records the actions it executes."""

    def __init__(self, action_space):
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = action_space
        self.executed = []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        self.executed.append(action)
        return np.zeros(1, dtype=np.float32), 0.0, False, False, {}


def test_permuted_actions_execute_the_permuted_action():
    inner = RecordActions(spaces.Discrete(3, start=1))
    env = PermutedActions(inner, [2, 0, 1])
    env.reset(seed=0)
    for action in (1, 2, 3):
        env.step(action)
    assert inner.executed == [3, 1, 2]
    assert env.action_space == inner.action_space


def test_negated_actions_execute_minus_the_action():
    inner = RecordActions(spaces.Box(-2.0, 2.0, shape=(2,), dtype=np.float32))
    env = NegatedActions(inner)
    env.reset(seed=0)
    env.step(np.array([0.5, -1.5], dtype=np.float32))
    np.testing.assert_array_equal(inner.executed[0], [-0.5, 1.5])
    assert inner.executed[0].dtype == np.float32


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: PermutedActions(RecordActions(spaces.Discrete(3)), [0, 1]), r"permutation of range\(3\)"),
        (lambda: PermutedActions(RecordActions(spaces.Discrete(2)), [1, 1]), r"permutation of range\(2\)"),
        (lambda: PermutedActions(RecordActions(spaces.Box(-1, 1, (1,))), [0]), "needs a Discrete action space"),
        (lambda: NegatedActions(RecordActions(spaces.Discrete(2))), "needs a Box action space"),
        (lambda: NegatedActions(RecordActions(spaces.Box(0.0, 1.0, (1,)))), "symmetric about 0"),
        (lambda: make_transformed_env("CartPole-v1", actions="mirrored"), "`actions` must be one of"),
        (lambda: make_transformed_env("MountainCarContinuous-v0", actions="reversed", goal_velocity=0.0), None),
    ],
)
def test_bad_transforms_are_refused(make, match):
    if match is None:  # symmetric bounds: accepted
        make().close()
        return
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("name", list(REVERSAL_SUITES))
def test_reversal_suites_alternate_a_task_and_its_reversal(name):
    env_id, budget, threshold = REVERSAL_SUITES[name]
    sequence = make_suite(name)
    assert sequence.task_names == ["normal", "reversed"]
    assert [phase.task_id for phase in sequence.schedule()] == [0, 1] * 3  # six phases, back and forth
    assert sequence.total_timesteps == 6 * budget
    assert [task.reward_threshold for task in sequence.tasks] == [threshold, threshold]
    normal, reversed_ = (task.make_env() for task in sequence.tasks)
    assert normal.spec.id == env_id and reversed_.observation_space == normal.observation_space
    # The same action, from the same state, moves the two tasks apart: the reversal changes the behaviour needed
    normal.reset(seed=0)
    reversed_.reset(seed=0)
    action = normal.action_space.high if isinstance(normal.action_space, spaces.Box) else 0
    first, *_ = normal.step(action)
    second, *_ = reversed_.step(action)
    assert not np.allclose(first, second)
    normal.close()
    reversed_.close()
    single = make_suite(name, n_cycles=1, tasks=["reversed"])
    assert single.task_names == ["reversed"] and single.total_timesteps == budget
    with pytest.raises(ValueError, match="`tasks` must be one of"):
        make_suite(name, tasks=["upside-down"])
