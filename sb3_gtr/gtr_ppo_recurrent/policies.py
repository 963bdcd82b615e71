# Policy aliases of RecurrentGTRPPO: sb3-contrib's LSTM policies and the LayerNorm-GRU policies of the paper.
from sb3_contrib.common.recurrent.policies import (
    RecurrentActorCriticCnnPolicy,
    RecurrentActorCriticPolicy,
    RecurrentMultiInputActorCriticPolicy,
)

from sb3_gtr.networks.ln_gru import LnGruActorCriticCnnPolicy, LnGruActorCriticPolicy, LnGruMultiInputActorCriticPolicy

MlpLstmPolicy = RecurrentActorCriticPolicy
CnnLstmPolicy = RecurrentActorCriticCnnPolicy
MultiInputLstmPolicy = RecurrentMultiInputActorCriticPolicy
MlpLnGruPolicy = LnGruActorCriticPolicy
CnnLnGruPolicy = LnGruActorCriticCnnPolicy
MultiInputLnGruPolicy = LnGruMultiInputActorCriticPolicy
