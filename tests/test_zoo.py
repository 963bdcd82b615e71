"""The RL Zoo integration, driven through the real command line (``python -m sb3_gtr.zoo``) in a temporary folder."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml
from rl_zoo3 import hyperparams_opt, utils

from sb3_gtr import GTRPPO, RecurrentGTRPPO
from sb3_gtr.zoo import convert_gtr_params, register_with_zoo, sample_gtr_ppo_params
from sb3_gtr.zoo.cli import check_gtr_hyperparams, default_conf_file, prepare_train_args, run_command
from sb3_gtr.zoo.samplers import sample_gtr_ppo_recurrent_params

# Small enough that a training run takes a few seconds
TINY = ["-params", "n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:2"]
# Seeds whose first random trial samples a short rollout and few gradient steps (n_steps <= 128)
CHEAP_TRIAL_SEEDS = (15, 35)


def zoo(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m sb3_gtr.zoo ARGS`` in ``cwd``, one thread per process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "sb3_gtr.zoo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A GTRPPO CartPole agent trained by ``train`` with the packaged YAML; the folder it ran in."""
    folder = tmp_path_factory.mktemp("zoo")
    zoo("train", "--algo", "gtr_ppo", "--env", "CartPole-v1", "-n", "512", "-f", "logs", "--seed", "1", *TINY, cwd=folder)
    return folder


def test_register_with_zoo_is_idempotent():
    register_with_zoo()
    register_with_zoo()
    assert utils.ALGOS["gtr_ppo"] is GTRPPO
    assert utils.ALGOS["gtr_ppo_recurrent"] is RecurrentGTRPPO
    assert hyperparams_opt.HYPERPARAMS_SAMPLER["gtr_ppo"] is sample_gtr_ppo_params
    assert hyperparams_opt.HYPERPARAMS_SAMPLER["gtr_ppo_recurrent"] is sample_gtr_ppo_recurrent_params
    assert hyperparams_opt.HYPERPARAMS_CONVERTER["gtr_ppo"] is convert_gtr_params
    # The zoo's own algorithms are untouched
    assert utils.ALGOS["ppo"].__name__ == "PPO"


