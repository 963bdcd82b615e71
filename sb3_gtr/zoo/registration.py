"""Make GTRPPO and RecurrentGTRPPO known to the RL Zoo (``rl_zoo3``)."""

from typing import Any

from rl_zoo3 import hyperparams_opt, utils

from sb3_gtr.gtr_ppo import GTRPPO
from sb3_gtr.gtr_ppo_recurrent import RecurrentGTRPPO
from sb3_gtr.registration import CRAFTAX_IDS
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
    patch_create_envs()
    for name, (algo_class, sampler) in GTR_ALGOS.items():
        utils.ALGOS[name] = algo_class
        hyperparams_opt.HYPERPARAMS_SAMPLER[name] = sampler
        hyperparams_opt.HYPERPARAMS_CONVERTER[name] = convert_gtr_params


def patch_create_envs() -> None:
    """
    Make the zoo build the Craftax ids (:data:`sb3_gtr.registration.CRAFTAX_IDS`) as one batched
    :class:`~sb3_gtr.craftax.vec_env.CraftaxVecEnv` (``n_envs`` environments in one JAX call, in a ``VecMonitor``
    writing the zoo's monitor file) instead of ``n_envs`` single environments; the zoo's wrappers
    (``vec_env_wrapper``, normalisation, frame stacking) apply as for any env. Other ids are built as the zoo
    builds them. Safe to call more than once.
    """
    from rl_zoo3.exp_manager import ExperimentManager

    if getattr(ExperimentManager.create_envs, "_sb3_gtr", False):
        return
    original = ExperimentManager.create_envs

    def create_envs(self: ExperimentManager, n_envs: int, eval_env: bool = False, no_log: bool = False) -> Any:
        if self.env_name.gym_id not in CRAFTAX_IDS.values():
            return original(self, n_envs, eval_env, no_log)
        from stable_baselines3.common.vec_env import VecFrameStack

        from sb3_gtr.craftax import make_craftax_vec_env

        env_kwargs = dict(self.eval_env_kwargs if eval_env else self.env_kwargs)
        seed = None if self.seed is None else self.seed + (10_000 if eval_env else 0)
        log_dir = None if eval_env or no_log else self.save_path
        env = make_craftax_vec_env(self.env_name.gym_id, n_envs, seed=seed, monitor_dir=log_dir, **env_kwargs)
        if self.vec_env_wrapper is not None:
            env = self.vec_env_wrapper(env)
        env = self._maybe_normalize(env, eval_env)
        if self.frame_stack is not None:
            env = VecFrameStack(env, self.frame_stack)
        return env

    create_envs._sb3_gtr = True  # type: ignore[attr-defined]
    ExperimentManager.create_envs = create_envs
