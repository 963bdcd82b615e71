"""
sb3_gtr.llm: TRL's GRPO with GTR's trust region. Nothing is downloaded: a tiny Llama with random weights and a
word-level tokenizer are built here, and the reward is verifiable (the share of completion tokens that are ``w7``).

The loss is checked against hand computations on tensors (TRL's loss unchanged with ``penalty="none"``, plus the
Gaussian penalty over the mixture, aggregated as each loss type aggregates), the snapshots against the policy at
the start of each pass, and a few dozen steps against a reward threshold chosen from 10 seeds
(``python tests/learning_spread.py --checks grpo_gtr_target_token``: see docs/benchmarks/learning_spread.rst).
"""

import math
import subprocess
import sys
import tempfile

import pytest
import torch
from datasets import Dataset
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from trl import GRPOConfig, GRPOTrainer

from sb3_gtr.common.gtr_mixin import NonFiniteLossError
from sb3_gtr.llm import SUPPORTED_LOSS_TYPES, GTRGRPOConfig, GTRGRPOTrainer

WORDS = ["<pad>", "<eos>", "<bos>"] + [f"w{i}" for i in range(29)]
TARGET = WORDS.index("w7")
#: The learning check: steps, and the mean reward of the last 10 steps that the median of seeds 0-2 must beat. Over
#: seeds 0-11 (see the module docstring) GTR reached 0.14 to 0.90 (median 0.64) from about 0.03 (random weights: one
#: token in 32) and TRL's GRPO 0.18 to 0.94 (median 0.78): 0.10 is below every seed's result.
LEARNING_STEPS = 40
REWARD_THRESHOLD = 0.10


