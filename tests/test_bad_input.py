"""
Bad input to the algorithms, a table per way a user gives it: the constructors of ``GTRPPO`` and
``RecurrentGTRPPO``, ``load`` (with ``custom_objects`` and keyword arguments), the environment
(non-finite observations or rewards) and schedules that go wrong mid-run. Each row names the argument
and the message it must get; each error comes before any training step, with the weights untouched.

The continual tools and the benchmark commands have their own tables (``test_bad_input_continual.py``,
``test_bad_input_benchmarks.py``).
"""

import math
import warnings
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from sb3_gtr import GTRPPO, RecurrentGTRPPO
from sb3_gtr.common.gtr_mixin import NonFiniteEnvironmentError, NonFiniteLossError

SMALL = dict(n_steps=32, batch_size=16, n_epochs=2, seed=0, device="cpu")
ALGORITHMS = {"GTRPPO": (GTRPPO, "MlpPolicy"), "RecurrentGTRPPO": (RecurrentGTRPPO, "MlpLstmPolicy")}


def flat_parameters(model) -> th.Tensor:
    return th.cat([p.detach().flatten() for p in model.policy.parameters()])


def dips_negative(value: float, start: float, stop: float):
    """A schedule equal to ``value`` except on ``(stop, start)`` of the progress remaining, where it is -1."""
    return lambda progress: -1.0 if stop < progress < start else value


