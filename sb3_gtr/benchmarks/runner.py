"""
The job runner of every benchmark: jobs in fresh interpreters that the runner can stop, job folders that one process
at a time can use, the files by which a job says how far it got, and the machine the timings were taken on.

A :class:`Worker` runs one function call in a new Python process started in its own session (its own process
group): a Ctrl-C in the terminal reaches only the runner, which then stops every worker's whole group itself, so
that no worker keeps training after the runner is gone and no worker prints a traceback of its own. A worker also
exits by itself within a second when its runner dies without stopping it (``SIGKILL``). :func:`run_in_worker` runs
one call (one timing run of ``overhead`` or ``policies``) that way and waits for it; :func:`run_jobs` runs many
training jobs side by side with a progress display.

:class:`SignalGuard` turns ``SIGINT`` and ``SIGTERM`` into a flag that the runner's loop checks between polls, so
that the signal never lands inside a library call (or a progress-display thread) as a stray exception.

:func:`lock_job_dir` takes an exclusive ``flock`` on ``<job folder>/lock``, held by the process that trains into the
folder: a second runner pointed at the same folder sees the lock and leaves the job alone. A job writes its step
count to ``<job folder>/progress`` (:data:`PROGRESS_FILE`) as it trains and its ``done`` marker (:data:`DONE_FILE`,
read by :func:`read_done`) last.
"""

import contextlib
import importlib
import json
import os
import pathlib
import pickle
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, Optional, Union

try:
    import fcntl
except ImportError:  # pragma: no cover (Windows: no flock, folders are not locked)
    fcntl = None

#: Name of the lock file inside a job folder; it holds the pid of the process holding the lock.
LOCK_FILE = "lock"
#: Exit status of a worker whose job folder is locked by another process (``EX_TEMPFAIL``: try again later).
EXIT_LOCKED = 75
#: Exit status of a worker that found its runner gone.
EXIT_ORPHANED = 70
#: Seconds a stopped worker's group gets to exit after ``SIGTERM`` before ``SIGKILL``.
STOP_TIMEOUT = 5.0
#: Seconds between two checks of a worker that its runner is still alive.
PARENT_POLL_INTERVAL = 1.0
#: Name of the marker file of a finished job.
DONE_FILE = "done"
#: Name of the file in which a running job writes its step count.
PROGRESS_FILE = "progress"


class Interrupted(KeyboardInterrupt):
    """
    The runner received ``SIGINT`` or ``SIGTERM`` and stopped its workers; finished jobs are kept.

    :param signum: The signal received
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: ``128 + signum`` (130 for Ctrl-C)."""
        return 128 + self.signum


class JobLocked(RuntimeError):
    """Another process holds the lock of a job folder: it is running that job."""

    exit_code = EXIT_LOCKED


class WorkerError(RuntimeError):
    """
    The function run by a worker raised, or the worker died.

    :param message: ``Type: message`` of the error
    :param details: The worker's traceback, or the end of its output
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class SignalGuard:
    """
    While active (a ``with`` block in the main thread), ``SIGINT`` and ``SIGTERM`` only record the signal:
    :meth:`check` raises :class:`Interrupted` where the caller chooses. In another thread it does nothing (signals
    reach only the main thread).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self.count = 0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = signum if self.signum is None else self.signum
        self.count += 1

    def __enter__(self) -> "SignalGuard":
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for signum, handler in self._previous.items():
            # None: a handler installed outside Python, which cannot be put back; the default is the closest.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()

    def check(self) -> None:
        """:raises Interrupted: If a signal was received"""
        if self.signum is not None:
            raise Interrupted(self.signum)

    def sleep(self, seconds: float) -> None:
        """Sleep, returning early (within 50 ms) when a signal arrives; then raise :class:`Interrupted`."""
        deadline = time.monotonic() + seconds
        while self.signum is None and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        self.check()


# What a worker runs; the payload (the call) comes in a file, not on the command line.
_CHILD_CODE = "import sys; from sb3_gtr.benchmarks.runner import _child_main; _child_main(sys.argv[1])"


