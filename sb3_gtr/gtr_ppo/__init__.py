from sb3_gtr.gtr_ppo.gtr_ppo import GTRPPO
from sb3_gtr.gtr_ppo.policies import (
    CnnPolicy,
    CnnSimbaPolicy,
    ImpalaCnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    MultiInputSimbaPolicy,
    SimbaPolicy,
    TaskRoutedPolicy,
)

__all__ = [
    "GTRPPO",
    "CnnPolicy",
    "CnnSimbaPolicy",
    "ImpalaCnnPolicy",
    "MlpPolicy",
    "MultiInputPolicy",
    "MultiInputSimbaPolicy",
    "SimbaPolicy",
    "TaskRoutedPolicy",
]
