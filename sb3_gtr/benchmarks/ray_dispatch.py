"""
Dispatch of the benchmark jobs through Ray: a local Ray instance by default (started by the runner, no server to set up),
or a cluster with ``--address``. :class:`RayDispatcher` starts jobs as Ray tasks and hands back :class:`RayJob` handles
with the interface of the in-house :class:`~sb3_gtr.benchmarks.runner.Worker` (``poll``, ``result``,
``send_signal``, ``close``), so that :func:`~sb3_gtr.benchmarks.runner.run_jobs` drives both the same way: the same
progress display, resumption from the ``done`` markers, and stopping every job on ``SIGINT`` / ``SIGTERM``.

Each job is a Ray task in a fresh worker process (``max_calls=1``: no state leaks from one job into the next, as with
the in-house runner) that needs one CPU. A job whose worker process dies (killed, out of memory, a node lost) is run
again by Ray, up to :data:`MAX_RETRIES` times: the job takes its folder's lock again (the dead process's lock went with
it), clears the folder and trains anew, so that the run loses nothing but the dead attempt.

On a cluster, every node needs ``sb3-gtr[benchmarks]`` installed (the same versions as the runner's machine), and the
output folder must be on a filesystem that every node sees (the jobs write into their folders where they run, and the
runner reads them).

Ray is in the ``benchmarks`` extra and is imported only when a dispatcher is made.
"""

import os
from collections.abc import Callable
from typing import Any, Optional

from sb3_gtr.benchmarks.runner import JobLocked, WorkerError

#: Times Ray runs a job again whose worker process died.
MAX_RETRIES = 3


def _ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise ImportError(
            f'--dispatch ray needs Ray ({error}): install the benchmarks extra, pip install "sb3-gtr[benchmarks]", or '
            "run the jobs in local processes with --dispatch processes"
        ) from None
    return ray


def _call(function: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The Ray task: run the job and return its outcome; a :class:`JobLocked` comes back as a value, not an error."""
    try:
        return {"ok": True, "value": function(*args, **kwargs)}
    except JobLocked as error:
        return {"ok": False, "locked": True, "message": str(error)}


class RayJob:
    """
    A job running as a Ray task, with the interface of :class:`~sb3_gtr.benchmarks.runner.Worker`.

    :param ref: The task's object reference
    """

    def __init__(self, ref: Any) -> None:
        self.ref = ref
        self._ray = _ray()

    def poll(self) -> Optional[int]:
        """:return: ``0`` once the task has ended (whatever its outcome), ``None`` while it runs"""
        ready, _ = self._ray.wait([self.ref], timeout=0)
        return 0 if ready else None

    def result(self) -> Any:
        """
        :return: The job's return value
        :raises JobLocked: If another process holds the job's folder
        :raises WorkerError: If the job raised, was cancelled, or its worker died more than :data:`MAX_RETRIES` times
        """
        ray = self._ray
        try:
            outcome = ray.get(self.ref)
        except ray.exceptions.RayTaskError as error:
            cause = error.cause if getattr(error, "cause", None) is not None else error
            raise WorkerError(f"{type(cause).__name__}: {cause}", str(error)) from None
        except ray.exceptions.RayError as error:  # cancelled, worker or node died after the retries, ...
            raise WorkerError(f"the Ray task ended without a result ({type(error).__name__}: {error})") from None
        if outcome["ok"]:
            return outcome["value"]
        raise JobLocked(outcome["message"])

    def send_signal(self, signum: int) -> None:
        """Cancel the task (any signal: Ray kills the worker process, as ``SIGKILL`` would)."""
        self._ray.cancel(self.ref, force=True)

    def close(self) -> None:
        """Nothing to clean up: Ray owns the worker."""

    def output(self, limit: int = 4000) -> str:
        """:return: Nothing: the worker's output goes to Ray's logs (the job's traceback is in its ``error.txt``)"""
        return ""


class RayDispatcher:
    """
    Start jobs as Ray tasks on a local Ray instance (started here if none is running in this process) or on a cluster.

    :param address: Address of a running Ray cluster (``ray://host:10001`` or ``host:6379``; ``"auto"``: the one
        started on this machine with ``ray start``); ``None``: a local instance with ``num_cpus`` CPUs
    :param num_cpus: CPUs of a local instance: at least as many as the jobs run at a time (``None``: this machine's)
    """

    def __init__(self, address: Optional[str] = None, num_cpus: Optional[int] = None) -> None:
        ray = _ray()
        if not ray.is_initialized():
            if address is None:
                ray.init(
                    num_cpus=max(num_cpus or 1, os.cpu_count() or 1),
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        self.address = address
        self._remote = ray.remote(num_cpus=1, max_calls=1, max_retries=MAX_RETRIES, retry_exceptions=False)(_call)

    def __call__(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> RayJob:
        """
        Start ``function(*args, **kwargs)`` as a Ray task.

        :param function: A module-level function (Ray pickles it by reference)
        :return: The job's handle
        """
        return RayJob(self._remote.remote(function, args, kwargs))


def make_dispatcher(dispatch: str, address: Optional[str], jobs: int) -> Optional[RayDispatcher]:
    """
    The dispatcher of ``--dispatch`` / ``--address``.

    :param dispatch: ``"ray"`` or ``"processes"`` (the in-house runner's worker processes, this machine only)
    :param address: Ray cluster address (only with ``"ray"``; ``None``: a local instance)
    :param jobs: Jobs run at the same time
    :return: A :class:`RayDispatcher`, or ``None`` for the in-house workers
    """
    if dispatch == "processes":
        return None
    return RayDispatcher(address, num_cpus=jobs)
