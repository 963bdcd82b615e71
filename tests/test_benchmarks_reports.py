"""The pieces every benchmark shares: the report writer, the method registry and the figure helper."""

import math

import pytest
from torch import nn

from sb3_gtr.benchmarks import methods, reports
from sb3_gtr.continual.plotting import agg_figure


def test_numbers_and_json_values():
    assert reports.fixed(1.23456, 3) == "1.235"
    assert reports.fixed(2.0, 2, "x") == "2.00x"
    assert reports.fixed(None, 2) == reports.fixed(math.nan, 2) == "-"
    assert reports.fixed(7, 0) == "7"
    assert reports.csv_value(math.nan) == reports.csv_value(None) == ""
    assert reports.csv_value(0.5) == 0.5
    assert reports.without_nan({"a": [1.0, math.nan, (math.nan,)], "b": math.nan}) == {"a": [1.0, None, [None]], "b": None}
    assert reports.describe(nn.Tanh) == "torch.nn.modules.activation.Tanh"
    assert (
        reports.dumps({"activation_fn": nn.Tanh, "x": (1, 2)})
        == '{"activation_fn": "torch.nn.modules.activation.Tanh", "x": [1, 2]}'
    )


def test_markdown_tables():
    rows = [["ppo", "1.00"], ["gtr", "12.50"]]
    assert reports.markdown_table(["method", "time"], rows) == [
        "| method | time |",
        "|---|---:|",
        "| ppo | 1.00 |",
        "| gtr | 12.50 |",
    ]
    assert reports.markdown_table(["a", "b", "c"], [], right_from=None) == ["| a | b | c |", "|---|---|---|"]
    assert reports.markdown_table(["a", "b", "c"], [], right_from=2)[1] == "|---|---|---:|"


def test_rst_tables():
    rows = [["ppo", "1.00"], ["gtr", "12.50"]]
    assert reports.rst_grid_table(["method", "time"], rows) == [
        "+--------+-------+",
        "| method | time  |",
        "+========+=======+",
        "| ppo    | 1.00  |",
        "+--------+-------+",
        "| gtr    | 12.50 |",
        "+--------+-------+",
    ]
    assert reports.rst_simple_table(["method", "time"], rows) == [
        "======  =====",
        "method  time ",
        "======  =====",
        "ppo     1.00 ",
        "gtr     12.50",
        "======  =====",
    ]


def test_write_csv(tmp_path):
    path = tmp_path / "rows.csv"
    reports.write_csv(path, ["a", "b"], [[1, reports.csv_value(math.nan)], ["x,y", 0.5]])
    assert path.read_bytes() == b'a,b\r\n1,\r\n"x,y",0.5\r\n'


def test_the_method_registry_keeps_every_method_and_setting():
    # The docs' numbers were measured with these: a change needs a new run
    continual = methods.CONTINUAL_METHODS
    assert list(continual) == ["ppo", "ppo-kl", "spo", "gtr"]
    assert {name: method.kwargs for name, method in continual.items()} == {
        "ppo": {"penalty": "none"},
        "ppo-kl": {"penalty": "kl", "penalty_coef": 1.0, "mixture_anchor": False, "clip_surrogate": True},
        "spo": {"penalty": "pearson", "penalty_coef": "advantage", "mixture_anchor": False, "clip_surrogate": False},
        "gtr": {},
    }
    assert all(method.algorithm == "GTRPPO" and method.description for method in continual.values())
    overhead = methods.OVERHEAD_METHODS
    assert [(m.name, m.label, m.algorithm, m.kwargs, m.policy) for m in overhead.values()] == [
        ("ppo", "PPO", "PPO", {}, "MlpPolicy"),
        ("gtr", "GTRPPO", "GTRPPO", {}, "MlpPolicy"),
        ("gtr_no_mixture", "GTRPPO (mixture_anchor=False)", "GTRPPO", {"mixture_anchor": False}, "MlpPolicy"),
    ]
    recurrent = methods.RECURRENT_METHODS
    assert [(m.name, m.algorithm, m.policy, m.policy_kwargs) for m in recurrent.values()] == [
        ("lstm_ppo", "RecurrentPPO", "MlpLstmPolicy", {"lstm_hidden_size": 128}),
        ("lstm_gtr", "RecurrentGTRPPO", "MlpLstmPolicy", {"lstm_hidden_size": 128}),
        ("lngru_gtr", "RecurrentGTRPPO", "MlpLnGruPolicy", {"gru_hidden_size": 128}),
    ]
    simba = methods.SIMBA_METHODS
    assert [(m.name, m.algorithm, m.policy, m.policy_kwargs) for m in simba.values()] == [
        ("mlp", "GTRPPO", "MlpPolicy", {}),
        ("simba", "GTRPPO", "SimbaPolicy", {}),
    ]
    for registry in (continual, overhead, recurrent, simba):
        assert all(name == method.name for name, method in registry.items())


def test_a_method_builds_its_model():
    from stable_baselines3 import PPO

    from sb3_gtr import GTRPPO, RecurrentGTRPPO

    assert methods.Method("x").label == "x"
    assert methods.algorithm_class("PPO") is PPO and methods.algorithm_class("RecurrentGTRPPO") is RecurrentGTRPPO
    with pytest.raises(ValueError, match="unknown algorithm 'DQN'"):
        methods.Method("x", "DQN")
    model = methods.OVERHEAD_METHODS["gtr_no_mixture"].make("CartPole-v1", n_steps=64, batch_size=32, device="cpu")
    assert type(model) is GTRPPO and model.mixture_anchor is False and model.n_steps == 64
    assert type(methods.OVERHEAD_METHODS["ppo"].make("CartPole-v1", device="cpu")) is PPO


def test_agg_figure_saves_a_png_only_when_the_block_succeeds(tmp_path):
    path = tmp_path / "figure.png"
    with agg_figure(path, (3, 2)) as figure:
        figure.add_subplot().plot([0, 1], [1, 0])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    failed = tmp_path / "failed.png"
    with pytest.raises(RuntimeError), agg_figure(failed, (3, 2)):
        raise RuntimeError("drawing failed")
    assert not failed.exists()
