"""A shock's path over time: a step, a linear ramp, an exponential decay or explicit points, all
held as points (day offset, fraction of full size) once validated."""

from __future__ import annotations

import pytest

from sim.engine.kernel import Simulation
from sim.scenario import ScenarioError, scenario_from_dict
from sim.scenario.shocks import PanicShock

BASE = {
    "run": {"name": "paths"},
    "calendar": {"start": "2024-01-02", "days": 30},
    "instruments": [{"symbol": "X", "reference_price": "100.00"}],
    "venues": [{"name": "V"}],
}


def panic(path, day: int = 2) -> dict:
    return {**BASE, "shocks": [{"kind": "panic", "day": day, "intensity": 0.8, "path": path}]}


def test_each_shape_is_held_as_its_points():
    step = scenario_from_dict(panic({"kind": "step"})).shocks[0].path
    ramp = scenario_from_dict(panic({"kind": "ramp", "days": 4})).shocks[0].path
    decay = scenario_from_dict(panic({"kind": "decay", "half_life_days": 2})).shocks[0].path
    assert step == ((0.0, 1.0),)
    assert ramp == ((0.0, 0.0), (4.0, 1.0))
    # Halving every 2 days: 2**-(d/2) on day d, until the first day below 0.1% (2**-10 on
    # day 20 is 0.098%), which is 0.
    assert decay == (*((float(d), 2 ** (-d / 2)) for d in range(20)), (20.0, 0.0))
    assert 2 ** (-19 / 2) > 0.001 > 2 ** (-20 / 2)


def test_the_levels_agents_see_follow_the_path():
    ramp = Simulation(scenario_from_dict(panic({"kind": "ramp", "days": 4})))
    assert [ramp.shock_level(PanicShock, d) for d in range(1, 8)] == pytest.approx(
        [0.0, 0.0, 0.2, 0.4, 0.6, 0.8, 0.8]
    )
    decay = Simulation(scenario_from_dict(panic({"kind": "decay", "half_life_days": 1})))
    assert [decay.shock_level(PanicShock, d) for d in (2, 3, 4, 11, 12)] == pytest.approx(
        [0.8, 0.4, 0.2, 0.8 / 2**9, 0.0]
    )


def test_a_shape_round_trips_through_the_resolved_scenario():
    first = scenario_from_dict(panic({"kind": "decay", "half_life_days": 3}))
    again = scenario_from_dict(first.to_dict())
    assert again.shocks == first.shocks and again.hash == first.hash


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ({"kind": "ramp", "days": 0}, "shocks[0].path.days: must be > 0 (got 0)"),
        ({"kind": "decay"}, "shocks[0].path.half_life_days: required"),
        ({"kind": "stair"}, "shocks[0].path: unknown kind 'stair' (expected one of 'step', "),
        ({"days": 3}, "shocks[0].path: needs a kind (one of 'step', 'ramp', 'decay')"),
        ({"kind": "ramp", "days": 3, "span": 2}, "shocks[0].path.span: unknown field"),
    ],
)
def test_a_bad_shape_is_one_line_naming_the_field(path, message):
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(panic(path))
    (line,) = caught.value.problems
    assert message in line
