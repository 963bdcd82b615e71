# Policy aliases of GTRPPO: SB3's actor-critic policies, plus the SimBa residual, IMPALA CNN and
# cross-embodiment (task-routed) policies of the paper.
from stable_baselines3.common.policies import ActorCriticCnnPolicy, ActorCriticPolicy, MultiInputActorCriticPolicy

from sb3_gtr.networks.impala_cnn import ImpalaCnnActorCriticPolicy
from sb3_gtr.networks.simba import SimbaActorCriticCnnPolicy, SimbaActorCriticPolicy, SimbaMultiInputActorCriticPolicy
from sb3_gtr.networks.task_routed import TaskRoutedActorCriticPolicy

MlpPolicy = ActorCriticPolicy
CnnPolicy = ActorCriticCnnPolicy
MultiInputPolicy = MultiInputActorCriticPolicy
SimbaPolicy = SimbaActorCriticPolicy
CnnSimbaPolicy = SimbaActorCriticCnnPolicy
MultiInputSimbaPolicy = SimbaMultiInputActorCriticPolicy
ImpalaCnnPolicy = ImpalaCnnActorCriticPolicy
TaskRoutedPolicy = TaskRoutedActorCriticPolicy
