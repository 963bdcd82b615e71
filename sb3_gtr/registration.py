"""
The gymnasium ids of sb3-gtr, registered on ``import sb3_gtr`` (the ecosystem's convention) with string entry points,
so that registering imports nothing: the continual machinery loads when an id is first made.

- ``sb3_gtr/continual-<suite>-v0`` for every name of :data:`SUITE_NAMES` (the keys of
  :data:`sb3_gtr.continual.suites.SUITES`): :func:`sb3_gtr.continual.registration.make_continual_env`, a
  :class:`~sb3_gtr.continual.env.ContinualTaskEnv` over the suite;
- ``sb3_gtr/procgen-starpilot-v0``: :func:`sb3_gtr.continual.adapters.procgen.make_procgen_env` on starpilot
  (``distribution_mode="hard"`` unless given; needs the ``procgen-mirror`` package);
- ``sb3_gtr/Craftax-Classic-Symbolic-v1`` and ``sb3_gtr/Craftax-Symbolic-v1`` (:data:`CRAFTAX_IDS`): one Craftax
  environment, :class:`sb3_gtr.craftax.env.CraftaxEnv` (needs the ``craftax`` extra). Trained through the zoo
  (``python -m sb3_gtr.zoo train``), they run as one batched :class:`~sb3_gtr.craftax.vec_env.CraftaxVecEnv`.

:func:`register_envs` does nothing for ids already registered.
"""

import gymnasium as gym

#: Namespace of the ids registered here.
NAMESPACE = "sb3_gtr"
#: Id of the procgen starpilot environment.
PROCGEN_STARPILOT_ID = f"{NAMESPACE}/procgen-starpilot-v0"
#: The names of the continual suites that get an id, in the order of :data:`sb3_gtr.continual.suites.SUITES`
#: (which a test keeps equal to this tuple: the suites' module is too heavy to import here).
SUITE_NAMES = (
    "flip",
    "dmc-walker",
    "dmc-dog",
    "mujoco-cross",
    "mujoco-cross-reverse",
    "metaworld",
    "procgen-starpilot",
    "cartpole-reversed",
    "pendulum-reversed",
    "inverted-pendulum-reversed",
)


#: This package's gymnasium ids of the Craftax environments, by Craftax's name.
CRAFTAX_IDS = {name: f"{NAMESPACE}/{name}" for name in ("Craftax-Classic-Symbolic-v1", "Craftax-Symbolic-v1")}


def craftax_name(env_id: str) -> str:
    """:return: Craftax's name of an id of :data:`CRAFTAX_IDS` (``sb3_gtr/Craftax-Symbolic-v1``: ``Craftax-Symbolic-v1``)"""
    return env_id.split("/", 1)[1] if env_id.startswith(NAMESPACE + "/") else env_id


def continual_env_id(suite: str) -> str:
    """
    :param suite: A key of :data:`sb3_gtr.continual.suites.SUITES`
    :return: The gymnasium id of the suite as one environment
    """
    return f"{NAMESPACE}/continual-{suite}-v0"


def register_envs() -> None:
    """Register the ids of this module with gymnasium (those not registered yet)."""
    for suite in SUITE_NAMES:
        env_id = continual_env_id(suite)
        if env_id not in gym.registry:
            gym.register(env_id, entry_point="sb3_gtr.continual.registration:make_continual_env", kwargs={"suite": suite})
    if PROCGEN_STARPILOT_ID not in gym.registry:
        gym.register(
            PROCGEN_STARPILOT_ID,
            entry_point="sb3_gtr.continual.adapters.procgen:make_procgen_env",
            kwargs={"env_name": "starpilot", "distribution_mode": "hard"},
        )
    for name, env_id in CRAFTAX_IDS.items():
        if env_id not in gym.registry:
            gym.register(env_id, entry_point="sb3_gtr.craftax.env:CraftaxEnv", kwargs={"env_id": name})
