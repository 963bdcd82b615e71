"""The Ray dispatch of the benchmark jobs: a local Ray by default, errors as the in-house runner reports them, and a
job whose worker process is killed is run again with nothing lost."""

import json
import os
import signal
import time

import pytest
import ray  # in the benchmarks extra, which `make test` installs

from sb3_gtr.benchmarks import continual
from sb3_gtr.benchmarks.arguments import BadArgument, check_dispatch
from sb3_gtr.benchmarks.jobs import job_dir, run_job
from sb3_gtr.benchmarks.methods import CONTINUAL_METHODS
from sb3_gtr.benchmarks.ray_dispatch import RayDispatcher
from sb3_gtr.benchmarks.runner import LOCK_FILE, PROGRESS_FILE, read_done, run_jobs
from sb3_gtr.benchmarks.settings import job_settings

TINY = {"n_steps": 100, "batch_size": 50, "n_epochs": 1}


def flip_config(directory, method, seed, scale=0.0025):
    settings = job_settings("flip", scale=scale, n_cycles=1, suite_kwargs={"max_episode_steps": 50}, algo_kwargs=TINY)[1]
    kwargs = CONTINUAL_METHODS[method].kwargs if method in CONTINUAL_METHODS else {"sigma": -1.0}
    return {**settings, "n_eval_episodes": 1, "method": method, "method_kwargs": kwargs, "seed": seed,
            "job_dir": str(job_dir(directory, method, seed))}  # fmt: skip


def test_the_default_dispatch_is_a_local_ray_started_by_the_runner(tmp_path):
    ray.shutdown()
    argv = ["--suite", "flip", "--methods", "ppo", "--seeds", "0", "--scale", "0.0025", "--n-cycles", "1"]
    argv += ["--suite-kwargs", '{"max_episode_steps": 50}', "--algo-kwargs", json.dumps(TINY), "--n-eval-episodes", "1"]
    report = continual.main([*argv, "--quiet", "--output-dir", str(tmp_path)])
    assert report["ran"] == ["ppo/seed_0"] and report["failed"] == []
    assert ray.is_initialized()  # the runner started it, with no server set up by hand
    assert read_done(tmp_path / "ppo" / "seed_0")["num_timesteps"] == 1000


def test_ray_jobs_report_failures_like_the_in_house_runner(tmp_path):
    dispatcher = RayDispatcher(num_cpus=2)
    configs = [flip_config(tmp_path, "ppo", 0), flip_config(tmp_path, "broken", 0)]
    outcome = run_jobs(run_job, configs, 2, 1000, 0, verbose=False, dispatcher=dispatcher)
    assert outcome == {"ran": ["ppo/seed_0"], "failed": ["broken/seed_0"], "busy": []}
    assert "sigma" in (job_dir(tmp_path, "broken", 0) / "error.txt").read_text()

    # A folder another process holds is left alone and reported busy (JobLocked crosses Ray as a value)
    from sb3_gtr.benchmarks.runner import lock_job_dir

    held = flip_config(tmp_path, "gtr", 0)
    lock = lock_job_dir(held["job_dir"])
    try:
        outcome = run_jobs(run_job, [held], 1, 1000, 0, verbose=False, dispatcher=dispatcher)
    finally:
        lock.close()
    assert outcome == {"ran": [], "failed": [], "busy": ["gtr/seed_0"]}


def test_a_job_whose_ray_worker_is_killed_runs_again_and_nothing_is_lost(tmp_path):
    dispatcher = RayDispatcher(num_cpus=2)
    # flip at scale 0.025: 10,000 steps per job, long enough to be killed in the middle
    configs = [flip_config(tmp_path, "ppo", 0, scale=0.025), flip_config(tmp_path, "gtr", 0, scale=0.025)]
    victim = job_dir(tmp_path, "gtr", 0)
    killed = {}

    import threading

    def kill_when_training():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (victim / PROGRESS_FILE).is_file():
            time.sleep(0.1)
        pid = int((victim / LOCK_FILE).read_text())
        os.kill(pid, signal.SIGKILL)
        killed["pid"] = pid

    killer = threading.Thread(target=kill_when_training)
    killer.start()
    outcome = run_jobs(run_job, configs, 2, 10_000, 0, verbose=False, dispatcher=dispatcher)
    killer.join()
    assert "pid" in killed
    assert sorted(outcome["ran"]) == ["gtr/seed_0", "ppo/seed_0"] and outcome["failed"] == []
    assert read_done(victim)["num_timesteps"] == 10_000
    # The finished attempt is another process than the killed one
    assert int((victim / LOCK_FILE).read_text()) != killed["pid"]


def test_bad_dispatch_arguments_are_refused_before_any_job(tmp_path, capsys):
    with pytest.raises(BadArgument, match="--dispatch must be one of ray, processes"):
        check_dispatch("threads", None)
    with pytest.raises(BadArgument, match="needs --dispatch ray"):
        check_dispatch("processes", "auto")
    with pytest.raises(SystemExit):
        continual.main(["--suite", "flip", "--dispatch", "processes", "--address", "auto", "--output-dir", str(tmp_path)])
    assert "needs --dispatch ray" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written


def test_parallel_efficiency_is_measured_against_one_job_at_a_time(tmp_path):
    from sb3_gtr.benchmarks import parallel

    # The in-house processes: the same runner loop as Ray's, without two cold starts of Ray in a test
    argv = ["--suite", "cartpole-reversed", "--scale", "0.01", "--runs", "2", "--jobs", "1", "2", "--dispatch", "processes"]
    report = parallel.main([*argv, "--output", str(tmp_path / "parallel")])
    one, two = report["measurements"]
    assert (one["jobs"], two["jobs"]) == (1, 2) and len(one["job_wall_times_s"]) == 2
    row = report["rows"][1]
    # efficiency = T(1) / (n T(n)), from the measured wall times
    assert row["efficiency"] == pytest.approx(one["wall_time_s"] / (2 * two["wall_time_s"]))
    assert report["rows"][0]["efficiency"] == pytest.approx(1.0)
    assert "efficiency" in (tmp_path / "parallel.rst").read_text()
    assert json.loads((tmp_path / "parallel.json").read_text())["machine"]["cpu_count"] >= 1
    with pytest.raises(SystemExit):
        parallel.main(["--jobs", "2"])  # nothing to compare with