BAD_CONSTRUCTOR_ARGUMENTS = [
    # The GTR arguments
    (dict(penalty="gauss"), "`penalty`.*'gaussian', 'pearson', 'kl', 'none'"),
    (dict(sigma=0.0), "`sigma` must be strictly positive"),
    (dict(sigma=-1.0), "`sigma` must be strictly positive"),
    (dict(sigma=lambda progress: progress - 0.5), "`sigma` must be strictly positive"),
    (dict(sigma="wide"), "`sigma` must be a float or a schedule"),
    (dict(sigma=math.nan), "`sigma` must be strictly positive"),
    (dict(sigma=lambda progress: progress), r"`sigma` must be strictly positive and finite, got 0.0 at progress remaining 0"),
    (
        dict(sigma=dips_negative(0.5, 0.605, 0.4)),
        r"`sigma` must be strictly positive and finite, got -1.0 at progress remaining 0.6 ",
    ),
    (dict(sigma=lambda progress: "wide"), "`sigma` must be a strictly positive float or a schedule returning one"),
    (dict(sigma=lambda progress: 1 / 0), "The `sigma` schedule failed at progress remaining 1"),
    (dict(penalty_coef=-0.1), "`penalty_coef` must be non-negative"),
    (dict(penalty_coef=dips_negative(0.1, 0.305, 0.2)), "`penalty_coef` must be non-negative.*progress remaining 0.3 "),
    (dict(penalty_coef="adaptive"), "`penalty_coef`.*'advantage'"),
    (dict(anchor_window=0), "`anchor_window` must be None .* integer >= 1"),
    (dict(anchor_window=1.5), "`anchor_window`"),
    (dict(mixture_anchor="yes"), "`mixture_anchor` must be True or False"),
    (dict(clip_surrogate=None), "`clip_surrogate` must be True or False"),
    (dict(clip_range=0.0), "`clip_range` must be strictly positive"),
    (dict(clip_range=lambda progress: progress - 0.1), "`clip_range` must be strictly positive"),
    (dict(clip_range=dips_negative(0.2, 0.805, 0.7), penalty="none"), "`clip_range` must be .*remaining 0.8 "),
    (dict(n_epochs=0), "`n_epochs` must be an integer >= 1"),
    (dict(n_epochs=2.0), "`n_epochs` must be an integer >= 1"),
    # PPO's arguments, which SB3 checks inside training (or with a bare assert), or not at all
    (dict(n_steps=0), r"`n_steps` must be an integer >= 1 .*got 0"),
    (dict(n_steps=-4), r"`n_steps` must be an integer >= 1 .*got -4"),
    (dict(n_steps=32.0), r"`n_steps` must be an integer >= 1 .*got 32.0"),
    (dict(batch_size=0), r"`batch_size` must be an integer >= 2 \(advantages are normalised"),
    (dict(batch_size=1), r"`batch_size` must be an integer >= 2"),
    (dict(batch_size="16"), r"`batch_size` must be an integer"),
    (dict(learning_rate=-1e-3), "`learning_rate` must be non-negative"),
    (dict(learning_rate=0.0), "`learning_rate` must be strictly positive at the start"),
    (dict(learning_rate=dips_negative(1e-3, 0.505, 0.45)), "`learning_rate` must be non-negative.*remaining 0.5 "),
    (dict(gamma=1.5), r"`gamma` must be a finite number >= 0 and <= 1, got 1.5"),
    (dict(gamma=-0.1), r"`gamma` must be a finite number >= 0 and <= 1"),
    (dict(gae_lambda=math.nan), r"`gae_lambda` must be a finite number >= 0 and <= 1"),
    (dict(clip_range_vf=0.0), "`clip_range_vf` must be strictly positive"),
    (dict(ent_coef=math.inf), "`ent_coef` must be a finite number"),
    (dict(ent_coef="auto"), "`ent_coef` must be a finite number"),
    (dict(vf_coef=-0.5), "`vf_coef` must be non-negative"),
    (dict(max_grad_norm=0.0), r"`max_grad_norm` must be strictly positive \(float\('inf'\): no clipping\)"),
    (dict(max_grad_norm=math.nan), "`max_grad_norm` must be strictly positive"),
    (dict(target_kl=0.0), "`target_kl` must be strictly positive"),
    (dict(normalize_advantage="yes"), "`normalize_advantage` must be True or False"),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("kwargs, match", BAD_CONSTRUCTOR_ARGUMENTS)
def test_bad_arguments_fail_before_anything_is_built(algorithm, kwargs, match):
    algorithm_class, policy = ALGORITHMS[algorithm]
    # The environment id does not exist: the argument check must come first
    with pytest.raises(ValueError, match=match):
        algorithm_class(policy, "NoSuchEnv-v0", **kwargs)


def test_recurrent_batch_size_none_is_the_whole_rollout():
    # RecurrentPPO's own convention; GTRPPO (like PPO) needs an integer
    model = RecurrentGTRPPO("MlpLstmPolicy", "CartPole-v1", n_steps=16, batch_size=None, n_epochs=2, device="cpu")
    model.learn(32)
    assert model.num_timesteps == 32
    with pytest.raises(ValueError, match=r"`batch_size` must be an integer >= 2 .*got None"):
        GTRPPO("MlpPolicy", "NoSuchEnv-v0", batch_size=None)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(sigma=np.float32(0.5), penalty_coef=np.float32(0.1)),
        dict(clip_range=np.float32(0.2), learning_rate=np.float32(3e-4), clip_range_vf=np.float32(0.5)),
        dict(n_steps=np.int64(32), batch_size=np.int32(16), n_epochs=np.int64(2)),
    ],
)
def test_numpy_numbers_are_accepted(kwargs, tmp_path):
    # SB3's FloatSchedule asserts on np.float32 with a message about the learning rate; numbers become floats first
    model = GTRPPO("MlpPolicy", "CartPole-v1", **{**SMALL, **kwargs}).learn(64)
    model.save(tmp_path / "model.zip")
    assert GTRPPO.load(tmp_path / "model.zip", device="cpu").num_timesteps == 64


def test_schedule_going_wrong_between_check_points_stops_before_the_update():
    """Schedules are checked at 101 points before training; one that dips between them is caught at its update."""
    sigma = dips_negative(0.5, 0.489, 0.485)
    model = GTRPPO("MlpPolicy", "CartPole-v1", sigma=sigma, **SMALL)
    with pytest.raises(ValueError, match=r"`sigma` must be strictly positive and finite, got -1.0 at progress.*unchanged"):
        # 1,000 steps in rollouts of 32: the update after 512 steps runs at progress 0.488, between 0.49 and 0.48
        model.learn(1000)
    before = flat_parameters(model)
    assert model.num_timesteps == 512 and th.all(th.isfinite(before))


