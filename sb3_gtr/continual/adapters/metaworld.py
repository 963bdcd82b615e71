"""
Meta-World (v3, "Meta-World+") single tasks as gymnasium environments, for the ``metaworld`` continual suite.

Each task is ``gymnasium.make("Meta-World/MT1", env_name=...)``: one manipulation skill (``door-open-v3`` ...)
whose object and goal positions are drawn, at every reset, from a fixed set of 50 variations. Episodes last 500
steps (no termination on success, as in Meta-World's training set-up); observations are 39 floats, declared
unbounded (MT1's space bounds the goal entries to 0 although they hold the goal position).
"""

from typing import Any, Optional, SupportsFloat

import gymnasium as gym

from sb3_gtr.common.checks import check_positive_int, check_str
from sb3_gtr.continual.adapters.wrappers import FlattenObservationFloat32

#: Seed of the benchmark object that draws the 50 object/goal variations of an MT1 task: fixed, so that the
#: training and the evaluation environments (built separately) share the same variations.
METAWORLD_BENCHMARK_SEED = 0


class EpisodeSuccessWrapper(gym.Wrapper):
    """
    Report Meta-World's success the way Stable-Baselines3 reads it: ``info["is_success"]`` is ``True`` on the
    last step of an episode in which the task was solved at some step (Meta-World's per-step ``info["success"]``
    is 1.0 while the object is in place), so that SB3 logs ``rollout/success_rate``.

    :param env: A Meta-World environment
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._solved = False

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """
        :param kwargs: Passed to the environment
        :return: The first observation and the info dict
        """
        self._solved = False
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """
        :param action: The action
        :return: Observation, reward, terminated, truncated and info (with ``is_success`` at the episode end)
        """
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._solved = self._solved or bool(info.get("success", 0.0))
        if terminated or truncated:
            info["is_success"] = self._solved
        return observation, reward, terminated, truncated, info


class MetaWorldSeedingWrapper(gym.Wrapper):
    """
    Make ``reset(seed=...)`` seed a Meta-World environment: Meta-World ignores the ``seed`` of ``reset`` (its
    environments are seeded by their ``seed()`` method), so a seeded reset here calls ``seed()`` first; the
    variation of the episode (drawn by ``RandomTaskSelectWrapper`` from the same generator) and the initial
    positions then follow from the seed.

    :param env: A Meta-World environment
    """

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None) -> tuple[Any, dict[str, Any]]:
        """
        :param seed: Seed of the environment
        :param options: Passed to the environment
        :return: The first observation and the info dict
        """
        if seed is not None:
            self.env.unwrapped.seed(seed)
        return self.env.reset(options=options)


def make_metaworld_env(env_name: str, benchmark_seed: int = METAWORLD_BENCHMARK_SEED, **kwargs: Any) -> gym.Env:
    """
    Make one Meta-World v3 task (``Meta-World/MT1``) with ``float32`` observations and ``info["is_success"]``.

    :param env_name: A Meta-World v3 task name (``"door-open-v3"`` ...)
    :param benchmark_seed: Seed drawing the task's 50 object/goal variations
    :param kwargs: Keyword arguments of ``gymnasium.make`` (``render_mode``, ``max_episode_steps`` ...)
    :return: The environment
    """
    check_str("env_name", env_name)
    check_positive_int("benchmark_seed", benchmark_seed, allow_zero=True)  # numpy refuses negative seeds
    import metaworld  # noqa: F401  (registers the Meta-World/ ids)

    env = gym.make("Meta-World/MT1", env_name=env_name, seed=benchmark_seed, **kwargs)
    # Unbounded: MT1 shows the goal position in the last three entries, which its space bounds to [0, 0].
    return FlattenObservationFloat32(EpisodeSuccessWrapper(MetaWorldSeedingWrapper(env)), unbounded=True)
