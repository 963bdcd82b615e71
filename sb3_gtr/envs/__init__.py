"""Environments for continual learning: the named task suites."""

from sb3_gtr.envs.suites import SUITES, flip_suite, make_suite

__all__ = ["SUITES", "flip_suite", "make_suite"]
