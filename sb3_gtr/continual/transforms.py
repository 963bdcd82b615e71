"""
Task transforms that change the behaviour a task demands without changing what the agent observes: the action an
agent picks is mapped to another one before the environment executes it. A policy that solved the original task
then has to change its behaviour, not just read a new observation, which is the "mode transition" of the GTR paper
(for a continuous action, the policy mean has to cross to the opposite sign).

- :class:`PermutedActions`: a ``Discrete(n)`` action ``a`` is executed as ``permutation[a]``;
- :class:`NegatedActions`: a ``Box`` action ``a`` (bounds symmetric about 0) is executed as ``-a``;
- :func:`make_transformed_env`: a gymnasium id with one of :data:`ACTION_MAPS` applied, the factory the fast
  continual suites give their tasks (see :mod:`sb3_gtr.continual.suites`).
"""

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sb3_gtr.common.checks import check_choice, check_str, describe

#: The action maps of :func:`make_transformed_env`: ``"identity"`` (the task as it is) and ``"reversed"`` (a discrete
#: action space's actions in reverse order, a continuous one's actions negated).
ACTION_MAPS = ("identity", "reversed")


class PermutedActions(gym.ActionWrapper):
    """
    Execute the agent's discrete action ``a`` as ``permutation[a]``.

    :param env: An environment with a ``Discrete`` action space
    :param permutation: A permutation of ``range(n)`` (``n`` actions)
    """

    def __init__(self, env: gym.Env, permutation: Sequence[int]) -> None:
        super().__init__(env)
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(f"PermutedActions needs a Discrete action space, got {env.action_space}")
        n_actions = int(env.action_space.n)
        if isinstance(permutation, (str, bytes)) or sorted(np.asarray(permutation).tolist()) != list(range(n_actions)):
            raise ValueError(f"`permutation` must be a permutation of range({n_actions}), got {describe(permutation)}")
        self.permutation = np.asarray(permutation, dtype=np.int64)
        self._start = int(env.action_space.start)

    def action(self, action: Any) -> int:
        """
        :param action: The agent's action
        :return: The action the environment executes
        """
        return int(self.permutation[int(action) - self._start]) + self._start


class NegatedActions(gym.ActionWrapper):
    """
    Execute the agent's continuous action ``a`` as ``-a``.

    :param env: An environment with a ``Box`` action space whose bounds are symmetric about 0 (so that ``-a`` is in
        the space whenever ``a`` is)
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, spaces.Box):
            raise ValueError(f"NegatedActions needs a Box action space, got {space}")
        if not np.array_equal(space.low, -space.high):
            raise ValueError(f"NegatedActions needs bounds symmetric about 0, got low {space.low} and high {space.high}")

    def action(self, action: Any) -> np.ndarray:
        """
        :param action: The agent's action
        :return: The action the environment executes, ``-action``
        """
        return -np.asarray(action, dtype=self.env.action_space.dtype)


def make_transformed_env(env_id: str, actions: str = "identity", **kwargs: Any) -> gym.Env:
    """
    Build a gymnasium environment with its actions mapped (see :data:`ACTION_MAPS`).

    :param env_id: A registered gymnasium id with a ``Discrete`` or a symmetric ``Box`` action space
    :param actions: ``"identity"`` or ``"reversed"``: a ``Discrete(n)`` space's action ``a`` is executed as
        ``n - 1 - a``, a ``Box`` space's action ``a`` as ``-a``
    :param kwargs: Keyword arguments of ``gymnasium.make`` (``max_episode_steps``, ``render_mode`` ...)
    :return: The environment
    """
    check_str("env_id", env_id)
    check_choice("actions", actions, ACTION_MAPS)
    env = gym.make(env_id, **kwargs)
    if actions == "identity":
        return env
    try:
        if isinstance(env.action_space, spaces.Discrete):
            return PermutedActions(env, list(reversed(range(int(env.action_space.n)))))
        return NegatedActions(env)
    except ValueError:
        env.close()
        raise
