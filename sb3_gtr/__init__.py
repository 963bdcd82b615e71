"""sb3-gtr: Gaussian Trust Region Policy Optimization (GTR) for Stable-Baselines3."""

import os

from sb3_gtr.common.penalties import gaussian_penalty, kl_penalty, pearson_penalty
from sb3_gtr.common.policies import (
    LnGruActorCriticCnnPolicy,
    LnGruActorCriticPolicy,
    LnGruMultiInputActorCriticPolicy,
    SimbaActorCriticCnnPolicy,
    SimbaActorCriticPolicy,
    SimbaMultiInputActorCriticPolicy,
)
from sb3_gtr.common.trust_region import gtr_policy_loss, mixture_penalty
from sb3_gtr.gtr_ppo import GTRPPO
from sb3_gtr.gtr_ppo_recurrent import RecurrentGTRPPO

# Read version from file
version_file = os.path.join(os.path.dirname(__file__), "version.txt")
with open(version_file) as file_handler:
    __version__ = file_handler.read().strip()

__all__ = [
    "GTRPPO",
    "LnGruActorCriticCnnPolicy",
    "LnGruActorCriticPolicy",
    "LnGruMultiInputActorCriticPolicy",
    "RecurrentGTRPPO",
    "SimbaActorCriticCnnPolicy",
    "SimbaActorCriticPolicy",
    "SimbaMultiInputActorCriticPolicy",
    "__version__",
    "gaussian_penalty",
    "gtr_policy_loss",
    "kl_penalty",
    "mixture_penalty",
    "pearson_penalty",
]

# Registers sb3-gtr's gymnasium ids (sb3_gtr/continual-<suite>-v0, sb3_gtr/procgen-starpilot-v0): last, since the
# suites import the policies above.
import sb3_gtr.envs  # noqa: E402, F401
