"""
Learning checks: ``GTRPPO`` with its default GTR settings (``penalty="gaussian"``, ``sigma=0.5``,
``penalty_coef="advantage"``, ``mixture_anchor=True``) and the packaged zoo hyperparameters
(``sb3_gtr/hyperparams/gtr_ppo.yml``, which ``make demo`` trains with too) solves CartPole-v1 and
Pendulum-v1.

**Why a median of three seeds.** A seed is not reproducible across machines: CPUs differ in floating
point, and a seed that passed with a margin on one machine returned -559.6 on another (the SimBa
check of test_learning_policies.py). So each check trains seeds 0, 1 and 2 and asserts that their
median clears the threshold: it fails only when two of the three runs do. Budgets and thresholds
come from the spread over seeds 0-9, measured with the tests' own functions by
``python tests/learning_spread.py`` (one torch thread per run, two runs at a time; figures below and
in ``docs/benchmarks/learning_spread.jsonl``). Each run uses ``device="cpu"``,
``make_vec_env(env_id, n_envs, seed=seed)`` for training and a separate
``make_vec_env(env_id, 1, seed=seed + 1000)`` for ``evaluate_policy`` (deterministic, 10 episodes).
The thresholds are fixed by the issue that introduced these checks: 475 (CartPole-v1), -300
(Pendulum-v1).

CartPole-v1: the RL Zoo's tuned PPO values, n_envs 8, n_steps 32, batch_size 256, gae_lambda 0.8,
gamma 0.98, n_epochs 20, ent_coef 0.0, learning_rate linear 1e-3 -> 0, but a constant clip_range 0.2:
the zoo's ``lin_0.2`` reaches 0 at the end of training, which GTRPPO rejects (the advantage-weighted
penalty coefficient is |A| / clip_range). Budget 75,000 steps.

* 2026-12-02, 2-core AMD EPYC (the machine on which the old single-seed SimBa check failed), 75,000
  steps, seeds 0-9: 500.0 for all 10 (32-46 s per run).
* Earlier, on the 2-core development machine: 50,000 steps, seeds 0-4: 500, 500, 461.1, 500, 500;
  60,000 steps, seeds 0-7: 269.5, 500, 500, 500, 469.8, 500, 500, 500; 75,000 steps, seeds 0-15: 500.0
  for all 16; 100,000 steps (zoo budget), seeds 0-15: 500.0 for all 16.

Pendulum-v1: the RL Zoo's tuned PPO values, n_envs 4, n_steps 1024, batch_size 64 (SB3 default),
gae_lambda 0.95, gamma 0.9, n_epochs 10, ent_coef 0.0, learning_rate 1e-3, clip_range 0.2,
use_sde True, sde_sample_freq 4, no VecNormalize. Budget 12 rollouts = 49,152 steps (about half the
zoo's 100,000).

* 2026-12-02, AMD EPYC, seeds 0-9: -92.9, -167.4, -204.5, -128.0, -218.5, -184.3, -157.6, -191.1,
  -141.9, -172.6 (median -170, worst -218.5: 81 above the threshold; 36-69 s per run).
* Earlier, on the development machine, seeds 0-9: -93.8, -167.3, -203.7, -142.7, -235.5, -185.0,
  -156.6, -189.6, -141.0, -186.6: the same seeds land up to 17 apart on the two machines.
* Learning curves there (evaluated at rollout ends) show where the threshold is crossed: at 32,768
  steps seeds 0-4 gave -253.3, -171.6, -141.8, -367.7, -216.1 (one below -300); at 40,960: -146.3,
  -166.8, -147.7, -172.1, -171.0; at 49,152: -168.2, -129.1, -180.0, -156.8, -146.2.
"""

from typing import Any, Optional

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

from sb3_gtr import GTRPPO
from sb3_gtr.demo import read_hyperparams

#: Seed offset of the evaluation environment, so that it never replays the training episodes.
EVAL_SEED_OFFSET = 1000
N_EVAL_EPISODES = 10
#: Every learning check trains these seeds and asserts on their median (see the module docstring).
LEARNING_SEEDS = (0, 1, 2)

