"""How good the liquidity forecasts are (`sim.pulse.forecasting`), per horizon, against the
realised index and two benchmarks a user could have had for free.

- **MAE**, in index points, of the model's point forecast, of persistence (the index stays at
  today's value) and of the rolling mean (the mean of the bond's last
  `forecast_features.BASELINE_WINDOW` rows, today's included), over the same forecasts: every
  one whose target day the run reached with a row for the bond. The model ``beats_both`` when
  its MAE is below both benchmarks'.
- **Coverage**: the share of the calibrated intervals (``calibrated``) that hold the realised
  index, to compare with the nominal coverage (0.8), and their mean width in points.
"""

from __future__ import annotations

import polars as pl

from sim.pulse.forecast_features import daily_index, features

COLUMNS = (
    "horizon", "forecasts", "mae_model", "mae_persistence", "mae_rolling_mean", "beats_both",
    "calibrated", "coverage", "width",
)  # fmt: skip


def evaluate(forecasts: pl.DataFrame, history) -> pl.DataFrame:
    """Per horizon of `forecasts` (`forecast`'s frame): forecasts (how many were realised),
    mae_model, mae_persistence, mae_rolling_mean, beats_both, calibrated (how many intervals),
    coverage and width. `history` is the run's index (`daily_index`, or what it reads)."""
    history = daily_index(history)
    known = features(history).select(
        "run", "instrument", origin_day="day", rolling_mean="rolling_mean"
    )
    realised = history.select("run", "instrument", target_day="day", actual="liquidity")
    rows = forecasts.join(realised, on=["run", "instrument", "target_day"]).join(
        known, on=["run", "instrument", "origin_day"], how="left"
    )
    held = (pl.col("actual") >= pl.col("low")) & (pl.col("actual") <= pl.col("high"))
    calibrated = pl.col("calibrated")
    return (
        rows.group_by("horizon")
        .agg(
            forecasts=pl.len(),
            mae_model=(pl.col("point") - pl.col("actual")).abs().mean(),
            mae_persistence=(pl.col("liquidity") - pl.col("actual")).abs().mean(),
            mae_rolling_mean=(pl.col("rolling_mean") - pl.col("actual")).abs().mean(),
            calibrated=calibrated.sum(),
            coverage=held.filter(calibrated).mean(),
            width=(pl.col("high") - pl.col("low")).filter(calibrated).mean(),
        )
        .with_columns(
            beats_both=pl.col("mae_model")
            < pl.min_horizontal("mae_persistence", "mae_rolling_mean")
        )
        .select(COLUMNS)
        .sort("horizon")
    )
