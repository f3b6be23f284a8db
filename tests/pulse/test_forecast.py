"""The liquidity forecasts on synthetic index histories whose answer is known: an AR(1) index
(its best forecast is a known shrinkage towards the bond's mean, which neither persistence nor
a rolling mean is) and an index of pure noise (its 80% intervals must hold 80% of outcomes);
no look-ahead, determinism, the drivers' identity and bad settings."""

import numpy as np
import polars as pl
import pytest

from sim.pulse.forecast_evaluation import evaluate
from sim.pulse.forecast_features import FEATURES
from sim.pulse.forecasting import COLUMNS, ForecastParams, forecast
from sim.pulse.params import PulseParamsError

# Small models, so that each test fits in a second or two.
FAST = {"horizons": (1, 3), "n_estimators": 60, "refit_every": 10}


def history(days=60, bonds=20, phi=0.6, noise=6.0, seed=0, run="synthetic") -> pl.DataFrame:
    """An index per bond following x_t - mu = phi (x_{t-1} - mu) + e_t, e_t ~ N(0, noise^2),
    around a bond mean mu between 30 and 70 (phi = 0: independent noise around mu)."""
    rng = np.random.default_rng(seed)
    mean = rng.uniform(30, 70, bonds)
    values = np.empty((days, bonds))
    values[0] = mean + rng.normal(0, noise / np.sqrt(1 - phi**2), bonds)
    for day in range(1, days):
        values[day] = mean + phi * (values[day - 1] - mean) + rng.normal(0, noise, bonds)
    return pl.DataFrame(
        {
            "run": run,
            "day": np.repeat(np.arange(days), bonds),
            "instrument": np.tile([f"B{b:02d}" for b in range(bonds)], days),
            "sector_group": np.tile(["financial", "utilities"], days * bonds // 2),
            "liquidity": np.clip(values.ravel(), 0, 100),
        }
    )


@pytest.fixture(scope="module")
def ar1():
    return history()


@pytest.fixture(scope="module")
def ar1_forecasts(ar1):
    return forecast(ar1, FAST)


def test_a_row_per_bond_origin_and_horizon(ar1, ar1_forecasts):
    frame = ar1_forecasts
    assert frame.columns == list(COLUMNS)
    assert frame.select("instrument", "origin_day", "horizon").is_unique().all()
    assert set(frame["horizon"]) == {1, 3}
    assert (frame["target_day"] == frame["origin_day"] + frame["horizon"]).all()
    # The last day's forecasts reach past the run: the ones a user acts on.
    assert frame.filter(pl.col("origin_day") == 59).height == 20 * 2
    assert ((frame["low"] <= frame["point"]) & (frame["point"] <= frame["high"])).all()
    assert frame.select(pl.col("low", "high").is_between(0, 100).all()).row(0) == (True, True)


def test_on_an_ar1_index_the_model_beats_persistence_and_the_rolling_mean(ar1, ar1_forecasts):
    table = evaluate(ar1_forecasts, ar1)
    assert table["beats_both"].all(), table
    # The best forecast, mu + phi^h (x_t - mu), errs by a normal of variance
    # noise^2 (1 + phi^2 + ... + phi^(2(h-1))): its MAE is that sd times sqrt(2 / pi).
    spread = [6.0 * np.sqrt(sum(0.6 ** (2 * k) for k in range(h))) for h in table["horizon"]]
    best = np.sqrt(2 / np.pi) * np.array(spread)
    assert (table["mae_model"].to_numpy() < 1.1 * best).all(), (table, best)


def test_the_intervals_of_a_noise_index_hold_80_percent_as_its_noise_grows():
    # Noise of sd 4 for 40 days, then 10: the quantile models, trained mostly on the calm
    # days, hold about 60% afterwards; the band calibrated on the recent days holds 80%.
    calm, loud = (history(days=80, bonds=25, phi=0.0, noise=sd, seed=3) for sd in (4.0, 10.0))
    noise = pl.concat([calm.filter(pl.col("day") < 40), loud.filter(pl.col("day") >= 40)])
    table = evaluate(forecast(noise, FAST), noise)
    assert (table["calibrated"] > 1500).all()
    assert table["coverage"].is_between(0.75, 0.85).all(), table


def test_a_forecast_does_not_look_ahead():
    # Refitted every day, so that a model or a band reading one day too far is caught.
    daily = {**FAST, "refit_every": 1, "n_estimators": 30}
    index = history(days=40)
    full = forecast(index, daily)
    cut = 25
    later = pl.col("day") > cut
    # Later days changed beyond recognition, and the rows shuffled.
    altered = index.with_columns(
        liquidity=pl.when(later).then(100 - pl.col("liquidity")).otherwise(pl.col("liquidity"))
    ).sample(fraction=1.0, shuffle=True, seed=7)
    before = pl.col("origin_day") <= cut
    assert forecast(altered, daily).filter(before).equals(full.filter(before))
    assert forecast(index.filter(~later), daily).equals(full.filter(before))


def test_the_same_inputs_give_the_same_frame(ar1, ar1_forecasts):
    again = forecast(ar1.sample(fraction=1.0, shuffle=True, seed=1), FAST)
    assert again.equals(ar1_forecasts)


def test_the_drivers_add_up_with_the_bias_to_the_forecast(ar1_forecasts):
    frame = ar1_forecasts
    points = frame["drivers"].list.eval(pl.element().struct.field("points")).list.sum()
    total = frame["liquidity"] + frame["bias"] + points + frame["drivers_rest"]
    # pred_contrib's parts add up to LightGBM's own prediction, to rounding.
    assert np.allclose(total.clip(0, 100), frame["point"], rtol=0, atol=1e-9)
    assert (frame["drivers"].list.len() == 3).all()
    named = frame["drivers"].explode().struct.field("feature")
    assert set(named) <= set(FEATURES)
    sizes = frame["drivers"].list.eval(pl.element().struct.field("points").abs())
    assert (sizes.list.get(0) >= sizes.list.get(1)).all()
    assert (sizes.list.get(1) >= sizes.list.get(2)).all()


def test_a_library_of_runs_trains_the_first_origins(ar1):
    shelf = [history(seed=s, run=f"other{s}") for s in (11, 12)]
    alone = forecast(ar1, FAST)
    helped = forecast(ar1, FAST, library=shelf)
    # Its own history alone trains nothing on day 0; the library's runs do.
    assert alone["origin_day"].min() > 0
    assert helped["origin_day"].min() == 0
    with pytest.raises(ValueError, match="the library must not hold the run being forecast"):
        forecast(ar1, FAST, library=[ar1])


def test_bad_settings_are_one_error_with_a_line_per_problem(ar1):
    with pytest.raises(PulseParamsError) as error:
        forecast(ar1, {"horizons": [], "coverage": 1.5, "objective": "l3", "refit": 2})
    assert str(error.value).splitlines() == [
        "horizons: needs at least one horizon",
        "objective: Input should be 'l1' or 'l2' (got 'l3')",
        "coverage: Input should be less than 1 (got 1.5)",
        "refit: Extra inputs are not permitted",
    ]
    assert ForecastParams.from_dict({"horizons": [3, 1, 3]}).horizons == (1, 3)


def test_a_history_without_the_index_is_refused():
    with pytest.raises(ValueError, match="the index history has no column liquidity"):
        forecast(pl.DataFrame({"day": [0], "instrument": ["A"]}))
