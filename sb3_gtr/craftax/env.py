"""
One Craftax environment behind the gymnasium API: the entry point of the ``sb3_gtr/Craftax-Classic-Symbolic-v1`` and
``sb3_gtr/Craftax-Symbolic-v1`` ids, for ``gymnasium.make``, SB3's ``make_vec_env`` and evaluation. Training at scale
wants :class:`~sb3_gtr.craftax.vec_env.CraftaxVecEnv` instead (all environments in one JAX call), which the zoo
CLI uses for these ids.
"""

from typing import Any, Optional

import gymnasium as gym
import numpy as np

from sb3_gtr.craftax.vec_env import CraftaxBatch


class CraftaxEnv(gym.Env):
    """
    One Craftax environment (symbolic observations, ``float32`` in ``[0, 1]``; discrete actions).

    An episode ends with ``terminated=True`` when the player dies (or, in Craftax, beats the final boss) and with
    ``truncated=True`` when it reaches ``max_timesteps``. ``info["achievements"]`` (``{name: bool}``) comes with the
    last step of every episode.

    :param env_id: ``Craftax-Classic-Symbolic-v1`` or ``Craftax-Symbolic-v1``
    :param max_timesteps: Steps after which an episode is cut (``None``: Craftax's)
    :param render_mode: Only ``None``: the symbolic environments have no image
    """

    metadata = {"render_modes": []}

    def __init__(self, env_id: str = "Craftax-Classic-Symbolic-v1", max_timesteps: Optional[int] = None,
                 render_mode: Optional[str] = None) -> None:  # fmt: skip
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r}: the symbolic Craftax environments render nothing (use None)")
        self.batch = CraftaxBatch(env_id, 1, max_timesteps)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.batch.obs_dim,), np.float32)
        self.action_space = gym.spaces.Discrete(self.batch.n_actions)
        self.render_mode = None
        self._key = self.batch.key(None)
        self._states: Any = None
        self._next: Optional[tuple[np.ndarray, Any]] = None  # the auto-reset of the episode that ended

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None) -> tuple[np.ndarray, dict]:
        """Start a game: a new world from ``seed``, else the game started when the last episode ended."""
        super().reset(seed=seed)
        if seed is not None:
            self._key = self.batch.key(seed)
        elif self._next is not None:  # the game the batch started when the last episode ended
            obs, self._states = self._next
            self._next = None
            return obs, {}
        obs, self._states, self._key = self.batch.reset(self._key)
        self._next = None
        return obs[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Act: ``(observation, reward, terminated, truncated, info)``; ``info["achievements"]`` at the episode's end."""
        if self._states is None:
            raise RuntimeError("Call reset() before step()")
        actions = self.batch.check_actions(np.asarray(action).reshape(1))
        (obs, rewards, dones, truncated, achieved), obs_end, states, self._key = self.batch.step(
            self._key, self._states, actions
        )
        if not dones[0]:
            self._states = states
            return obs[0], float(rewards[0]), False, False, {}
        self._next, self._states = (obs[0], states), None
        info = {"achievements": dict(zip(self.batch.achievements, achieved[0].tolist(), strict=True))}
        last = np.array(obs_end[0])
        return last, float(rewards[0]), not bool(truncated[0]), bool(truncated[0]), info
