"""
The search of :mod:`~sb3_gtr.benchmarks.sweep`: the space it samples for each method it tunes (:data:`SEARCHED`:
GTR's trust-region arguments, PPO+KL's coefficient, every method's ``clip_range``, optionally ``n_epochs``;
:func:`sample_sweep_params`, starting from the method's defaults, :func:`default_raw_params`) and the Optuna study
that holds its trials (:func:`open_study`), checked to hold only trials run with the same settings, seeds and
objective, so that an interrupted sweep resumes (:func:`interrupted_trials`) and never mixes in other measurements.
"""

import json
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

from sb3_gtr.benchmarks.arguments import BadArgument, error_text
from sb3_gtr.benchmarks.methods import gtr_defaults, resolve_methods
from sb3_gtr.benchmarks.reports import describe
from sb3_gtr.common.checks import is_int
from sb3_gtr.common.trust_region import ADVANTAGE_WEIGHTED

#: Values of ``clip_range`` tried: those of the RL Zoo's PPO search space.
CLIP_RANGES = (0.1, 0.2, 0.3, 0.4)
#: Range of PPO+KL's coefficient searched, log-uniform: the PPO paper's fixed-KL sweep ({0.3, 1, 3, 10}), widened.
KL_COEF_RANGE = (0.1, 10.0)
#: The methods a sweep tunes (those of the continual benchmark), with the arguments it searches for each, in table
#: order; ``n_epochs`` is added to each when the sweep searches it too (``n_epochs_choices``). SPO's ``clip_range`` is
#: its ``eps``, the scale of its Pearson penalty's coefficient ``|A| / eps``.
SEARCHED: dict[str, tuple[str, ...]] = {
    "gtr": ("sigma", "clip_surrogate", "clip_range", "anchor_window"),
    "ppo": ("clip_range",),
    "ppo-kl": ("penalty_coef", "clip_range"),
    "spo": ("clip_range",),
}
#: Key of the study's user attributes holding what its trials were run with (settings, seeds, objective): resuming a
#: study with other ones would rank trials that measured different things.
STUDY_ATTRIBUTE = "sb3_gtr_sweep"


def check_search(method: str, n_epochs_choices: Optional[Sequence[int]]) -> None:
    """
    :param method: The method tuned, a key of :data:`SEARCHED`
    :param n_epochs_choices: The ``n_epochs`` values searched (``None``: not searched)
    :raises ~sb3_gtr.benchmarks.arguments.BadArgument: For a method without a search space, or bad ``n_epochs`` values
    """
    if method not in SEARCHED:
        raise BadArgument(f"--method {method!r} has no search space: tune one of {', '.join(SEARCHED)}")
    if n_epochs_choices is not None:
        values = list(n_epochs_choices)
        if not values or any(not is_int(value) or value < 1 for value in values) or len(set(values)) != len(values):
            raise BadArgument(f"--search-epochs must be distinct integers >= 1, got {values!r}")


def searched_keys(method: str = "gtr", epochs_searched: bool = False) -> tuple[str, ...]:
    """:return: The keyword arguments a sweep of ``method`` searches, in table order"""
    return SEARCHED[method] + (("n_epochs",) if epochs_searched else ())


def sample_sweep_params(
    trial: Any, n_epochs: int, method: str = "gtr", n_epochs_choices: Optional[Sequence[int]] = None
) -> dict[str, Any]:
    """
    Sample the swept arguments of a method, as raw Optuna parameters: for GTR, the zoo sampler's GTR arguments with
    the advantage-weighted coefficient (the paper's); for PPO+KL its coefficient; for every method ``clip_range``;
    and ``n_epochs`` when it is searched.

    :param trial: Optuna trial
    :param n_epochs: Epochs per update of the runs, when not searched: the largest anchor window tried
    :param method: The method tuned, a key of :data:`SEARCHED`
    :param n_epochs_choices: The ``n_epochs`` values searched (``None``: not searched)
    :return: The raw parameters (see :func:`sweep_kwargs`)
    """
    from sb3_gtr.zoo.samplers import sample_gtr_raw_params

    raw: dict[str, Any] = {}
    if method == "gtr":
        largest = max(n_epochs_choices) if n_epochs_choices else n_epochs
        raw = sample_gtr_raw_params(trial, penalty_coef_modes=(ADVANTAGE_WEIGHTED,), max_anchor_window=largest)
    elif method == "ppo-kl":
        raw["kl_coef"] = trial.suggest_float("kl_coef", *KL_COEF_RANGE, log=True)
    raw["clip_range"] = trial.suggest_categorical("clip_range", list(CLIP_RANGES))
    if n_epochs_choices:
        raw["n_epochs"] = trial.suggest_categorical("n_epochs", list(n_epochs_choices))
    return raw


def sweep_kwargs(raw: Mapping[str, Any], n_epochs: int, method: str = "gtr") -> dict[str, Any]:
    """
    :param raw: Raw parameters of :func:`sample_sweep_params`
    :param n_epochs: Epochs per update of the runs, when not searched
    :param method: The method tuned
    :return: The ``GTRPPO`` keyword arguments of a trial: the method's own (its penalty ...), then the sampled ones
    """
    from sb3_gtr.zoo.samplers import gtr_kwargs_from_raw

    n_epochs = int(raw.get("n_epochs", n_epochs))
    kwargs = dict(resolve_methods([method])[method])
    if method == "gtr":
        kwargs.update(gtr_kwargs_from_raw(dict(raw), n_epochs))
    if method == "ppo-kl":
        kwargs["penalty_coef"] = float(raw["kl_coef"])
    kwargs["clip_range"] = raw["clip_range"]
    if "n_epochs" in raw:
        kwargs["n_epochs"] = n_epochs
    return kwargs