def test_schedules_never_see_negative_progress():
    """The last rollout overshoots the budget (96 > 80): schedules are defined on [1, 0] and get 0, not -0.2."""
    seen = []

    def sigma(progress):
        seen.append(progress)
        return 0.5

    GTRPPO("MlpPolicy", "CartPole-v1", sigma=sigma, **SMALL).learn(80)
    assert min(seen) == 0.0


class NaNAfter(gym.Wrapper):
    """CartPole whose observations (or rewards) turn into NaN after ``nan_after`` steps."""

    def __init__(self, nan_after: int, what: str, env_id: str = "CartPole-v1"):
        super().__init__(gym.make(env_id))
        self.nan_after, self.what, self.n_steps = nan_after, what, 0

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.n_steps += 1
        if self.n_steps > self.nan_after:
            if self.what == "observation":
                observation = np.full_like(observation, np.nan)
            else:
                reward = math.nan
        return observation, reward, terminated, truncated, info


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
@pytest.mark.parametrize(
    "what, match",
    [
        ("observation", r"non-finite observation \(NaN or inf\) at timestep 41"),
        ("reward", r"non-finite reward \(nan\) at step 8 of the rollout ending at timestep 64"),
    ],
)
def test_non_finite_environment_output(algorithm, env_id, what, match, tmp_path):
    algorithm_class, policy = ALGORITHMS[algorithm]
    model = algorithm_class(policy, NaNAfter(40, what, env_id), **SMALL)
    with pytest.raises(NonFiniteEnvironmentError, match=match):
        model.learn(256)
    # One update ran on the first, finite rollout; nothing non-finite reached the weights
    assert model._n_updates == SMALL["n_epochs"]
    model.save(tmp_path / "still_finite.zip")


def test_non_finite_policy_is_reported_as_such():
    model = GTRPPO("MlpPolicy", "CartPole-v1", **SMALL)
    with th.no_grad():
        model.policy.action_net.weight[0, 0] = math.nan
    with pytest.raises(NonFiniteLossError, match=r"parameters action_net.weight contain NaN"):
        model.learn(64)


