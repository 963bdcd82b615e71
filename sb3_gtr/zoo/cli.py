"""
``python -m sb3_gtr.zoo COMMAND [zoo arguments]`` (console script ``sb3-gtr-zoo``): the RL Zoo's own entry
points, with ``gtr_ppo`` and ``gtr_ppo_recurrent`` registered first.

Every argument after the command goes to the zoo unchanged, with two additions for the GTR algorithms:

- ``train`` / ``optimize`` without ``--conf-file`` read the YAML shipped in ``sb3_gtr/hyperparams/``
  (the zoo itself only looks in ``rl_zoo3/hyperparams/``);
- an environment missing from that YAML, or a hyperparameter name the algorithm does not take, fails
  before anything is built, with a message that says what to do.

Commands: ``train``, ``optimize`` (``train -optimize``), ``enjoy``, ``record-video``, ``record-training``,
``push-to-hub``, ``load-from-hub``, ``plots`` (the zoo's ``all_plots``), ``plot-train``, ``plot-from-file``.
"""

import argparse
import contextlib
import importlib
import inspect
import runpy
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Optional

import yaml

from sb3_gtr.zoo.registration import GTR_ALGOS, register_with_zoo

HYPERPARAMS_DIR = Path(__file__).resolve().parent.parent / "hyperparams"
# Keys of a zoo YAML entry that the zoo consumes itself instead of passing them to the algorithm
ZOO_KEYS = frozenset(
    {
        "n_timesteps",
        "n_envs",
        "policy",
        "normalize",
        "monitor_kwargs",
        "env_kwargs",
        "frame_stack",
        "env_wrapper",
        "vec_env_wrapper",
        "callback",
        "noise_type",
        "noise_std",
    }
)
# Command -> (module, function): a function is called, a module without one is run as ``__main__``
# (the zoo keeps those scripts' code under ``if __name__ == "__main__":``).
COMMANDS: dict[str, tuple[str, Optional[str]]] = {
    "train": ("rl_zoo3.train", "train"),
    "optimize": ("rl_zoo3.train", "train"),
    "enjoy": ("rl_zoo3.enjoy", "enjoy"),
    "record-video": ("rl_zoo3.record_video", None),
    "record-training": ("rl_zoo3.record_training", None),
    "push-to-hub": ("rl_zoo3.push_to_hub", None),
    "load-from-hub": ("rl_zoo3.load_from_hub", None),
    "plots": ("rl_zoo3.plots.all_plots", "all_plots"),
    "all-plots": ("rl_zoo3.plots.all_plots", "all_plots"),
    "plot-train": ("rl_zoo3.plots.plot_train", "plot_train"),
    "plot-from-file": ("rl_zoo3.plots.plot_from_file", "plot_from_file"),
}


def default_conf_file(algo: str) -> Path:
    """
    :param algo: Zoo name of a GTR algorithm (``gtr_ppo`` or ``gtr_ppo_recurrent``)
    :return: The packaged YAML file of its hyperparameters
    """
    return HYPERPARAMS_DIR / f"{algo}.yml"


#: torch threads of ``train`` and ``optimize`` when ``--num-threads`` is not given.
DEFAULT_NUM_THREADS = 1


