"""
The ``make demo`` job: train ``GTRPPO`` with the packaged RL Zoo hyperparameters of an environment,
evaluate it before and during training, and report what the numbers mean, with a learning-curve PNG.

    python -m sb3_gtr.demo --env Pendulum-v1 --timesteps 49152

The default (Pendulum-v1, 49,152 steps, one torch thread) learns in about a minute on one CPU core:
the untrained policy returns -700 to -1,500 (the pendulum hangs or spins), a trained one about -200
(swung up and held upright). Any id with an entry in ``sb3_gtr/hyperparams/gtr_ppo.yml`` works, e.g.
``--env CartPole-v1`` or ``--env HalfCheetah-v5 --timesteps 1000000`` (MuJoCo tasks need far more
steps than the default to learn).
"""

import argparse
import os
import time
from collections.abc import Sequence
from typing import Any, Optional

import gymnasium as gym
import numpy as np
import torch as th
import yaml
from stable_baselines3.common.callbacks import EvalCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecNormalize

from sb3_gtr import GTRPPO
from sb3_gtr.common.arguments import MAX_SEED

DEFAULT_ENV = "Pendulum-v1"
#: 12 rollouts of Pendulum-v1's 4 envs x 1,024 steps (the budget of tests/test_learning.py)
DEFAULT_TIMESTEPS = 49_152
#: Where the packaged zoo hyperparameters of ``GTRPPO`` are.
HYPERPARAMS_FILE = os.path.join(os.path.dirname(__file__), "hyperparams", "gtr_ppo.yml")
#: Keys of a zoo entry that need the zoo itself (wrappers, callbacks, ...), not this demo.
ZOO_ONLY_KEYS = ("env_wrapper", "frame_stack", "callback", "vec_env_wrapper", "env_kwargs", "monitor_kwargs")


def read_hyperparams(env_id: str, path: str = HYPERPARAMS_FILE, ignore: Sequence[str] = ()) -> dict[str, Any]:
    """
    The packaged zoo entry of ``env_id``, with ``lin_<value>`` schedules and ``policy_kwargs`` strings
    turned into Python objects as the zoo does.

    :param env_id: Gymnasium id with an entry in the YAML file
    :param path: The YAML file
    :param ignore: Keys dropped from the entry (for example the zoo's ``callback``, which a caller replaces)
    :return: The entry, ``n_envs``, ``n_timesteps``, ``policy`` and ``normalize`` included
    """
    with open(path) as file:
        entries = yaml.safe_load(file)
    if env_id not in entries or env_id.endswith("-defaults"):
        known = ", ".join(sorted(key for key in entries if not key.endswith("-defaults")))
        raise ValueError(f"No GTRPPO hyperparameters for `--env` {env_id!r} in {path}: it has {known}.")
    entry = {key: value for key, value in entries[env_id].items() if key not in ignore}
    zoo_only = sorted(set(entry) & set(ZOO_ONLY_KEYS))
    if zoo_only:
        raise ValueError(
            f"The entry of {env_id!r} uses {', '.join(zoo_only)}, which only the zoo reads: train it with "
            f"`python -m sb3_gtr.zoo train --algo gtr_ppo --env {env_id}`."
        )
    for key, value in entry.items():
        if isinstance(value, str) and value.startswith("lin_"):
            entry[key] = LinearSchedule(float(value[len("lin_") :]), 0.0, 1.0)
    if isinstance(entry.get("policy_kwargs"), str):
        entry["policy_kwargs"] = eval(entry["policy_kwargs"], {"nn": th.nn, "dict": dict})
    return entry


def plot_learning_curve(steps: np.ndarray, returns: np.ndarray, title: str, path: str) -> None:
    """
    Plot the mean evaluation return (with its standard deviation over episodes) against training steps.

    :param steps: Training steps of each evaluation
    :param returns: Episode returns, ``(n_evaluations, n_episodes)``
    :param title: Title of the figure
    :param path: Where the PNG is written
    """
    from sb3_gtr.continual.plotting import agg_figure

    with agg_figure(path, (6, 4), tight=False, layout="constrained") as figure:
        axes = figure.subplots()
        mean, std = returns.mean(axis=1), returns.std(axis=1)
        axes.plot(steps, mean, marker="o")
        axes.fill_between(steps, mean - std, mean + std, alpha=0.25)
        axes.set_xlabel("training steps")
        axes.set_ylabel("evaluation return (deterministic)")
        axes.set_title(title)
        axes.grid(alpha=0.3)


