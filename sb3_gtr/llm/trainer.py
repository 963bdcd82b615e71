"""
:class:`GTRGRPOTrainer`: TRL's ``GRPOTrainer`` with GTR's trust region (the paper's Section 5.3 and Appendix B.1).

The per-token loss becomes GTR's: TRL's clipped surrogate minus ``lambda * P_mix``, the penalty averaged over the
mixture of the behaviour policy and the policy at the start of each pass over the batch (``num_iterations`` passes).
TRL computes its own loss (surrogate, KL to a reference model, entropy bonus, masks) and aggregates it by its
``loss_type``; this trainer adds the penalty, per token from :func:`sb3_gtr.common.trust_region.penalty_term` (the
function ``GTRPPO``'s objective averages), aggregated the same way over the same completion tokens. The sum is TRL's
aggregation of the GTR per-token loss, because every supported aggregation is linear.

Snapshots: ``pi_0`` is the behaviour policy (TRL's ``old_per_token_logps``), ``pi_k`` the policy at the start of pass
``k``. When no optimizer step falls inside a pass (``gradient_accumulation_steps`` a multiple of
``steps_per_generation``, TRL's default), the policy is the same throughout a pass, so the log-probabilities the pass
computes anyway are ``pi_k``'s: snapshots cost nothing. Otherwise the trainer scores the whole batch once, without
gradients, at the start of each pass.
"""

from typing import Any, Optional

import torch
from trl import GRPOTrainer

from sb3_gtr.common.gtr_mixin import NonFiniteLossError
from sb3_gtr.common.trust_region import anchor_epochs, penalty_term
from sb3_gtr.llm.config import GTRGRPOConfig

#: The keyword arguments of TRL's log-probability pass that a batch may carry (multimodal models' among them)
_FORWARD_KEYS = (
    "pixel_values",
    "image_grid_thw",
    "num_images",
    "pixel_attention_mask",
    "spatial_shapes",
    "num_tiles",
    "image_sizes",
    "token_type_ids",
    "mm_token_type_ids",
    "image_position_ids",
)


