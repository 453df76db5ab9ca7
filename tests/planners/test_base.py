import pytest
import torch

from wmplan.planners import (
    CEMConfig,
    GradientConfig,
    ICEMConfig,
    MPPIConfig,
    RandomShootingConfig,
    make_config,
    make_planner,
    shift,
)


def test_shift_moves_the_plan_on_and_repeats_the_last_step():
    plan = torch.arange(8.0).reshape(1, 4, 2)
    assert shift(plan).tolist() == [[[2, 3], [4, 5], [6, 7], [6, 7]]]
    assert shift(plan, steps=2, fill=0.0).tolist() == [[[4, 5], [6, 7], [0, 0], [0, 0]]]
    assert torch.equal(shift(plan, steps=0), plan)
    population = torch.arange(16.0).reshape(1, 2, 4, 2)  # [B, K, H, A]
    assert shift(population)[0, 1, 0].tolist() == [10, 11]
    with pytest.raises(ValueError, match="steps must be in"):
        shift(plan, steps=5)


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (CEMConfig, {"num_samples": 1}, "num_samples must be >= 2, got 1"),
        (
            CEMConfig,
            {"num_samples": 10, "num_elites": 11},
            r"num_elites must be in \[1, 10\], got 11",
        ),
        (CEMConfig, {"iterations": 0}, "iterations must be >= 1, got 0"),
        (CEMConfig, {"iterations": 2.5}, "iterations must be an int, got 2.5"),
        (CEMConfig, {"init_std": 0.0}, r"init_std must be in \(0.0, inf\), got 0.0"),
        (CEMConfig, {"min_std": 1.0, "max_std": 0.5}, r"max_std must be in \[1.0, inf\), got 0.5"),
        (CEMConfig, {"momentum": 1.0}, r"momentum must be in \[0.0, 1.0\), got 1.0"),
        (CEMConfig, {"return_best": "yes"}, "return_best must be a bool"),
        (MPPIConfig, {"temperature": 0.0}, r"temperature must be in \(0.0, inf\), got 0.0"),
        (ICEMConfig, {"beta": 5.0}, r"beta must be in \[0.0, 4.0\], got 5.0"),
        (ICEMConfig, {"keep_fraction": -0.1}, r"keep_fraction must be in \[0.0, 1.0\]"),
        (ICEMConfig, {"sample_decay": 0.5}, r"sample_decay must be in \[1.0, inf\)"),
        (GradientConfig, {"lr": -1.0}, r"lr must be in \(0.0, inf\), got -1.0"),
        (GradientConfig, {"num_starts": 0}, "num_starts must be >= 1, got 0"),
        (GradientConfig, {"cem_samples": 10, "cem_elites": 20}, r"cem_elites must be in \[1, 10\]"),
        (RandomShootingConfig, {"num_samples": 0}, "num_samples must be >= 1, got 0"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_configs_are_frozen():
    with pytest.raises(AttributeError):
        CEMConfig().num_samples = 5


def test_make_config_applies_overrides_and_names_bad_ones():
    assert make_config("cem", num_samples=64).num_samples == 64
    assert make_config("mppi").num_samples == 512  # TD-MPC2 defaults
    assert make_config("gradient").num_samples == 1  # parallel starts
    assert make_config("cem", CEMConfig(iterations=3), num_elites=2).iterations == 3
    with pytest.raises(
        ValueError, match="unknown planner 'cme'; valid: cem, mppi, icem, gradient, random"
    ):
        make_config("cme")
    with pytest.raises(
        ValueError, match="unknown cem planner option.* samples; valid: num_samples"
    ):
        make_config("cem", samples=3)
    with pytest.raises(ValueError, match="must be a CEMConfig"):
        make_config("cem", MPPIConfig())


def test_make_planner_binds_name_and_config():
    planner = make_planner("icem", num_samples=20, num_elites=4, iterations=2)
    assert planner.name == "icem" and planner.keeps_elites
    assert planner.config == ICEMConfig(num_samples=20, num_elites=4, iterations=2)
    assert not make_planner("cem").keeps_elites
