"""The forecasts' evaluation on hand-made forecasts whose errors are worked out on paper, and
the whole path from a short real run's records to its forecasts."""

import polars as pl
import pytest

import sim
from sim.pulse import PulseParams, pulse
from sim.pulse.forecast_evaluation import COLUMNS, evaluate
from sim.pulse.forecast_features import HISTORY, daily_index
from sim.pulse.forecasting import forecast

# Bond A's index rises by 2 a day: 50, 52, ..., 62 on days 0-6.
HISTORY_A = pl.DataFrame({"day": range(7), "instrument": "A", "liquidity": range(50, 64, 2)})


def test_the_errors_and_coverage_are_the_ones_worked_out_by_hand():
    forecasts = pl.DataFrame(
        {
            "run": "run",
            "instrument": "A",
            "origin_day": [3, 4, 5, 4, 6],
            "horizon": [1, 1, 1, 2, 1],
            "target_day": [4, 5, 6, 6, 7],  # day 7 is past the run: not realised
            "liquidity": [56.0, 58.0, 60.0, 58.0, 62.0],
            "point": [58.0, 57.0, 61.0, 55.0, 64.0],
            "low": [0.0, 58.0, 55.0, 50.0, 60.0],
            "high": [100.0, 59.0, 65.0, 70.0, 68.0],
            "calibrated": [False, True, True, False, True],
        }
    )
    table = evaluate(forecasts, HISTORY_A)
    assert table.columns == list(COLUMNS)
    one, two = table.rows(named=True)
    # Outcomes 58, 60, 62; rolling means of days 0-3, 0-4 and 1-5: 53, 54, 56.
    assert one["forecasts"] == 3
    assert one["mae_model"] == pytest.approx((0 + 3 + 1) / 3)
    assert one["mae_persistence"] == pytest.approx(2.0)
    assert one["mae_rolling_mean"] == pytest.approx((5 + 6 + 6) / 3)
    assert one["beats_both"] is True
    # Two calibrated intervals: [58, 59] misses 60, [55, 65] holds 62.
    assert (one["calibrated"], one["coverage"], one["width"]) == (2, 0.5, 5.5)
    # Day 4's two-day forecast, 55 against 62, loses to persistence's 58.
    assert two["mae_model"] == 7.0 and two["mae_persistence"] == 4.0
    assert two["beats_both"] is False
    assert (two["calibrated"], two["coverage"], two["width"]) == (0, None, None)


SMALL = {
    "horizons": (1, 2),
    "n_estimators": 30,
    "min_train_rows": 40,
    "calibration_days": 3,
    "min_calibration": 20,
}


@pytest.fixture(scope="module")
def run():
    return sim.run(sim.load_scenario("baseline", overrides=["calendar.days=6"]), seed=1, out=None)


def test_a_run_is_forecast_from_its_own_records(run):
    history = daily_index(run)
    assert history.columns == list(HISTORY)
    assert set(history["run"]) == {run.run_id}
    assert history.height == 20 * 6  # 20 bonds, 6 days
    daily = pulse(run, PulseParams(intervals=("1d",))).filter(pl.col("venue") == "all")
    assert history["liquidity"].sort().equals(daily["liquidity"].sort())
    assert history.select(pl.col("^points_.*$").is_not_null().all()).row(0) == (True,) * 7

    frame = forecast(run, SMALL)
    assert frame.equals(forecast(history, SMALL))  # a Result and its index: the same forecasts
    assert frame["origin_day"].max() == 5
    table = evaluate(frame, run)
    assert table["horizon"].to_list() == [1, 2]
    assert (table["forecasts"] > 0).all()
