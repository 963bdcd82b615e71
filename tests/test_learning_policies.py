"""
Learning checks for the paper's architectures. Like those of test_learning.py, each trains seeds 0, 1
and 2 and asserts on their median, with budgets and thresholds chosen from the spread over seeds 0-9
measured by ``python tests/learning_spread.py`` (figures in ``docs/benchmarks/learning_spread.jsonl``;
2026-12-02, 2-core AMD EPYC, one torch thread per run, two runs at a time).

Cue recall (LayerNorm-GRU): the agent sees a cue (one of two one-hot vectors) at the first step,
then ``delay`` blank observations, then a query flag; at the query step it is rewarded +1 for the
action matching the cue and -1 otherwise, so a memoryless policy cannot beat an expected return of 0.
Budget: 10,000 steps, 8 envs, n_steps 32, batch 64, 4 epochs, lr 1e-3, ent_coef 0.01, GRU width 32,
default GTR settings; evaluation over 100 episodes.

* RecurrentGTRPPO + MlpLnGruPolicy, seeds 0-9: 1.00 for all 10 (8-14 s per run). Threshold 0.9.
* GTRPPO + MlpPolicy, seeds 0-9: -0.02, -0.20, -0.16, 0.02, 0.04, 0.02, -0.04, 0.10, -0.32, -0.02
  (3-6 s per run). Bound 0.5: a memoryless policy scores 0 in expectation, and the mean of 100
  episodes lies within about +-0.1 of it.

SimBa on Pendulum-v1: ``GTRPPO("SimbaPolicy")`` with reduced widths (actor 64 x 1 block, critic
128 x 1 block: the paper's 128 / 512 x 2 trains about 8x slower than the default MLP on one CPU
thread, see docs/benchmarks.rst), the packaged Pendulum hyperparameters of tests/test_learning.py
(4 envs, n_steps 1024, gSDE), default GTR settings, except that the learning rate decays linearly from 1e-3 to 0
(the zoo's ``lin_1e-3``), for 8 rollouts (32,768 steps). With the constant 1e-3, SimBa
learns but its final policy oscillates: seeds 0-9 gave -95.6, -559.6, -203.1, -144.7, -219.3,
-168.6, -279.2, -187.6, -131.9, -229.7, and seed 1, evaluated after every rollout, went -174, -168,
-86, -130, -256, -87, -212, -132 from 16,384 steps on, then -545 at the last one (-679 after 81,920
steps). That seed returned -187.0 on the development machine: a single-seed check at -300 passed
there and failed here. With the decaying learning rate, seeds 0-9: -92.6, -167.7, -196.2, -142.2,
-216.4, -168.6, -160.1, -174.0, -114.8, -296.1 (median -168; 65-158 s per run) after 12 rollouts (49,152
steps, the budget of test_learning.py's Pendulum check). The check was the suite's slowest test, so its budget was
cut to 8 rollouts after measuring them (2026-12-03, check ``simba_pendulum_annealed_8_rollouts``, two runs at a
time beside two benchmark jobs): seeds 0-9 gave -92.3, -171.9, -200.6, -141.7, -235.2, -170.8, -279.2, -173.9,
-114.4, -174.5 (median -172; 196-256 s per run on the loaded machine). Threshold -400 on the median of three:
untrained policies score -700 to -1,500, and the median fails only if two of the three seeds fall below -400,
which none of these ten did (the worst, -279, is 121 above it).
"""

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.utils import LinearSchedule
from test_learning import LEARNING_SEEDS, assert_median, pendulum_hyperparams

from sb3_gtr import GTRPPO, RecurrentGTRPPO

SIMBA_PENDULUM_THRESHOLD = -400.0
#: 8 rollouts of 4 envs x 1024 steps.
SIMBA_PENDULUM_TIMESTEPS = 8 * 4 * 1024
SIMBA_POLICY_KWARGS = dict(actor_hidden_dim=64, critic_hidden_dim=128, critic_num_blocks=1)

