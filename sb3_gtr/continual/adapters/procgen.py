"""
Procgen games as gymnasium environments, for the ``procgen-starpilot`` continual suite.

Procgen's own interface is gym3 (``procgen.ProcgenGym3Env``, vectorised, ``observe()``/``act()``, automatic
resets). :class:`ProcgenGymnasiumEnv` runs one gym3 env (``num=1``) behind the gymnasium API: ``64x64x3``
``uint8`` RGB observations and ``Discrete(15)`` actions. Several copies make a Stable-Baselines3 ``VecEnv``.

Installing procgen: the ``procgen`` distribution has no wheel for Python 3.11; ``procgen-mirror`` (the same code,
0.10.7) has. It pins ``numpy<2``, so install it without its dependencies, next to the few it really needs::

    pip install --no-deps procgen-mirror==0.10.7 gym3 gym==0.26.2 gym_notices cffi pycparser imageio

(the ``Makefile`` does). procgen imports the old ``gym``, which prints a deprecation notice: it is silenced here.
"""

from typing import Any, Optional, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sb3_gtr.common.checks import check_choice, check_keywords, check_positive_int
from sb3_gtr.continual.adapters.wrappers import import_quietly

#: procgen's distribution modes, from the easiest. ``"extreme"`` exists for chaser, dodgeball, leaper and
#: starpilot only; ``"memory"`` (not offered here) for a few maze-like games (procgen aborts the process on a
#: game that lacks the mode, hence the check in :class:`ProcgenGymnasiumEnv`).
PROCGEN_DISTRIBUTION_MODES = ("easy", "hard", "extreme")
#: Games with the ``"extreme"`` distribution mode.
PROCGEN_EXTREME_GAMES = ("chaser", "dodgeball", "leaper", "starpilot")
#: The procgen games (``procgen.env.ENV_NAMES``), listed here so that a wrong name is refused without importing procgen.
PROCGEN_GAMES = (
    "bigfish",
    "bossfight",
    "caveflyer",
    "chaser",
    "climber",
    "coinrun",
    "dodgeball",
    "fruitbot",
    "heist",
    "jumper",
    "leaper",
    "maze",
    "miner",
    "ninja",
    "plunder",
    "starpilot",
)
#: The other options of ``procgen.ProcgenGym3Env`` (procgen 0.10.7), accepted as ``procgen_kwargs``.
PROCGEN_OPTIONS = (
    "center_agent",
    "use_backgrounds",
    "use_monochrome_assets",
    "restrict_themes",
    "use_generated_assets",
    "paint_vel_info",
    "use_sequential_levels",
    "debug",
    "debug_mode",
    "resource_root",
    "num_threads",
)
#: Keyword arguments of :class:`ProcgenGymnasiumEnv` besides ``env_name`` and ``distribution_mode``.
PROCGEN_ENV_KWARGS = ("start_level", "num_levels", "render_mode", *PROCGEN_OPTIONS)
#: Number of actions of every procgen game (the full gamepad combination set).
PROCGEN_N_ACTIONS = 15


