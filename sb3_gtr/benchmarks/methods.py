"""
The methods of every benchmark, in one schema: a :class:`Method` is an algorithm (by name), its keyword arguments,
the policy it trains and a sentence saying why it is defined so.

- :data:`CONTINUAL_METHODS`: the continual benchmark's methods (:mod:`~sb3_gtr.benchmarks.continual`), all
  ``GTRPPO`` differing only in their trust-region arguments, and the baseline of the sweep
  (:mod:`~sb3_gtr.benchmarks.sweep`); :func:`resolve_methods` adds methods derived from them (``--method-kwargs``).
- :data:`OVERHEAD_METHODS`: the methods timed by :mod:`~sb3_gtr.benchmarks.overhead`, in the order of its rotation.
- :data:`RECURRENT_METHODS` and :data:`SIMBA_METHODS`: the methods of :mod:`~sb3_gtr.benchmarks.policies`' two
  benchmarks, the baseline of the ratios first.

Every setting here produced the numbers quoted in the docs: change one only with a new run.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from sb3_gtr.benchmarks.arguments import BadArgument
from sb3_gtr.common.trust_region import ADVANTAGE_WEIGHTED

#: The algorithms a method may name, by the name a :class:`Method` gives.
ALGORITHMS = ("PPO", "GTRPPO", "RecurrentPPO", "RecurrentGTRPPO")


def algorithm_class(name: str) -> type:
    """
    :param name: A name of :data:`ALGORITHMS`
    :return: The algorithm class (Stable-Baselines3's ``PPO``, sb3-contrib's ``RecurrentPPO``, or this package's)
    """
    if name == "PPO":
        from stable_baselines3 import PPO

        return PPO
    if name == "RecurrentPPO":
        from sb3_contrib import RecurrentPPO

        return RecurrentPPO
    if name in ("GTRPPO", "RecurrentGTRPPO"):
        import sb3_gtr

        return getattr(sb3_gtr, name)
    raise ValueError(f"Unknown algorithm {name!r}: use one of {', '.join(ALGORITHMS)}")


@dataclass(frozen=True)
class Method:
    """
    A method of a benchmark.

    :param name: Its name: its key in its registry, its job folders and its rows
    :param algorithm: The algorithm, a name of :data:`ALGORITHMS`; the continual runner trains ``RecurrentGTRPPO`` with
        the same arguments when the policy is recurrent
    :param kwargs: Keyword arguments of the algorithm that define the method (for the continual methods the
        trust-region ones; the rest is shared by all methods of a run)
    :param description: One sentence for the results page
    :param label: Its name in tables (default: ``name``)
    :param policy: The policy (the continual runner uses the run's ``--policy`` instead)
    :param policy_kwargs: Keyword arguments of the policy
    """

    name: str
    algorithm: str = "GTRPPO"
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    label: str = ""
    policy: str = "MlpPolicy"
    policy_kwargs: Optional[dict[str, Any]] = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"Method {self.name!r}: unknown algorithm {self.algorithm!r}, use one of {ALGORITHMS}")
        if not self.label:
            object.__setattr__(self, "label", self.name)

    def make(self, env: Any, **kwargs: Any) -> Any:
        """
        :param env: The training environment (or its id)
        :param kwargs: Further keyword arguments of the algorithm (``seed``, ``device`` ...)
        :return: The method's model: its algorithm with its policy and keyword arguments
        """
        return algorithm_class(self.algorithm)(self.policy, env, policy_kwargs=self.policy_kwargs, **self.kwargs, **kwargs)


def registry(*methods: Method) -> dict[str, Method]:
    """:return: The methods by name, in the order given"""
    return {method.name: method for method in methods}


#: Fixed KL coefficient of ``ppo-kl``: the PPO paper's (Schulman et al., 2017, Table 1) fixed-KL sweep over
#: {0.3, 1, 3, 10} found 1 and 3 about equally good (0.71 and 0.72 normalised score); 1 is the lighter one,
#: fitting a penalty added on top of the clipped surrogate. Sweep it with ``--method-kwargs``.
PPO_KL_COEF = 1.0

#: The continual benchmark's methods, by name. Add one with
#: ``CONTINUAL_METHODS["name"] = Method("name", kwargs={...}, description="...")``, or on the command line with
#: ``--method-kwargs '{"name": {"base": "gtr", "sigma": 0.3}}'``.
CONTINUAL_METHODS: dict[str, Method] = registry(
    Method("ppo", kwargs={"penalty": "none"}, description="PPO: clipped surrogate, no penalty."),
    Method(
        "ppo-kl",
        kwargs={"penalty": "kl", "penalty_coef": PPO_KL_COEF, "mixture_anchor": False, "clip_surrogate": True},
        description=f"PPO with a fixed-coefficient (beta={PPO_KL_COEF:g}) inverse-KL penalty to the behaviour policy, "
        "on top of the clipped surrogate.",
    ),
    Method(
        "spo",
        kwargs={"penalty": "pearson", "penalty_coef": ADVANTAGE_WEIGHTED, "mixture_anchor": False, "clip_surrogate": False},
        description="SPO: plain surrogate r A with the Pearson chi-squared penalty (|A| / eps) (r - 1)^2 / 2 to the "
        "behaviour policy, no clipping.",
    ),
    Method(
        "gtr",
        description="GTR: GTRPPO's defaults (Gaussian penalty, advantage-weighted coefficient, mixture anchor).",
    ),
)

#: The methods timed by the overhead benchmark, in the order of the rotation (default ``MlpPolicy``).
OVERHEAD_METHODS: dict[str, Method] = registry(
    Method("ppo", "PPO", label="PPO", description="Stable-Baselines3's PPO: the baseline of every ratio."),
    Method("gtr", label="GTRPPO", description="GTRPPO's defaults."),
    Method(
        "gtr_no_mixture",
        kwargs={"mixture_anchor": False},
        label="GTRPPO (mixture_anchor=False)",
        description="GTRPPO without the mixture anchor: no snapshots of the policy.",
    ),
)

#: The recurrent throughput benchmark: the LN-GRU against sb3-contrib's LSTM at the same hidden size (the baseline),
#: and ``RecurrentGTRPPO`` with the LSTM, which separates the cost of the GTR update from that of the recurrent core.
RECURRENT_METHODS: dict[str, Method] = registry(
    Method(
        "lstm_ppo",
        "RecurrentPPO",
        label="RecurrentPPO + LSTM (128)",
        policy="MlpLstmPolicy",
        policy_kwargs={"lstm_hidden_size": 128},
    ),
    Method(
        "lstm_gtr",
        "RecurrentGTRPPO",
        label="RecurrentGTRPPO + LSTM (128)",
        policy="MlpLstmPolicy",
        policy_kwargs={"lstm_hidden_size": 128},
    ),
    Method(
        "lngru_gtr",
        "RecurrentGTRPPO",
        label="RecurrentGTRPPO + LN-GRU (128)",
        policy="MlpLnGruPolicy",
        policy_kwargs={"gru_hidden_size": 128},
    ),
)

#: The SimBa throughput benchmark: SimBa at the paper's widths (actor 128, critic 512) against SB3's default
#: ``MlpPolicy`` (the baseline).
SIMBA_METHODS: dict[str, Method] = registry(
    Method("mlp", label="GTRPPO + MlpPolicy (64, 64)", policy_kwargs={}),
    Method("simba", label="GTRPPO + SimbaPolicy (128x1 / 512x2)", policy="SimbaPolicy", policy_kwargs={}),
)


def resolve_methods(
    names: Sequence[str],
    overrides: Optional[Mapping[str, Mapping[str, Any]]] = None,
    methods: Mapping[str, Method] = CONTINUAL_METHODS,
) -> dict[str, dict]:
    """
    The ``GTRPPO`` keyword arguments of each method to run.

    :param names: Method names: keys of ``methods``, or new names defined in ``overrides``
    :param overrides: Per method name, keyword arguments replacing or adding to the method's; a new name needs
        ``"base"``, the name of the method it starts from (``{"gtr-s0.3": {"base": "gtr", "sigma": 0.3}}``)
    :param methods: The methods known (default: :data:`CONTINUAL_METHODS`)
    :return: ``{name: kwargs}`` in the order of ``names``
    """
    if overrides is not None and not isinstance(overrides, Mapping):
        raise BadArgument(f"--method-kwargs must be a JSON object of method names, got {overrides!r}")
    overrides = dict(overrides or {})
    repeated = sorted({name for name in names if list(names).count(name) > 1})
    if repeated:
        raise BadArgument(f"--methods: Methods are repeated: {repeated} (each method is run once per seed)")
    unused = sorted(set(overrides) - set(names))
    if unused:
        raise BadArgument(
            f"--method-kwargs: Method kwargs given for methods that are not run: {unused} (methods: {list(names)})"
        )
    resolved = {}
    for name in names:
        spec = overrides.get(name, {})
        if not isinstance(spec, Mapping):
            raise BadArgument(
                f"--method-kwargs: the value of method {name!r} must be a JSON object of GTRPPO kwargs, got {spec!r}"
            )
        spec = dict(spec)
        base = spec.pop("base", name)
        if base not in methods:
            if name in overrides and "base" in overrides[name]:
                raise BadArgument(
                    f"--method-kwargs: Unknown base {base!r} of method {name!r}: known methods are {', '.join(methods)}"
                )
            raise BadArgument(
                f"--methods: Unknown method {name!r}: known methods are {', '.join(methods)}; define a new one in the "
                f'method kwargs with a base method, e.g. {{"{name}": {{"base": "gtr", "sigma": 0.3}}}}'
            )
        resolved[name] = {**methods[base].kwargs, **spec}
    return resolved


def gtr_defaults() -> dict[str, Any]:
    """
    :return: ``GTRPPO``'s default trust-region arguments, recorded with the results (a method's kwargs only say what
        it changes, and the defaults may be retuned later)
    """
    import inspect

    from sb3_gtr import GTRPPO

    names = ("penalty", "sigma", "penalty_coef", "mixture_anchor", "anchor_window", "clip_surrogate", "clip_range")
    parameters = inspect.signature(GTRPPO.__init__).parameters
    return {name: parameters[name].default for name in names}
