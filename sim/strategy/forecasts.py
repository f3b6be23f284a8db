"""The T+h price forecast a strategy's context offers (`Context.forecast`).

The pricing engine's forecaster (`sim.pricing.PriceForecaster`: LightGBM point and quantile
models of the clean price's change over `horizon_days` trading days, with per-feature
contributions) is fitted once per process and horizon on a synthetic history
(`sim.pricing.synthetic.synthetic_history`, 30 bonds over 300 business days, seed 0: the
same model in every run and process). It forecasts from the bond's daily history as the
strategy saw it, one row per close (`HISTORY_COLUMNS`): the mid of its quotes (the evaluated
price when no venue quotes both sides), the yield at that price, the curve's 10-year level and
10-year minus 1-year slope, the rating spread, the quoted spread in yield bp and the
evaluated price. The features need `MIN_HISTORY` closes; before that there is no forecast.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import polars as pl

from sim.pricing.forecast import REQUIRED_COLUMNS as HISTORY_COLUMNS

FORECAST_DAYS = 7
MIN_HISTORY = 21  # closes: the features look back 20 trading days


@dataclass(frozen=True)
class Forecast:
    """A bond's clean price (per 100 face) `horizon_days` trading days ahead: the point
    forecast, the 10% and 90% quantiles, and what drove the forecast change (per-feature
    contributions and the model's bias, summing to ``price - clean_price``)."""

    symbol: str
    time: int
    horizon_days: int
    clean_price: float  # the last close's, which it forecasts from
    price: float
    low: float
    high: float
    drivers: dict[str, float]
    bias: float


@functools.lru_cache(maxsize=4)
def trained_forecaster(horizon_days: int = FORECAST_DAYS):
    """The forecaster for `horizon_days`, fitted on the synthetic history (once a process)."""
    from sim.pricing.forecast import PriceForecaster
    from sim.pricing.synthetic import synthetic_history

    return PriceForecaster(horizon_days).fit(synthetic_history(n_bonds=30, n_days=300, seed=0))


def forecast(
    symbol: str, rows: list[tuple], now: int, horizon_days: int = FORECAST_DAYS
) -> Forecast | None:
    """The forecast of `symbol` from its daily history `rows` (`HISTORY_COLUMNS`, oldest
    first); None with fewer than `MIN_HISTORY` rows."""
    if len(rows) < MIN_HISTORY:
        return None
    model = trained_forecaster(horizon_days)
    history = pl.DataFrame(rows[-(MIN_HISTORY + 5) :], schema=HISTORY_COLUMNS, orient="row")
    predicted = model.predict(history).tail(1).row(0, named=True)
    explained = model.explain(history).tail(1).row(0, named=True)
    drivers = {
        key.removeprefix("contrib_"): float(value)
        for key, value in explained.items()
        if key.startswith("contrib_")
    }
    low, high = model.fitted_quantiles_[0], model.fitted_quantiles_[-1]
    return Forecast(
        symbol,
        now,
        horizon_days,
        float(predicted["clean_price"]),
        float(predicted["predicted_price"]),
        float(predicted[f"price_q{low * 100:g}"]),
        float(predicted[f"price_q{high * 100:g}"]),
        drivers,
        float(explained["bias"]),
    )