def test_registration_makes_algo_accepted(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    # The zoo alone refuses the name while parsing its arguments (rl_zoo3.cli needs seaborn: use rl_zoo3.train) ...
    result = subprocess.run(
        [sys.executable, "-m", "rl_zoo3.train", "--algo", "gtr_ppo", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "invalid choice: 'gtr_ppo'" in result.stderr
    # ... and accepts it once registered: parsing goes on to the environment check
    with pytest.raises(ValueError, match="not found in gym registry"):
        run_command("train", ["--algo", "gtr_ppo", "--env", "NoSuchEnv-v0", "-f", str(tmp_path)])


@pytest.mark.parametrize("sampler", [sample_gtr_ppo_params, sample_gtr_ppo_recurrent_params])
@pytest.mark.parametrize("policy", ["MlpPolicy", "SimbaPolicy"])
def test_samplers(sampler, policy):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.set_user_attr("policy", policy)
    seen_modes = set()
    for _ in range(20):
        trial = study.ask()
        params = sampler(trial, 1, 1, {})
        assert 0.1 <= params["sigma"] <= 2.0
        assert params["penalty_coef"] == "advantage" or isinstance(params["penalty_coef"], float)
        seen_modes.add(params["penalty_coef"] == "advantage")
        assert isinstance(params["clip_surrogate"], bool)
        assert params["anchor_window"] is None or 1 <= params["anchor_window"] <= params["n_epochs"]
        assert {"learning_rate", "n_steps", "batch_size", "gamma", "gae_lambda", "clip_range"} <= set(params)
        if policy == "SimbaPolicy" and sampler is sample_gtr_ppo_params:
            assert "net_arch" not in params["policy_kwargs"] and "critic_hidden_dim" in params["policy_kwargs"]
        else:
            assert "net_arch" in params["policy_kwargs"]
        # What `train --trial-id N` rebuilds from the study's raw parameters
        assert convert_gtr_params(trial.params) == params
    assert seen_modes == {True, False}


def test_packaged_yaml_entries():
    for algo in ("gtr_ppo", "gtr_ppo_recurrent"):
        entries = yaml.safe_load(default_conf_file(algo).read_text())
        assert "CartPole-v1" in entries and "Pendulum-v1" in entries
        for env_id in entries:
            if not env_id.endswith("-defaults"):
                # Only names the algorithm or the zoo knows (checked without building any environment)
                check_gtr_hyperparams(algo, env_id, default_conf_file(algo))
                assert entries[env_id]["penalty_coef"] == "advantage"
                # lin_* clip ranges reach 0 and are refused with the advantage-weighted coefficient
                assert not str(entries[env_id].get("clip_range", 0.2)).startswith("lin_")
    mujoco = yaml.safe_load(default_conf_file("gtr_ppo").read_text())
    for env_id in ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Humanoid-v5"):
        assert mujoco[env_id]["policy"] == "SimbaPolicy"


def test_conf_file_added_only_for_gtr_algos():
    args = prepare_train_args(["--algo", "gtr_ppo", "--env", "CartPole-v1"])
    assert args[-2:] == ["--conf-file", str(default_conf_file("gtr_ppo"))]
    assert "--conf-file" not in prepare_train_args(["--algo", "ppo", "--env", "CartPole-v1"])
    own = ["--algo", "gtr_ppo", "--env", "CartPole-v1", "-conf", str(default_conf_file("gtr_ppo"))]
    assert prepare_train_args(own) == ["--num-threads", "1", *own]
    assert "--optimize-hyperparameters" in prepare_train_args(["--algo", "gtr_ppo"], optimize=True)


@pytest.mark.parametrize("algo", ["gtr_ppo", "ppo"])
def test_one_torch_thread_unless_asked(algo):
    # The zoo's -1 keeps torch's one thread per core, 5-10x slower for parallel CPU jobs (docs/guide/zoo.rst)
    args = prepare_train_args(["--algo", algo, "--env", "CartPole-v1"])
    assert args[:2] == ["--num-threads", "1"]
    asked = ["--algo", algo, "--env", "CartPole-v1", "--num-threads", "-1"]
    assert prepare_train_args(asked)[: len(asked)] == asked
    assert prepare_train_args(asked).count("--num-threads") == 1


def test_clear_errors():
    with pytest.raises(SystemExit, match=r"no hyperparameters for 'Acrobot-v1'(.|\n)*Add an entry"):
        prepare_train_args(["--algo", "gtr_ppo", "--env", "Acrobot-v1"])
    with pytest.raises(SystemExit, match=r"unknown hyperparameter.*sigmaa"):
        prepare_train_args(["--algo", "gtr_ppo", "--env", "CartPole-v1", "-params", "sigmaa:0.3"])
    with pytest.raises(SystemExit, match="unknown command"):
        run_command("fly", [])


def test_train_then_enjoy(trained):
    run = trained / "logs" / "gtr_ppo" / "CartPole-v1_1"
    assert (run / "CartPole-v1.zip").is_file()
    config = dict(yaml.unsafe_load((run / "CartPole-v1" / "config.yml").read_text()))
    assert config["sigma"] == 0.5 and config["penalty_coef"] == "advantage" and config["n_steps"] == 64
    args = dict(yaml.unsafe_load((run / "CartPole-v1" / "args.yml").read_text()))
    assert args["conf_file"] == str(default_conf_file("gtr_ppo"))
    result = zoo("enjoy", "--algo", "gtr_ppo", "--env", "CartPole-v1", "-f", "logs", "--no-render", "-n", "200", cwd=trained)
    assert "Loading" in result.stdout and "gtr_ppo/CartPole-v1_1/CartPole-v1.zip" in result.stdout


def test_train_recurrent(tmp_path):
    zoo(
        "train", "--algo", "gtr_ppo_recurrent", "--env", "CartPole-v1", "-n", "256", "-f", "logs", "--seed", "1",
        "-params", "n_envs:2", "n_steps:32", "batch_size:32", "n_epochs:1",
        cwd=tmp_path,
    )  # fmt: skip
    assert (tmp_path / "logs" / "gtr_ppo_recurrent" / "CartPole-v1_1" / "CartPole-v1.zip").is_file()


def test_optimize_two_processes_share_a_study(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    common = ["--algo", "gtr_ppo", "--env", "CartPole-v1", "-n", "256", "-f", "logs", "--sampler", "random"]
    common += ["--pruner", "none", "--n-trials", "1", "--n-evaluations", "1", "--eval-episodes", "2", "--no-optim-plots"]
    common += ["--storage", storage, "--study-name", "s", "-params", "n_envs:1"]
    # Create the study first: two processes creating the same SQLite schema at once may race
    optuna.create_study(storage=storage, study_name="s", direction="maximize")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "sb3_gtr.zoo", "optimize", *common, "--seed", str(seed)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for seed in CHEAP_TRIAL_SEEDS
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, output[-3000:]
    study = optuna.load_study(storage=storage, study_name="s")
    trials = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(trials) == 2
    assert all({"sigma", "penalty_coef_mode", "clip_surrogate", "anchor_window_mode"} <= set(t.params) for t in trials)

    # Train with the hyperparameters of trial 1 (the zoo skips --trial-id 0: it tests `if trial_id`)
    zoo(
        "train", "--algo", "gtr_ppo", "--env", "CartPole-v1", "-n", "128", "-f", "best", "--seed", "1",
        "--storage", storage, "--study-name", "s", "--trial-id", "1", "-params", "n_envs:1",
        cwd=tmp_path,
    )  # fmt: skip
    config = dict(yaml.unsafe_load((tmp_path / "best/gtr_ppo/CartPole-v1_1/CartPole-v1/config.yml").read_text()))
    assert config["sigma"] == pytest.approx(study.trials[1].params["sigma"])


def test_optimize_with_n_jobs(tmp_path):
    """Two trials at once in one process (the zoo's --n-jobs runs Optuna's threads)."""
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    zoo(
        "optimize", "--algo", "gtr_ppo", "--env", "CartPole-v1", "-n", "256", "-f", "logs", "--sampler", "random",
        "--pruner", "none", "--n-trials", "2", "--n-jobs", "2", "--n-evaluations", "1", "--eval-episodes", "2",
        "--no-optim-plots", "--storage", storage, "--study-name", "threads", "--seed", str(CHEAP_TRIAL_SEEDS[0]),
        "-params", "n_envs:1", "n_steps:64", "batch_size:64", "n_epochs:2",
        cwd=tmp_path,
    )  # fmt: skip
    study = optuna.load_study(storage=storage, study_name="threads")
    assert len(study.get_trials(states=[optuna.trial.TrialState.COMPLETE])) == 2


def test_push_to_hub_then_load_from_hub(trained, tmp_path, monkeypatch):
    import huggingface_hub

    uploads = {}

    def create_repo(self, repo_id, **kwargs):
        return f"https://huggingface.co/{repo_id}"

    def snapshot_download(self, repo_id, local_dir, **kwargs):
        Path(local_dir).mkdir(parents=True, exist_ok=True)
        return str(local_dir)

    def upload_folder(self, repo_id, folder_path, **kwargs):
        uploads[repo_id] = sorted(path.name for path in Path(folder_path).iterdir())

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "snapshot_download", snapshot_download)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    logs = str(trained / "logs")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    push_args = ["--algo", "gtr_ppo", "--env", "CartPole-v1", "-f", logs, "-orga", "me", "--device", "cpu", "-n", "100"]
    run_command("push-to-hub", push_args)

    files = uploads["me/gtr_ppo-CartPole-v1"]
    assert {"README.md", "config.yml", "args.yml", "gtr_ppo-CartPole-v1.zip", "results.json", "replay.mp4"} <= set(files)
    repo = tmp_path / "hub" / "gtr_ppo-CartPole-v1"
    assert (repo / "replay.mp4").stat().st_size > 1000  # CartPole renders: the card gets a replay video
    readme = (repo / "README.md").read_text()
    assert "GTRPPO" in readme and "mean_reward" in readme and "sb3-gtr" in readme
    # Commands that know gtr_ppo
    assert "python -m sb3_gtr.zoo load-from-hub --algo gtr_ppo" in readme and "rl_zoo3.enjoy" not in readme

    # The download path, from that local folder instead of the Hub; then the agent plays
    from huggingface_hub.errors import EntryNotFoundError

    def hf_hub_download(repo_id, filename, **kwargs):
        path = tmp_path / "hub" / repo_id.split("/")[1] / filename
        if not path.is_file():
            raise EntryNotFoundError(f"{filename} not in {repo_id}")
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    monkeypatch.setenv("TRUST_REMOTE_CODE", "True")
    run_command("load-from-hub", ["--algo", "gtr_ppo", "--env", "CartPole-v1", "-f", "downloaded", "-orga", "me"])
    assert (tmp_path / "downloaded" / "gtr_ppo" / "CartPole-v1_1" / "CartPole-v1.zip").is_file()
    args = ["--algo", "gtr_ppo", "--env", "CartPole-v1", "-f", "downloaded", "--no-render", "-n", "50", "--device", "cpu"]
    run_command("enjoy", args)
    # ... and GTRPPO.load brings it back in user code
    model = GTRPPO.load(tmp_path / "downloaded" / "gtr_ppo" / "CartPole-v1_1" / "CartPole-v1.zip", device="cpu")
    assert model.sigma(1.0) == 0.5 and model.predict(np.zeros(4, dtype=np.float32), deterministic=True)[0] in (0, 1)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-n", "0"], "-n/--n-timesteps must be a positive number of steps, or -1 for the YAML entry's n_timesteps, got 0"),
        (["-n", "-5"], "-n/--n-timesteps must be a positive number of steps"),
        (["--num-threads", "0"], "--num-threads must be >= 1, or -1 for torch's default, got 0"),
        (["--device", "foo"], "--device must be auto, cpu, cuda or cuda:<index>, got 'foo'"),
        (["--n-trials", "0"], "--n-trials must be >= 1, got 0"),
        (["--storage", "notaurl"], "--storage must be a database URL"),
        (["-params", "sigma:lin_0.5"], "-params: every value must be a Python literal (SyntaxError"),
        (["-params", "penalty:gauss"], "-params: every value must be a Python literal"),
        (["-params", "n_envs:0"], "n_envs must be an integer >= 1, got 0"),
        (["-params", "n_envs:1.5"], "n_envs must be an integer >= 1, got 1.5"),
        (["-params", "frame_stack:-1"], "frame_stack must be an integer >= 1, got -1"),
        (["-params", "n_timesteps:-5"], "n_timesteps must be a number >= 1, got -5"),
        (["--conf-file", "missing.yml"], "--conf-file missing.yml does not exist"),
    ],
)
def test_train_arguments_refused_before_the_zoo_starts(extra, message):
    with pytest.raises(SystemExit) as exit_info:
        prepare_train_args(["--algo", "gtr_ppo", "--env", "CartPole-v1", *extra])
    assert message in str(exit_info.value)


@pytest.mark.parametrize(
    "content, message",
    [
        ("CartPole-v1: [1, 2\n", "is not valid YAML"),
        ("- 1\n- 2\n", "must map environment ids to hyperparameters"),
        ("CartPole-v1: 5\n", "the entry 'CartPole-v1' of"),
    ],
)
def test_conf_files_refused_with_their_name(tmp_path, content, message):
    conf_file = tmp_path / "mine.yml"
    conf_file.write_text(content)
    with pytest.raises(SystemExit, match=message) as exit_info:
        prepare_train_args(["--algo", "gtr_ppo", "--env", "CartPole-v1", "--conf-file", str(conf_file)])
    assert str(conf_file) in str(exit_info.value)
    (tmp_path / "folder.yml").mkdir()
    with pytest.raises(SystemExit, match="is a folder"):
        prepare_train_args(["--algo", "gtr_ppo", "--env", "CartPole-v1", "--conf-file", str(tmp_path / "folder.yml")])
