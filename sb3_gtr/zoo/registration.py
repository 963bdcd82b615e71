"""Make GTRPPO and RecurrentGTRPPO known to the RL Zoo (``rl_zoo3``)."""

from rl_zoo3 import hyperparams_opt, utils

from sb3_gtr.gtr_ppo import GTRPPO
from sb3_gtr.gtr_ppo_recurrent import RecurrentGTRPPO
from sb3_gtr.zoo.samplers import convert_gtr_params, sample_gtr_ppo_params, sample_gtr_ppo_recurrent_params

# Zoo name -> (algorithm class, Optuna sampler)
GTR_ALGOS = {
    "gtr_ppo": (GTRPPO, sample_gtr_ppo_params),
    "gtr_ppo_recurrent": (RecurrentGTRPPO, sample_gtr_ppo_recurrent_params),
}


def register_with_zoo() -> None:
    """
    Add ``gtr_ppo`` and ``gtr_ppo_recurrent`` to the zoo's ``ALGOS``, their Optuna samplers to
    ``HYPERPARAMS_SAMPLER`` and their converters to ``HYPERPARAMS_CONVERTER`` (used to load a trial from a
    study). Safe to call more than once.

    The zoo checks ``--algo`` against ``ALGOS`` while it parses its arguments (before ``--gym-packages`` are
    imported), so this must run before the zoo's entry points: ``python -m sb3_gtr.zoo`` does it. Importing ``sb3_gtr``
    (as this module does) also registers sb3-gtr's environments (``sb3_gtr/continual-<suite>-v0`` ..., see
    :mod:`sb3_gtr.continual.registration`).
    """
    for name, (algo_class, sampler) in GTR_ALGOS.items():
        utils.ALGOS[name] = algo_class
        hyperparams_opt.HYPERPARAMS_SAMPLER[name] = sampler
        hyperparams_opt.HYPERPARAMS_CONVERTER[name] = convert_gtr_params