class Worker:
    """
    ``function(*args, **kwargs)`` in a fresh interpreter, in its own process group, its output in a temporary
    file; poll it with :meth:`poll`, get the return value with :meth:`result`, stop it with :meth:`stop`.

    :param function: A module-level function (pickled by reference)
    :param args: Its positional arguments (pickled)
    :param kwargs: Its keyword arguments (pickled)
    """

    def __init__(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._folder = tempfile.mkdtemp(prefix="sb3_gtr_worker_")
        payload = os.path.join(self._folder, "payload.pkl")
        with open(payload, "wb") as file:
            pickle.dump({"function": _reference(function), "args": args, "kwargs": kwargs, "parent": os.getpid()}, file)
        # Open as long as the worker lives (its output, read on failure): closed by `close`.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        # The runner's import path, as multiprocessing's spawn passes it: the worker finds what the runner found.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD_CODE, payload],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own process group: a Ctrl-C in the terminal reaches the runner only, which stops the group itself.
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The worker's process id (also its process group id)."""
        return self.process.pid

    def poll(self) -> Optional[int]:
        """:return: The worker's exit status, ``None`` while it runs"""
        return self.process.poll()

    def output(self, limit: int = 4000) -> str:
        """:return: The end of what the worker printed (nothing once closed)"""
        if self._log.closed:
            return ""
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - limit))
        return self._log.read().decode(errors="replace")

    def result(self) -> Any:
        """
        :return: The function's return value, once the worker has exited
        :raises JobLocked: If the function raised :class:`JobLocked`
        :raises WorkerError: If it raised anything else, or the worker died without a result
        """
        code = self.process.wait()
        try:
            with open(os.path.join(self._folder, "result.pkl"), "rb") as file:
                outcome = pickle.load(file)
        except (OSError, EOFError, pickle.UnpicklingError):
            outcome = None
        output = self.output() if outcome is None else ""
        self.close()
        if outcome is not None and outcome["ok"]:
            return outcome["value"]
        if outcome is not None:
            if outcome["locked"]:
                raise JobLocked(outcome["message"])
            raise WorkerError(f"{outcome['type']}: {outcome['message']}", outcome["traceback"])
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
        raise WorkerError(f"the worker (pid {self.pid}) {how} without a result", output)

    def send_signal(self, signum: int) -> None:
        """Send a signal to the worker's whole process group (to the worker alone where there are no groups)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
            if hasattr(os, "killpg"):
                os.killpg(self.process.pid, signum)
            elif signum == signal.SIGTERM:  # pragma: no cover (Windows)
                self.process.terminate()
            else:  # pragma: no cover
                self.process.kill()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Send ``SIGTERM`` to the worker's process group, then ``SIGKILL`` after ``timeout``, and clean up."""
        stop_all([self], timeout)

    def close(self) -> None:
        """Remove the worker's temporary files (it must have exited)."""
        shutil.rmtree(self._folder, ignore_errors=True)
        self._log.close()


