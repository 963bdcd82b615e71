"""
Craftax's batched JAX environment as a Stable-Baselines3 ``VecEnv``.

:class:`CraftaxVecEnv` steps all its environments with one jit-compiled, ``vmap``-ped function on the JAX device
(the CPU here, a GPU where JAX has one), resets the finished ones inside that function, and copies what SB3 needs
to NumPy with one ``jax.device_get`` per step: the symbolic observations (``float32``), rewards, episode ends,
truncations and the achievements of the episodes that ended. The only other copy is the last observation of an
episode cut by the time limit (``max_timesteps``), which SB3 bootstraps from (``infos[i]["terminal_observation"]``
with ``"TimeLimit.truncated"``); an episode that ends otherwise (death, lava, the boss beaten) is terminal and
needs none.

Every info of an ending episode has ``"achievements"``, ``{name: bool}`` for each of the game's achievements
(:func:`achievement_names`); :class:`~sb3_gtr.craftax.callbacks.CraftaxAchievementCallback` logs their rates.
:func:`make_craftax_vec_env` wraps the env in SB3's ``VecMonitor``, which adds the ``"episode"`` infos (return,
length, time) that SB3 logs as ``rollout/ep_rew_mean``.

Seeding: ``seed(s)`` (or ``seed=`` at construction) makes the next ``reset()`` and every step after it a function of
``s`` alone (one JAX key, split for each reset and step).
"""

import time
from collections.abc import Sequence
from typing import Any, Optional, Union

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from sb3_gtr.common.checks import check_positive_int
from sb3_gtr.registration import CRAFTAX_IDS, craftax_name

#: The Craftax environments offered (symbolic observations), by Craftax's own name: whether it is Craftax-Classic.
CRAFTAX_ENVS = {"Craftax-Classic-Symbolic-v1": True, "Craftax-Symbolic-v1": False}


def check_env_name(env_id: str) -> str:
    """
    :param env_id: A Craftax name (``Craftax-Classic-Symbolic-v1``) or this package's id of it
        (``sb3_gtr/Craftax-Classic-Symbolic-v1``)
    :return: Craftax's name of it
    :raises ValueError: For another id
    """
    name = craftax_name(env_id) if env_id in CRAFTAX_IDS.values() else env_id
    if name not in CRAFTAX_ENVS:
        raise ValueError(
            f"Unknown Craftax env_id {env_id!r}: use one of {', '.join(CRAFTAX_ENVS)} (or their ids "
            f"{', '.join(CRAFTAX_IDS.values())})"
        )
    return name


def _craftax_modules(name: str) -> tuple[Any, Any]:
    """:return: The environment class (without auto-reset: resets are done here) and the Achievement enum"""
    if CRAFTAX_ENVS[name]:
        from craftax.craftax_classic.constants import Achievement
        from craftax.craftax_classic.envs.craftax_symbolic_env import CraftaxClassicSymbolicEnvNoAutoReset as Env
    else:
        from craftax.craftax.constants import Achievement
        from craftax.craftax.envs.craftax_symbolic_env import CraftaxSymbolicEnvNoAutoReset as Env
    return Env, Achievement


def achievement_names(env_id: str = "Craftax-Classic-Symbolic-v1") -> list[str]:
    """:return: The achievements of a Craftax game, lower case, in Craftax's order (``collect_wood``, ...)"""
    _, achievement = _craftax_modules(check_env_name(env_id))
    return [member.name.lower() for member in sorted(achievement, key=lambda member: member.value)]


def _strong(tree: Any) -> Any:
    # generate_world leaves some leaves weakly typed; the step returns them strongly typed, and a jit-compiled
    # function called with both would compile twice (about 30 s on a CPU).
    return jax.tree.map(lambda leaf: jax.lax.convert_element_type(leaf, jnp.asarray(leaf).dtype), tree)