@pytest.fixture(scope="module")
def saved_agents(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agents")
    paths = {}
    for name, model in (
        ("GTRPPO", GTRPPO("MlpPolicy", "CartPole-v1", **SMALL)),
        ("RecurrentGTRPPO", RecurrentGTRPPO("MlpLstmPolicy", "CartPole-v1", **SMALL)),
        ("PPO", PPO("MlpPolicy", "CartPole-v1", **SMALL)),
        ("RecurrentPPO", RecurrentPPO("MlpLstmPolicy", "CartPole-v1", **SMALL)),
    ):
        paths[name] = folder / f"{name}.zip"
        model.save(paths[name])
    return paths


@pytest.mark.parametrize(
    "algorithm, saved, match",
    [
        ("GTRPPO", "PPO", r"saved by another algorithm than GTRPPO .*stable_baselines3.PPO.load.*load_into_gtr"),
        ("RecurrentGTRPPO", "RecurrentPPO", r"than RecurrentGTRPPO .*sb3_contrib.RecurrentPPO.load.*load_into_gtr"),
        ("GTRPPO", "RecurrentGTRPPO", r"holds a RecurrentGTRPPO agent .*not a GTRPPO one: load it with RecurrentGTRPPO.load"),
        ("RecurrentGTRPPO", "GTRPPO", r"holds a GTRPPO agent .*not a RecurrentGTRPPO one: load it with GTRPPO.load"),
    ],
)
def test_load_refuses_another_algorithm(saved_agents, algorithm, saved, match):
    with pytest.raises(ValueError, match=match):
        ALGORITHMS[algorithm][0].load(saved_agents[saved], device="cpu")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "load_kwargs, match",
    [
        (dict(custom_objects=dict(sigma=-1)), "`sigma` must be strictly positive"),
        (dict(sigma=-1), "`sigma` must be strictly positive"),
        (dict(custom_objects=dict(penalty="gauss")), "`penalty`"),
        (dict(custom_objects=dict(n_steps=0)), "`n_steps` must be an integer >= 1"),
        (dict(batch_size=0), "`batch_size` must be an integer >= 2"),
        (dict(clip_range=lambda progress: progress - 0.5), "`clip_range` must be strictly positive"),
    ],
)
def test_load_checks_what_it_sets(saved_agents, algorithm, load_kwargs, match):
    with pytest.raises(ValueError, match=match):
        ALGORITHMS[algorithm][0].load(saved_agents[algorithm], device="cpu", **load_kwargs)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_load_from_a_file_object(saved_agents, algorithm):
    # The class check reads the zip once before SB3 reads it again: a file object must survive both
    with open(saved_agents[algorithm], "rb") as file:
        model = ALGORITHMS[algorithm][0].load(file, device="cpu")
    assert model.n_steps == SMALL["n_steps"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_load_for_prediction_only(saved_agents, algorithm):
    """The zoo's enjoy / record-video load with a learning rate and clip range of 0: predicting works, training stops."""
    zoo_custom_objects = {"learning_rate": 0.0, "lr_schedule": lambda _: 0.0, "clip_range": lambda _: 0.0}
    model = ALGORITHMS[algorithm][0].load(saved_agents[algorithm], custom_objects=zoo_custom_objects, device="cpu")
    model.predict(model.observation_space.sample())
    model.set_env(gym.make("CartPole-v1"))
    before = flat_parameters(model)
    with pytest.raises(ValueError, match=r"`clip_range` must be strictly positive .*got 0.0 at progress.*unchanged"):
        model.learn(64)
    assert th.equal(before, flat_parameters(model))


BAD_BASE_ARGUMENTS = [
    (dict(policy="NoPolicy"), r"Unknown `policy` 'NoPolicy': use one of .*Mlp.*Policy"),
    (dict(policy=None), r"`policy` must be a policy alias .* or a subclass of stable_baselines3's BasePolicy, got None"),
    (dict(policy=dict), r"`policy` must be a policy alias"),
    (dict(seed=-1), r"`seed` must be None or an integer in \[0, 2\*\*32 - 1\], got -1"),
    (dict(seed=2**40), r"`seed` must be None or an integer"),
    (dict(seed=1.5), r"`seed` must be None or an integer"),
    (dict(device="foo"), r"`device` must be 'auto', 'cpu', 'cuda'"),
    (dict(stats_window_size=0), r"`stats_window_size` must be a positive integer"),
    (dict(stats_window_size="a"), r"`stats_window_size` must be a positive integer"),
    (dict(use_sde="yes"), r"`use_sde` must be True or False"),
    (dict(sde_sample_freq="x"), r"`sde_sample_freq` must be an integer"),
    (dict(verbose="x"), r"`verbose` must be an integer >= 0"),
    (dict(verbose=-1), r"`verbose` must be an integer >= 0"),
    (dict(tensorboard_log=123), r"`tensorboard_log` must be None or a folder path"),
    (dict(policy_kwargs=[1]), r"`policy_kwargs` must be a dict or None"),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("kwargs, match", BAD_BASE_ARGUMENTS)
def test_bad_base_arguments(algorithm, kwargs, match):
    algorithm_class, policy = ALGORITHMS[algorithm]
    kwargs = {"policy": policy, **kwargs}
    with pytest.raises(ValueError, match=match):
        algorithm_class(env="NoSuchEnv-v0", **kwargs)


@pytest.mark.parametrize(
    "algorithm, policy, match",
    [
        ("GTRPPO", "MlpLstmPolicy", r"Unknown `policy` 'MlpLstmPolicy'.*belong to RecurrentGTRPPO"),
        ("RecurrentGTRPPO", "MlpPolicy", r"Unknown `policy` 'MlpPolicy'.*feed-forward policies belong to GTRPPO"),
    ],
)
def test_policy_of_the_other_algorithm(algorithm, policy, match):
    with pytest.raises(ValueError, match=match):
        ALGORITHMS[algorithm][0](policy, "NoSuchEnv-v0")


def test_missing_env_and_buffer_class(tmp_path):
    with pytest.raises(ValueError, match=r"`env` must be an environment.*got None"):
        GTRPPO("MlpPolicy", None)
    with pytest.raises(ValueError, match=r"`rollout_buffer_class` must be None or a rollout buffer class"):
        GTRPPO("MlpPolicy", "NoSuchEnv-v0", rollout_buffer_class=dict)
    with pytest.raises(ValueError, match=r"`rollout_buffer_kwargs` must be a dict or None"):
        GTRPPO("MlpPolicy", "NoSuchEnv-v0", rollout_buffer_kwargs=[1])
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"`tensorboard_log` .* is a file, not a folder"):
        GTRPPO("MlpPolicy", "NoSuchEnv-v0", tensorboard_log=str(tmp_path / "file"))


def test_cuda_without_a_gpu_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GTRPPO("MlpPolicy", "CartPole-v1", device="cuda", n_steps=32, batch_size=16)
    warned = any("`device` 'cuda' was asked for, but CUDA is not available" in str(one.message) for one in caught)
    # SB3 falls back to the CPU silently; a machine with CUDA trains on it and needs no warning
    assert warned == (not th.cuda.is_available())


BAD_LEARN_ARGUMENTS = [
    (dict(total_timesteps=0), r"`total_timesteps` must be an integer >= 1, got 0"),
    (dict(total_timesteps=-1), r"`total_timesteps` must be an integer >= 1, got -1"),
    (dict(total_timesteps=64.5), r"`total_timesteps` must be an integer >= 1, got 64.5 \(float\)"),
    (dict(total_timesteps=math.nan), r"`total_timesteps` must be an integer >= 1"),
    (dict(total_timesteps="64"), r"`total_timesteps` must be an integer >= 1, got '64'"),
    (dict(total_timesteps=None), r"`total_timesteps` must be an integer >= 1, got None"),
    (dict(callback=123), r"`callback` must be None, a BaseCallback, a callable"),
    (dict(callback=[None]), r"`callback` must be None, a BaseCallback, a callable"),
    (dict(callback=BaseCallback), r"`callback` must be a callback instance, got the class BaseCallback"),
    (dict(log_interval=0), r"`log_interval` must be a positive integer"),
    (dict(log_interval="x"), r"`log_interval` must be a positive integer"),
    (dict(tb_log_name="../x"), r"`tb_log_name` must be a run name"),
    (dict(tb_log_name=123), r"`tb_log_name` must be a run name"),
    (dict(progress_bar="yes"), r"`progress_bar` must be True or False"),
    (dict(reset_num_timesteps="no"), r"`reset_num_timesteps` must be True or False"),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("kwargs, match", BAD_LEARN_ARGUMENTS)
def test_bad_learn_arguments(algorithm, kwargs, match):
    algorithm_class, policy = ALGORITHMS[algorithm]
    model = algorithm_class(policy, "CartPole-v1", **SMALL)
    with pytest.raises(ValueError, match=match):
        model.learn(**{"total_timesteps": 64, **kwargs})
    assert model.num_timesteps == 0


def test_integral_float_budget_is_accepted():
    # learn(1e5) is common in user code and in the zoo's YAML
    assert GTRPPO("MlpPolicy", "CartPole-v1", **SMALL).learn(64.0).num_timesteps == 64


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_learn_without_an_env(saved_agents, algorithm):
    model = ALGORITHMS[algorithm][0].load(saved_agents[algorithm], device="cpu")
    with pytest.raises(ValueError, match=r"has no environment to learn from: pass `env` to load\(\) or call set_env"):
        model.learn(64)


def test_load_refuses_unknown_keywords_and_bad_files(saved_agents, tmp_path):
    with pytest.raises(TypeError, match=r"GTRPPO.load got unknown keyword argument\(s\) 'sigam'; allowed: .*'sigma'"):
        GTRPPO.load(saved_agents["GTRPPO"], sigam=0.1)
    with pytest.raises(FileNotFoundError, match=r"No saved agent at .*missing or .*missing.zip"):
        GTRPPO.load(tmp_path / "missing")
    (tmp_path / "text.zip").write_text("hello")
    with pytest.raises(ValueError, match=r"text.zip' is not a zip file written by save\(\)"):
        GTRPPO.load(tmp_path / "text.zip")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("notes.txt", "not an agent")
    with pytest.raises(ValueError, match=r"other.zip' is a zip file without a saved agent"):
        GTRPPO.load(tmp_path / "other.zip")


def test_save_refuses_bad_paths_and_arguments(tmp_path):
    model = GTRPPO("MlpPolicy", "CartPole-v1", **SMALL)
    # save("model") writes model.zip (SB3's convention, which the zoo relies on, next to its folder "model")
    (tmp_path / "model.zip").mkdir()
    with pytest.raises(ValueError, match=r"`path` .*model.zip' is a folder .*: give a file name"):
        model.save(tmp_path / "model.zip")
    (tmp_path / "model.zip").rmdir()
    with pytest.raises(ValueError, match=r"`exclude` must be None or a list of attribute names, got 'policy'"):
        model.save(tmp_path / "model.zip", exclude="policy")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"Cannot save to .*file/model.zip.*cannot create its folder"):
        model.save(tmp_path / "file" / "model.zip")
    assert not (tmp_path / "model.zip").exists()


def test_set_parameters_refuses_non_finite_weights():
    model = GTRPPO("MlpPolicy", "CartPole-v1", **SMALL)
    parameters = model.get_parameters()
    next(iter(parameters["policy"].values()))[0] = math.nan
    with pytest.raises(ValueError, match=r"Refusing parameters: the policy parameter .* contains NaN"):
        model.set_parameters(parameters)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_predict_on_a_non_finite_observation(algorithm):
    algorithm_class, policy = ALGORITHMS[algorithm]
    model = algorithm_class(policy, "CartPole-v1", **SMALL)
    with pytest.raises(NonFiniteEnvironmentError, match=r"The observation given to predict\(\) contains NaN or inf"):
        model.predict(np.full(4, np.nan, dtype=np.float32))


def test_update_that_breaks_the_policy_says_what_was_applied():
    """A learning rate far too large: the first step gives finite but absurd weights, the next forward pass NaN."""
    model = GTRPPO("MlpPolicy", "Pendulum-v1", learning_rate=1e30, **SMALL)
    with pytest.raises(NonFiniteLossError, match=r"undefined in the update at epoch 0, minibatch 1, after 1 optimizer step"):
        model.learn(256)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "policy_kwargs, error",
    [
        (dict(net_arch=[-1]), "RuntimeError"),
        (dict(activation_fn="relu"), "TypeError"),
        (dict(net_arch="x"), "TypeError"),
    ],
)
def test_sb3_policy_kwargs_name_the_policy(algorithm, policy_kwargs, error):
    """SB3's own policies fail in torch on these; the message says which policy and policy_kwargs it was."""
    algorithm_class, policy = ALGORITHMS[algorithm]
    with pytest.raises(ValueError, match=rf"Cannot build {algorithm} with the policy \w+, policy_kwargs .*: {error}"):
        algorithm_class(policy, "CartPole-v1", policy_kwargs=policy_kwargs, **SMALL)


def test_bad_rollout_buffer_kwargs_are_named():
    with pytest.raises(ValueError, match=r"rollout_buffer_kwargs \{'bad': 1\}: TypeError: .*'bad'"):
        GTRPPO("MlpPolicy", "CartPole-v1", rollout_buffer_kwargs={"bad": 1}, **SMALL)
