"""
The search of :mod:`~sb3_gtr.benchmarks.sweep`: the space of GTR's trust-region arguments it samples
(:func:`sample_sweep_params`, starting from ``GTRPPO``'s defaults, :func:`default_raw_params`) and the Optuna study
that holds its trials (:func:`open_study`), checked to hold only trials run with the same settings, seeds and
objective, so that an interrupted sweep resumes (:func:`interrupted_trials`) and never mixes in other measurements.
"""

import json
import pathlib
from collections.abc import Mapping
from typing import Any, Optional, Union

from sb3_gtr.benchmarks.arguments import BadArgument, error_text
from sb3_gtr.benchmarks.methods import gtr_defaults
from sb3_gtr.benchmarks.reports import describe
from sb3_gtr.common.trust_region import ADVANTAGE_WEIGHTED

#: Values of ``clip_range`` tried: those of the RL Zoo's PPO search space.
CLIP_RANGES = (0.1, 0.2, 0.3, 0.4)
#: Key of the study's user attributes holding what its trials were run with (settings, seeds, objective): resuming a
#: study with other ones would rank trials that measured different things.
STUDY_ATTRIBUTE = "sb3_gtr_sweep"


def sample_sweep_params(trial: Any, n_epochs: int) -> dict[str, Any]:
    """
    Sample the swept arguments, as raw Optuna parameters: the zoo sampler's GTR arguments with the
    advantage-weighted coefficient (the paper's), plus ``clip_range``.

    :param trial: Optuna trial
    :param n_epochs: Epochs per update of the runs: the largest anchor window tried
    :return: The raw parameters (see :func:`sweep_kwargs`)
    """
    from sb3_gtr.zoo.samplers import sample_gtr_raw_params

    raw = sample_gtr_raw_params(trial, penalty_coef_modes=(ADVANTAGE_WEIGHTED,), max_anchor_window=n_epochs)
    raw["clip_range"] = trial.suggest_categorical("clip_range", list(CLIP_RANGES))
    return raw


def sweep_kwargs(raw: Mapping[str, Any], n_epochs: int) -> dict[str, Any]:
    """
    :param raw: Raw parameters of :func:`sample_sweep_params`
    :param n_epochs: Epochs per update of the runs
    :return: The ``GTRPPO`` keyword arguments of a trial
    """
    from sb3_gtr.zoo.samplers import gtr_kwargs_from_raw

    return {**gtr_kwargs_from_raw(dict(raw), n_epochs), "clip_range": raw["clip_range"]}


def default_raw_params() -> dict[str, Any]:
    """:return: ``GTRPPO``'s defaults as raw parameters of :func:`sample_sweep_params` (the first trial)"""
    defaults = gtr_defaults()
    if defaults["penalty_coef"] != ADVANTAGE_WEIGHTED or defaults["clip_range"] not in CLIP_RANGES:
        raise RuntimeError(f"GTRPPO's defaults {defaults} lie outside the sweep's search space")
    raw = {
        "sigma": defaults["sigma"],
        "penalty_coef_mode": ADVANTAGE_WEIGHTED,
        "clip_surrogate": defaults["clip_surrogate"],
        "anchor_window_mode": "all" if defaults["anchor_window"] is None else "window",
        "clip_range": defaults["clip_range"],
    }
    if defaults["anchor_window"] is not None:
        raw["anchor_window"] = defaults["anchor_window"]
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
