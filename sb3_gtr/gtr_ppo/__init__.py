from sb3_gtr.gtr_ppo.gtr_ppo import GTRPPO
from sb3_gtr.gtr_ppo.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["GTRPPO", "CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