class ProcgenGymnasiumEnv(gym.Env):
    """
    One procgen game behind the gymnasium API.

    gym3 resets an episode by itself: the step that ends an episode returns the *first observation of the next
    episode* (with the last reward of the ending one), and the next ``reset()`` returns that observation without
    acting, so nothing is lost. An episode ends with ``terminated=True`` whether the agent died, completed the
    level or reached procgen's internal time limit (procgen does not tell them apart; the usual procgen set-up
    treats them all as terminal). A ``reset()`` in the middle of an episode (after a task switch, for instance)
    or with a ``seed`` starts a fresh game: gym3 cannot abandon an episode, so the underlying env is rebuilt,
    which is cheap once procgen is loaded (about a millisecond).

    Seeding: procgen's ``rand_seed`` (which levels are drawn, the in-game randomness) comes from ``reset(seed)``
    or from this environment's ``np_random``; ``start_level``/``num_levels`` choose the level set
    (``num_levels=0``: unlimited levels).

    :param env_name: The procgen game (``"starpilot"`` ...)
    :param distribution_mode: ``"easy"``, ``"hard"`` or ``"extreme"`` (see :data:`PROCGEN_DISTRIBUTION_MODES`)
    :param start_level: First level seed of the level set
    :param num_levels: Number of levels of the set (``0``: unlimited)
    :param render_mode: ``None`` or ``"rgb_array"`` (``render()`` then returns procgen's 512x512 frame)
    :param procgen_kwargs: Other options of ``procgen.ProcgenGym3Env`` (``use_backgrounds``, ``restrict_themes`` ...)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(
        self,
        env_name: str = "starpilot",
        distribution_mode: str = "hard",
        start_level: int = 0,
        num_levels: int = 0,
        render_mode: Optional[str] = None,
        **procgen_kwargs: Any,
    ) -> None:
        super().__init__()
        # Checked here, not by procgen: the game is only made at the first reset, and procgen aborts the whole
        # process on some bad options instead of raising.
        check_choice("env_name", env_name, PROCGEN_GAMES)
        check_choice("distribution_mode", distribution_mode, PROCGEN_DISTRIBUTION_MODES)
        if distribution_mode == "extreme" and env_name not in PROCGEN_EXTREME_GAMES:
            raise ValueError(f"procgen has no 'extreme' mode for {env_name!r}, only for {PROCGEN_EXTREME_GAMES}")
        check_choice("render_mode", render_mode, (None, "rgb_array"))
        start_level = check_positive_int("start_level", start_level, allow_zero=True)
        num_levels = check_positive_int("num_levels", num_levels, zero_means="play unlimited levels")
        check_keywords("ProcgenGymnasiumEnv", procgen_kwargs, PROCGEN_OPTIONS)
        self.env_name = env_name
        self.distribution_mode = distribution_mode
        self.start_level = start_level
        self.num_levels = num_levels
        self.render_mode = render_mode
        self.procgen_kwargs = procgen_kwargs
        self.observation_space = spaces.Box(0, 255, shape=(64, 64, 3), dtype=np.uint8)
        self.action_space = spaces.Discrete(PROCGEN_N_ACTIONS)
        self._env: Any = None
        self._at_episode_start = False

    def _make_game(self, rand_seed: int) -> None:
        if self._env is not None:
            self._env.close()
        procgen = import_quietly("procgen")
        self._env = procgen.ProcgenGym3Env(
            num=1,
            env_name=self.env_name,
            distribution_mode=self.distribution_mode,
            start_level=self.start_level,
            num_levels=self.num_levels,
            rand_seed=rand_seed,
            render_mode=self.render_mode,
            **self.procgen_kwargs,
        )
        self._at_episode_start = True

    def reset(
        self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """
        Start an episode: continue into the episode gym3 has already started, or start a fresh game.

        :param seed: Seed of procgen's random generator (a fresh game is started)
        :param options: Not used
        :return: The first observation and the info dict (procgen's ``level_seed`` ...)
        """
        super().reset(seed=seed)
        if self._env is None or seed is not None or not self._at_episode_start:
            self._make_game(int(self.np_random.integers(2**31 - 1)))
        _, observation, _ = self._env.observe()
        self._at_episode_start = False
        return observation["rgb"][0].copy(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """
        :param action: An action in ``Discrete(15)``
        :return: Observation, reward, terminated, truncated (always ``False``) and info
        """
        if self._env is None:
            raise RuntimeError("Call reset() before step()")
        self._env.act(np.array([int(action)], dtype=np.int32))
        reward, observation, first = self._env.observe()
        episode_over = bool(first[0])
        self._at_episode_start = episode_over
        return observation["rgb"][0].copy(), float(reward[0]), episode_over, False, self._info()

    def _info(self) -> dict[str, Any]:
        return {
            key: value.item() if isinstance(value, np.generic) else value for key, value in self._env.get_info()[0].items()
        }

    def render(self) -> Optional[np.ndarray]:
        """:return: procgen's high-resolution RGB frame (with ``render_mode="rgb_array"``)"""
        if self.render_mode != "rgb_array" or self._env is None:
            return None
        return self._env.get_info()[0]["rgb"]

    def close(self) -> None:
        """Close the gym3 env."""
        if self._env is not None:
            self._env.close()
            self._env = None


def make_procgen_env(env_name: str = "starpilot", distribution_mode: str = "hard", **kwargs: Any) -> gym.Env:
    """
    Make a procgen game as a gymnasium environment.

    :param env_name: The procgen game
    :param distribution_mode: ``"easy"``, ``"hard"`` or ``"extreme"``
    :param kwargs: Other arguments of :class:`ProcgenGymnasiumEnv` (``start_level``, ``num_levels``, ``render_mode`` ...)
    :return: The environment
    """
    return ProcgenGymnasiumEnv(env_name=env_name, distribution_mode=distribution_mode, **kwargs)
