"""The configuration of :class:`~sb3_gtr.llm.GTRGRPOTrainer`: TRL's ``GRPOConfig`` plus GTR's arguments."""

import contextlib
from dataclasses import dataclass, field
from typing import Optional, Union

from trl import GRPOConfig

from sb3_gtr.common.arguments import check_gtr_arguments
from sb3_gtr.common.checks import check_finite_float
from sb3_gtr.common.trust_region import ADVANTAGE_WEIGHTED

#: TRL's loss types whose per-token loss is the clipped surrogate, which the penalty is added to (TRL aggregates
#: each its own way; the penalty is aggregated the same way)
SUPPORTED_LOSS_TYPES = ("dapo", "grpo", "bnpo", "dr_grpo")


@dataclass
class GTRGRPOConfig(GRPOConfig):
    """
    TRL's ``GRPOConfig`` with the trust-region arguments of :class:`~sb3_gtr.GTRPPO`. The surrogate is TRL's clipped
    one (``epsilon``, ``epsilon_high``); ``num_iterations`` is the number of passes over each generated batch (the
    paper's update-to-data ratio, "equivalent to PPO epochs").

    :param penalty: ``"gaussian"`` (GTR), ``"pearson"`` (SPO), ``"kl"`` (PPO+KL) or ``"none"`` (TRL's GRPO, unchanged)
    :param sigma: Width of the Gaussian kernel, a finite number ``> 0``
    :param penalty_coef: The coefficient ``lambda``: a fixed number ``>= 0`` (the paper's LLM setting; the default 1.0
        is this project's choice, the paper's value was lost in extraction) or ``"advantage"`` for ``|A| / epsilon``
    :param mixture_anchor: Average the penalty over the behaviour policy and the policy at the start of each pass
        (``False``: the behaviour policy alone)
    :param anchor_window: Keep only the most recent ``anchor_window`` of those snapshots (``None``: all)
    """

    penalty: str = field(
        default="gaussian",
        metadata={"help": "Trust-region penalty: 'gaussian' (GTR), 'pearson' (SPO), 'kl' or 'none' (plain GRPO)."},
    )
    sigma: float = field(default=0.5, metadata={"help": "Width of the Gaussian kernel, > 0."})
    penalty_coef: Union[float, str] = field(
        default=1.0,
        metadata={"help": "Fixed penalty coefficient >= 0, or 'advantage' for |A| / epsilon."},
    )
    mixture_anchor: bool = field(
        default=True,
        metadata={"help": "Average the penalty over the behaviour policy and the policy at the start of each pass."},
    )
    anchor_window: Optional[int] = field(
        default=None, metadata={"help": "Number of most recent snapshots in the mixture (None: all)."}
    )

    def __post_init__(self):
        # GTR's arguments first: a bad one is refused before TRL and accelerate set anything up
        if isinstance(self.penalty_coef, str) and self.penalty_coef != ADVANTAGE_WEIGHTED:
            with contextlib.suppress(ValueError):  # a YAML file or a command line may give the number as a string
                self.penalty_coef = float(self.penalty_coef)
        check_gtr_arguments(
            self.penalty,
            self.sigma,
            self.penalty_coef,
            self.mixture_anchor,
            self.anchor_window,
            True,
            self.epsilon,
            self.num_iterations,
        )
        self.sigma = check_finite_float("sigma", self.sigma, low=0.0, low_inclusive=False)
        if not isinstance(self.penalty_coef, str):
            self.penalty_coef = check_finite_float("penalty_coef", self.penalty_coef, low=0.0)
        if self.penalty != "none":
            if self.loss_type not in SUPPORTED_LOSS_TYPES:
                raise ValueError(
                    f"`loss_type` {self.loss_type!r} is not supported with penalty={self.penalty!r}: GTR adds its "
                    f"penalty to the clipped surrogate of the loss types {', '.join(map(repr, SUPPORTED_LOSS_TYPES))} "
                    "(or use penalty='none' for TRL's own loss)."
                )
            if self.importance_sampling_level != "token":
                raise ValueError(
                    f"`importance_sampling_level` must be 'token' with penalty={self.penalty!r} (the penalty is on "
                    f"each token's ratio), got {self.importance_sampling_level!r}."
                )
        super().__post_init__()