class GTRGRPOTrainer(GRPOTrainer):
    """
    TRL's ``GRPOTrainer`` with the GTR objective. It takes the arguments of ``GRPOTrainer``; ``args`` must be a
    :class:`~sb3_gtr.llm.GTRGRPOConfig` (``None``: its defaults). With ``penalty="none"`` it is TRL's GRPO unchanged.

    Logged besides TRL's metrics: ``gtr/penalty`` (the mean of ``lambda * P_mix`` over completion tokens),
    ``gtr/ratio_deviation`` (the mean of ``|r - 1|``, ``r`` the ratio to the behaviour policy) and ``gtr/n_anchors``.
    """

    _tag_names = ["trl", "grpo", "gtr"]
    _name = "GTR-GRPO"

    def __init__(self, model: Any, reward_funcs: Any = None, args: Optional[GTRGRPOConfig] = None, **kwargs: Any):
        if args is None:
            name = model if isinstance(model, str) else getattr(model.config, "_name_or_path", "") or "model"
            args = GTRGRPOConfig(f"{str(name).split('/')[-1]}-GTR-GRPO")
        elif not isinstance(args, GTRGRPOConfig):
            raise TypeError(
                f"`args` must be a GTRGRPOConfig (it holds penalty, sigma, penalty_coef, mixture_anchor and "
                f"anchor_window), got a {type(args).__name__}: GTRGRPOConfig(**your_config.to_dict()) converts one."
            )
        super().__init__(model, reward_funcs, args=args, **kwargs)
        # The log-probabilities of the current policy that TRL's loss computes, taken as they pass (None: not taking)
        self._gtr_taken: Optional[list[torch.Tensor]] = None
        # The snapshots pi_k (k >= 1) of the generation batch in the buffer: {micro-batch: {pass k: log-probs}}
        self._gtr_snapshots: dict[int, dict[int, torch.Tensor]] = {}
        self._gtr_generation: Any = None

    def _get_per_token_logps_and_entropies(self, *args: Any, **kwargs: Any):
        output = super()._get_per_token_logps_and_entropies(*args, **kwargs)
        if self._gtr_taken is not None:
            self._gtr_taken.append(output[0])
        return output

    def _compute_loss(self, model: Any, inputs: dict[str, Any]) -> torch.Tensor:
        if self.args.penalty == "none":
            return super()._compute_loss(model, inputs)
        self._gtr_taken = []
        try:
            loss = super()._compute_loss(model, inputs)
        finally:
            taken, self._gtr_taken = self._gtr_taken, None
        if len(taken) != 1:
            raise RuntimeError(
                f"GTRGRPOTrainer expected TRL's loss to score the batch once, it did {len(taken)} times: this TRL "
                "version is not the one sb3-gtr[llm] pins"
            )
        per_token_logps = taken[0]
        mode = "train" if self.model.training else "eval"
        mask = inputs["completion_mask"] if "tool_mask" not in inputs else inputs["completion_mask"] * inputs["tool_mask"]
        old = inputs.get("old_per_token_logps")
        old = per_token_logps.detach() if old is None else old
        anchors = self._anchor_log_probs(model, inputs, per_token_logps, old, mode)
        advantages = inputs["advantages"]
        if advantages.dim() == 1:
            advantages = advantages.unsqueeze(1)
        args = self.args
        term = penalty_term(
            per_token_logps,
            anchors,
            advantages.expand_as(per_token_logps),
            penalty=args.penalty,
            sigma=args.sigma,
            penalty_coef=args.penalty_coef,
            clip_range=args.epsilon,
        )
        penalty_loss = self._aggregate(term, mask, inputs, mode)
        total = loss + penalty_loss
        if not torch.isfinite(total):
            raise NonFiniteLossError(
                f"GTRGRPOTrainer: the loss is not finite at step {self.state.global_step} (TRL's loss {loss.item()}, "
                f"{args.penalty} penalty {penalty_loss.item()}); training stops before the update, so the weights "
                "hold no NaN. Lower the learning rate or check the rewards."
            )
        ratio_deviation = torch.abs(torch.exp(per_token_logps.detach() - old) - 1)
        self._metrics[mode]["gtr/penalty"].append(self._global_masked_mean(term.detach(), mask))
        self._metrics[mode]["gtr/ratio_deviation"].append(self._global_masked_mean(ratio_deviation, mask))
        self._metrics[mode]["gtr/n_anchors"].append(float(anchors.shape[-1]))
        return total

    def _aggregate(self, values: torch.Tensor, mask: torch.Tensor, inputs: dict[str, Any], mode: str) -> torch.Tensor:
        """A per-token term aggregated as TRL aggregates its per-token loss for ``loss_type`` (see ``_compute_loss``)."""
        accumulation = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        masked = values * mask
        if self.loss_type == "grpo":
            return (masked.sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / accumulation
        if self.loss_type == "bnpo":
            return masked.sum() / mask.sum().clamp(min=1.0) / accumulation
        if self.loss_type == "dr_grpo":
            return masked.sum() / (values.size(0) * self.max_completion_length) / accumulation
        # "dapo": the active tokens of the whole generation batch, rescaled to one accumulation window
        normalizer = inputs["num_items_in_batch"].clamp(min=1.0) / self.accelerator.num_processes
        if mode == "train":
            normalizer = normalizer * self.current_gradient_accumulation_steps / self.args.steps_per_generation
        return masked.sum() / normalizer

    def _global_masked_mean(self, values: torch.Tensor, mask: torch.Tensor) -> float:
        """The mean of ``values`` over the completion tokens of every process."""
        totals = torch.stack([(values * mask).sum(), mask.sum().to(values.dtype)])
        totals = self.accelerator.reduce(totals, reduction="sum")
        return (totals[0] / totals[1].clamp(min=1.0)).item()

    def _anchor_log_probs(
        self, model: Any, inputs: dict[str, Any], per_token_logps: torch.Tensor, old: torch.Tensor, mode: str
    ) -> torch.Tensor:
        """The log-probabilities of the batch under the anchors of the current pass, ``(batch, tokens, n_anchors)``."""
        if mode != "train" or not self.args.mixture_anchor or self.num_iterations == 1:
            return old.unsqueeze(-1)
        per_generation = self.args.steps_per_generation
        position = self._step % (per_generation * self.num_iterations)
        current_pass, micro_batch = divmod(position, per_generation)
        if self._buffered_inputs is not self._gtr_generation:  # a new generation batch: its own snapshots
            self._gtr_generation, self._gtr_snapshots = self._buffered_inputs, {}
        snapshots = self._gtr_snapshots.setdefault(micro_batch, {})
        if current_pass >= 1 and current_pass not in snapshots:
            if self.args.gradient_accumulation_steps % per_generation == 0:
                # No optimizer step inside a pass: the policy scoring this batch is the one at the start of the pass
                snapshots[current_pass] = per_token_logps.detach()
            else:
                self._score_buffer(model, current_pass)
        columns = [old if k == 0 else snapshots[k] for k in anchor_epochs(current_pass, self.args.anchor_window)]
        return torch.stack(columns, dim=-1)

    @torch.no_grad()
    def _score_buffer(self, model: Any, current_pass: int) -> None:
        """Store the log-probabilities of every buffered micro-batch under the current policy, as ``pi_current_pass``."""
        for index, batch in enumerate(self._buffered_inputs):
            input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
            attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
            log_probs, _, _ = super()._get_per_token_logps_and_entropies(
                model,
                input_ids,
                attention_mask,
                batch["completion_ids"].size(1),
                **{key: batch.get(key) for key in _FORWARD_KEYS},
            )
            self._gtr_snapshots.setdefault(index, {})[current_pass] = log_probs
