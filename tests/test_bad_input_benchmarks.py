"""
Every bad input of the benchmark command lines gets a clear answer: a one-line ``error: --flag ...`` (exit status 2)
before any job starts or any file is written; a job folder is used by one runner at a time; a signal stops the runner
and its workers, printing one line.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch as th

from sb3_gtr.benchmarks import continual, overhead, policies, sweep
from sb3_gtr.benchmarks.arguments import BadArgument
from sb3_gtr.benchmarks.jobs import job_config_json, job_dir, run_job
from sb3_gtr.benchmarks.methods import CONTINUAL_METHODS
from sb3_gtr.benchmarks.runner import LOCK_FILE, PROGRESS_FILE, JobLocked, lock_job_dir
from sb3_gtr.benchmarks.settings import job_settings

#: Flip at 500 steps per task, one cycle, 50-step episodes: every row below fails before a job would start.
CONTINUAL = [
    "--suite", "flip", "--methods", "ppo", "gtr", "--seeds", "0", "--scale", "0.0025", "--n-cycles", "1",
    "--suite-kwargs", '{"max_episode_steps": 50}', "--algo-kwargs", '{"n_steps": 100, "batch_size": 50}', "--quiet",
]  # fmt: skip
SWEEP = [
    "--suite", "flip", "--seeds", "100", "--n-trials", "1", "--scale", "0.0025", "--n-cycles", "1",
    "--suite-kwargs", '{"max_episode_steps": 50}', "--algo-kwargs", '{"n_steps": 100, "batch_size": 50}', "--quiet",
]  # fmt: skip
OVERHEAD = ["--env", "CartPole-v1", "--timesteps", "256", "--n-steps", "64", "--repeats", "1", "--quiet"]
POLICIES = ["--benchmarks", "simba", "--repeats", "1", "--timesteps", "64"]
PARSER_CHECK = "must be an integer >= 1, got"
#: An existing file, given where a folder is expected
A_FILE = os.path.abspath(__file__)
#: Shared hyperparameters of the base command, followed by a bad one
TINY = '{"n_steps": 100, "batch_size": 50, '
NO_CUDA_DEVICE = "there is no such CUDA device here (torch.cuda.is_available() is"


def _output_args(module, tmp_path):
    """Where each command would write: tmp_path itself, which must stay empty."""
    if module in (continual, sweep):
        return ["--output-dir", str(tmp_path)]
    return ["--output", str(tmp_path / module.__name__.rsplit(".", 1)[-1])]


#: (module, extra arguments, fragment of the error line). The extra arguments come after the base ones: argparse keeps
#: the last value of a repeated flag.
ROWS = [
    # continual: the parser
    (continual, ["--seeds", "0", "0"], "--seeds: 0 given more than once"),
    (continual, ["--methods", "gtr", "gtr"], "--methods: gtr given more than once"),
    (continual, ["--seeds", "-1"], "argument --seeds: a seed must be an integer in [0, 2147483647], got '-1'"),
    (continual, ["--n-envs", "0"], f"argument --n-envs: {PARSER_CHECK} '0'"),
    (continual, ["--jobs", "0"], f"argument --jobs: {PARSER_CHECK} '0'"),
    (continual, ["--n-eval-episodes", "0"], f"argument --n-eval-episodes: {PARSER_CHECK} '0'"),
    (continual, ["--eval-freq", "0"], f"argument --eval-freq: {PARSER_CHECK} '0'"),
    (continual, ["--eval-freq", "-5"], f"argument --eval-freq: {PARSER_CHECK} '-5'"),
    (continual, ["--n-cycles", "0"], f"argument --n-cycles: {PARSER_CHECK} '0'"),
    (continual, ["--num-threads", "0"], f"argument --num-threads: {PARSER_CHECK} '0'"),
    (continual, ["--scale", "0"], "argument --scale: must be a positive finite number, got '0'"),
    (continual, ["--scale", "-1"], "argument --scale: must be a positive finite number, got '-1'"),
    (continual, ["--scale", "nan"], "argument --scale: must be a positive finite number, got 'nan'"),
    (continual, ["--scale", "inf"], "argument --scale: must be a positive finite number, got 'inf'"),
    (continual, ["--method-kwargs", "{bad"], "argument --method-kwargs: not valid JSON"),
    (continual, ["--algo-kwargs", "[1]"], "argument --algo-kwargs: expected a JSON object"),
    (continual, ["--suite", "flop"], "argument --suite: invalid choice: 'flop'"),
    # continual: the methods and the shared hyperparameters
    (continual, ["--methods", "gtr-x"], "--methods: Unknown method 'gtr-x'"),
    (continual, ["--method-kwargs", '{"spo": {"sigma": 1}}'], "--method-kwargs: Method kwargs given for methods that are not"),
    (continual, ["--method-kwargs", '{"gtr": 3}'], "--method-kwargs: the value of method 'gtr' must be a JSON object"),
    (continual, ["--methods", "x", "--method-kwargs", '{"x": {"base": "gtrr"}}'], "--method-kwargs: Unknown base 'gtrr'"),
    (continual, ["--method-kwargs", '{"gtr": {"sigma": -1}}'], "--method-kwargs: method 'gtr' ({\"sigma\": -1}): ValueError:"),
    (continual, ["--method-kwargs", '{"gtr": {"sigmaa": 1}}'], "--method-kwargs: method 'gtr' sets unknown argument(s)"),
    (continual, ["--algo-kwargs", '{"foo": 1}'], "--algo-kwargs: unknown argument(s) ['foo'] of GTRPPO; allowed:"),
    (continual, ["--algo-kwargs", '{"seed": 1}'], "--algo-kwargs cannot set ['seed']: the runner sets them"),
    (continual, ["--algo-kwargs", '{"penalty": "kl"}'], "--algo-kwargs sets ['penalty'], which define method 'ppo'"),
    (continual, ["--algo-kwargs", '{"n_steps": 0}'], '--algo-kwargs {"n_steps": 0}: ValueError'),
    (continual, ["--algo-kwargs", '{"learning_rate": "x"}'], '--algo-kwargs {"learning_rate": "x"}: ValueError'),
    # continual: the policy, the suite, normalisation, the device
    (continual, ["--policy", "NoPolicy"], "--policy: Unknown policy 'NoPolicy': use one of"),
    (continual, ["--policy", "no_such_module.Policy"], "--policy: Unknown policy 'no_such_module.Policy': cannot import it"),
    (continual, ["--policy", "collections.OrderedDict"], "--policy: 'collections.OrderedDict' is not a policy class"),
    (continual, ["--policy-kwargs", '{"foo": 1}'], "--policy-kwargs: cannot build policy MlpPolicy"),
    (continual, ["--suite-kwargs", '{"foo": 1}'], '--suite-kwargs {"foo": 1}: cannot build the suite\'s environments'),
    (continual, ["--suite-kwargs", '{"scale": 2}'], '--suite-kwargs {"scale": 2}: TypeError'),
    (continual, ["--normalize", "--normalize-kwargs", '{"foo": 1}'], '--normalize-kwargs {"foo": 1}: TypeError'),
    (continual, ["--device", "foo"], "--device 'foo'"),
    (continual, ["--device", "cuda:99"], f"--device 'cuda:99': {NO_CUDA_DEVICE}"),
    *([(continual, ["--device", "cuda"], f"--device 'cuda': {NO_CUDA_DEVICE} False")] if not th.cuda.is_available() else []),
    (
        continual,
        ["--no-normalize", "--normalize-kwargs", '{"norm_obs": false}'],
        '--normalize-kwargs {"norm_obs": false} is given with --no-normalize, which uses no VecNormalize',
    ),
    # continual: what the jobs would only find out in their workers (FAILED job, then "No finished job")
    (
        continual,
        ["--scale", "1e-7", "--n-envs", "2"],
        "--scale 1e-07 / --n-envs 2: Phase 0 of TaskSequence(name='flip', tasks=['forward', 'backward'], n_cycles=1, "
        "scale=1e-07) ('forward', 1 steps) is shorter than one vectorized step of the training env (n_envs=2)",
    ),
    (
        continual,
        ["--algo-kwargs", TINY + '"stats_window_size": -1}'],
        f'--algo-kwargs {TINY}"stats_window_size": -1}}: ValueError: `stats_window_size`',
    ),
    (
        continual,
        ["--algo-kwargs", TINY + '"use_sde": true, "sde_sample_freq": "x"}'],
        f'--algo-kwargs {TINY}"use_sde": true, "sde_sample_freq": "x"}}: ValueError: `sde_sample_freq`',
    ),
    (
        continual,
        ["--algo-kwargs", TINY + '"tensorboard_log": "/proc/x"}'],
        f'--algo-kwargs {TINY}"tensorboard_log": "/proc/x"}}: ',
    ),
    # continual: the output folder, checked before the first job
    (continual, ["--output-dir", "/proc/x"], "--output-dir '/proc/x': cannot create or write in it"),
    (continual, ["--output-dir", A_FILE], f"--output-dir {A_FILE!r}: {A_FILE} is a file, not a folder"),
    # sweep: the same job arguments, and the study, opened before anything trains
    (sweep, ["--seeds", "100", "100"], "--seeds: 100 given more than once"),
    (sweep, ["--n-trials", "0"], f"argument --n-trials: {PARSER_CHECK} '0'"),
    (sweep, ["--n-startup-trials", "-1"], "argument --n-startup-trials: must be an integer >= 0, got '-1'"),
    (sweep, ["--sampler-seed", "-1"], "argument --sampler-seed: must be an integer >= 0, got '-1'"),
    (sweep, ["--objective", "return"], "argument --objective: invalid choice: 'return'"),
    (sweep, ["--n-envs", "0"], f"argument --n-envs: {PARSER_CHECK} '0'"),
    (sweep, ["--scale", "nan"], "argument --scale: must be a positive finite number, got 'nan'"),
    (sweep, ["--algo-kwargs", '{"sigma": 0.3}'], "--algo-kwargs cannot set ['sigma']: the sweep sets them"),
    (sweep, ["--algo-kwargs", '{"foo": 1}'], "--algo-kwargs: unknown argument(s) ['foo'] of GTRPPO"),
    (sweep, ["--policy", "NoPolicy"], "--policy: Unknown policy 'NoPolicy'"),
    (sweep, ["--storage", "notaurl"], "--storage 'notaurl': cannot open it: ArgumentError"),
    (sweep, ["--storage", "nosuchdb://host/db"], "--storage 'nosuchdb://host/db': cannot open it"),
    (sweep, ["--storage", "sqlite:////no/such/dir/study.db"], "--storage 'sqlite:////no/such/dir/study.db': cannot open"),
    (sweep, ["--study-name", ""], "--study-name must be a non-empty name, got '' (leave it out for gtr-sweep-flip)"),
    (sweep, ["--output-dir", "/proc/x"], "--output-dir '/proc/x': cannot create or write in it"),
    (sweep, ["--output-dir", A_FILE], f"--output-dir {A_FILE!r}: {A_FILE} is a file, not a folder"),
    (sweep, ["--device", "cuda:99"], f"--device 'cuda:99': {NO_CUDA_DEVICE}"),
    (sweep, ["--no-normalize", "--normalize-kwargs", "{}"], "--normalize-kwargs {} is given with --no-normalize"),
    # overhead
    (overhead, ["--repeats", "0"], f"argument --repeats: {PARSER_CHECK} '0'"),
    (overhead, ["--timesteps", "0"], f"argument --timesteps: {PARSER_CHECK} '0'"),
    (overhead, ["--n-steps", "1"], "--n-steps must be an integer >= 2"),
    (overhead, ["--batch-size", "1"], "--batch-size must be an integer >= 2"),
    (overhead, ["--seed", "-1"], "argument --seed: a seed must be an integer in [0, 2147483647], got '-1'"),
    (overhead, ["--num-threads", "0"], f"argument --num-threads: {PARSER_CHECK} '0'"),
    (overhead, ["--env", "NoSuchEnv-v0"], "--env 'NoSuchEnv-v0': cannot make it"),
    (overhead, ["--render", "no-such-report.json"], "--render no-such-report.json: cannot read a saved report"),
    (
        overhead,
        ["--batch-size", "128"],
        "--batch-size 128 is larger than the rollout it is drawn from (--n-steps 64 steps, one env)",
    ),
    (overhead, ["--output", "/proc/x/o"], "--output '/proc/x/o' (folder /proc/x): cannot create or write in it"),
    (overhead, ["--output", ""], "--output must be a path prefix of the result files (or a folder), got ''"),
    # policies
    (policies, ["--repeats", "0"], f"argument --repeats: {PARSER_CHECK} '0'"),
    (policies, ["--timesteps", "0"], f"argument --timesteps: {PARSER_CHECK} '0'"),
    (policies, ["--seed", "-1"], "argument --seed: a seed must be an integer in [0, 2147483647], got '-1'"),
    (policies, ["--num-threads", "0"], f"argument --num-threads: {PARSER_CHECK} '0'"),
    (policies, ["--benchmarks", "nope"], "argument --benchmarks: invalid choice: 'nope'"),
    (policies, ["--benchmarks", "simba", "simba"], "--benchmarks: ['simba'] given more than once"),
    (policies, ["--output", "/proc/x/o"], "--output '/proc/x/o' (folder /proc/x): cannot create or write in it"),
]
BASES = {continual: CONTINUAL, sweep: SWEEP, overhead: OVERHEAD, policies: POLICIES}


def _row_id(row):
    module, extra, _ = row
    return f"{module.__name__.rsplit('.', 1)[-1]}:{' '.join(extra)}"


@pytest.mark.parametrize(("module", "extra", "message"), ROWS, ids=[_row_id(row) for row in ROWS])
def test_bad_input_exits_with_one_line_naming_the_flag_before_any_job(module, extra, message, tmp_path, capsys):
    prog = f"python -m {module.__name__}"
    with pytest.raises(SystemExit) as exit_info:
        module.main([*BASES[module], *_output_args(module, tmp_path), *extra])

    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    last = error.strip().splitlines()[-1]  # argparse's usage line, then one error line
    assert last.startswith(f"{prog}: error: "), error
    assert message in last, last
    assert list(tmp_path.iterdir()) == []  # no job folder, no study, no result file


def test_repeated_seeds_are_refused_by_the_parser_and_the_python_api(tmp_path, capsys):
    # Each seed is a job folder per method: a repeat would train one job twice into one folder and count it as n=2.
    for module, base in ((continual, CONTINUAL), (sweep, SWEEP)):
        with pytest.raises(SystemExit) as exit_info:
            module.main([*base, "--output-dir", str(tmp_path), "--seeds", "3", "1", "3"])
        assert exit_info.value.code == 2
        assert "error: --seeds: 3 given more than once" in capsys.readouterr().err
    with pytest.raises(BadArgument, match=r"--seeds: seeds are repeated: \[0\]"):
        continual.run_benchmark("flip", methods=["ppo"], seeds=[0, 0], output_dir=tmp_path)
    with pytest.raises(BadArgument, match=r"--seeds: seeds are repeated: \[5\]"):
        sweep.run_sweep("flip", seeds=[5, 5], output_dir=tmp_path)
    with pytest.raises(BadArgument, match="--methods: Methods are repeated"):
        continual.run_benchmark("flip", methods=["ppo", "ppo"], output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def _tiny_settings(**changes):
    """The settings of the tiny runs below, as the runner computes them from the command line."""
    kwargs = {
        "scale": 0.0025,
        "n_cycles": 1,
        "suite_kwargs": {"max_episode_steps": 50},
        "algo_kwargs": {"n_steps": 100, "batch_size": 50},
        **changes,
    }
    return job_settings("flip", **kwargs)[1]


def test_a_second_runner_leaves_a_locked_job_folder_alone(tmp_path, capsys):
    directory = job_dir(tmp_path, "ppo", 0)
    handle = lock_job_dir(directory)  # as the worker of another runner training this job holds it
    try:
        (directory / "evaluations.csv").write_text("written by the other runner\n")
        argv = [*CONTINUAL, "--methods", "ppo", "--output-dir", str(tmp_path)]
        argv.remove("--quiet")
        with pytest.raises(SystemExit) as exit_info:
            continual.main(argv)

        assert exit_info.value.code == 1
        captured = capsys.readouterr()
        assert f"skip ppo/seed_0: running in another process (pid {os.getpid()} holds" in captured.out
        assert captured.err.strip().splitlines()[-1] == (
            f"error: No finished job in {tmp_path} to aggregate (busy: ppo/seed_0)"
        )
        assert (directory / "evaluations.csv").read_text() == "written by the other runner\n"
        assert sorted(path.name for path in directory.iterdir()) == ["evaluations.csv", LOCK_FILE]

        # A worker started anyway (the other runner took the lock after this one looked) refuses the job untouched
        config = {
            **_tiny_settings(),
            "method": "ppo",
            "method_kwargs": {"penalty": "none"},
            "seed": 0,
            "job_dir": str(directory),
        }
        with pytest.raises(JobLocked, match=f"is locked by process {os.getpid()}: another runner"):
            run_job(config)
        assert (directory / "evaluations.csv").read_text() == "written by the other runner\n"
        assert not (directory / "done").exists()
    finally:
        handle.close()


def _wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_runner_and_its_worker_keeping_finished_jobs(tmp_path, signum):
    # flip at scale 0.01 with 64-step rollouts: 12,000 steps, far longer than the few seconds before the signal
    argv = [
        "--suite", "flip", "--methods", "ppo", "gtr", "--seeds", "0", "--scale", "0.01",
        "--suite-kwargs", '{"max_episode_steps": 50}', "--algo-kwargs", '{"n_steps": 64, "batch_size": 32, "n_epochs": 1}',
        "--n-eval-episodes", "1", "--output-dir", str(tmp_path), "--quiet",
    ]  # fmt: skip
    # A finished job (its marker only: it is skipped, never read before the aggregation the signal prevents)
    settings = job_settings(
        "flip",
        scale=0.01,
        suite_kwargs={"max_episode_steps": 50},
        algo_kwargs={"n_steps": 64, "batch_size": 32, "n_epochs": 1},
        n_eval_episodes=1,
    )[1]
    finished = job_dir(tmp_path, "ppo", 0)
    finished.mkdir(parents=True)
    config = {**settings, "method": "ppo", "method_kwargs": CONTINUAL_METHODS["ppo"].kwargs, "seed": 0}
    marker = json.dumps({"config": job_config_json(config), "wall_time_s": 1.0})
    (finished / "done").write_text(marker)
    running = job_dir(tmp_path, "gtr", 0)

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "sb3_gtr.benchmarks.continual", *argv]
    # Its own session, so that a Ctrl-C can be sent as a terminal sends it: to the runner's whole process group
    runner = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        # The worker is training once it has written its progress after a rollout
        assert _wait_for(lambda: (running / PROGRESS_FILE).is_file(), 90), "the worker never trained"
        worker = int((running / LOCK_FILE).read_text())
        if signum == signal.SIGINT:
            os.killpg(runner.pid, signal.SIGINT)
        else:
            runner.send_signal(signal.SIGTERM)
        out, err = runner.communicate(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()

    assert runner.returncode == 128 + signum
    assert "Traceback" not in out + err
    assert err.strip().splitlines()[-1] == (
        f"interrupted; finished jobs are kept in {tmp_path}, rerun the same command to resume"
    )
    assert _wait_for(lambda: _gone(worker), 5), f"worker {worker} still runs"
    assert not (running / "done").exists()  # unfinished: a rerun runs it again
    assert (finished / "done").read_text() == marker  # finished: kept
