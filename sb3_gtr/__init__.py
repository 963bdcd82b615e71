"""
sb3-gtr: Gaussian Trust Region Policy Optimization (GTR) for Stable-Baselines3.

``import sb3_gtr`` loads the algorithms, their policies and the penalty functions, and registers the package's
gymnasium ids (:mod:`sb3_gtr.registration`, string entry points). The continual-learning names exported here
(:class:`~sb3_gtr.continual.ContinualTaskCallback`, :func:`~sb3_gtr.continual.make_suite` ...) and
:func:`~sb3_gtr.adaptation.load_into_gtr` load their modules on first use, so that ``from sb3_gtr import GTRPPO``
imports neither the continual machinery nor the zoo, optuna or matplotlib.
"""

import importlib
import os
from typing import Any

from sb3_gtr.common.penalties import gaussian_penalty, kl_penalty, pearson_penalty
from sb3_gtr.common.trust_region import gtr_policy_loss, mixture_penalty
from sb3_gtr.gtr_ppo import GTRPPO
from sb3_gtr.gtr_ppo_recurrent import RecurrentGTRPPO
from sb3_gtr.networks import (
    ImpalaCnnActorCriticPolicy,
    LnGruActorCriticCnnPolicy,
    LnGruActorCriticPolicy,
    LnGruMultiInputActorCriticPolicy,
    SimbaActorCriticCnnPolicy,
    SimbaActorCriticPolicy,
    SimbaMultiInputActorCriticPolicy,
    TaskRoutedActorCriticPolicy,
)
from sb3_gtr.registration import register_envs

# Read version from file
version_file = os.path.join(os.path.dirname(__file__), "version.txt")
with open(version_file) as file_handler:
    __version__ = file_handler.read().strip()

#: Names exported here whose module loads on first use (PEP 562), by module.
_LAZY_EXPORTS = {
    "sb3_gtr.continual": (
        "ContinualEvalCallback",
        "ContinualTaskCallback",
        "ContinualTaskEnv",
        "EvaluationTable",
        "Task",
        "TaskScheduleCallback",
        "TaskSequence",
        "make_continual_vec_env",
        "make_suite",
    ),
    "sb3_gtr.adaptation": ("load_into_gtr",),
}
_LAZY_MODULES = {name: module for module, names in _LAZY_EXPORTS.items() for name in names}

__all__ = [
    "GTRPPO",
    "ImpalaCnnActorCriticPolicy",
    "LnGruActorCriticCnnPolicy",
    "LnGruActorCriticPolicy",
    "LnGruMultiInputActorCriticPolicy",
    "RecurrentGTRPPO",
    "SimbaActorCriticCnnPolicy",
    "SimbaActorCriticPolicy",
    "SimbaMultiInputActorCriticPolicy",
    "TaskRoutedActorCriticPolicy",
    "__version__",
    "gaussian_penalty",
    "gtr_policy_loss",
    "kl_penalty",
    "mixture_penalty",
    "pearson_penalty",
    *_LAZY_MODULES,
]


def __getattr__(name: str) -> Any:
    module = _LAZY_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES))


register_envs()
