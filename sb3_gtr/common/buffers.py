"""
Rollout buffers that carry, next to ``old_log_prob``, the log-probabilities of the stored actions
under the mixture anchors (the policy snapshots taken at the start of each epoch).

The anchor columns are stored in the buffer's flattened sample order, so that every minibatch
(shuffled, or padded into sequences for recurrent policies) receives its anchors alongside its
other fields as ``samples.anchor_log_probs`` with shape ``(batch, n_columns)``.
"""

from collections.abc import Generator
from typing import Any, NamedTuple, Optional

import numpy as np
import torch as th
from sb3_contrib.common.recurrent.buffers import RecurrentDictRolloutBuffer, RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.type_aliases import RecurrentDictRolloutBufferSamples, RecurrentRolloutBufferSamples
from stable_baselines3.common.buffers import DictRolloutBuffer, RolloutBuffer
from stable_baselines3.common.type_aliases import DictRolloutBufferSamples, RolloutBufferSamples


def _with_anchor_field(samples_type: type) -> type:
    """A copy of a buffer-samples NamedTuple with an extra ``anchor_log_probs`` field."""
    fields = [*samples_type.__annotations__.items(), ("anchor_log_probs", Optional[th.Tensor])]
    return NamedTuple(f"Anchored{samples_type.__name__}", fields)


AnchoredRolloutBufferSamples = _with_anchor_field(RolloutBufferSamples)
AnchoredDictRolloutBufferSamples = _with_anchor_field(DictRolloutBufferSamples)
AnchoredRecurrentRolloutBufferSamples = _with_anchor_field(RecurrentRolloutBufferSamples)
AnchoredRecurrentDictRolloutBufferSamples = _with_anchor_field(RecurrentDictRolloutBufferSamples)


class AnchorLogProbsMixin:
    """
    Adds anchor log-probability columns to an on-policy rollout buffer.

    ``anchor_log_probs`` is ``None`` until the first column is stored after a reset; until then the
    samples carry ``anchor_log_probs=None``.
    """

    anchor_log_probs: Optional[np.ndarray]
    samples_type: type
    buffer_size: int
    n_envs: int
    generator_ready: bool

    def reset(self) -> None:
        super().reset()  # type: ignore[misc]
        self.anchor_log_probs = None

    def store_anchor_log_probs(self, column: int, log_probs: np.ndarray, n_columns: int) -> None:
        """
        Store the log-probabilities of all the stored actions under one anchor policy.

        :param column: Column to write, in ``[0, n_columns)``
        :param log_probs: One log-probability per sample, in the flattened order of ``ordered_samples``
        :param n_columns: Number of columns to allocate on the first write after a reset
        """
        if self.anchor_log_probs is None:
            self.anchor_log_probs = np.zeros((self.buffer_size * self.n_envs, n_columns), dtype=np.float32)
        self.anchor_log_probs[:, column] = log_probs

    def ordered_samples(self, batch_size: int) -> Generator[tuple[slice, Any], None, None]:
        """
        Iterate over the flattened buffer in order, without shuffling (and without touching the
        random number generators), e.g. to evaluate a policy snapshot on every stored action.

        :param batch_size: Number of samples per batch
        :return: Pairs ``(flat_slice, samples)``
        """
        assert self.generator_ready, "The buffer must have been flattened by `get()` first"
        n_samples = self.buffer_size * self.n_envs
        for start in range(0, n_samples, batch_size):
            end = min(start + batch_size, n_samples)
            yield slice(start, end), self._get_samples(np.arange(start, end), *self._ordered_sampling_args())

    def _ordered_sampling_args(self) -> tuple:
        return ()

    def _gather_anchor_log_probs(self, batch_inds: np.ndarray) -> th.Tensor:
        return self.to_torch(self.anchor_log_probs[batch_inds])  # type: ignore[attr-defined, index]

    def _get_samples(self, batch_inds: np.ndarray, *args, **kwargs):
        samples = super()._get_samples(batch_inds, *args, **kwargs)  # type: ignore[misc]
        anchors = None if self.anchor_log_probs is None else self._gather_anchor_log_probs(batch_inds)
        return self.samples_type(*samples, anchors)


class RecurrentAnchorLogProbsMixin(AnchorLogProbsMixin):
    """Anchor columns for sb3-contrib's recurrent buffers: padded into sequences like the other fields."""

    pad: Any

    def _ordered_sampling_args(self) -> tuple:
        # In the flattened (env-major) order each env's trajectory starts a new sequence.
        env_change = np.zeros((self.buffer_size, self.n_envs))
        env_change[0, :] = 1.0
        return (self.swap_and_flatten(env_change),)  # type: ignore[attr-defined]

    def _gather_anchor_log_probs(self, batch_inds: np.ndarray) -> th.Tensor:
        # `self.pad` was set up for this minibatch's sequences by the parent's `_get_samples`.
        n_columns = self.anchor_log_probs.shape[1]  # type: ignore[union-attr]
        return self.pad(self.anchor_log_probs[batch_inds]).reshape(-1, n_columns)  # type: ignore[index]


class GTRRolloutBuffer(AnchorLogProbsMixin, RolloutBuffer):
    """SB3's ``RolloutBuffer`` with anchor log-probability columns."""

    samples_type = AnchoredRolloutBufferSamples


class GTRDictRolloutBuffer(AnchorLogProbsMixin, DictRolloutBuffer):
    """SB3's ``DictRolloutBuffer`` with anchor log-probability columns."""

    samples_type = AnchoredDictRolloutBufferSamples


class GTRRecurrentRolloutBuffer(RecurrentAnchorLogProbsMixin, RecurrentRolloutBuffer):
    """sb3-contrib's ``RecurrentRolloutBuffer`` with anchor log-probability columns."""

    samples_type = AnchoredRecurrentRolloutBufferSamples


class GTRRecurrentDictRolloutBuffer(RecurrentAnchorLogProbsMixin, RecurrentDictRolloutBuffer):
    """sb3-contrib's ``RecurrentDictRolloutBuffer`` with anchor log-probability columns."""

    samples_type = AnchoredRecurrentDictRolloutBufferSamples