def stop_all(workers: "list[Worker]", timeout: float = STOP_TIMEOUT) -> None:
    """
    Stop workers together: ``SIGTERM`` to every group, then ``SIGKILL`` to those still running after ``timeout``.

    :param workers: The workers
    :param timeout: Seconds they get to exit
    """
    for signum in (signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
        running = [worker for worker in workers if worker.poll() is None]
        for worker in running:
            worker.send_signal(signum)
        deadline = time.monotonic() + timeout
        while any(worker.poll() is None for worker in running) and time.monotonic() < deadline:
            time.sleep(0.05)
    for worker in workers:
        worker.close()


def run_in_worker(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """
    ``function(*args, **kwargs)`` in a fresh interpreter (a :class:`Worker`), waiting for its result; on ``SIGINT`` or
    ``SIGTERM`` the worker is stopped and :class:`Interrupted` raised.

    :param function: A module-level function
    :param args: Its positional arguments
    :param kwargs: Its keyword arguments
    :return: Its return value
    :raises WorkerError: If it raised, or the worker died
    """
    with SignalGuard() as guard:
        worker = Worker(function, *args, **kwargs)
        try:
            while worker.poll() is None:
                guard.sleep(0.2)
        except BaseException:
            stop_all([worker])
            raise
        return worker.result()


def _reference(function: Callable[..., Any]) -> tuple[str, str]:
    """
    The module and qualified name by which a worker imports a function. A function of a module run as a script
    (``python -m sb3_gtr.benchmarks.continual``) lives in ``__main__``, which the worker's interpreter does not have:
    it is named by the module's import name instead.
    """
    module = function.__module__
    if module == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        if spec is None or not spec.name:
            raise ValueError(f"A worker runs functions of importable modules, not {function.__qualname__} of a script")
        module = spec.name
    return module, function.__qualname__


def _watch_parent(parent: int) -> None:
    """Exit the worker as soon as its runner is gone (it was killed without stopping it): nobody waits for it."""
    while True:
        time.sleep(PARENT_POLL_INTERVAL)
        if os.getppid() != parent:
            os._exit(EXIT_ORPHANED)


def _child_main(payload_path: str) -> None:
    """The worker's side of :class:`Worker`: run the call, write its outcome next to the payload, exit."""
    with open(payload_path, "rb") as file:
        payload = pickle.load(file)
    threading.Thread(target=_watch_parent, args=(payload["parent"],), daemon=True).start()
    module, qualname = payload["function"]
    function: Any = importlib.import_module(module)
    for name in qualname.split("."):
        function = getattr(function, name)
    args, kwargs = payload["args"], payload["kwargs"]
    try:
        outcome = {"ok": True, "value": function(*args, **kwargs)}
        code = 0
    except BaseException as error:  # the runner reports it: whatever it is, it goes back
        outcome = {
            "ok": False,
            "locked": isinstance(error, JobLocked),
            "type": type(error).__name__,
            "message": str(error),
            "traceback": traceback.format_exc(),
        }
        code = getattr(error, "exit_code", 1)
    result_path = os.path.join(os.path.dirname(payload_path), "result.pkl")
    with open(result_path + ".tmp", "wb") as file:
        pickle.dump(outcome, file)
    os.replace(result_path + ".tmp", result_path)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# --------------------------------------------------------------------------------------------------
# Job folder locks
# --------------------------------------------------------------------------------------------------


def lock_job_dir(directory: "os.PathLike[str] | str") -> Optional[IO[str]]:
    """
    Take the exclusive lock of a job folder (created if missing), without waiting. The lock lasts until the
    returned file is closed or the process ends, however it ends.

    :param directory: The job folder
    :return: The open lock file (keep it open while using the folder); ``None`` where ``flock`` does not exist
    :raises JobLocked: If another process holds the lock
    """
    if fcntl is None:  # pragma: no cover
        return None
    os.makedirs(directory, exist_ok=True)
    # Kept open by the caller: the lock lives as long as the open file.
    handle = open(os.path.join(directory, LOCK_FILE), "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise JobLocked(
            f"{directory} is locked by process {holder}: another runner is training this job into it; wait for it to "
            "finish (or stop it), then rerun"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def lock_holder(directory: "os.PathLike[str] | str") -> Optional[str]:
    """
    :param directory: A job folder
    :return: The pid (as written in the lock file) of the process holding the folder's lock, ``None`` if nobody holds it
    """
    path = os.path.join(directory, LOCK_FILE)
    if fcntl is None or not os.path.isfile(path):
        return None
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "unknown"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


# --------------------------------------------------------------------------------------------------
# Done and progress files
# --------------------------------------------------------------------------------------------------


def read_done(directory: Union[str, pathlib.Path]) -> Optional[dict[str, Any]]:
    """
    :param directory: A job folder
    :return: The content of its ``done`` marker (``config``, ``wall_time_s``, ``finished`` ...), ``None`` if unfinished
    """
    path = pathlib.Path(directory) / DONE_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def write_done(directory: Union[str, pathlib.Path], done: dict[str, Any]) -> None:
    """
    Write a job's ``done`` marker, last of its files, through a temporary file and a rename: a reader (a resuming run,
    a report) never sees half of it.

    :param directory: The job folder
    :param done: The marker's content (JSON)
    """
    temporary = pathlib.Path(directory) / (DONE_FILE + ".tmp")
    temporary.write_text(json.dumps(done, indent=2) + "\n")
    os.replace(temporary, pathlib.Path(directory) / DONE_FILE)


def progress_file_callback(directory: Union[str, pathlib.Path]) -> Any:
    """
    :param directory: A job folder
    :return: An SB3 callback that writes the step count to the folder's ``progress`` file (:data:`PROGRESS_FILE`)
        after every rollout and at the end, for the runner's progress bars
    """
    from stable_baselines3.common.callbacks import BaseCallback

    path = pathlib.Path(directory) / PROGRESS_FILE

    class ProgressFile(BaseCallback):
        def _write(self) -> None:
            path.write_text(str(self.num_timesteps))

        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            self._write()

        def _on_training_end(self) -> None:
            self._write()

    return ProgressFile()


def read_progress(directory: Union[str, pathlib.Path]) -> Optional[int]:
    """
    :param directory: A job folder
    :return: The step count the job last wrote to its ``progress`` file, ``None`` before its first rollout
    """
    try:
        return int((pathlib.Path(directory) / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------------------
# Many jobs, side by side
# --------------------------------------------------------------------------------------------------


def _failure_hint(config: Mapping[str, Any], error: WorkerError) -> str:
    """Where to read why a job failed: its ``error.txt``, else the last line the worker printed."""
    error_file = pathlib.Path(config["job_dir"]) / "error.txt"
    if error_file.is_file():
        return f" (see {error_file})"
    lines = error.details.strip().splitlines()
    return f" (its last output: {lines[-1]})" if lines else ""


def run_jobs(
    function: Callable[..., dict[str, Any]],
    configs: Sequence[dict[str, Any]],
    n_jobs: int,
    total_timesteps: int,
    n_finished: int,
    verbose: bool,
    keep_done: bool = True,
    dispatcher: Optional[Callable[..., Any]] = None,
) -> dict[str, list[str]]:
    """
    Run the jobs, ``n_jobs`` at a time, each in a fresh interpreter (a :class:`Worker` in its own process group, or a
    Ray task: no state leaks from one job into the next), with a progress display fed by each job's ``progress``
    file.

    On ``SIGINT`` or ``SIGTERM`` every running worker's group is stopped (``SIGTERM``, then ``SIGKILL``) before
    :class:`Interrupted` is raised: no worker outlives the runner, the unfinished jobs have no ``done`` marker (a rerun
    runs them again) and the finished ones keep theirs.

    :param function: What a job runs, ``function(config, keep_done=keep_done)`` returning the job's ``done`` marker
        (:func:`sb3_gtr.benchmarks.jobs.run_job`); a module-level function
    :param configs: The jobs' configurations, each with ``method``, ``seed`` and ``job_dir``
    :param n_jobs: Jobs run at the same time
    :param total_timesteps: Steps of one job, for the progress bars
    :param n_finished: Jobs already done, for the overall bar
    :param verbose: Show the progress and a line per finished job
    :param keep_done: Passed to ``function`` (``False`` with ``--force``)
    :param dispatcher: Starts a job, ``dispatcher(function, config, keep_done=...)``, returning a handle with the
        interface of :class:`Worker` (:class:`~sb3_gtr.benchmarks.ray_dispatch.RayDispatcher`: Ray tasks); ``None``:
        a :class:`Worker` per job
    :return: ``ran``, ``failed`` and ``busy`` (jobs whose folder another process holds), as ``method/seed_<s>``
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    start = Worker if dispatcher is None else dispatcher
    ran: list[str] = []
    failed: list[str] = []
    busy: list[str] = []
    console = Console(quiet=not verbose)
    columns = [TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with SignalGuard() as guard, Progress(*columns, console=console, disable=not verbose) as progress:
        overall = progress.add_task("jobs", total=n_finished + len(configs), completed=n_finished)
        queue = list(configs)
        running: dict[Worker, dict[str, Any]] = {}
        bars: dict[Worker, Any] = {}
        try:
            while queue or running:
                while queue and len(running) < n_jobs:
                    guard.check()
                    config = queue.pop(0)
                    running[start(function, config, keep_done=keep_done)] = config
                guard.sleep(0.5)
                for worker, config in list(running.items()):
                    name = f"{config['method']}/seed_{config['seed']}"
                    if worker.poll() is None:
                        steps = read_progress(config["job_dir"])
                        if steps is not None:
                            if worker not in bars:
                                bars[worker] = progress.add_task(
                                    f"{config['method']} seed {config['seed']}", total=total_timesteps
                                )
                            progress.update(bars[worker], completed=steps)
                        continue
                    del running[worker]
                    if worker in bars:
                        progress.remove_task(bars.pop(worker))
                    try:
                        done = worker.result()
                    except JobLocked as error:
                        busy.append(name)
                        progress.console.print(f"skip {name}: {error}")
                    except WorkerError as error:
                        failed.append(name)
                        progress.console.print(f"FAILED {name}: {error}{_failure_hint(config, error)}")
                    else:
                        ran.append(name)
                        if done.get("reused"):
                            progress.console.print(f"{name} was finished by another runner meanwhile: kept")
                        else:
                            progress.console.print(f"finished {name} in {done['wall_time_s']:.1f} s")
                    progress.advance(overall)
        except BaseException:  # Interrupted, or anything else: no worker may outlive the loop
            stop_all(list(running))
            raise
    return {"ran": ran, "failed": failed, "busy": busy}


# --------------------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """The machine and the versions of the libraries that the timings depend on."""
    import gymnasium
    import numpy as np
    import stable_baselines3
    import torch as th

    import sb3_gtr

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "node": platform.node(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": th.__version__,
        "numpy": np.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gymnasium.__version__,
        "sb3_gtr": sb3_gtr.__version__,
    }
    try:
        import mujoco

        info["mujoco"] = mujoco.__version__
    except ImportError:  # pragma: no cover
        info["mujoco"] = None
    return info


def load_average() -> Optional[list[float]]:
    """:return: The 1, 5 and 15-minute load averages of the machine, ``None`` where the system has none"""
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):  # pragma: no cover
        return None
