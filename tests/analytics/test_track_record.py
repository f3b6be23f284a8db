"""An account's track record, on hand-worked numbers (the harness's tests check it end to end
against a run's own records and empyrical-reloaded)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from sim.analytics.track_record import daily_returns, inventory


def test_daily_returns_run_close_to_close_from_the_capital():
    curve = pl.DataFrame({"equity": [1_010, 909, 909, 0, 5]})
    returns = daily_returns(curve, 1_000)
    assert returns[:4].tolist() == pytest.approx([0.01, -0.1, 0.0, -1.0])
    assert math.isnan(returns[4])  # nothing left to earn a return on


def test_inventory_is_the_gross_units_beyond_the_start_after_each_fill():
    fills = pl.DataFrame(
        {"instrument": ["A", "A", "B", "A"], "side": [1, -1, 1, -1], "qty": [5, 3, 2, 6]}
    )
    # A: +5 (gross 5), +2 (gross 2), B: +2 (gross 4), A: -4 (gross 6).
    assert inventory(fills) == {"max_inventory_units": 6, "final_inventory_units": 6}
    assert inventory(fills.head(3)) == {"max_inventory_units": 5, "final_inventory_units": 4}
    assert inventory(fills.head(0)) == {"max_inventory_units": 0, "final_inventory_units": 0}
