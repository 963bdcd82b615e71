"""
The networks of the GTR paper's Appendix B.2, as SB3 policies: SimBa residual trunks, the LayerNorm GRU, the IMPALA
CNN and the task-routed (cross-embodiment) policy. The algorithms' ``policies.py`` give them their aliases
(``"SimbaPolicy"``, ``"MlpLnGruPolicy"`` ...). They import the shared core (:mod:`sb3_gtr.common`) only.
"""

from sb3_gtr.networks.impala_cnn import ImpalaCnnActorCriticPolicy, ImpalaCnnExtractor
from sb3_gtr.networks.ln_gru import LnGruActorCriticCnnPolicy, LnGruActorCriticPolicy, LnGruMultiInputActorCriticPolicy
from sb3_gtr.networks.simba import SimbaActorCriticCnnPolicy, SimbaActorCriticPolicy, SimbaMultiInputActorCriticPolicy
from sb3_gtr.networks.task_routed import TaskRoutedActorCriticPolicy
from sb3_gtr.networks.torch_layers import LayerNormGRU, LayerNormMlpExtractor, SimbaBlock, SimbaExtractor, SimbaMLP

__all__ = [
    "ImpalaCnnActorCriticPolicy",
    "ImpalaCnnExtractor",
    "LayerNormGRU",
    "LayerNormMlpExtractor",
    "LnGruActorCriticCnnPolicy",
    "LnGruActorCriticPolicy",
    "LnGruMultiInputActorCriticPolicy",
    "SimbaActorCriticCnnPolicy",
    "SimbaActorCriticPolicy",
    "SimbaBlock",
    "SimbaExtractor",
    "SimbaMLP",
    "SimbaMultiInputActorCriticPolicy",
    "TaskRoutedActorCriticPolicy",
]
