"""Logging of Craftax's achievements during training (the paper's Figure 7 curves)."""

from typing import Optional

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback


class CraftaxAchievementCallback(BaseCallback):
    """
    Log, at the end of every rollout, the fraction of the episodes ended during it that unlocked each achievement
    (``craftax/<achievement>``, e.g. ``craftax/open_chest``, the paper's milestone), the Crafter score of those
    rates (``craftax/score``: the geometric mean of ``1 + 100 * rate``, minus 1, as Craftax computes it) and the
    number of episodes they come from (``craftax/episodes``). A rollout in which no episode ended logs nothing.

    Reads the ``"achievements"`` infos of :class:`~sb3_gtr.craftax.vec_env.CraftaxVecEnv` and
    :class:`~sb3_gtr.craftax.env.CraftaxEnv`; other environments give none, and nothing is logged.

    :param prefix: Prefix of the logged keys
    :param verbose: Verbosity level
    """

    def __init__(self, prefix: str = "craftax", verbose: int = 0) -> None:
        super().__init__(verbose)
        self.prefix = prefix
        self._counts: Optional[np.ndarray] = None
        self._names: list[str] = []
        self._episodes = 0

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            achieved = info.get("achievements")
            if achieved is None:
                continue
            if self._counts is None:
                self._names = list(achieved)
                self._counts = np.zeros(len(self._names))
            self._counts += np.fromiter((achieved[name] for name in self._names), dtype=float, count=len(self._names))
            self._episodes += 1
        return True

    def _on_rollout_end(self) -> None:
        if self._counts is None or self._episodes == 0:
            return
        rates = self._counts / self._episodes
        for name, rate in zip(self._names, rates, strict=True):
            self.logger.record(f"{self.prefix}/{name}", float(rate))
        self.logger.record(f"{self.prefix}/score", crafter_score(rates))
        self.logger.record(f"{self.prefix}/episodes", self._episodes)
        self._counts[:] = 0.0
        self._episodes = 0


def crafter_score(rates: np.ndarray) -> float:
    """:return: The Crafter score of success rates in ``[0, 1]``: ``exp(mean(log(1 + 100 rate))) - 1``, in percent"""
    return float(np.exp(np.mean(np.log1p(100.0 * np.asarray(rates, dtype=float)))) - 1.0)