def default_raw_params(method: str = "gtr", n_epochs: Optional[int] = None) -> dict[str, Any]:
    """
    :param method: The method tuned
    :param n_epochs: The runs' ``n_epochs`` when it is searched (``None``: not searched)
    :return: The method's defaults as raw parameters of :func:`sample_sweep_params` (the first trial)
    """
    defaults = {**gtr_defaults(), **resolve_methods([method])[method]}
    if defaults["clip_range"] not in CLIP_RANGES:
        raise RuntimeError(f"{method}'s clip_range {defaults['clip_range']} lies outside the sweep's search space")
    raw: dict[str, Any] = {}
    if method == "gtr":
        if defaults["penalty_coef"] != ADVANTAGE_WEIGHTED:
            raise RuntimeError(f"GTRPPO's defaults {defaults} lie outside the sweep's search space")
        raw = {
            "sigma": defaults["sigma"],
            "penalty_coef_mode": ADVANTAGE_WEIGHTED,
            "clip_surrogate": defaults["clip_surrogate"],
            "anchor_window_mode": "all" if defaults["anchor_window"] is None else "window",
        }
        if defaults["anchor_window"] is not None:
            raw["anchor_window"] = defaults["anchor_window"]
    elif method == "ppo-kl":
        raw["kl_coef"] = float(defaults["penalty_coef"])
    raw["clip_range"] = defaults["clip_range"]
    if n_epochs is not None:
        raw["n_epochs"] = n_epochs
    return raw


def default_storage(output_dir: Union[str, pathlib.Path]) -> str:
    """
    :param output_dir: The sweep's output folder
    :return: The storage of the sweep's study when none is given: an SQLite file in the output folder
    """
    return f"sqlite:///{pathlib.Path(output_dir) / 'study.db'}"


def open_study(
    storage: Optional[str],
    study_name: str,
    sampler: Any,
    output_dir: Union[str, pathlib.Path],
    attributes: Mapping[str, Any],
) -> Any:
    """
    Open the sweep's Optuna study (created if new) and check that it can hold this sweep's trials: a storage that
    opens, a study that maximises one objective, and trials run with the same settings, seeds and objective (recorded
    in the study's user attribute :data:`STUDY_ATTRIBUTE` when it is created).

    :param storage: Optuna storage URL (``None``: :func:`default_storage`, created in ``output_dir``)
    :param study_name: Study name
    :param sampler: The Optuna sampler
    :param output_dir: The sweep's output folder
    :param attributes: What the trials are run with (JSON values): ``settings``, ``seeds`` and ``objective``
    :return: The study
    :raises ~sb3_gtr.benchmarks.arguments.BadArgument: If the storage does not open, or the study is of another kind
        or was run with other settings
    """
    import optuna

    if storage is None:
        pathlib.Path(output_dir).mkdir(parents=True, exist_ok=True)
        storage = default_storage(output_dir)
    try:
        # Connects now (and creates the tables of a new database): a bad URL fails here, not after the baseline.
        storage_object = optuna.storages.get_storage(storage)
    except Exception as error:
        raise BadArgument(
            f"--storage {storage!r}: cannot open it: {error_text(error)} (give a database URL that SQLAlchemy opens, "
            "e.g. sqlite:///path/to/study.db)"
        ) from error
    try:
        study = optuna.create_study(
            study_name=study_name, storage=storage_object, direction="maximize", sampler=sampler, load_if_exists=True
        )
    except Exception as error:
        raise BadArgument(f"--study-name {study_name!r} in {storage}: {error_text(error)}") from error
    where = f"--study-name {study_name!r} in --storage {storage}"
    if study.directions != [optuna.study.StudyDirection.MAXIMIZE]:
        raise BadArgument(f"{where} is a study of another kind (directions {study.directions}): use another --study-name")
    expected = json.loads(json.dumps(dict(attributes), default=describe))
    stored = study.user_attrs.get(STUDY_ATTRIBUTE)
    if stored is None:
        complete = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
        foreign = [trial.number for trial in complete if "kwargs" not in trial.user_attrs]
        if foreign:
            raise BadArgument(
                f"{where} holds trials that are not of this sweep (trial {foreign[0]} records no GTR kwargs): use another "
                "--study-name"
            )
        study.set_user_attr(STUDY_ATTRIBUTE, expected)
    elif stored != expected:
        differing = sorted(key for key in set(stored) | set(expected) if stored.get(key) != expected.get(key))
        if "settings" in differing:
            old, new = stored.get("settings", {}), expected["settings"]
            differing.remove("settings")
            differing += [key for key in set(old) | set(new) if old.get(key) != new.get(key)]
        raise BadArgument(
            f"{where} was run with other settings (differing: {', '.join(sorted(differing))}): its trials would not compare "
            "with new ones; resume it with its own command, or use another --study-name or --output-dir"
        )
    return study


def folder_of(trial: Any) -> str:
    """The name of a trial's folder (and row): ``trial_<number>``, or the folder of the interrupted trial it retries."""
    return trial.user_attrs.get("folder", f"trial_{trial.number}")


def interrupted_trials(study: Any) -> list[Any]:
    """
    :param study: The sweep's study
    :return: The interrupted trials not retried yet (the last trial of each folder, when it was interrupted): the next
        call of :func:`~sb3_gtr.benchmarks.sweep.run_sweep` runs each again, with its parameters, in its folder (its
        finished seeds are kept)
    """
    import optuna

    last = {folder_of(trial): trial for trial in study.get_trials(deepcopy=False)}  # in trial order: the last wins
    return [
        trial for trial in last.values() if trial.state == optuna.trial.TrialState.FAIL and trial.user_attrs.get("interrupted")
    ]
