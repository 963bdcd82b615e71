from sb3_gtr.gtr_ppo_recurrent.gtr_ppo_recurrent import RecurrentGTRPPO
from sb3_gtr.gtr_ppo_recurrent.policies import (
    CnnLnGruPolicy,
    CnnLstmPolicy,
    MlpLnGruPolicy,
    MlpLstmPolicy,
    MultiInputLnGruPolicy,
    MultiInputLstmPolicy,
)

__all__ = [
    "CnnLnGruPolicy",
    "CnnLstmPolicy",
    "MlpLnGruPolicy",
    "MlpLstmPolicy",
    "MultiInputLnGruPolicy",
    "MultiInputLstmPolicy",
    "RecurrentGTRPPO",
]
