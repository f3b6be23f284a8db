"""Buy and hold, the harness's benchmark: whole lots it can pay for, once, then nothing."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

import sim
from sim.engine.kernel import Simulation
from sim.market.instrument import Instrument
from strategies.buy_and_hold import units_for
from tests.helpers.scenarios import SMALL_SCENARIO


def bond(lot: int = 1) -> Instrument:
    return Instrument("B", tick_size=Decimal("0.01"), unit_face_value=1000, lot_size=lot)


@pytest.mark.parametrize(
    ("budget", "lot", "expected"),
    [
        # A unit at 100.00 and 1.50 accrued per 100 face of 1,000 rupees costs 101,500 paise.
        (1_015_000, 1, 10),
        (1_014_999, 1, 9),
        (1_015_000, 4, 8),  # two lots of 4
        (101_499, 1, 0),
    ],
)
def test_it_buys_the_whole_lots_its_budget_pays_for(budget, lot, expected):
    assert units_for(budget, 10_000, bond(lot), 1.5) == expected


def test_it_buys_once_at_the_first_timer_and_holds(tmp_path):
    path = tmp_path / "held.toml"
    table = "\n[strategy]\ncash_rupees = 100_000\nparams = { invest = 0.4 }\n"
    path.write_text(SMALL_SCENARIO.format(days=2, lag=0) + table)
    result = sim.run(sim.load_scenario(path), seed=3, out=None)
    (agent,) = result.agents.filter(pl.col("kind") == "strategy")["agent"]
    orders = result.orders.filter(pl.col("agent") == agent)
    assert orders.height == 1 and orders["tif"].item() == "IOC"
    (bought,) = orders.rows(named=True)
    # 40% of 1,00,000 rupees at the ask of ABM (1 tick = 1 paisa a unit, no accrual).
    assert bought["qty"] == 4_000_000 // bought["price"]
    first_open = Simulation(sim.load_scenario(path)).calendar.session(0)[0]
    assert 300 * 10**9 < bought["time"] - first_open < 301 * 10**9  # 300 s and a latency on
