"""
What the benchmark commands accept, and how they refuse the rest: :class:`BadArgument` (a setting no job or run could
use, found before any starts, its message naming the flag), the checks shared by every command (counts, seeds, the
device, output folders and path prefixes), the ``argparse`` types, and the job arguments that
:mod:`~sb3_gtr.benchmarks.continual` and :mod:`~sb3_gtr.benchmarks.sweep` share (:func:`add_job_arguments`).
"""

import argparse
import contextlib
import json
import math
import os
import pathlib
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Optional, Union

from sb3_gtr.benchmarks.runner import WorkerError
from sb3_gtr.common.checks import is_int
from sb3_gtr.continual.suites import SUITES

#: Torch intra-op threads in each job (``--num-threads``): jobs run side by side, one core each. The networks are
#: small, so one thread trains them fastest on a CPU, and threads beyond the free cores slow every job down: GTRPPO on
#: HalfCheetah for 8,192 steps next to two other jobs on a 2-core machine took 20-27 s with 1 thread, 119-212 s with 2.
NUM_THREADS = 1
#: Evaluations per training phase when ``eval_freq`` is not given (the resolution of adaptation speed); never more often
#: than once per rollout (``n_steps * n_envs`` steps), since the policy only changes between rollouts.
EVALS_PER_PHASE = 10
#: Largest seed: NumPy takes seeds below 2**32, and the evaluation environments add
#: :data:`~sb3_gtr.benchmarks.jobs.EVAL_SEED_OFFSET`.
MAX_SEED = 2**31 - 1


class BadArgument(ValueError):
    """
    A setting that no job could run with, found before any job starts; the message names the command-line flag (the
    keyword argument of the same name in Python) and what it may be.
    """


