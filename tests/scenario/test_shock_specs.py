"""The shock and calibration specs on their own: paths held as points, each kind's level,
which bonds a spread shock moves, when a target is met, and which free parameters `--fit`
may not move."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from sim.pricing import Rating
from sim.scenario.calibration import CalibrationSpec, Target, input_free_parameters
from sim.scenario.shocks import RampPath, Shock

SHOCK = TypeAdapter(Shock)


def shock(**table):
    return SHOCK.validate_python({"day": 0, **table})


def test_a_path_given_as_a_shape_is_held_as_its_points():
    assert RampPath(kind="ramp", days=4).points() == ((0.0, 0.0), (4.0, 1.0))
    ramp = shock(kind="panic", intensity=0.5, path={"kind": "ramp", "days": 2})
    assert ramp.path == ((0.0, 0.0), (2.0, 1.0))


def test_each_kind_with_a_level_gives_its_full_size():
    assert shock(kind="panic", intensity=0.3).level == 0.3
    assert shock(kind="liquidity_withdrawal", fraction=0.4).level == 0.4
    assert shock(kind="volatility", multiplier=3).level == 2.0  # the volatility added
    assert shock(kind="redemption_wave", hazard_multiplier=5).level == 4.0


@pytest.mark.parametrize(
    ("filters", "moved"),
    [
        ({}, {("AA", "NBFC"), ("AA", "PSU"), ("BBB", "NBFC"), ("BBB", "PSU")}),
        ({"ratings": ["AA"]}, {("AA", "NBFC"), ("AA", "PSU")}),
        ({"sectors": ["NBFC"]}, {("AA", "NBFC"), ("BBB", "NBFC")}),
        ({"ratings": ["BBB"], "sectors": ["NBFC"]}, {("BBB", "NBFC")}),
    ],
)
def test_a_spread_shock_moves_the_bonds_matching_every_filter_given(filters, moved):
    spread = shock(kind="spread", size_bp=10, **filters)
    bonds = {(r, s) for r in ("AA", "BBB") for s in ("NBFC", "PSU")}
    assert {(r, s) for r, s in bonds if spread.applies_to(Rating.parse(r), s)} == moved


def target(**fields):
    return Target(**{"metric": "spread_multiple", "historical": 5.0, "tolerance": 2.5,
                     "kind": "emergent", "source": "s", **fields})  # fmt: skip


def test_a_target_is_met_within_its_tolerance_either_side():
    t = target()
    assert t.met(2.5) and t.met(7.5) and t.met(5.0)
    assert not t.met(2.4999) and not t.met(7.5001)


def test_a_calibration_needs_two_emergent_targets_and_ranges_that_run_upwards():
    emergent = [target(), target(metric="drawdown_pct")]
    assert CalibrationSpec(targets=emergent).seeds == 3
    with pytest.raises(
        ValidationError, match=r"at least two emergent targets, not only inputs \(got 1\)"
    ):
        CalibrationSpec(targets=[target(), target(kind="input")])
    for low, high in ((0.5, 0.5), (0.9, 0.1)):
        with pytest.raises(ValidationError, match=rf"needs low < high \(got \[{low}, {high}\]\)"):
            CalibrationSpec(targets=emergent, free={"panic.x": (low, high)})


def test_the_fit_may_move_the_agents_stress_and_nothing_an_input_draws():
    shocks = (shock(kind="spread", size_bp=100), shock(kind="panic", intensity=0.5))
    free = {
        "shocks.0.size_bp": (0, 1),
        "shocks.1.intensity": (0, 1),
        "market_maker.gamma": (0, 1),
        "shocks.2.intensity": (0, 1),
        "shocks.x.intensity": (0, 1),
        "shocks.1": (0, 1),
    }
    spec = CalibrationSpec(targets=[target(), target()], free=free)
    field = "names no shock field (shocks.<index>.<field>)"
    assert input_free_parameters(spec, shocks) == [
        ("shocks.0.size_bp", "is a field of a 'spread' shock, an input: --fit never moves one"),
        ("shocks.2.intensity", field),
        ("shocks.x.intensity", field),
        ("shocks.1", field),
    ]
