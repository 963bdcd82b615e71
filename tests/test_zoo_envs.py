"""The packaged zoo YAML beyond classic control: dm_control, procgen, the continual suites, and the ids behind them."""

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import rl_zoo3.import_envs  # noqa: F401  (the zoo's own ids: CartPoleNoVel-v1 ...)
import yaml
from rl_zoo3.utils import get_callback_list, get_wrapper_class
from stable_baselines3.common.env_util import make_vec_env
from torch import nn

from sb3_gtr import GTRPPO, RecurrentGTRPPO
from sb3_gtr.continual.adapters.wrappers import import_quietly
from sb3_gtr.continual.callbacks import ContinualTaskCallback
from sb3_gtr.continual.env import ContinualTaskEnv
from sb3_gtr.continual.suites import SUITES, make_suite
from sb3_gtr.continual.vec_env import make_continual_vec_env
from sb3_gtr.networks.impala_cnn import ImpalaCnnActorCriticPolicy, ImpalaCnnExtractor
from sb3_gtr.networks.task_routed import TaskRoutedActorCriticPolicy
from sb3_gtr.registration import PROCGEN_STARPILOT_ID, continual_env_id
from sb3_gtr.zoo.cli import check_gtr_hyperparams, default_conf_file

ALGOS = {"gtr_ppo": GTRPPO, "gtr_ppo_recurrent": RecurrentGTRPPO}
DMC_IDS = [f"dm_control/walker-{task}-v0" for task in ("stand", "walk", "run")]
DMC_IDS += [f"dm_control/dog-{task}-v0" for task in ("stand", "walk", "run", "trot")]
MUJOCO_IDS = ["HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Humanoid-v5"]


def entries(algo: str) -> dict:
    return {
        key: value
        for key, value in yaml.safe_load(default_conf_file(algo).read_text()).items()
        if not key.endswith("-defaults")
    }


def zoo_policy_kwargs(entry: dict) -> dict:
    """``policy_kwargs`` as the zoo evaluates them (a string of Python, with ``nn`` in scope)."""
    value = entry.get("policy_kwargs", {})
    return eval(value, {"nn": nn}) if isinstance(value, str) else dict(value)


def test_registered_ids():
    # `import sb3_gtr` alone registers the ids (checked in a fresh interpreter)
    code = "import gymnasium, sb3_gtr; assert 'sb3_gtr/continual-flip-v0' in gymnasium.registry"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)
    import_quietly("shimmy")
    for suite in SUITES:
        assert continual_env_id(suite) in gym.registry
    for env_id in (PROCGEN_STARPILOT_ID, *DMC_IDS):
        assert env_id in gym.registry


@pytest.mark.parametrize("algo", list(ALGOS))
def test_every_entry_names_what_the_zoo_and_the_algorithm_know(algo):
    import_quietly("shimmy")
    found = entries(algo)
    expected = ["CartPole-v1", "Pendulum-v1", *MUJOCO_IDS, *DMC_IDS, PROCGEN_STARPILOT_ID]
    expected += [
        continual_env_id(suite)
        for suite in SUITES
        if suite not in ("mujoco-cross", "mujoco-cross-reverse")  # the task-routed policy has no recurrent version
    ]
    if algo == "gtr_ppo":  # the task-routed policy has no recurrent version
        expected += [continual_env_id("mujoco-cross"), continual_env_id("mujoco-cross-reverse")]
    assert set(expected) <= set(found), sorted(set(expected) - set(found))
    defaults = inspect.signature(ALGOS[algo].__init__).parameters
    for env_id, entry in found.items():
        assert env_id in gym.registry, env_id
        # Every entry carries the algorithm's own GTR defaults (a change of default must reach the YAML)
        for key in ("penalty", "sigma", "penalty_coef", "mixture_anchor", "anchor_window", "clip_surrogate"):
            assert entry[key] == defaults[key].default, (env_id, key)
        check_gtr_hyperparams(algo, env_id, default_conf_file(algo))
        assert entry["policy"] in ALGOS[algo].policy_aliases, (env_id, entry["policy"])
        zoo_policy_kwargs(entry)
        get_wrapper_class(entry)  # imports the wrapper's path
        callbacks = get_callback_list(entry)
        if env_id.startswith("sb3_gtr/continual-"):
            # The continual entries switch tasks with the callback and budget the whole sequence at scale 1
            assert [type(callback) for callback in callbacks] == [ContinualTaskCallback]
            suite = env_id.removeprefix("sb3_gtr/continual-").removesuffix("-v0")
            sequence = make_suite(suite)
            assert entry["n_timesteps"] == sequence.total_timesteps, env_id
            if entry["policy"] == "TaskRoutedPolicy":
                # The YAML repeats none of the bodies' sizes: the padded observation space records them
                assert zoo_policy_kwargs(entry) == sequence.policy_kwargs == {}
        if env_id.startswith("dm_control/"):
            assert entry["env_wrapper"] == "sb3_gtr.continual.adapters.wrappers.FlattenObservationFloat32"
    if algo == "gtr_ppo":
        for env_id in (*DMC_IDS, continual_env_id("dmc-walker")):
            assert found[env_id]["policy"] == "SimbaPolicy"
        assert found[PROCGEN_STARPILOT_ID]["policy"] == "ImpalaCnnPolicy"