def _parse_train_args(args: Sequence[str]) -> argparse.Namespace:
    # Only the few arguments this wrapper looks at; the zoo parses (and validates) all of them again.
    from rl_zoo3.utils import StoreDict

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("-conf", "--conf-file", default=None)
    parser.add_argument("-params", "--hyperparams", type=str, nargs="+", action=StoreDict, default=None)
    parser.add_argument("--gym-packages", type=str, nargs="+", default=[])
    parser.add_argument("-optimize", "--optimize-hyperparameters", action="store_true")
    parser.add_argument("--num-threads", type=int, default=None)
    parser.add_argument("-n", "--n-timesteps", type=int, default=-1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--n-trials", type=int, default=None)
    parser.add_argument("--storage", default=None)
    try:
        known, _ = parser.parse_known_args(list(args))
    except (NameError, SyntaxError, TypeError, ValueError) as error:
        # The zoo's StoreDict evaluates each `-params` value as Python: a bare word is a NameError there
        raise SystemExit(
            f"error: -params: every value must be a Python literal ({type(error).__name__}: {error}); quote "
            "strings and schedules, e.g. -params penalty:\"'kl'\" clip_range:\"'lin_0.2'\" sigma:0.3"
        ) from None
    check_train_args(known)
    return known


def check_train_args(known: argparse.Namespace) -> None:
    """
    Refuse the values of ``train`` / ``optimize`` that the zoo takes silently (``-n 0`` trains the YAML's
    whole budget, ``--num-threads 0`` torch's default) or fails on late, after creating its log folder.

    :param known: The arguments parsed by :func:`_parse_train_args`
    :raises SystemExit: with the explanation
    """
    import torch as th

    if known.n_timesteps == 0 or known.n_timesteps < -1:
        raise SystemExit(
            f"error: -n/--n-timesteps must be a positive number of steps, or -1 for the YAML entry's n_timesteps, "
            f"got {known.n_timesteps}"
        )
    if known.num_threads is not None and (known.num_threads == 0 or known.num_threads < -1):
        raise SystemExit(f"error: --num-threads must be >= 1, or -1 for torch's default, got {known.num_threads}")
    if known.device != "auto":
        try:
            th.device(known.device)
        except (RuntimeError, TypeError):
            raise SystemExit(f"error: --device must be auto, cpu, cuda or cuda:<index>, got {known.device!r}") from None
    if known.n_trials is not None and known.n_trials < 1:
        raise SystemExit(f"error: --n-trials must be >= 1, got {known.n_trials}")
    if known.storage is not None and not known.storage.endswith(".log"):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(known.storage)
        except ArgumentError:
            raise SystemExit(
                f"error: --storage must be a database URL (e.g. sqlite:///study.db, mysql://...) or a journal file "
                f"ending in .log, got {known.storage!r}"
            ) from None


def check_gtr_hyperparams(algo: str, env_id: str, conf_file: Path, overrides: Optional[dict[str, Any]] = None) -> None:
    """
    Fail early, with an explanation, when ``env_id`` has no entry in ``conf_file`` or when the entry
    (or a ``-params`` override) names a hyperparameter that the algorithm does not take.

    :param algo: Zoo name of a GTR algorithm
    :param env_id: Environment id
    :param conf_file: YAML file of hyperparameters
    :param overrides: Hyperparameters given with ``-params``
    :raises SystemExit: with the explanation
    """
    try:
        hyperparams_dict = yaml.safe_load(conf_file.read_text()) or {}
    except yaml.YAMLError as error:
        raise SystemExit(f"error: --conf-file {conf_file} is not valid YAML: {error}") from None
    if not isinstance(hyperparams_dict, dict):
        raise SystemExit(f"error: --conf-file {conf_file} must map environment ids to hyperparameters")
    key = env_id if env_id in hyperparams_dict else "default" if "default" in hyperparams_dict else None
    if key is not None:
        if not isinstance(hyperparams_dict[key], dict):
            raise SystemExit(
                f"error: the entry {key!r} of {conf_file} must map hyperparameter names to values, "
                f"got {hyperparams_dict[key]!r}"
            )
        entry = dict(hyperparams_dict[key])
    else:
        # Entries only there to be merged into others (YAML anchors such as ``gtr-defaults``) are not env ids
        known = ", ".join(sorted(key for key in hyperparams_dict if not key.endswith("-defaults")))
        raise SystemExit(
            f"error: no hyperparameters for {env_id!r} in {conf_file} (it has: {known}).\n"
            f"Add an entry keyed by the environment id to that file, e.g. copy a close one:\n\n"
            f"{env_id}:\n  n_timesteps: !!float 1e6\n  policy: 'MlpPolicy'\n  ...\n\n"
            f"or pass your own file with --conf-file my_{algo}.yml."
        )
    entry.update(overrides or {})
    for name in ("n_envs", "frame_stack"):
        value = entry.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SystemExit(f"error: {name} must be an integer >= 1, got {value!r} (entry {env_id!r} of {conf_file})")
    n_timesteps = entry.get("n_timesteps", 1)
    if isinstance(n_timesteps, bool) or not isinstance(n_timesteps, (int, float)) or not n_timesteps >= 1:
        raise SystemExit(f"error: n_timesteps must be a number >= 1, got {n_timesteps!r} (entry {env_id!r} of {conf_file})")
    algo_class = GTR_ALGOS[algo][0]
    accepted = set(inspect.signature(algo_class.__init__).parameters) - {"self", "env", "_init_setup_model"}
    unknown = sorted(set(entry) - accepted - ZOO_KEYS)
    if unknown:
        raise SystemExit(
            f"error: unknown hyperparameter(s) {', '.join(unknown)} for {algo} ({algo_class.__name__}) on {env_id}.\n"
            f"{algo_class.__name__} takes: {', '.join(sorted(accepted - {'policy'}))};\n"
            f"the zoo also reads: {', '.join(sorted(ZOO_KEYS))}."
        )


def _env_is_registered(env_id: str, gym_packages: Sequence[str]) -> bool:
    import gymnasium as gym
    import rl_zoo3.import_envs  # noqa: F401  (the zoo registers its own environments there)

    for module in gym_packages:
        importlib.import_module(module)
    return env_id in gym.envs.registry


def import_env_packages(args: Sequence[str]) -> None:
    """
    Register the environment ids that ``--env`` needs and that the zoo does not know: shimmy's ``dm_control/...``
    ids (as ``--gym-packages shimmy`` would, without its import noise). sb3-gtr's own ids are registered on import.

    :param args: The command's arguments
    """
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--env", default="")
    env_id = parser.parse_known_args(list(args))[0].env
    if env_id.startswith("dm_control/"):
        from sb3_gtr.continual.adapters.wrappers import import_quietly

        import_quietly("shimmy")


def prepare_train_args(args: Sequence[str], optimize: bool = False) -> list[str]:
    """
    Arguments for the zoo's ``train``: ``-optimize`` added for ``optimize``, and for a GTR algorithm the
    packaged YAML as ``--conf-file`` when none is given, after checking the environment's entry.

    :param args: Arguments given after the command
    :param optimize: Whether this is ``optimize`` (hyperparameter search)
    :return: The arguments to hand to the zoo
    """
    args = list(args)
    known = _parse_train_args(args)
    if optimize and not known.optimize_hyperparameters:
        args.append("--optimize-hyperparameters")
    if known.num_threads is None:
        # The zoo's default (-1) keeps torch's one thread per core, several times slower for MLP-sized networks on a
        # CPU, and catastrophic when jobs share the cores: one thread unless asked (-1 restores torch's default).
        args = ["--num-threads", str(DEFAULT_NUM_THREADS), *args]
    if known.algo not in GTR_ALGOS:
        return args
    if known.conf_file is None:
        conf_file = default_conf_file(known.algo)
        args += ["--conf-file", str(conf_file)]
    else:
        conf_file = Path(known.conf_file)
        if conf_file.suffix in {".yml", ".yaml"} and not conf_file.is_file():
            what = "is a folder" if conf_file.is_dir() else "does not exist"
            raise SystemExit(f"error: --conf-file {conf_file} {what}: give a YAML file of hyperparameters")
    # An unknown environment is reported by the zoo (with the closest registered id); a custom file that
    # is not YAML (a .py file or a Python module) is the zoo's business too.
    if conf_file.suffix in {".yml", ".yaml"} and conf_file.is_file() and _env_is_registered(known.env, known.gym_packages):
        check_gtr_hyperparams(known.algo, known.env, conf_file, known.hyperparams)
    return args


def patch_huggingface_sb3() -> None:
    """
    Make rl-zoo3 2.9.2's Hub scripts work with the ``huggingface_sb3`` module they get (sb3-team-hf-integration 3.2)
    and huggingface_hub 2.x. Each fix does nothing where it is not needed; call it before the zoo's Hub code runs.

    - ``rl_zoo3.push_to_hub`` imports ``generate_metadata``, which is now ``_generate_metadata`` (and returns a
      ``ModelCardData`` where the zoo expects a dict).
    - ``rl_zoo3.load_from_hub`` catches ``requests.HTTPError`` when an optional file (``vec_normalize.pkl``) is
      missing, but huggingface_hub 2.x raises ``EntryNotFoundError``, which no longer derives from it.
    """
    import huggingface_sb3
    from requests.exceptions import HTTPError

    # Not ``from huggingface_sb3 import push_to_hub``: the package exports a function of that name
    push_module = importlib.import_module("huggingface_sb3.push_to_hub")
    if not hasattr(push_module, "generate_metadata") and hasattr(push_module, "_generate_metadata"):

        def generate_metadata(model_name: str, env_id: str, mean_reward: float, std_reward: float) -> dict[str, Any]:
            metadata = push_module._generate_metadata(model_name, env_id, mean_reward, std_reward)
            return metadata.to_dict() if hasattr(metadata, "to_dict") else dict(metadata)

        push_module.generate_metadata = generate_metadata

    try:
        from huggingface_hub.errors import EntryNotFoundError
    except ImportError:  # huggingface_hub < 0.21
        return
    original = huggingface_sb3.load_from_hub
    if issubclass(EntryNotFoundError, HTTPError) or getattr(original, "_sb3_gtr_patched", False):
        return

    def load_from_hub(repo_id: str, filename: str) -> str:
        try:
            return original(repo_id, filename)
        except EntryNotFoundError as error:
            raise HTTPError(str(error)) from error

    load_from_hub._sb3_gtr_patched = True  # type: ignore[attr-defined]
    huggingface_sb3.load_from_hub = load_from_hub
    # Already imported modules bound the original function (``enjoy`` downloads missing rl-trained-agents)
    zoo_module = sys.modules.get("rl_zoo3.load_from_hub")
    if zoo_module is not None:
        zoo_module.load_from_hub = load_from_hub  # type: ignore[attr-defined]


def sb3_gtr_model_card(text: str) -> str:
    """
    The zoo's model card with commands that work for the GTR algorithms: ``python -m rl_zoo3.X`` does not
    know ``gtr_ppo``, ``python -m sb3_gtr.zoo`` does (and runs every zoo algorithm too).

    :param text: Model card (README) written by ``rl_zoo3.push_to_hub``
    :return: The same card, its commands going through ``python -m sb3_gtr.zoo``
    """
    for script in ("load_from_hub", "enjoy", "train", "push_to_hub"):
        text = text.replace(f"python -m rl_zoo3.{script} ", f"python -m sb3_gtr.zoo {script.replace('_', '-')} ")
    return text.replace("pip install rl_zoo3", 'pip install "sb3-gtr[zoo]"')


@contextlib.contextmanager
def _model_card_for_sb3_gtr() -> Iterator[None]:
    # rl_zoo3.push_to_hub writes the card, then adds the metadata with ``metadata_save``: rewrite it there.
    from huggingface_hub import repocard

    original = repocard.metadata_save

    def metadata_save(local_path: Any, data: dict) -> Any:
        path = Path(local_path)
        if path.is_file():
            path.write_text(sb3_gtr_model_card(path.read_text(encoding="utf-8")), encoding="utf-8")
        return original(local_path, data)

    repocard.metadata_save = metadata_save
    try:
        yield
    finally:
        repocard.metadata_save = original


@contextlib.contextmanager
def ffmpeg_on_path() -> Iterator[None]:
    """
    Put an ``ffmpeg`` executable on ``PATH`` while the block runs, if there is none: the Hub's replay video
    (``huggingface_sb3``) and ``record-training`` call the ``ffmpeg`` command, which many machines lack, while the
    ``imageio-ffmpeg`` package (installed with SB3's extras) ships a binary. Does nothing when ``ffmpeg`` is found
    or ``imageio-ffmpeg`` is missing.
    """
    import os
    import shutil
    import tempfile

    try:
        import imageio_ffmpeg
    except ImportError:
        imageio_ffmpeg = None
    if shutil.which("ffmpeg") is not None or imageio_ffmpeg is None:
        yield
        return
    original_path = os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="sb3-gtr-ffmpeg-") as folder:
        os.symlink(imageio_ffmpeg.get_ffmpeg_exe(), os.path.join(folder, "ffmpeg"))
        os.environ["PATH"] = folder + os.pathsep + original_path
        try:
            yield
        finally:
            os.environ["PATH"] = original_path


