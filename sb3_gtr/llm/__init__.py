"""
GTR for language-model post-training (the paper's Section 5.3): :class:`GTRGRPOTrainer`, Hugging Face TRL's
``GRPOTrainer`` with the Gaussian trust region over a mixture of the behaviour policy and the policy at the start
of each pass over a batch, configured by :class:`GTRGRPOConfig`.

Needs the ``llm`` extra: ``pip install "sb3-gtr[llm]"`` (TRL and transformers, at pinned versions).
"""

try:
    import transformers  # noqa: F401
    import trl  # noqa: F401
except ImportError as error:  # the tests run with the extra; test_llm checks the message without it
    raise ImportError(f"sb3_gtr.llm needs the llm extra ({error}): install it with pip install 'sb3-gtr[llm]'") from error

from sb3_gtr.llm.config import SUPPORTED_LOSS_TYPES, GTRGRPOConfig
from sb3_gtr.llm.trainer import GTRGRPOTrainer

__all__ = ["SUPPORTED_LOSS_TYPES", "GTRGRPOConfig", "GTRGRPOTrainer"]