CARTPOLE_THRESHOLD = 475.0
CARTPOLE_TIMESTEPS = 75_000

PENDULUM_THRESHOLD = -300.0
#: 12 rollouts of 4 envs x 1024 steps.
PENDULUM_TIMESTEPS = 12 * 4 * 1024


def zoo_hyperparams(env_id: str) -> tuple[int, dict[str, Any]]:
    """``n_envs`` and the algorithm's arguments from the packaged zoo entry, which ``make demo`` trains with too."""
    hyperparams = read_hyperparams(env_id)
    n_envs = hyperparams.pop("n_envs")
    for key in ("n_timesteps", "policy", "normalize"):
        hyperparams.pop(key, None)
    return n_envs, hyperparams


def cartpole_hyperparams() -> dict[str, Any]:
    """The packaged GTRPPO values for CartPole-v1: the RL Zoo's tuned PPO values with a constant clip range."""
    return zoo_hyperparams("CartPole-v1")[1]


def pendulum_hyperparams() -> dict[str, Any]:
    """The packaged GTRPPO values for Pendulum-v1: the RL Zoo's tuned PPO values."""
    return zoo_hyperparams("Pendulum-v1")[1]


def train_and_evaluate(env_id: str, total_timesteps: int, seed: int) -> float:
    """Train ``GTRPPO`` on ``env_id`` and return its mean deterministic reward on a separate evaluation env."""
    n_envs, hyperparams = zoo_hyperparams(env_id)
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    model = GTRPPO("MlpPolicy", env, seed=seed, device="cpu", **hyperparams)
    # The default GTR objective is what these checks are about, not plain PPO.
    assert model.penalty == "gaussian"
    assert model.penalty_coef == "advantage"
    assert model.mixture_anchor and model._uses_snapshots
    model.learn(total_timesteps)
    eval_env = make_vec_env(env_id, n_envs=1, seed=seed + EVAL_SEED_OFFSET)
    mean_reward, _ = evaluate_policy(model, eval_env, n_eval_episodes=N_EVAL_EPISODES, deterministic=True)
    env.close()
    eval_env.close()
    return float(mean_reward)


def cartpole_reward(seed: int) -> float:
    return train_and_evaluate("CartPole-v1", CARTPOLE_TIMESTEPS, seed)


def pendulum_reward(seed: int) -> float:
    return train_and_evaluate("Pendulum-v1", PENDULUM_TIMESTEPS, seed)


def assert_median(
    check: str, returns: dict[int, float], at_least: Optional[float] = None, at_most: Optional[float] = None
) -> None:
    """
    Assert on the median over seeds: floating point differs between CPUs, so that each seed is a fresh draw
    from the distribution measured over 10 seeds; the median of three fails only if two of them do.
    """
    median = float(np.median(list(returns.values())))
    per_seed = ", ".join(f"seed {seed}: {value:.2f}" for seed, value in returns.items())
    if at_least is not None:
        assert median >= at_least, f"{check}: median return {median:.2f} < {at_least} ({per_seed})"
    if at_most is not None:
        assert median <= at_most, f"{check}: median return {median:.2f} > {at_most} ({per_seed})"


@pytest.fixture(autouse=True)
def single_thread():
    """One torch thread: the budgets were measured so, and pytest-xdist runs one test per core."""
    n_threads = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(n_threads)


@pytest.mark.slow(seconds=190)
def test_gtr_ppo_solves_cartpole() -> None:
    returns = {seed: cartpole_reward(seed) for seed in LEARNING_SEEDS}
    assert_median("CartPole-v1", returns, at_least=CARTPOLE_THRESHOLD)


@pytest.mark.slow(seconds=110)
def test_gtr_ppo_solves_pendulum() -> None:
    returns = {seed: pendulum_reward(seed) for seed in LEARNING_SEEDS}
    assert_median("Pendulum-v1", returns, at_least=PENDULUM_THRESHOLD)