MEMORY_BUDGET = 10_000
MEMORY_GRU_THRESHOLD = 0.9
#: A memoryless policy's expected return is 0; 100 evaluation episodes put its mean within about +-0.1 of that.
MEMORY_MLP_BOUND = 0.5
MEMORY_KWARGS = dict(n_steps=32, batch_size=64, n_epochs=4, learning_rate=1e-3, ent_coef=0.01, device="cpu")


class CueRecallEnv(gym.Env):
    """Remember a binary cue over ``delay`` blank steps and report it when queried."""

    def __init__(self, delay: int = 4):
        self.delay = delay
        self.observation_space = spaces.Box(0.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.cue, self.t = 0, 0

    def _observation(self) -> np.ndarray:
        observation = np.zeros(3, np.float32)
        if self.t == 0:
            observation[self.cue] = 1.0
        if self.t == self.delay + 1:
            observation[2] = 1.0
        return observation

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.cue, self.t = int(self.np_random.integers(2)), 0
        return self._observation(), {}

    def step(self, action):
        if self.t == self.delay + 1:
            return self._observation(), (1.0 if int(action) == self.cue else -1.0), True, False, {}
        self.t += 1
        return self._observation(), 0.0, False, False, {}


def memory_return(model, seed: int) -> float:
    eval_env = make_vec_env(CueRecallEnv, n_envs=1, seed=1000 + seed)
    mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=100, deterministic=True)
    return mean_return


def cue_recall_return(recurrent: bool, seed: int) -> float:
    """Train on cue recall, the LayerNorm-GRU (``recurrent``) or an MLP, and return the mean evaluation return."""
    env = make_vec_env(CueRecallEnv, n_envs=8, seed=seed)
    if recurrent:
        model = RecurrentGTRPPO("MlpLnGruPolicy", env, policy_kwargs=dict(gru_hidden_size=32), seed=seed, **MEMORY_KWARGS)
    else:
        model = GTRPPO("MlpPolicy", env, seed=seed, **MEMORY_KWARGS)
    model.learn(MEMORY_BUDGET)
    return float(memory_return(model, seed))


def simba_pendulum_return(seed: int, timesteps: int = SIMBA_PENDULUM_TIMESTEPS, **overrides: Any) -> float:
    """Train ``GTRPPO("SimbaPolicy")`` on Pendulum-v1 and return its mean evaluation return (10 episodes)."""
    env = make_vec_env("Pendulum-v1", n_envs=4, seed=seed)
    # A decaying learning rate steadies SimBa's final policy (see the module docstring)
    hyperparams = {**pendulum_hyperparams(), "learning_rate": LinearSchedule(1e-3, 0.0, 1.0), **overrides}
    model = GTRPPO("SimbaPolicy", env, policy_kwargs=SIMBA_POLICY_KWARGS, seed=seed, device="cpu", **hyperparams)
    model.learn(timesteps)
    eval_env = make_vec_env("Pendulum-v1", n_envs=1, seed=1000 + seed)
    mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True)
    return float(mean_return)


@pytest.mark.slow(seconds=30)
def test_layer_norm_gru_solves_cue_recall():
    returns = {seed: cue_recall_return(True, seed) for seed in LEARNING_SEEDS}
    assert_median("cue recall, RecurrentGTRPPO + MlpLnGruPolicy", returns, at_least=MEMORY_GRU_THRESHOLD)


@pytest.mark.slow(seconds=15)
def test_mlp_cannot_solve_cue_recall():
    returns = {seed: cue_recall_return(False, seed) for seed in LEARNING_SEEDS}
    assert_median("cue recall, GTRPPO + MlpPolicy", returns, at_most=MEMORY_MLP_BOUND)


@pytest.mark.slow(seconds=200)
def test_simba_policy_learns_pendulum():
    returns = {seed: simba_pendulum_return(seed) for seed in LEARNING_SEEDS}
    assert_median("Pendulum-v1, GTRPPO + SimbaPolicy", returns, at_least=SIMBA_PENDULUM_THRESHOLD)