def run_command(command: str, args: Sequence[str]) -> None:
    """
    Run one zoo command with ``args`` as its command line, GTR algorithms registered.

    :param command: One of :data:`COMMANDS` (``_`` may replace ``-``)
    :param args: Its arguments
    """
    command = command.replace("_", "-")
    if command not in COMMANDS:
        raise SystemExit(f"error: unknown command {command!r}; use one of: {', '.join(COMMANDS)}")
    register_with_zoo()
    import_env_packages(args)
    if command in {"train", "optimize"}:
        args = prepare_train_args(args, optimize=command == "optimize")
    if command in {"push-to-hub", "load-from-hub", "enjoy"}:
        patch_huggingface_sb3()
    if command.startswith("plot") or command == "all-plots":
        try:
            import seaborn  # noqa: F401
        except ImportError:
            raise SystemExit("error: the zoo's plots need seaborn (and pandas): pip install seaborn") from None
    module_name, function_name = COMMANDS[command]
    sys.argv = [f"sb3-gtr-zoo {command}", *args]
    if function_name is None:
        card = _model_card_for_sb3_gtr() if command == "push-to-hub" else contextlib.nullcontext()
        ffmpeg = ffmpeg_on_path() if command in {"push-to-hub", "record-training"} else contextlib.nullcontext()
        with card, ffmpeg:
            runpy.run_module(module_name, run_name="__main__", alter_sys=True)
    else:
        getattr(importlib.import_module(module_name), function_name)()


def main(argv: Optional[Sequence[str]] = None) -> None:
    """
    Entry point of ``python -m sb3_gtr.zoo`` and of the ``sb3-gtr-zoo`` console script.

    :param argv: ``[COMMAND, *zoo arguments]``; ``sys.argv[1:]`` by default
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__.strip())
        print(f"\nusage: sb3-gtr-zoo {{{','.join(COMMANDS)}}} [ARGS...]  (ARGS: see `sb3-gtr-zoo COMMAND --help`)")
        raise SystemExit(0 if argv else 2)
    run_command(argv[0], argv[1:])


if __name__ == "__main__":
    main()
