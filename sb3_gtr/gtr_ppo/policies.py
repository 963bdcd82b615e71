# Policy aliases of GTRPPO: SB3's actor-critic policies, plus the SimBa residual policies of the paper.
from stable_baselines3.common.policies import ActorCriticCnnPolicy, ActorCriticPolicy, MultiInputActorCriticPolicy

from sb3_gtr.common.policies import SimbaActorCriticCnnPolicy, SimbaActorCriticPolicy, SimbaMultiInputActorCriticPolicy

MlpPolicy = ActorCriticPolicy
CnnPolicy = ActorCriticCnnPolicy
MultiInputPolicy = MultiInputActorCriticPolicy
SimbaPolicy = SimbaActorCriticPolicy
CnnSimbaPolicy = SimbaActorCriticCnnPolicy
MultiInputSimbaPolicy = SimbaMultiInputActorCriticPolicy
