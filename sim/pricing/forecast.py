"""T+h price forecaster: LightGBM point and quantile models with per-feature contributions.

History format — a long polars (or pandas) frame, one row per trading day and bond:

=====================  ==========================================================
``date``               trading date (rows of a bond are consecutive trading days)
``bond_id``            bond identifier
``clean_price``        observed clean price per 100 face
``ytm``                yield to maturity (decimal)
``curve_level``        risk-free curve level, e.g. the 10-year zero rate (decimal)
``curve_slope``        risk-free curve slope, e.g. 10-year minus 1-year (decimal)
``rating_spread_bp``   spread of the bond's rating over the curve (bp)
``bid_ask_bp``         quoted bid-ask spread (bp), a liquidity measure
``fair_value``         model fair clean price per 100 face (`sim.pricing.fair_value`)
=====================  ==========================================================

Other columns are ignored. `sim.pricing.synthetic.synthetic_history` writes this format.

Features (`FEATURES`), per bond: price changes over 1/3/7/20 days, yield changes over 1/7
days, 10-day volatility of daily changes, distance from the 5- and 20-day moving averages, the
gap to fair value, 7-day changes of curve level, curve slope and rating spread, and the bid-ask
spread. Curve and spread *levels* are left out on purpose (see `_feature_exprs`).

The models predict the price *change* over ``horizon_days`` trading days (rows), and the price
forecast is today's price plus that change, so a zero forecast is the random walk. Features
need up to 20 days of history per bond; rows without full history (or, for fitting and
evaluation, without a target ``horizon_days`` ahead) are dropped. LightGBM is imported lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

REQUIRED_COLUMNS = (
    "date",
    "bond_id",
    "clean_price",
    "ytm",
    "curve_level",
    "curve_slope",
    "rating_spread_bp",
    "bid_ask_bp",
    "fair_value",
)
_NUMERIC = REQUIRED_COLUMNS[2:]
_DEFAULT_LGBM = {
    # Small, heavily regularised trees: bonds share the curve, so a history holds few
    # independent 7-day periods and larger trees fit the common noise.
    "n_estimators": 150,
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_data_in_leaf": 200,
    "lambda_l2": 10.0,
    "feature_fraction": 0.9,
    "seed": 0,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbose": -1,
}


def _feature_exprs() -> list[pl.Expr]:
    # Only changes of the curve and of spreads, not their levels: levels are shared by every
    # bond on a date, so trees use them to recognise the calendar period and overfit it.
    price, ytm = pl.col("clean_price"), pl.col("ytm")
    step = price.diff()
    level, slope, spread = pl.col("curve_level"), pl.col("curve_slope"), pl.col("rating_spread_bp")
    return [
        step.alias("price_change_1d"),
        (price - price.shift(3)).alias("price_change_3d"),
        (price - price.shift(7)).alias("price_change_7d"),
        (price - price.shift(20)).alias("price_change_20d"),
        ((ytm - ytm.shift(1)) * 1e4).alias("ytm_change_1d_bp"),
        ((ytm - ytm.shift(7)) * 1e4).alias("ytm_change_7d_bp"),
        step.rolling_std(10).alias("volatility_10d"),
        (price - price.rolling_mean(5)).alias("gap_to_ma5"),
        (price - price.rolling_mean(20)).alias("gap_to_ma20"),
        (pl.col("fair_value") - price).alias("gap_to_fair_value"),
        ((level - level.shift(7)) * 1e4).alias("curve_level_change_7d_bp"),
        ((slope - slope.shift(7)) * 1e4).alias("curve_slope_change_7d_bp"),
        (spread - spread.shift(7)).alias("rating_spread_change_7d_bp"),
        pl.col("bid_ask_bp").alias("bid_ask_level_bp"),
    ]


FEATURES = tuple(e.meta.output_name() for e in _feature_exprs())


def _as_polars(history: Any) -> pl.DataFrame:
    if isinstance(history, pl.DataFrame):
        return history
    import pandas as pd

    if isinstance(history, pd.DataFrame):
        return pl.from_pandas(history)
    raise TypeError(f"history must be a polars or pandas DataFrame, got {type(history).__name__}")


def validate_history(history: Any) -> pl.DataFrame:
    """Check the history format (see the module docstring) and return it as polars."""
    frame = _as_polars(history)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"history is missing required column(s): {', '.join(missing)}")
    for col in _NUMERIC:
        if not frame.schema[col].is_numeric():
            raise ValueError(f"history column {col!r} must be numeric, got {frame.schema[col]}")
    for col in REQUIRED_COLUMNS:
        nulls = frame[col].null_count()
        if nulls:
            raise ValueError(f"history column {col!r} has {nulls} null value(s)")
        if col in _NUMERIC and not frame[col].cast(pl.Float64).is_finite().all():
            raise ValueError(f"history column {col!r} has non-finite values")
    if frame.select(pl.struct("bond_id", "date").is_duplicated().any()).item():
        raise ValueError("history has duplicate (bond_id, date) rows")
    return frame


def _with_features(frame: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """Features and the target (price change ``horizon`` rows ahead), computed per bond."""
    future = pl.col("clean_price").shift(-horizon) - pl.col("clean_price")
    return (
        frame.sort("bond_id", "date")
        .with_columns([e.over("bond_id") for e in _feature_exprs()])
        .with_columns(future.over("bond_id").alias("target_change"))
        .drop_nulls(list(FEATURES))
    )


def _from_start(frame: pl.DataFrame, start: Any) -> pl.DataFrame:
    return frame if start is None else frame.filter(pl.col("date") >= start)


@dataclass(frozen=True)
class ForecastEvaluation:
    """Out-of-sample accuracy of the forecaster against the random walk (price unchanged).

    ``improvement`` is ``1 - mae / mae_random_walk``; ``coverage`` is the share of realised
    prices inside the interval between the lowest and highest quantile forecasts, whose nominal
    level is ``nominal_coverage``.
    """

    mae: float
    mae_random_walk: float
    improvement: float
    coverage: float
    nominal_coverage: float
    n_obs: int


class PriceForecaster:
    """Forecast each bond's clean price ``horizon_days`` trading days ahead.

    Constructor arguments are stored and checked at `fit`. ``lgbm_params`` override the
    defaults in ``_DEFAULT_LGBM`` (``n_estimators`` is the number of boosting rounds).
    """

    def __init__(
        self,
        horizon_days: int = 7,
        quantiles: Sequence[float] = (0.1, 0.5, 0.9),
        **lgbm_params: Any,
    ) -> None:
        self.horizon_days = horizon_days
        self.quantiles = quantiles
        self.lgbm_params = lgbm_params

    # -- fitting ----------------------------------------------------------------------------

    def _check_params(self) -> tuple[float, ...]:
        if not isinstance(self.horizon_days, int) or self.horizon_days < 1:
            raise ValueError(f"horizon_days must be a positive integer, got {self.horizon_days!r}")
        qs = tuple(float(q) for q in self.quantiles)
        if len(qs) < 2 or any(not 0 < q < 1 for q in qs) or list(qs) != sorted(set(qs)):
            raise ValueError(
                f"quantiles must be at least two distinct increasing values in (0, 1), "
                f"got {self.quantiles!r}"
            )
        return qs

    def fit(self, history: Any) -> PriceForecaster:
        """Train the point and quantile models on ``history``."""
        import lightgbm as lgb

        qs = self._check_params()
        data = _with_features(validate_history(history), self.horizon_days).drop_nulls(
            "target_change"
        )
        if data.height < 50:
            raise ValueError(
                f"too little history to fit: {data.height} rows with full features and a "
                f"{self.horizon_days}-day target (need at least 50)"
            )
        X = data.select(FEATURES).to_numpy()
        y = data["target_change"].to_numpy()
        params = {**_DEFAULT_LGBM, **self.lgbm_params}
        rounds = int(params.pop("n_estimators"))

        def train(objective: str, **extra: Any) -> Any:
            merged = {**params, "objective": objective, **extra}
            dataset = lgb.Dataset(X, y, feature_name=list(FEATURES), free_raw_data=False)
            return lgb.train(merged, dataset, num_boost_round=rounds)

        self.point_model_ = train("regression")
        self.quantile_models_ = {q: train("quantile", alpha=q) for q in qs}
        self.fitted_quantiles_ = qs
        self.n_train_ = data.height
        return self

    def _require_fitted(self) -> None:
        if not hasattr(self, "point_model_"):
            raise RuntimeError("PriceForecaster is not fitted yet: call fit(history) first")

    def _prepare(self, frame: Any, start: Any) -> pl.DataFrame:
        self._require_fitted()
        data = _from_start(_with_features(validate_history(frame), self.horizon_days), start)
        if data.height == 0:
            raise ValueError(
                "no rows to forecast: every row lacks the 20 days of history the features need"
            )
        return data

    # -- prediction -------------------------------------------------------------------------

    def predict(self, frame: Any, start: Any = None) -> pl.DataFrame:
        """Point and quantile price forecasts for each row of ``frame`` with full features.

        Rows dated before ``start`` serve only as history. Columns: ``date``, ``bond_id``,
        ``clean_price``, ``predicted_change``, ``predicted_price`` and ``price_q<pct>`` per
        quantile. Quantile forecasts are sorted per row, so the bounds never cross.
        """
        data = self._prepare(frame, start)
        return self._predict(data).drop("target_change")

    def _predict(self, data: pl.DataFrame) -> pl.DataFrame:
        X = data.select(FEATURES).to_numpy()
        price = data["clean_price"].to_numpy()
        change = self.point_model_.predict(X)
        bounds = np.sort(
            np.column_stack([self.quantile_models_[q].predict(X) for q in self.fitted_quantiles_]),
            axis=1,
        )
        out = data.select("date", "bond_id", "clean_price", "target_change").with_columns(
            pl.Series("predicted_change", change),
            pl.Series("predicted_price", price + change),
        )
        return out.with_columns(
            pl.Series(_quantile_name(q), price + bounds[:, i])
            for i, q in enumerate(self.fitted_quantiles_)
        )

    def explain(self, frame: Any, start: Any = None) -> pl.DataFrame:
        """Per-feature contributions (SHAP values) to the point forecast of the price change.

        Columns: ``date``, ``bond_id``, ``clean_price``, one ``contrib_<feature>`` per feature,
        ``bias`` (the model's expected change), ``predicted_change`` (= bias + contributions)
        and ``predicted_price`` (= clean_price + predicted_change).
        """
        data = self._prepare(frame, start)
        X = data.select(FEATURES).to_numpy()
        contrib = self.point_model_.predict(X, pred_contrib=True)
        change = contrib.sum(axis=1)
        columns = [pl.Series(f"contrib_{f}", contrib[:, i]) for i, f in enumerate(FEATURES)]
        return data.select("date", "bond_id", "clean_price").with_columns(
            *columns,
            pl.Series("bias", contrib[:, -1]),
            pl.Series("predicted_change", change),
            pl.Series("predicted_price", data["clean_price"].to_numpy() + change),
        )

    def evaluate(self, frame: Any, start: Any = None) -> ForecastEvaluation:
        """MAE against realised prices, the random walk's MAE and the interval coverage.

        Scores rows of ``frame`` (dated ``start`` or later) that have a realised price
        ``horizon_days`` ahead inside ``frame``.
        """
        pred = self._predict(self._prepare(frame, start)).drop_nulls("target_change")
        if pred.height == 0:
            raise ValueError(f"no rows with a realised price {self.horizon_days} days ahead")
        actual = pred["clean_price"].to_numpy() + pred["target_change"].to_numpy()
        lo = pred[_quantile_name(self.fitted_quantiles_[0])].to_numpy()
        hi = pred[_quantile_name(self.fitted_quantiles_[-1])].to_numpy()
        mae = float(np.mean(np.abs(actual - pred["predicted_price"].to_numpy())))
        mae_rw = float(np.mean(np.abs(pred["target_change"].to_numpy())))
        return ForecastEvaluation(
            mae=mae,
            mae_random_walk=mae_rw,
            improvement=1.0 - mae / mae_rw if mae_rw > 0 else 0.0,
            coverage=float(np.mean((actual >= lo) & (actual <= hi))),
            nominal_coverage=self.fitted_quantiles_[-1] - self.fitted_quantiles_[0],
            n_obs=pred.height,
        )


def _quantile_name(q: float) -> str:
    return f"price_q{q * 100:g}"
