"""
Craftax (the paper's open-world benchmark, Section 5.2) for Stable-Baselines3: the batched JAX environment as a
``VecEnv`` (:class:`CraftaxVecEnv`, :func:`make_craftax_vec_env`), one environment behind the gymnasium API
(:class:`CraftaxEnv`, the entry point of ``sb3_gtr/Craftax-Classic-Symbolic-v1`` and ``sb3_gtr/Craftax-Symbolic-v1``)
and the logging of its achievements (:class:`CraftaxAchievementCallback`).

Needs the ``craftax`` extra: ``pip install "sb3-gtr[craftax]"`` (craftax, JAX and flax, at pinned versions).
Compiling a Craftax step takes 20 to 60 s on a CPU; it is cached on disk (:func:`enable_compilation_cache`, on by
default at import: ``SB3_GTR_JAX_CACHE=0`` turns it off), so that only the first run on a machine pays it.
"""

import os

try:
    import craftax  # noqa: F401
    import jax
except ImportError as error:  # pragma: no cover - the tests run with the extra; test_craftax checks the message
    raise ImportError(
        f"sb3_gtr.craftax needs the craftax extra ({error}): install it with pip install 'sb3-gtr[craftax]'"
    ) from error


def enable_compilation_cache(directory: "str | None" = None) -> "str | None":
    """
    Cache JAX's compiled functions on disk, unless JAX already has a cache folder (``JAX_COMPILATION_CACHE_DIR``).

    :param directory: The folder (``None``: ``$XDG_CACHE_HOME/sb3_gtr/jax``, ``~/.cache/sb3_gtr/jax`` by default)
    :return: The cache folder in use (``None``: none)
    """
    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    if directory is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        directory = os.path.join(base, "sb3_gtr", "jax")
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    return directory


if os.environ.get("SB3_GTR_JAX_CACHE", "1") != "0":
    enable_compilation_cache()

from sb3_gtr.craftax.callbacks import CraftaxAchievementCallback, crafter_score  # noqa: E402
from sb3_gtr.craftax.env import CraftaxEnv  # noqa: E402
from sb3_gtr.craftax.vec_env import (  # noqa: E402
    CRAFTAX_ENVS,
    CraftaxBatch,
    CraftaxVecEnv,
    achievement_names,
    check_env_name,
    make_craftax_vec_env,
)

__all__ = [
    "CRAFTAX_ENVS",
    "CraftaxAchievementCallback",
    "CraftaxBatch",
    "CraftaxEnv",
    "CraftaxVecEnv",
    "achievement_names",
    "check_env_name",
    "crafter_score",
    "enable_compilation_cache",
    "make_craftax_vec_env",
]