@pytest.mark.parametrize(
    ("algo", "env_id"),
    [
        ("gtr_ppo", "dm_control/walker-walk-v0"),
        ("gtr_ppo_recurrent", "dm_control/walker-walk-v0"),
        ("gtr_ppo", PROCGEN_STARPILOT_ID),
        ("gtr_ppo_recurrent", PROCGEN_STARPILOT_ID),
        ("gtr_ppo", continual_env_id("mujoco-cross")),
    ],
)
def test_entry_builds_and_trains(algo, env_id):
    """The entry's policy, policy_kwargs and wrapper build a model that trains (small rollout, one env)."""
    import_quietly("shimmy")
    entry = entries(algo)[env_id]
    wrapper = get_wrapper_class(entry)
    env_kwargs = {"scale": 1e-4} if env_id.startswith("sb3_gtr/continual-") else {}
    env = make_vec_env(env_id, n_envs=1, seed=0, wrapper_class=wrapper, env_kwargs=env_kwargs)
    model = ALGOS[algo](entry["policy"], env, policy_kwargs=zoo_policy_kwargs(entry), n_steps=32, batch_size=16, seed=0)
    if entry["policy"] == "ImpalaCnnPolicy":
        assert isinstance(model.policy, ImpalaCnnActorCriticPolicy)
        assert isinstance(model.policy.features_extractor, ImpalaCnnExtractor)
    if entry["policy"] == "TaskRoutedPolicy":
        assert isinstance(model.policy, TaskRoutedActorCriticPolicy)
    model.learn(32)
    assert model.num_timesteps == 32
    env.close()


def test_impala_cnn_policy_defaults():
    env = gym.make(PROCGEN_STARPILOT_ID)
    model = GTRPPO("ImpalaCnnPolicy", env, n_steps=16, batch_size=16)
    # The heads sit directly on the 256 IMPALA features (Appendix C) unless net_arch is given
    assert model.policy.features_extractor.features_dim == 256
    assert model.policy.action_net.in_features == 256 and model.policy.value_net.in_features == 256
    other = GTRPPO("ImpalaCnnPolicy", env, n_steps=16, batch_size=16, policy_kwargs={"net_arch": [32]})
    assert other.policy.action_net.in_features == 32


def test_procgen_renders_rgb_array():
    env = gym.make(PROCGEN_STARPILOT_ID, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] >= 64
    env.close()


def test_continual_env_id_builds_the_suite():
    env = gym.make(continual_env_id("flip"), scale=0.01, n_cycles=1, task_max_episode_steps=7)
    sequence = env.get_wrapper_attr("sequence")
    assert isinstance(env.unwrapped, ContinualTaskEnv) and sequence.name == "flip" and sequence.n_cycles == 1
    assert sequence.total_timesteps == 2 * 2000
    env.reset(seed=0)
    steps = 0
    truncated = terminated = False
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
    assert steps == 7  # the tasks' episode length, not a limit of gymnasium.make around the whole env
    env.close()


def test_callback_reads_the_sequence_from_the_env(tmp_path):
    env = make_continual_vec_env(make_suite("flip", scale=0.0005, n_cycles=1, max_episode_steps=20), n_envs=2, seed=0)
    callback = ContinualTaskCallback(eval_freq=0, n_eval_episodes=1, log_dir=str(tmp_path))
    model = GTRPPO("MlpPolicy", env, n_steps=50, batch_size=50, n_epochs=1, seed=0)
    model.learn(10_000, callback=callback)  # stops at the end of the sequence
    assert callback.sequence.name == "flip" and [phase.task_id for phase in callback.phases] == [0, 1]
    assert model.num_timesteps == 200
    assert (tmp_path / "metrics.json").is_file()

    plain = make_vec_env("Pendulum-v1", n_envs=1)
    with pytest.raises(ValueError, match="needs `sequence`"):
        GTRPPO("MlpPolicy", plain, n_steps=16, batch_size=16).learn(16, callback=ContinualTaskCallback())


def zoo(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "sb3_gtr.zoo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_zoo_trains_a_continual_suite(tmp_path):
    """The packaged entry through the real CLI: the callback switches tasks and stops at the end of the sequence."""
    env_kwargs = ["scale:0.0025", "n_cycles:1", "task_max_episode_steps:50"]
    zoo(
        "train", "--algo", "gtr_ppo", "--env", continual_env_id("flip"), "-f", "logs", "--seed", "0",
        "--tensorboard-log", "tb", "--env-kwargs", *env_kwargs, "-params", "n_steps:100", "batch_size:50", "n_epochs:2",
        cwd=tmp_path,
    )  # fmt: skip
    run = tmp_path / "logs" / "gtr_ppo" / "sb3_gtr-continual-flip-v0_1"
    assert (run / "sb3_gtr-continual-flip-v0.zip").is_file(), list(run.iterdir())
    metrics_files = list((tmp_path / "tb").rglob("metrics.json"))
    assert len(metrics_files) == 1, list((tmp_path / "tb").rglob("*"))
    metrics = json.loads(metrics_files[0].read_text())
    # 500 steps per task at scale 0.0025, one cycle: forward then backward, and training stopped there
    assert [phase["task_id"] for phase in metrics["phases"]] == [0, 1]
    assert metrics["phases"][-1]["end"] == 1000


def test_zoo_trains_dm_control(tmp_path):
    zoo(
        "train", "--algo", "gtr_ppo", "--env", "dm_control/walker-walk-v0", "-n", "128", "-f", "logs", "--seed", "0",
        "-params", "n_steps:64", "batch_size:32", "n_epochs:1", cwd=tmp_path,
    )  # fmt: skip
    assert list((tmp_path / "logs" / "gtr_ppo").rglob("*.zip"))