class CraftaxBatch:
    """
    The jit-compiled functions of ``num_envs`` Craftax environments: reset all, and step all with auto-reset.
    Shared by :class:`CraftaxVecEnv` and :class:`~sb3_gtr.craftax.env.CraftaxEnv`.

    :param env_id: A Craftax name or id (:func:`check_env_name`)
    :param num_envs: Number of environments
    :param max_timesteps: Steps after which an episode is cut (``None``: Craftax's, 10,000 for Classic and
        100,000 for Craftax)
    :param device: The JAX device (``None``: JAX's default)
    :param reset_ratio: Environments per fresh world generated at each step (see :class:`CraftaxVecEnv`); must divide
        ``num_envs``
    """

    def __init__(
        self,
        env_id: str,
        num_envs: int,
        max_timesteps: Optional[int] = None,
        device: Optional[jax.Device] = None,
        reset_ratio: int = 1,
    ) -> None:
        self.name = check_env_name(env_id)
        check_positive_int("num_envs", num_envs)
        if max_timesteps is not None:
            check_positive_int("max_timesteps", max_timesteps)
        check_positive_int("reset_ratio", reset_ratio)
        if num_envs % reset_ratio:
            divisors = [d for d in range(1, num_envs + 1) if num_envs % d == 0]
            raise ValueError(f"reset_ratio must divide num_envs ({num_envs}): one of {divisors}, got {reset_ratio}")
        self.reset_ratio = reset_ratio
        self.n_resets = num_envs // reset_ratio
        env_class, _ = _craftax_modules(self.name)
        self.env = env_class()
        params = self.env.default_params
        self.params = params if max_timesteps is None else params.replace(max_timesteps=max_timesteps)
        self.num_envs = num_envs
        self.device = device
        self.n_actions = int(self.env.num_actions)
        self.obs_dim = int(self.env.observation_space(self.params).shape[0])
        self.achievements = achievement_names(self.name)
        self._reset = jax.jit(self._reset_all)
        self._step = jax.jit(self._step_all)

    def _reset_all(self, key: jax.Array) -> tuple[jax.Array, Any, jax.Array]:
        key, reset_key = jax.random.split(key)
        obs, states = jax.vmap(self.env.reset_env, in_axes=(0, None))(jax.random.split(reset_key, self.num_envs), self.params)
        return obs, _strong(states), key

    def _step_all(self, key: jax.Array, states: Any, actions: jax.Array) -> tuple:
        key, step_key, reset_key = jax.random.split(key, 3)
        step = jax.vmap(self.env.step_env, in_axes=(0, 0, 0, None))
        obs_end, states_end, rewards, dones, _ = step(jax.random.split(step_key, self.num_envs), states, actions, self.params)
        obs_new, states_new = jax.vmap(self.env.reset_env, in_axes=(0, None))(
            jax.random.split(reset_key, self.n_resets), self.params
        )
        if self.n_resets < self.num_envs:
            # The k-th environment ending at this step (k from 0) takes fresh world k mod n_resets
            index = (jnp.cumsum(dones) - 1) % self.n_resets
            obs_new, states_new = obs_new[index], jax.tree.map(lambda leaf: leaf[index], states_new)

        def pick(new: jax.Array, old: jax.Array) -> jax.Array:
            return jnp.where(dones.reshape(dones.shape + (1,) * (old.ndim - 1)), new, old)

        states_next = _strong(jax.tree.map(pick, states_new, states_end))
        obs = pick(obs_new, obs_end)
        truncated = dones & (states_end.timestep >= self.params.max_timesteps)
        host = (obs, rewards.astype(jnp.float32), dones, truncated, states_end.achievements)
        return host, obs_end, states_next, key

    def key(self, seed: Optional[int]) -> jax.Array:
        """:return: The JAX key of a seed (``None``: a random one)"""
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        key = jax.random.PRNGKey(seed)
        return key if self.device is None else jax.device_put(key, self.device)

    def reset(self, key: jax.Array) -> tuple[np.ndarray, Any, jax.Array]:
        """:return: The first observations (NumPy), the states and the next key"""
        obs, states, key = self._reset(key)
        return np.array(jax.device_get(obs)), states, key

    def step(self, key: jax.Array, states: Any, actions: np.ndarray) -> tuple:
        """
        :return: ``(obs, rewards, dones, truncated, achievements)`` as NumPy (one copy), the last observations of the
            ending episodes (on the device), the next states and the next key
        """
        actions = jnp.asarray(actions, dtype=jnp.int32)
        if self.device is not None:
            actions = jax.device_put(actions, self.device)
        host, obs_end, states, key = self._step(key, states, actions)
        # One copy into writable NumPy arrays (SB3 adds the bootstrapped values to the rewards in place); on the CPU,
        # device_get itself copies nothing
        return tuple(np.array(array) for array in jax.device_get(host)), obs_end, states, key

    def check_actions(self, actions: Any) -> np.ndarray:
        """
        :return: The actions as an integer array of shape ``(num_envs,)``
        :raises ValueError: If they are not ``num_envs`` integers in ``[0, n_actions)``
        """
        array = np.asarray(actions)
        if array.shape not in ((self.num_envs,), (self.num_envs, 1)):
            raise ValueError(f"actions must have shape ({self.num_envs},), one per environment, got {array.shape}")
        array = array.reshape(self.num_envs)
        if not np.issubdtype(array.dtype, np.integer):
            if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                raise ValueError(f"actions must be integers in [0, {self.n_actions}), got {array}")
            array = array.astype(np.int64)
        if array.min() < 0 or array.max() >= self.n_actions:
            bad = array[(array < 0) | (array >= self.n_actions)]
            raise ValueError(f"actions must be integers in [0, {self.n_actions}) ({self.name}), got {bad.tolist()}")
        return array