@contextlib.contextmanager
def timing_command_errors(parser: argparse.ArgumentParser) -> Iterator[None]:
    """
    How the timing commands (``overhead``, ``policies``) end on an error: one ``error:`` line for a bad argument,
    one line and exit 130 (or 143) when interrupted, exit 1 when a timing run fails. They write nothing before
    their last run, so there is nothing to keep.

    :param parser: The command's parser, which prints a bad argument with its usage
    """
    try:
        yield
    except BadArgument as error:
        parser.error(str(error))
    except KeyboardInterrupt as error:
        print("interrupted; no result was written", file=sys.stderr, flush=True)
        sys.exit(getattr(error, "exit_code", 130))
    except WorkerError as error:
        print(f"error: a timing run failed: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------


def error_text(error: BaseException) -> str:
    """``Type: message`` of an error, on one line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def check_count(flag: str, value: Any, hint: str = "") -> int:
    """A count, budget or frequency: an integer >= 1, else :class:`BadArgument` naming ``flag``."""
    if is_int(value) and value >= 1:
        return int(value)
    raise BadArgument(f"{flag} must be an integer >= 1, got {value!r}{hint}")


def check_seeds(seeds: Sequence[Any], flag: str = "--seeds") -> list[int]:
    """
    :param seeds: Seeds of a run, one job (per method) each
    :param flag: The command-line flag, for the message
    :return: The seeds as a list
    :raises BadArgument: If there is none, one is not an integer in ``[0, MAX_SEED]``, or one is repeated (it would run
        the same job twice into one folder and count it twice)
    """
    seeds = list(seeds)
    if not seeds:
        raise BadArgument(f"{flag}: give at least one seed")
    for seed in seeds:
        if not is_int(seed) or not 0 <= seed <= MAX_SEED:
            raise BadArgument(f"{flag}: every seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise BadArgument(
            f"{flag}: seeds are repeated: {repeated}; each seed is one job per method, so a repeat would train the same "
            "job twice into one folder and count it twice"
        )
    return [int(seed) for seed in seeds]


def check_device(device: Any) -> None:
    """Refuse a device torch does not know, or one this machine lacks (torch would fail in every job, or SB3 fall back)."""
    import torch as th

    if device == "auto":
        return
    try:
        parsed = th.device(device)
    except (RuntimeError, TypeError, ValueError) as error:
        raise BadArgument(f"--device {device!r}: {error_text(error)} (use cpu, cuda, cuda:<n>, mps or auto)") from error
    if parsed.type == "cuda":
        available, count = th.cuda.is_available(), th.cuda.device_count()
        if not available or (parsed.index is not None and parsed.index >= count):
            raise BadArgument(
                f"--device {device!r}: there is no such CUDA device here (torch.cuda.is_available() is {available}, "
                f"torch.cuda.device_count() is {count}); use cpu, auto (a GPU when there is one) or an existing cuda:<n>"
            )
    elif parsed.type == "mps" and not th.backends.mps.is_available():
        raise BadArgument(f"--device {device!r}: MPS is not available here (torch.backends.mps.is_available() is False)")


def prepare_output_dir(
    folder: Union[str, pathlib.Path], flag: str = "--output-dir", given: Optional[str] = None, create: bool = True
) -> pathlib.Path:
    """
    Check, before any job or run, that an output folder can be created and written, and create it: a folder that
    cannot be written found once the work is done loses the work (or, for the runner, fails with a traceback).

    :param folder: The folder (created with its parents when missing)
    :param flag: The command-line flag that gave it, for the message
    :param given: The value given to the flag when it is not the folder itself (a path prefix, kwargs), for the message
    :param create: Create the folder; ``False``: leave it as it is and only check that it could be created and
        written (for a folder that the jobs create themselves)
    :return: The folder
    :raises BadArgument: If the folder (or its nearest existing parent) is a file, or cannot be created or written
    """
    folder = pathlib.Path(folder)
    shown = f"{flag} {str(folder) if given is None else given!r}" + ("" if given is None else f" (folder {folder})")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise BadArgument(f"{shown}: {existing} is a file, not a folder")
    try:
        # Write access tested by writing: os.access says yes to root even where nothing can be written (/proc).
        if create:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        else:
            with tempfile.TemporaryDirectory(dir=existing):
                pass
    except OSError as error:
        raise BadArgument(f"{shown}: cannot create or write in it: {error_text(error)}") from None
    return folder


def output_prefix(
    output: Union[str, pathlib.Path], name: str, suffixes: Sequence[str] = (".json", ".md", ".rst")
) -> pathlib.Path:
    """
    The path prefix of a benchmark's result files (``<prefix>.json`` ...), checked before the first run: a folder
    (an existing one, or a path ending with ``/``) holds the files as ``<folder>/<name>.json`` ..., rather than
    getting them written next to it as ``<folder>.json``; the folder of the files is created and must be writable.

    :param output: The ``--output`` value
    :param name: The file name used inside a folder (the benchmark's name)
    :param suffixes: The suffixes of the files written
    :return: The prefix
    :raises BadArgument: If ``output`` is empty, one of the files would be a folder, or the folder cannot be written
    """
    text = str(output)
    if not text.strip():
        raise BadArgument(f"--output must be a path prefix of the result files (or a folder), got {text!r}")
    prefix = pathlib.Path(text)
    if text.endswith(("/", os.sep)) or prefix.is_dir():
        prefix = prefix / name
    for suffix in suffixes:
        if pathlib.Path(f"{prefix}{suffix}").is_dir():
            raise BadArgument(f"--output {text!r}: {prefix}{suffix} is a folder, the result file cannot be written")
    prepare_output_dir(prefix.parent, "--output", given=text)
    return prefix


# --------------------------------------------------------------------------------------------------
# Command lines
# --------------------------------------------------------------------------------------------------


def json_argument(text: str) -> dict[str, Any]:
    """
    An ``argparse`` type: a JSON object (``--algo-kwargs '{"n_steps": 1024}'`` ...).

    :param text: The argument
    :return: The object, as a dict
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An ``argparse`` type: an integer >= ``minimum``, refused with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    return parse


#: ``argparse`` type of counts, budgets and frequencies: an integer >= 1.
positive_int = _int_at_least(1)

#: ``argparse`` type: an integer >= 0.
non_negative_int = _int_at_least(0)


def seed_argument(text: str) -> int:
    """
    An ``argparse`` type: a seed, an integer in ``[0, MAX_SEED]``.

    :param text: The argument
    :return: The seed
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed must be an integer in [0, {MAX_SEED}], got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed must be an integer in [0, {MAX_SEED}], got {text!r}")
    return value


def positive_float(text: str) -> float:
    """
    An ``argparse`` type: a finite number > 0 (NaN and infinities refused).

    :param text: The argument
    :return: The number
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
    return value


def reject_repeats(parser: argparse.ArgumentParser, flag: str, values: Sequence[Any], why: str) -> None:
    """
    Exit through ``parser.error`` when a list argument holds a value twice.

    :param parser: The parser
    :param flag: The argument, for the message
    :param values: Its values
    :param why: Why a repeat is refused, for the message
    """
    repeated = [value for index, value in enumerate(values) if value in values[:index]]
    if repeated:
        parser.error(f"{flag}: {' '.join(map(str, dict.fromkeys(repeated)))} given more than once; {why}")


#: The command-line arguments shared by every runner of jobs (:func:`add_job_arguments`): those of
#: :func:`~sb3_gtr.benchmarks.settings.job_settings`, ``jobs`` and ``quiet``.
JOB_ARGUMENTS = (
    "suite",
    "scale",
    "n_cycles",
    "suite_kwargs",
    "algo_kwargs",
    "policy",
    "policy_kwargs",
    "n_envs",
    "normalize",
    "normalize_kwargs",
    "eval_freq",
    "n_eval_episodes",
    "device",
    "jobs",
    "num_threads",
    "dispatch",
    "address",
)

#: The values of ``--dispatch``: Ray tasks (the default), or the in-house worker processes.
DISPATCHES = ("ray", "processes")


def check_dispatch(dispatch: str, address: Optional[str]) -> None:
    """
    :param dispatch: ``--dispatch``
    :param address: ``--address``
    :raises BadArgument: For a dispatch not in :data:`DISPATCHES`, or an address without Ray
    """
    if dispatch not in DISPATCHES:
        raise BadArgument(f"--dispatch must be one of {', '.join(DISPATCHES)}, got {dispatch!r}")
    if address is not None and dispatch != "ray":
        raise BadArgument(f"--address {address} is a Ray cluster's: it needs --dispatch ray, not --dispatch {dispatch}")
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise BadArgument(f"--address must be a Ray cluster address (ray://host:10001, host:6379 or auto), got {address!r}")


def dispatcher_of(dispatch: str, address: Optional[str], jobs: int) -> Any:
    """
    The dispatcher of :func:`~sb3_gtr.benchmarks.runner.run_jobs` for ``--dispatch`` / ``--address``, started (a
    local Ray, or connected to the cluster) before any job.

    :raises BadArgument: If Ray is asked for and not installed, or the cluster cannot be reached
    """
    from sb3_gtr.benchmarks.ray_dispatch import make_dispatcher

    try:
        return make_dispatcher(dispatch, address, jobs)
    except ImportError as error:
        raise BadArgument(str(error)) from None
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise BadArgument(f"--address {address}: cannot connect to the Ray cluster ({error_text(error)})") from None


#: Why ``--num-threads`` defaults to one thread, for the help text.
NUM_THREADS_HELP = (
    f"torch threads of each job (default: {NUM_THREADS}; small networks train fastest on one CPU thread, and threads "
    "beyond the free cores make every job several times slower)"
)


#: Keys of a zoo entry that are not algorithm keyword arguments (the zoo's own, or set per method by the benchmark).
NOT_ALGO_KWARGS = (
    "n_envs",
    "n_timesteps",
    "policy",
    "policy_kwargs",
    "normalize",
    "penalty",
    "sigma",
    "penalty_coef",
    "mixture_anchor",
    "anchor_window",
    "clip_surrogate",
)


def zoo_settings(suite: str) -> dict[str, Any]:
    """
    The settings of a suite's runs, from its ``gtr_ppo`` zoo entry (the one source of its hyperparameters).

    :param suite: A suite with a ``gtr_ppo`` zoo entry (``sb3_gtr/continual-<suite>-v0``)
    :return: ``algo_kwargs`` (without the trust-region arguments, which each method sets), ``n_envs``, ``policy``,
        ``policy_kwargs`` and ``normalize``
    """
    from sb3_gtr.demo import read_hyperparams
    from sb3_gtr.registration import continual_env_id

    try:
        entry = read_hyperparams(continual_env_id(suite), ignore=("callback",))
    except ValueError as error:
        raise BadArgument(f"--zoo-hyperparams: {error}") from None
    return {
        "algo_kwargs": {key: value for key, value in entry.items() if key not in NOT_ALGO_KWARGS},
        "n_envs": int(entry.get("n_envs", 1)),
        "policy": entry.get("policy", "MlpPolicy"),
        "policy_kwargs": entry.get("policy_kwargs"),
        "normalize": bool(entry.get("normalize", False)),
    }


def zoo_run_kwargs(suite: str) -> dict[str, Any]:
    """
    The keyword arguments of :func:`~sb3_gtr.benchmarks.continual.run_benchmark` that a suite's zoo entry sets, for the
    commands that always run a suite with them (calibration, ablations, parallel efficiency).

    :param suite: A suite with a ``gtr_ppo`` zoo entry
    :return: ``zoo_algo_kwargs``, ``policy``, ``policy_kwargs``, ``n_envs`` and ``normalize`` (see :func:`zoo_settings`)
    """
    settings = zoo_settings(suite)
    return {
        "zoo_algo_kwargs": settings["algo_kwargs"],
        **{name: settings[name] for name in ("policy", "policy_kwargs", "n_envs", "normalize")},
    }


def split_zoo_kwargs(
    zoo_algo_kwargs: Optional[Mapping[str, Any]], algo_kwargs: Mapping[str, Any], own_keys: Iterable[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """
    Share out the hyperparameters of a suite's zoo entry (``--zoo-hyperparams``). They are defaults: ``--algo-kwargs``
    overrides them for every method, and a method's own kwargs (or a sweep's sampled arguments) override them for
    that method. So that ``--method-kwargs '{"ppo-e30": {"base": "ppo", "n_epochs": 30}}'`` works with the zoo's
    ``n_epochs``, the zoo's values of the keys some method sets move from the shared kwargs into each method's.

    :param zoo_algo_kwargs: The zoo entry's hyperparameters (``None``: no ``--zoo-hyperparams``)
    :param algo_kwargs: The user's ``--algo-kwargs``, shared by every method
    :param own_keys: The keys that some method (or trial) sets itself
    :return: ``(shared, per_method)``: the kwargs every job shares (the user's included), and the zoo's defaults to put
        under each method's own kwargs
    """
    own_keys = set(own_keys)
    zoo = {key: value for key, value in (zoo_algo_kwargs or {}).items() if key not in algo_kwargs}
    shared = {key: value for key, value in zoo.items() if key not in own_keys}
    per_method = {key: value for key, value in zoo.items() if key in own_keys}
    return {**shared, **algo_kwargs}, per_method


def add_dispatch_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add ``--dispatch`` and ``--address`` (how the jobs run, :func:`dispatcher_of`) to a command line.

    :param parser: The parser
    """
    parser.add_argument(
        "--dispatch",
        choices=DISPATCHES,
        default="ray",
        help="how jobs are run: 'ray' (Ray tasks; a local Ray started for the run unless --address) or 'processes' "
        "(worker processes of this machine, without Ray)",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="address of a running Ray cluster (ray://host:10001, host:6379, or auto); the output folder must be on a "
        "filesystem every node sees (default: a local Ray)",
    )


def add_job_arguments(parser: argparse.ArgumentParser, n_eval_episodes: int = 5) -> None:
    """
    Add the arguments that say how to run the jobs (the suite, its scale, the shared hyperparameters, the policy,
    normalisation, evaluation, device, parallel jobs, threads and ``--quiet``) to a command line.

    :param parser: The parser
    :param n_eval_episodes: Default number of evaluation episodes per task
    """
    parser.add_argument("--suite", required=True, choices=sorted(SUITES), help="the continual suite")
    parser.add_argument("--scale", type=positive_float, default=1.0, help="factor on every task's step budget")
    parser.add_argument("--n-cycles", type=positive_int, default=None, help="passes over the tasks (default: the suite's)")
    parser.add_argument("--suite-kwargs", type=json_argument, default={}, help="JSON object of suite keyword arguments")
    parser.add_argument("--algo-kwargs", type=json_argument, default={}, help="JSON object of hyperparameters shared by all")
    parser.add_argument("--policy", default=None, help="policy alias or import path (default: the suite's, else MlpPolicy)")
    parser.add_argument(
        "--policy-kwargs", type=json_argument, default=None, help="JSON object of policy kwargs (default: suite's)"
    )
    parser.add_argument("--n-envs", type=positive_int, default=None, help="parallel environments per job (default: 1)")
    normalize = parser.add_mutually_exclusive_group()
    normalize.add_argument(
        "--normalize", dest="normalize", action="store_true", default=None, help="use VecNormalize (default: as the suite)"
    )
    normalize.add_argument("--no-normalize", dest="normalize", action="store_false", help="do not use VecNormalize")
    parser.add_argument(
        "--normalize-kwargs", type=json_argument, default=None, help="JSON object of VecNormalize kwargs (default: suite's)"
    )
    parser.add_argument(
        "--eval-freq",
        type=positive_int,
        default=None,
        help=f"steps between evaluations (default: {EVALS_PER_PHASE} per phase, at most one per rollout)",
    )
    parser.add_argument("--n-eval-episodes", type=positive_int, default=n_eval_episodes, help="evaluation episodes per task")
    parser.add_argument("--device", default="cpu", help="torch device of every job")
    parser.add_argument("--jobs", type=positive_int, default=1, help="jobs run at the same time, one process each")
    add_dispatch_arguments(parser)
    parser.add_argument("--num-threads", type=positive_int, default=NUM_THREADS, help=NUM_THREADS_HELP)
    parser.add_argument("--quiet", action="store_true", help="no progress display or log lines")
    parser.add_argument(
        "--zoo-hyperparams",
        action="store_true",
        help="take the hyperparameters, n_envs, policy and normalisation from the suite's gtr_ppo zoo entry "
        "(flags given override them; the trust-region arguments stay each method's)",
    )


def job_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """
    :param args: Arguments parsed by a parser given :func:`add_job_arguments`
    :return: Those arguments (:data:`JOB_ARGUMENTS`) as keyword arguments, completed from the suite's zoo entry with
        ``--zoo-hyperparams`` (:func:`zoo_settings`: its hyperparameters as ``zoo_algo_kwargs``, see
        :func:`split_zoo_kwargs`), and ``verbose``
    """
    values = {name: getattr(args, name) for name in JOB_ARGUMENTS}
    if getattr(args, "zoo_hyperparams", False):
        settings = zoo_settings(args.suite)
        values["zoo_algo_kwargs"] = settings["algo_kwargs"]
        for name in ("n_envs", "policy", "policy_kwargs", "normalize"):
            if values[name] is None:
                values[name] = settings[name]
    if values["n_envs"] is None:
        values["n_envs"] = 1
    return {**values, "verbose": not args.quiet}


def interrupted_message(output_dir: Union[str, pathlib.Path]) -> str:
    """
    :param output_dir: The run's output folder
    :return: The one line printed when a run is interrupted
    """
    return f"interrupted; finished jobs are kept in {output_dir}, rerun the same command to resume"