def run_demo(
    env_id: str = DEFAULT_ENV,
    total_timesteps: int = DEFAULT_TIMESTEPS,
    seed: int = 0,
    n_eval_episodes: int = 5,
    n_evaluations: int = 10,
    output_dir: Optional[str] = "demo_output",
    progress_bar: bool = True,
    num_threads: int = 1,
) -> dict[str, float]:
    """
    Train ``GTRPPO`` with its default GTR settings and the packaged zoo hyperparameters of ``env_id``,
    evaluating the deterministic policy before training and ``n_evaluations`` times during it.

    :param env_id: Gymnasium id with an entry in ``sb3_gtr/hyperparams/gtr_ppo.yml``
    :param total_timesteps: Training budget
    :param seed: Random seed
    :param n_eval_episodes: Evaluation episodes per evaluation
    :param n_evaluations: Evaluations during training
    :param output_dir: Where the model, the evaluations and the learning curve go (``None``: nothing is written)
    :param progress_bar: Show a progress bar while training
    :param num_threads: torch intra-op threads. One is fastest for MLP-sized networks on a CPU, and more
        threads than free cores slow training down several times (see docs/guide/install.rst)
    :return: ``untrained`` and ``trained`` mean returns and the training time ``seconds``
    """
    if total_timesteps < 1:
        raise ValueError(f"`total_timesteps` must be a positive integer, got {total_timesteps}.")
    if num_threads < 1:
        raise ValueError(f"`num_threads` must be a positive integer, got {num_threads}.")
    th.set_num_threads(num_threads)
    hyperparams = read_hyperparams(env_id)
    n_envs = hyperparams.pop("n_envs", 1)
    hyperparams.pop("n_timesteps", None)
    policy = hyperparams.pop("policy", "MlpPolicy")
    normalize = hyperparams.pop("normalize", False)
    normalize_kwargs = eval(normalize) if isinstance(normalize, str) else {}

    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    eval_env = make_vec_env(env_id, n_envs=1, seed=seed + 1000)
    if normalize:
        env = VecNormalize(env, **normalize_kwargs)
        eval_env = VecNormalize(eval_env, training=False, norm_reward=False, **normalize_kwargs)
    model = GTRPPO(policy, env, seed=seed, device="cpu", verbose=0, **hyperparams)

    untrained_returns, _ = evaluate_policy(
        model, eval_env, n_eval_episodes=n_eval_episodes, deterministic=True, return_episode_rewards=True
    )
    untrained = float(np.mean(untrained_returns))
    eval_callback = EvalCallback(
        eval_env,
        n_eval_episodes=n_eval_episodes,
        eval_freq=max(total_timesteps // (n_evaluations * n_envs), 1),
        log_path=output_dir,
        deterministic=True,
        verbose=0,
    )
    start = time.perf_counter()
    model.learn(total_timesteps=total_timesteps, callback=eval_callback, progress_bar=progress_bar)
    seconds = time.perf_counter() - start
    trained, trained_std = evaluate_policy(model, eval_env, n_eval_episodes=n_eval_episodes, deterministic=True)

    print(
        f"\nGTRPPO ({policy}, default GTR settings) on {env_id}, seed {seed}: {model.num_timesteps} steps in {seconds:.0f} s"
    )
    print(f"  untrained policy: mean return {untrained:8.1f}  ({n_eval_episodes} deterministic episodes)")
    print(f"  trained policy:   mean return {trained:8.1f} +/- {trained_std:.1f}")
    threshold = gym.spec(env_id).reward_threshold
    if env_id == DEFAULT_ENV:
        print("  (on Pendulum-v1, -700 to -1,500 is a pendulum left hanging or spinning; -200 or more is swung up and held)")
    elif threshold is not None:
        print(f"  (gymnasium counts {env_id} as solved at a return of {threshold})")
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
        evaluations = np.load(os.path.join(output_dir, "evaluations.npz"))
        steps = np.concatenate([[0], evaluations["timesteps"]])
        returns = np.concatenate([[untrained_returns], evaluations["results"]])
        curve_path = os.path.join(output_dir, f"learning_curve_{env_id.replace('/', '_')}.png")
        plot_learning_curve(steps, returns, f"GTRPPO on {env_id} (seed {seed})", curve_path)
        model_path = os.path.join(output_dir, f"gtr_ppo_{env_id.replace('/', '_')}")
        model.save(model_path)
        if normalize:
            env.save(os.path.join(output_dir, f"vecnormalize_{env_id.replace('/', '_')}.pkl"))
        print(f"  learning curve: {curve_path}")
        print(f"  model: {model_path}.zip (GTRPPO.load to use it)")
    return {"untrained": float(untrained), "trained": float(trained), "seconds": seconds}


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default=DEFAULT_ENV, help=f"id with packaged hyperparameters (default {DEFAULT_ENV})")
    parser.add_argument("--timesteps", type=int, default=DEFAULT_TIMESTEPS, help="training budget in environment steps")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--eval-episodes", type=int, default=5, help="episodes per evaluation")
    parser.add_argument("--n-evaluations", type=int, default=10, help="evaluations during training (the curve's points)")
    parser.add_argument("--output-dir", default="demo_output", help="where the model, evaluations and curve are written")
    parser.add_argument("--num-threads", type=int, default=1, help="torch threads (1 is fastest for small networks on CPU)")
    parser.add_argument("--no-progress-bar", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    for flag, value in (
        ("--timesteps", args.timesteps),
        ("--eval-episodes", args.eval_episodes),
        ("--n-evaluations", args.n_evaluations),
        ("--num-threads", args.num_threads),
    ):
        if value < 1:
            parser.error(f"{flag} must be a positive integer, got {value}")
    if not 0 <= args.seed <= MAX_SEED:
        parser.error(f"--seed must be an integer in [0, 2**32 - 1], got {args.seed}")
    try:
        read_hyperparams(args.env)
    except ValueError as error:
        parser.error(str(error))
    if args.output_dir == "":
        parser.error("--output-dir must be a folder path, got ''")
    try:
        # Created now, not after the untrained evaluation: a path that cannot be a folder fails before any work
        os.makedirs(args.output_dir, exist_ok=True)
    except OSError as error:
        parser.error(f"--output-dir {args.output_dir!r} cannot be created: {error.strerror}")
    if not os.access(args.output_dir, os.W_OK):
        parser.error(f"--output-dir {args.output_dir!r} is not writable")
    run_demo(
        args.env,
        args.timesteps,
        args.seed,
        args.eval_episodes,
        args.n_evaluations,
        args.output_dir,
        not args.no_progress_bar,
        args.num_threads,
    )


if __name__ == "__main__":
    main()