class CraftaxVecEnv(VecEnv):
    """
    ``num_envs`` Craftax environments as one SB3 ``VecEnv``, stepped together on the JAX device (module docstring).

    :param env_id: ``Craftax-Classic-Symbolic-v1`` or ``Craftax-Symbolic-v1`` (or ``sb3_gtr/`` before either)
    :param num_envs: Number of environments (the paper's Craftax runs: 1024)
    :param seed: Seed of the first reset and of everything after it (``None``: random)
    :param max_timesteps: Steps after which an episode is cut (``None``: Craftax's)
    :param device: The JAX device (``None``: JAX's default)
    :param reset_ratio: Environments per fresh world generated at each step. Building a world is most of a step's
        cost, and the step builds one for every environment that could end (1, the default: each ending episode gets
        a world of its own). With ``r``, only ``num_envs / r`` are built per step and the k-th environment to end at
        that step takes world ``k mod (num_envs / r)``: exact as long as fewer than ``num_envs / r`` episodes end at
        once, otherwise some restart in the same world (Craftax's own ``OptimisticResetVecEnvWrapper`` makes the same
        trade). Must divide ``num_envs``.
    """

    def __init__(
        self,
        env_id: str = "Craftax-Classic-Symbolic-v1",
        num_envs: int = 1,
        seed: Optional[int] = None,
        max_timesteps: Optional[int] = None,
        device: Optional[jax.Device] = None,
        reset_ratio: int = 1,
    ) -> None:
        self.batch = CraftaxBatch(env_id, num_envs, max_timesteps, device, reset_ratio)
        self.render_mode = None
        observation_space = gym.spaces.Box(0.0, 1.0, (self.batch.obs_dim,), np.float32)
        super().__init__(num_envs, observation_space, gym.spaces.Discrete(self.batch.n_actions))
        self._key = self.batch.key(seed)
        self._states: Any = None
        self._actions: Optional[np.ndarray] = None

    @property
    def achievements(self) -> list[str]:
        """The game's achievements, in the order of each info's ``"achievements"``"""
        return self.batch.achievements

    def seed(self, seed: Optional[int] = None) -> Sequence[Optional[int]]:
        """Seed the next ``reset()`` and every step after it; :return: The seed of each environment, as SB3's envs"""
        self._key = self.batch.key(seed)
        return [None if seed is None else seed + index for index in range(self.num_envs)]

    def reset(self) -> VecEnvObs:
        obs, self._states, self._key = self.batch.reset(self._key)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = self.batch.check_actions(actions)

    def step_wait(self) -> VecEnvStepReturn:
        if self._states is None:
            raise RuntimeError("Call reset() before step()")
        if self._actions is None:
            raise RuntimeError("Call step_async() before step_wait()")
        (obs, rewards, dones, truncated, achieved), obs_end, self._states, self._key = self.batch.step(
            self._key, self._states, self._actions
        )
        self._actions = None
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        ended = np.flatnonzero(dones)
        cut = np.flatnonzero(truncated)
        last = dict(zip(cut.tolist(), np.array(jax.device_get(obs_end[cut])), strict=True)) if len(cut) else {}
        for index in ended.tolist():
            info = infos[index]
            info["achievements"] = dict(zip(self.batch.achievements, achieved[index].tolist(), strict=True))
            info["TimeLimit.truncated"] = bool(truncated[index])
            if index in last:
                info["terminal_observation"] = last[index]
        return obs, rewards, dones.astype(bool), infos

    def close(self) -> None:
        self._states = None

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        if attr_name == "render_mode":
            return [None for _ in self._get_indices(indices)]
        if not hasattr(self, attr_name):
            raise AttributeError(f"CraftaxVecEnv has no attribute {attr_name!r}")
        return [getattr(self, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"CraftaxVecEnv's environments have no settable attribute ({attr_name!r})")

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any) -> list:
        raise AttributeError(f"CraftaxVecEnv's environments are one JAX batch, with no method {method_name!r} of their own")

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[Optional[np.ndarray]]:
        return [None for _ in range(self.num_envs)]


def make_craftax_vec_env(
    env_id: str = "Craftax-Classic-Symbolic-v1",
    n_envs: int = 1,
    seed: Optional[int] = None,
    monitor_dir: Optional[str] = None,
    max_timesteps: Optional[int] = None,
    device: Optional[Union[str, jax.Device]] = None,
    reset_ratio: int = 1,
) -> VecMonitor:
    """
    A :class:`CraftaxVecEnv` in SB3's ``VecMonitor``, the way ``make_vec_env`` builds other environments.

    :param env_id: A Craftax name or id
    :param n_envs: Number of environments
    :param seed: Seed (``None``: random)
    :param monitor_dir: Folder of the monitor's ``monitor.csv`` (``None``: no file)
    :param max_timesteps: Steps after which an episode is cut (``None``: Craftax's)
    :param device: The JAX device, or a platform name (``"cpu"``, ``"gpu"``: its first device; ``None``: JAX's default)
    :param reset_ratio: Environments per fresh world generated at each step (:class:`CraftaxVecEnv`)
    :return: The monitored vectorised environment
    """
    if isinstance(device, str):
        try:
            device = jax.devices(device)[0]
        except RuntimeError as error:
            raise ValueError(f"device {device!r}: JAX has no such platform here ({error})") from error
    env = CraftaxVecEnv(env_id, n_envs, seed=seed, max_timesteps=max_timesteps, device=device, reset_ratio=reset_ratio)
    filename = None
    if monitor_dir is not None:
        import os

        os.makedirs(monitor_dir, exist_ok=True)
        filename = os.path.join(monitor_dir, f"craftax-{int(time.time())}")
    return VecMonitor(env, filename=filename)
