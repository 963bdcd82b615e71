"""
The ``make demo`` job: train GTRPPO on a MuJoCo task with a progress bar, evaluate it and print
the result.

    python -m sb3_gtr.demo --env HalfCheetah-v5 --timesteps 100000
"""

import argparse
import os
import time
from typing import Optional

from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecNormalize

from sb3_gtr import GTRPPO


def run_demo(
    env_id: str = "HalfCheetah-v5",
    total_timesteps: int = 100_000,
    seed: int = 0,
    n_eval_episodes: int = 5,
    output_dir: Optional[str] = "demo_output",
    progress_bar: bool = True,
) -> tuple[float, float]:
    """
    Train ``GTRPPO`` with its default settings on ``env_id`` (observations and rewards normalised
    with ``VecNormalize``), then evaluate the deterministic policy.

    :param env_id: Gymnasium id of the environment
    :param total_timesteps: Training budget
    :param seed: Random seed
    :param n_eval_episodes: Number of evaluation episodes
    :param output_dir: Where to save the model and the normalisation statistics (``None``: don't save)
    :param progress_bar: Show a progress bar while training
    :return: Mean and standard deviation of the evaluation return
    """
    env = VecNormalize(make_vec_env(env_id, n_envs=1, seed=seed))
    model = GTRPPO("MlpPolicy", env, seed=seed, verbose=0)
    start = time.perf_counter()
    model.learn(total_timesteps=total_timesteps, progress_bar=progress_bar)
    train_seconds = time.perf_counter() - start

    env.training = False
    env.norm_reward = False
    mean_return, std_return = evaluate_policy(model, env, n_eval_episodes=n_eval_episodes, deterministic=True)
    print(
        f"GTRPPO on {env_id}: {total_timesteps} steps in {train_seconds:.0f} s "
        f"({total_timesteps / train_seconds:.0f} steps/s), seed {seed}"
    )
    print(f"Evaluation over {n_eval_episodes} episodes: mean return {mean_return:.1f} +/- {std_return:.1f}")
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
        model_path = os.path.join(output_dir, f"gtr_ppo_{env_id}")
        model.save(model_path)
        env.save(os.path.join(output_dir, f"vecnormalize_{env_id}.pkl"))
        print(f"Model saved to {model_path}.zip")
    return mean_return, std_return


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="HalfCheetah-v5", help="Gymnasium environment id")
    parser.add_argument("--timesteps", type=int, default=100_000, help="Training budget in environment steps")
    parser.add_argument("--seed", type=int, default=0, help="Random seed")
    parser.add_argument("--eval-episodes", type=int, default=5, help="Number of evaluation episodes")
    parser.add_argument("--output-dir", default="demo_output", help="Where the model is saved")
    parser.add_argument("--no-progress-bar", action="store_true", help="Hide the progress bar")
    args = parser.parse_args(argv)
    if args.timesteps < 1:
        parser.error(f"--timesteps must be a positive integer, got {args.timesteps}")
    run_demo(args.env, args.timesteps, args.seed, args.eval_episodes, args.output_dir, not args.no_progress_bar)


if __name__ == "__main__":
    main()
