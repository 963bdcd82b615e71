"""Small gymnasium wrappers shared by the environment adapters of the continual suites."""

import contextlib
import importlib
import io
from types import ModuleType
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class FlattenObservationFloat32(gym.ObservationWrapper):
    """
    Flatten any flattenable observation (a ``Dict`` of arrays such as dm_control's, a ``Box``, ...) into one
    ``float32`` vector, so that ``MlpPolicy`` and ``SimbaPolicy`` take it as they are.

    The entries are concatenated in the order of the observation space (``gymnasium.spaces.flatten``: a
    ``Dict`` space sorts its keys), not in the order the environment happens to build its dict, so the layout
    is stable; scalars (shape ``()``) become one entry. The bounds are those of the flattened space, cast, or
    infinite with ``unbounded=True`` (for environments whose observations leave their declared bounds).

    :param env: The environment
    :param unbounded: Declare the observations unbounded instead of keeping the environment's bounds
    """

    def __init__(self, env: gym.Env, unbounded: bool = False) -> None:
        super().__init__(env)
        flat_space = spaces.flatten_space(env.observation_space)
        if not isinstance(flat_space, spaces.Box):
            raise ValueError(f"Cannot flatten the observation space {env.observation_space} into a Box")
        low, high = flat_space.low.astype(np.float32), flat_space.high.astype(np.float32)
        if unbounded:
            low, high = np.full_like(low, -np.inf), np.full_like(high, np.inf)
        self.observation_space = spaces.Box(low=low, high=high, dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        """
        :param observation: An observation of the wrapped environment
        :return: The flat ``float32`` observation
        """
        return np.asarray(spaces.flatten(self.env.observation_space, observation), dtype=np.float32)


def import_quietly(module_name: str) -> ModuleType:
    """
    Import a module, dropping what it prints on stderr while importing. Used for the packages that import the
    unmaintained ``gym`` (procgen, shimmy), which prints a deprecation notice on every import.

    :param module_name: Name of the module
    :return: The module
    """
    with contextlib.redirect_stderr(io.StringIO()):
        return importlib.import_module(module_name)