def make_tokenizer() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.WordLevel(vocab={word: i for i, word in enumerate(WORDS)}, unk_token="w0"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>")


def make_model(seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(WORDS),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    return LlamaForCausalLM(config)


def target_reward(completions, completion_ids, **kwargs) -> list[float]:
    """The verifiable reward: the share of the completion's tokens that are the target token."""
    return [sum(token == TARGET for token in ids) / max(len(ids), 1) for ids in completion_ids]


def make_trainer(output_dir, seed: int = 0, trainer_class=GTRGRPOTrainer, config_class=GTRGRPOConfig, **config):
    settings = dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=8,
        num_iterations=2,
        learning_rate=1e-2,
        max_steps=LEARNING_STEPS,
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        seed=seed,
        loss_type="grpo",
        disable_tqdm=True,
    )
    args = config_class(**{**settings, **config})
    dataset = Dataset.from_dict({"prompt": [f"w{i} w{i + 1}" for i in range(3, 19)]})
    trainer = trainer_class(
        model=make_model(seed), reward_funcs=target_reward, args=args, train_dataset=dataset, processing_class=make_tokenizer()
    )
    # Set by the training loop: the tests that call compute_loss directly need it too
    trainer.current_gradient_accumulation_steps = args.gradient_accumulation_steps
    return trainer


def target_token_reward(seed: int, **config) -> float:
    """The learning check: the mean reward of the last 5 generations (10 steps) of :data:`LEARNING_STEPS`."""
    with tempfile.TemporaryDirectory() as output_dir:
        trainer = make_trainer(output_dir, seed=seed, **config)
        trainer.train()
    # A reward is logged at each generation, every num_iterations (2) steps
    rewards = [entry["reward"] for entry in trainer.state.log_history if "reward" in entry]
    assert len(rewards) == LEARNING_STEPS // 2
    return sum(rewards[-5:]) / 5


def test_gtr_grpo_raises_the_reward():
    rewards = sorted(target_token_reward(seed) for seed in (0, 1, 2))
    assert rewards[1] > REWARD_THRESHOLD, rewards


def make_batch(seed: int = 0, batch: int = 4, prompt: int = 3, tokens: int = 5) -> dict:
    """A micro-batch as TRL buffers it: prompts, completions with padding, advantages, behaviour log-probs."""
    generator = torch.Generator().manual_seed(seed)
    completion_mask = torch.ones(batch, tokens, dtype=torch.long)
    completion_mask[0, 3:] = 0
    completion_mask[2, 1:] = 0
    return {
        "prompt_ids": torch.randint(3, len(WORDS), (batch, prompt), generator=generator),
        "prompt_mask": torch.ones(batch, prompt, dtype=torch.long),
        "completion_ids": torch.randint(3, len(WORDS), (batch, tokens), generator=generator),
        "completion_mask": completion_mask,
        "advantages": torch.randn(batch, generator=generator),
        "num_items_in_batch": completion_mask.sum() * 2,  # the generation batch: two such micro-batches
    }


def current_log_probs(trainer, batch) -> torch.Tensor:
    """The per-token log-probabilities of the completions under the trainer's model, from TRL's own scoring pass."""
    input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    log_probs, _, _ = GRPOTrainer._get_per_token_logps_and_entropies(
        trainer, trainer.model, input_ids, attention_mask, batch["completion_ids"].size(1)
    )
    return log_probs


def gaussian(log_ratio: torch.Tensor, sigma: float) -> torch.Tensor:
    return sigma**2 * (1 - torch.exp(-((torch.exp(log_ratio) - 1) ** 2) / (2 * sigma**2)))


def aggregate(values: torch.Tensor, mask: torch.Tensor, loss_type: str, batch: dict, max_length: int) -> torch.Tensor:
    """TRL's aggregation of a per-token loss, written out (one accumulation step, the generation batch of 2)."""
    mask = mask.float()
    if loss_type == "grpo":
        return ((values * mask).sum(-1) / mask.sum(-1)).mean()
    if loss_type == "bnpo":
        return (values * mask).sum() / mask.sum()
    if loss_type == "dr_grpo":
        return (values * mask).sum() / (values.size(0) * max_length)
    return (values * mask).sum() / (batch["num_items_in_batch"] / 2)  # dapo: steps_per_generation 2, accumulation 1


@pytest.mark.parametrize("loss_type", SUPPORTED_LOSS_TYPES)
def test_loss_is_grpos_plus_the_aggregated_gaussian_penalty(tmp_path, loss_type):
    common = dict(loss_type=loss_type, max_completion_length=5, steps_per_generation=2, num_iterations=1)
    grpo = make_trainer(tmp_path / "grpo", trainer_class=GRPOTrainer, config_class=GRPOConfig, **common)
    none = make_trainer(tmp_path / "none", penalty="none", **common)
    gtr = make_trainer(tmp_path / "gtr", sigma=0.3, penalty_coef=0.7, **common)
    batch = make_batch()
    with torch.no_grad():
        log_probs = current_log_probs(gtr, batch)
    batch["old_per_token_logps"] = log_probs + 0.4 * torch.randn(log_probs.shape, generator=torch.Generator().manual_seed(1))
    losses = {}
    for name, trainer in (("grpo", grpo), ("none", none), ("gtr", gtr)):
        trainer.model.train()
        losses[name] = trainer.compute_loss(trainer.model, dict(batch))
    # penalty="none" is TRL's loss, to the bit
    assert losses["none"].item() == losses["grpo"].item()
    expected_penalty = aggregate(
        0.7 * gaussian(log_probs - batch["old_per_token_logps"], 0.3), batch["completion_mask"], loss_type, batch, 5
    )
    assert losses["gtr"].item() - losses["grpo"].item() == pytest.approx(expected_penalty.item(), rel=1e-4, abs=1e-7)
    assert expected_penalty.item() > 1e-3  # the check compares something
    metrics = gtr._metrics["train"]
    assert metrics["gtr/n_anchors"] == [1.0] and metrics["gtr/penalty"][0] > 0
    ratio = torch.exp(log_probs - batch["old_per_token_logps"])
    valid = batch["completion_mask"].bool()
    assert metrics["gtr/ratio_deviation"][0] == pytest.approx(torch.abs(ratio - 1)[valid].mean().item(), rel=1e-4)


def test_advantage_weighted_coefficient_and_the_other_penalties(tmp_path):
    batch = make_batch(seed=3)
    losses = {}
    for name, config in {
        "grpo": dict(penalty="none"),
        "advantage": dict(penalty_coef="advantage", epsilon=0.25),
        "pearson": dict(penalty="pearson", penalty_coef=0.5),
    }.items():
        trainer = make_trainer(tmp_path / name, num_iterations=1, **config)
        if "old_per_token_logps" not in batch:
            with torch.no_grad():
                log_probs = current_log_probs(trainer, batch)
            batch["old_per_token_logps"] = log_probs - 0.3
        trainer.model.train()
        losses[name] = trainer.compute_loss(trainer.model, dict(batch)).item()
    # TRL's loss with epsilon 0.25: the GRPO trainer's own epsilon differs, so compare the penalties alone
    reference = make_trainer(tmp_path / "reference", penalty="none", num_iterations=1, epsilon=0.25)
    reference.model.train()
    base = reference.compute_loss(reference.model, dict(batch)).item()
    mask = batch["completion_mask"]
    advantage_weighted = torch.abs(batch["advantages"]).unsqueeze(1) / 0.25 * gaussian(torch.full((4, 5), 0.3), 0.5)
    assert losses["advantage"] - base == pytest.approx(aggregate(advantage_weighted, mask, "grpo", batch, 5).item(), rel=1e-4)
    pearson = 0.5 * (math.exp(0.3) - 1) ** 2 / 2 * torch.ones(4, 5)
    assert losses["pearson"] - losses["grpo"] == pytest.approx(aggregate(pearson, mask, "grpo", batch, 5).item(), rel=1e-4)


def snapshot_trainer(tmp_path, **config):
    """A trainer with a generation batch of two micro-batches in its buffer, as TRL leaves it after generating."""
    trainer = make_trainer(tmp_path, num_iterations=3, steps_per_generation=2, **config)
    trainer.model.train()
    batches = [make_batch(seed) for seed in (10, 11)]
    with torch.no_grad():
        for batch in batches:
            batch["old_per_token_logps"] = current_log_probs(trainer, batch) - 0.2
    trainer._buffered_inputs = batches
    return trainer, batches


def perturb(trainer, seed: int) -> None:
    """An optimizer step, by hand: another policy."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in trainer.model.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))


@pytest.mark.parametrize("accumulation", [2, 1])
def test_mixture_anchors_are_the_policies_at_the_start_of_each_pass(tmp_path, accumulation):
    """Accumulation 2 = steps_per_generation: one optimizer step per pass, the pass's own scores are the snapshot.
    Accumulation 1: a step after each micro-batch, so the trainer scores the buffer at the start of each pass."""
    trainer, batches = snapshot_trainer(tmp_path, gradient_accumulation_steps=accumulation, sigma=0.4, penalty_coef=2.0)
    start_of_pass = {}
    for step in range(6):  # 3 passes over 2 micro-batches
        current_pass, micro_batch = divmod(step, 2)
        if micro_batch == 0:
            with torch.no_grad():
                start_of_pass[current_pass] = [current_log_probs(trainer, batch) for batch in batches]
        trainer._step = step
        trainer.compute_loss(trainer.model, dict(batches[micro_batch]))
        snapshots = trainer._gtr_snapshots[micro_batch]
        assert sorted(snapshots) == list(range(1, current_pass + 1))
        valid = batches[micro_batch]["completion_mask"].bool()
        for k in snapshots:
            torch.testing.assert_close(snapshots[k][valid], start_of_pass[k][micro_batch][valid], rtol=1e-5, atol=1e-6)
        if step % accumulation == accumulation - 1:
            perturb(trainer, step)
    assert trainer._metrics["train"]["gtr/n_anchors"] == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]

    # The loss of the last micro-batch by hand: the Gaussian penalty averaged over pi_0 (behaviour), pi_1 and pi_2
    batch = batches[1]
    trainer._step = 5
    log_probs = current_log_probs(trainer, batch)
    anchors = [batch["old_per_token_logps"], trainer._gtr_snapshots[1][1], trainer._gtr_snapshots[1][2]]
    mixture = torch.stack([gaussian(log_probs - anchor, 0.4) for anchor in anchors]).mean(dim=0)
    gtr_loss = trainer.compute_loss(trainer.model, dict(batch)).item()
    trainer.args.penalty = "none"
    grpo_loss = trainer.compute_loss(trainer.model, dict(batch)).item()
    expected = aggregate(2.0 * mixture, batch["completion_mask"], "grpo", batch, 8).item() / accumulation
    assert gtr_loss - grpo_loss == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("config, anchors", [(dict(anchor_window=1), [1, 1, 1]), (dict(mixture_anchor=False), [1, 1, 1])])
def test_window_and_no_mixture_keep_fewer_anchors(tmp_path, config, anchors):
    trainer, batches = snapshot_trainer(tmp_path, gradient_accumulation_steps=2, **config)
    for step in (0, 2, 4):
        trainer._step = step
        trainer.compute_loss(trainer.model, dict(batches[0]))
    assert trainer._metrics["train"]["gtr/n_anchors"] == [float(n) for n in anchors]


def test_training_logs_the_diagnostics_with_trls_metrics(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=6, num_iterations=3)
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "gtr/penalty" in entry]
    assert len(logged) == 6 and all(math.isfinite(entry["gtr/penalty"]) for entry in logged)
    # With one step per pass, the passes are 0, 1, 2, 0, 1, 2: 1, 2, 3 anchors
    assert [entry["gtr/n_anchors"] for entry in logged] == [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
    assert all("gtr/ratio_deviation" in entry for entry in logged)
    assert [("reward" in entry) for entry in logged] == [True, False, False] * 2  # TRL's, at each generation


def test_a_non_finite_loss_stops_before_the_update(tmp_path):
    trainer = make_trainer(tmp_path, num_iterations=1)
    batch = make_batch()
    batch["old_per_token_logps"] = torch.full((4, 5), float("nan"))
    before = [parameter.detach().clone() for parameter in trainer.model.parameters()]
    trainer.model.train()
    with pytest.raises(NonFiniteLossError, match=r"not finite.*weights hold no NaN"):
        trainer.compute_loss(trainer.model, batch)
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.model.parameters(), strict=True))


@pytest.mark.parametrize(
    "config, message",
    [
        (dict(penalty="gauss"), "Unknown `penalty` 'gauss'"),
        (dict(sigma=0.0), "sigma"),
        (dict(penalty_coef=-1.0), "penalty_coef"),
        (dict(penalty_coef="adv"), "Unknown `penalty_coef` 'adv'"),
        (dict(anchor_window=0), "`anchor_window` must be None"),
        (dict(loss_type="sapo"), "`loss_type` 'sapo' is not supported with penalty='gaussian'"),
        (dict(importance_sampling_level="sequence", loss_type="grpo"), "`importance_sampling_level` must be 'token'"),
    ],
)
def test_bad_config_is_refused_with_the_argument_named(tmp_path, config, message):
    with pytest.raises(ValueError, match=message):
        GTRGRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", **config)


def test_config_reads_numbers_given_as_strings_and_the_trainer_wants_its_config(tmp_path):
    config = GTRGRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", penalty_coef="0.25")
    assert config.penalty_coef == 0.25 and config.penalty == "gaussian" and config.sigma == 0.5
    assert GTRGRPOConfig(output_dir=str(tmp_path), use_cpu=True, loss_type="sapo", penalty="none").penalty == "none"
    with pytest.raises(TypeError, match="`args` must be a GTRGRPOConfig"):
        make_trainer(tmp_path, config_class=GRPOConfig)


def test_missing_extra_says_which_to_install():
    code = (
        "import sys; sys.modules['trl'] = None\n"
        "import sb3_gtr\n"
        "try:\n"
        "    import sb3_gtr.llm\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert "install it with pip install 'sb3-gtr[llm]'" in result.stdout
