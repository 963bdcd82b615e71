"""Craftax through SB3 (``sb3_gtr.craftax``): the batched VecEnv, the gymnasium id, the achievements in the logger,
training from user code and through the zoo CLI, and bad input.

Every env here is Craftax-Classic with 8 environments (1 for the gymnasium env) and 64-step episodes: one compiled
step for the whole module (JAX caches it on disk, so later runs and the zoo subprocess reuse it)."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.logger import configure

from sb3_gtr import GTRPPO, RecurrentGTRPPO
from sb3_gtr.craftax import (
    CraftaxAchievementCallback,
    CraftaxVecEnv,
    achievement_names,
    crafter_score,
    make_craftax_vec_env,
)
from sb3_gtr.registration import CRAFTAX_IDS

CLASSIC = CRAFTAX_IDS["Craftax-Classic-Symbolic-v1"]
N_ENVS, EPISODE = 8, 64


def make(seed=0):
    return make_craftax_vec_env(CLASSIC, N_ENVS, seed=seed, max_timesteps=EPISODE)


def rollout(env, steps, seed=0):
    rng = np.random.default_rng(seed)
    obs = [env.reset()]
    for _ in range(steps):
        obs.append(env.step(rng.integers(0, 17, N_ENVS))[0])
    return np.stack(obs)


def test_vec_env_seeding_episodes_and_achievements():
    env = make(seed=0)
    assert env.observation_space.shape == (1345,) and env.action_space.n == 17 and env.num_envs == N_ENVS
    obs = env.reset()
    assert obs.dtype == np.float32 and obs.shape == (N_ENVS, 1345) and obs.min() >= 0.0 and obs.max() <= 1.0
    # Same seed and actions, same trajectories; another seed, other worlds
    first, again, other = rollout(make(0), 10), rollout(make(0), 10), rollout(make(1), 10)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[0], other[0])
    # Episodes are cut at max_timesteps: a truncation, with the last observation to bootstrap from
    rng = np.random.default_rng(0)
    env.reset()
    ended = []
    for step in range(1, EPISODE + 1):
        _, rewards, dones, infos = env.step(rng.integers(0, 17, N_ENVS))
        assert rewards.dtype == np.float32
        ended += [(step, info) for done, info in zip(dones, infos, strict=True) if done]
    cut = [info for step, info in ended if step == EPISODE]
    assert cut, "no episode reached the time limit"
    for info in cut:
        assert info["TimeLimit.truncated"] and info["terminal_observation"].shape == (1345,)
        assert info["episode"]["l"] == EPISODE  # VecMonitor's episode info, as SB3 logs it
        assert list(info["achievements"]) == achievement_names() and len(info["achievements"]) == 22
    for step, info in ended:
        if step < EPISODE:  # died: terminal, nothing to bootstrap from
            assert not info["TimeLimit.truncated"] and "terminal_observation" not in info
    assert "open_chest" in achievement_names("Craftax-Symbolic-v1")  # the paper's milestone is Craftax's


def test_reset_ratio_builds_fewer_worlds_and_shares_them_only_when_more_episodes_end_at_once():
    # 8 environments, 4 fresh worlds per step: the k-th env to end at a step restarts in world k mod 4
    env = make_craftax_vec_env(CLASSIC, N_ENVS, seed=0, max_timesteps=EPISODE, reset_ratio=2)
    assert env.unwrapped.batch.n_resets == 4
    rng = np.random.default_rng(0)
    env.reset()
    pairs = {"same": 0, "other": 0}
    for _ in range(EPISODE):
        obs, _, dones, infos = env.step(rng.integers(0, 17, N_ENVS))
        ended = np.flatnonzero(dones)
        for rank, i in enumerate(ended):
            assert not np.array_equal(obs[i], infos[i].get("terminal_observation", obs[i] + 1))
            for other_rank, j in enumerate(ended[rank + 1 :], start=rank + 1):
                same = other_rank % 4 == rank % 4
                assert np.array_equal(obs[i], obs[j]) == same, (rank, other_rank)
                pairs["same" if same else "other"] += 1
    assert pairs["same"] and pairs["other"], pairs  # at the time limit, more than 4 episodes end at once
    # The default (1) is unchanged: a world per ending episode
    assert make().unwrapped.batch.n_resets == N_ENVS


def test_gymnasium_id_makes_one_env_that_passes_the_env_checker():
    import gymnasium as gym

    env = gym.make(CLASSIC, max_timesteps=EPISODE)
    check_env(env.unwrapped)
    env.reset(seed=3)
    steps = 0
    while True:
        _, _, terminated, truncated, info = env.step(0)  # noop: the player survives 64 steps
        steps += 1
        if terminated or truncated:
            break
    assert truncated and steps == EPISODE and "achievements" in info
    first, _ = env.reset()
    assert first.shape == (1345,)


def test_crafter_score():
    assert crafter_score(np.zeros(22)) == pytest.approx(0.0)
    assert crafter_score(np.ones(22)) == pytest.approx(100.0)
    assert crafter_score(np.array([1.0, 0.0])) == pytest.approx(np.sqrt(101.0) - 1.0)


@pytest.mark.parametrize(("algo", "policy"), [(GTRPPO, "SimbaPolicy"), (RecurrentGTRPPO, "MlpLnGruPolicy")])
def test_training_from_user_code_logs_the_achievements(tmp_path, algo, policy):
    model = algo(policy, make(), n_steps=EPISODE, batch_size=128, n_epochs=2, ent_coef=0.01, seed=0)
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(4 * N_ENVS * EPISODE, callback=CraftaxAchievementCallback())
    assert model.num_timesteps == 4 * N_ENVS * EPISODE
    with open(tmp_path / "progress.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 4
    for row in rows:
        assert int(float(row["craftax/episodes"])) >= N_ENVS  # every episode ends within a rollout
        rates = [float(row[f"craftax/{name}"]) for name in achievement_names()]
        assert all(0.0 <= rate <= 1.0 for rate in rates)
        assert float(row["craftax/score"]) == pytest.approx(crafter_score(np.array(rates)), abs=1e-4)
    assert float(rows[-1]["rollout/ep_len_mean"]) <= EPISODE
    model.save(tmp_path / "model")
    loaded = algo.load(tmp_path / "model", env=make())
    assert loaded.policy.observation_space.shape == (1345,)


def test_zoo_cli_trains_on_craftax(tmp_path):
    conf = Path(__file__).parents[1] / "hyperparams" / "gtr_ppo_recurrent_craftax_cpu.yml"
    args = ["train", "--algo", "gtr_ppo_recurrent", "--env", CLASSIC, "-conf", str(conf), "-n", str(2 * N_ENVS * EPISODE)]
    args += ["-f", "logs", "--seed", "0", "--eval-freq", "-1", "--env-kwargs", f"max_timesteps:{EPISODE}"]
    args += ["--hyperparams", f"n_envs:{N_ENVS}", f"n_steps:{EPISODE}", "batch_size:128", "-tb", "tb"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "sb3_gtr.zoo", *args], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = tmp_path / "logs" / "gtr_ppo_recurrent" / "sb3_gtr-Craftax-Classic-Symbolic-v1_1"  # the zoo's name for the id
    assert (run / "sb3_gtr-Craftax-Classic-Symbolic-v1.zip").is_file()
    # The logger's table: the craftax/ group with its achievements and score
    assert "| craftax/" in result.stdout and "|    collect_wood" in result.stdout and "|    score" in result.stdout
    assert list(run.glob("*.monitor.csv"))  # the zoo's monitor file, from VecMonitor


def test_bad_input():
    with pytest.raises(ValueError, match="Unknown Craftax env_id 'Craftax-Pixels-v1': use one of"):
        CraftaxVecEnv("Craftax-Pixels-v1")
    with pytest.raises(ValueError, match="num_envs"):
        CraftaxVecEnv(num_envs=0)
    with pytest.raises(ValueError, match=r"reset_ratio must divide num_envs \(8\): one of \[1, 2, 4, 8\], got 3"):
        CraftaxVecEnv(num_envs=8, reset_ratio=3)
    with pytest.raises(ValueError, match="reset_ratio"):
        CraftaxVecEnv(num_envs=8, reset_ratio=0)
    env = make()
    env.reset()
    with pytest.raises(ValueError, match=r"actions must be integers in \[0, 17\).*\[17\]"):
        env.step(np.array([0] * (N_ENVS - 1) + [17]))
    with pytest.raises(ValueError, match=r"actions must have shape \(8,\)"):
        env.step(np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="render_mode"):
        import gymnasium as gym

        gym.make(CLASSIC, render_mode="human")


def test_missing_extra_says_which_to_install():
    # Without craftax: sb3_gtr imports, its ids are registered, and using one names the extra
    code = (
        "import sys; sys.modules['craftax'] = None\n"
        "import gymnasium, sb3_gtr\n"
        f"assert {CLASSIC!r} in gymnasium.registry\n"
        "try:\n"
        f"    gymnasium.make({CLASSIC!r})\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert "install it with pip install 'sb3-gtr[craftax]'" in result.stdout
