from sb3_gtr.gtr_ppo.gtr_ppo import GTRPPO
from sb3_gtr.gtr_ppo.policies import (
    CnnPolicy,
    CnnSimbaPolicy,
    MlpPolicy,
    MultiInputPolicy,
    MultiInputSimbaPolicy,
    SimbaPolicy,
)

__all__ = ["GTRPPO", "CnnPolicy", "CnnSimbaPolicy", "MlpPolicy", "MultiInputPolicy", "MultiInputSimbaPolicy", "SimbaPolicy"]
