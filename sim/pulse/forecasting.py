"""T+1..T+5 forecasts of each bond's daily liquidity index on the consolidated book, with
calibrated intervals and the drivers of each forecast.

    frame = forecast(result)                         # walk-forward on the run's own history
    frame = forecast(result, library=[r2, r3, r4])   # ... and on a library of other runs
    table = evaluate(frame, daily_index(result))     # sim.pulse.forecast_evaluation

**Models.** Per horizon h, three LightGBM models of the change in a bond's index from day t to
day t + h, on the features known at day t's close (`sim.pulse.forecast_features`): a point
model (`ForecastParams.objective`: l1, the median change, or l2, the mean) and two quantile
models at (1 - coverage) / 2 and (1 + coverage) / 2 (0.1 and 0.9: an 80% band). A forecast is
today's index plus the predicted change, clipped to [0, 100]. Learning the change rather than
the level lets trees, which cannot extrapolate, stay near today's value and learn how far a
bond reverts.

**Walk-forward.** At origin day d the models have seen only pairs whose target day is <= d
(the library's runs, complete, are all past): nothing from after d's close. They are refitted
every `refit_every` days, from the first day with `min_train_rows` pairs to train on; a
model fitted at day r forecasts from the origins r to r + refit_every - 1. Origins before the
first fit have no forecast. The last origins' forecasts reach past the run's end: they are
the forecasts a user would act on.

**Calibration** (split-conformal, conformalised quantile regression). At origin d, the
held-out set is the walk-forward's own earlier forecasts of horizon h whose target day falls in
the last `calibration_days` days up to d: each was made out of sample, and its outcome is
known at d's close. Their scores are how far the outcome fell outside the quantile band
(negative inside it), and the band at d is widened by the ceil((n + 1) x coverage)-th smallest
of the n scores (the largest, if that is beyond n; narrowed, when negative), which covers a
new outcome with probability at least `coverage` when the scores are exchangeable. With
fewer than `min_calibration` scores the band is the quantile models' own, and ``calibrated``
is false. Every band holds its point.

**Drivers.** LightGBM's `pred_contrib` splits the point model's predicted change into a bias
(its expected value over the training pairs) and one contribution per feature; the drivers are
the three largest in size (a list of {feature, points}, as the Pulse frame's), and
``drivers_rest`` the sum of the others, so that, before clipping and up to rounding,

    point = liquidity + bias + sum(drivers.points) + drivers_rest

**Determinism.** LightGBM runs with a fixed seed, ``deterministic`` and one thread, on rows in
a fixed order: the same inputs give the same frame, bit for bit.

The frame (`COLUMNS`), a row per bond, origin day and horizon: ``run``, ``instrument``,
``origin_day``, ``horizon``, ``target_day``, ``liquidity`` (the index at the origin: the
persistence forecast), ``point``, ``low`` and ``high`` (the interval, 0–100),
``calibrated``, ``correction`` (the points the band was widened by, null when not
calibrated), ``bias``, ``drivers`` and ``drivers_rest``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.pulse.forecast_features import CATEGORICAL, FEATURES, daily_index, features, with_targets
from sim.pulse.params import PulseParams, PulseParamsError, _problems
from sim.pulse.scoring import drivers

COLUMNS = (
    "run", "instrument", "origin_day", "horizon", "target_day", "liquidity", "point", "low",
    "high", "calibrated", "correction", "bias", "drivers", "drivers_rest",
)  # fmt: skip
_OBJECTIVES = {"l1": "regression_l1", "l2": "regression"}
# What `_walk_forward` hands to `_calibrate`, a row per bond, origin and horizon.
_RAW = {
    "run": pl.String,
    "instrument": pl.String,
    "origin_day": pl.Int32,
    "horizon": pl.Int32,
    "target_day": pl.Int32,
    "target": pl.Float64,
    "liquidity": pl.Float64,
    "change": pl.Float64,
    "raw_low": pl.Float64,
    "raw_high": pl.Float64,
    "bias": pl.Float64,
    "drivers": pl.List(pl.Struct({"feature": pl.String, "points": pl.Float64})),
    "drivers_rest": pl.Float64,
}


class ForecastParams(BaseModel):
    """How the forecasts are made (the module's docstring says what each part does).

    `horizons` in trading days; `objective` of the point model; `coverage` of the interval;
    `refit_every`, `min_train_rows`, `calibration_days` and `min_calibration` as in the
    module's docstring; LightGBM's `n_estimators` (boosting rounds), `learning_rate`,
    `num_leaves`, `min_leaf_rows` (min_data_in_leaf) and `seed`; `pulse`, the settings of the
    index when it is computed from a `sim.Result`.

    The defaults are small, strongly regularised trees (7 leaves of at least 50 pairs, 200
    rounds at 0.03): a bond's daily index is noisy, and larger trees learnt the noise. They
    and the l1 objective were chosen on seed-2 runs of the shipped scenarios (l2, 4 or 15
    leaves and 100 rounds at 0.05 did worse there), not on the seed-1 runs that
    benchmarks/RESULTS.md reports.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizons: tuple[Annotated[int, Field(ge=1, le=30)], ...] = (1, 2, 3, 4, 5)
    objective: Literal["l1", "l2"] = "l1"
    coverage: float = Field(0.8, gt=0, lt=1)
    refit_every: int = Field(5, ge=1)
    min_train_rows: int = Field(100, ge=1)
    calibration_days: int = Field(10, ge=1)
    min_calibration: int = Field(50, ge=1)
    n_estimators: int = Field(200, ge=1)
    learning_rate: float = Field(0.03, gt=0, le=1)
    num_leaves: int = Field(7, ge=2)
    min_leaf_rows: int = Field(50, ge=1)
    seed: int = Field(1, ge=0)
    pulse: PulseParams = PulseParams()

    @field_validator("horizons")
    @classmethod
    def _some_horizons(cls, horizons: tuple[int, ...]) -> tuple[int, ...]:
        if not horizons:
            raise ValueError("needs at least one horizon")
        return tuple(sorted(set(horizons)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ForecastParams:
        """Validated settings from plain data; `PulseParamsError` lists every problem."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise PulseParamsError(_problems(exc)) from None


def forecast(
    source, params: ForecastParams | Mapping[str, Any] | None = None, library: Sequence = ()
) -> pl.DataFrame:
    """Walk-forward forecasts of every bond's daily index in `source` (one run: a `sim.Result`,
    a Pulse frame or `daily_index`'s frame), trained on its own history and on the runs of
    `library` (the same kinds): the frame of the module's docstring, sorted by origin day,
    instrument and horizon. `params` may be plain data (`ForecastParams.from_dict`)."""
    if not isinstance(params, ForecastParams):
        params = ForecastParams.from_dict(params or {})
    history = daily_index(source, params=params.pulse)
    runs = history["run"].unique().to_list()
    if len(runs) != 1:
        raise ValueError(f"forecast one run at a time; the history holds {len(runs)}: {runs}")
    shelf = [daily_index(run, f"library-{i}", params.pulse) for i, run in enumerate(library)]
    names = runs + [name for frame in shelf for name in frame["run"].unique().to_list()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"each run needs a name of its own, and {repeated} repeat: the library must not "
            "hold the run being forecast, nor one run twice"
        )
    own = features(history)
    past = features(pl.concat(shelf)) if shelf else own.clear()
    raw = pl.concat([_walk_forward(own, past, h, params) for h in params.horizons])
    return _calibrate(raw, params).select(COLUMNS).sort("origin_day", "instrument", "horizon")


def _walk_forward(
    own: pl.DataFrame, past: pl.DataFrame, horizon: int, params: ForecastParams
) -> pl.DataFrame:
    """Horizon `horizon`'s forecasts from every origin with a model fitted by then: the
    point, its contributions and the quantile band before calibration (raw_low, raw_high),
    beside the realised ``target``."""
    frame = with_targets(own, horizon)
    library = with_targets(past, horizon).drop_nulls("target")
    x_own, x_past = _matrix(frame), _matrix(library)
    change = (frame["target"] - frame["liquidity"]).to_numpy().astype(float)
    past_change = (library["target"] - library["liquidity"]).to_numpy()
    day, target_day = frame["day"].to_numpy(), frame["target_day"].to_numpy()
    known = ~np.isnan(change)
    # The pairs a model fitted at the close of each day may learn from: the library's and
    # the run's own whose outcome is known by then.
    days = np.unique(day)
    trainable = library.height + np.searchsorted(np.sort(target_day[known]), days, side="right")
    if not (trainable >= params.min_train_rows).any():
        return pl.DataFrame(schema=_RAW)
    first = days[np.argmax(trainable >= params.min_train_rows)]
    blocks = []
    for refit in range(first, days[-1] + 1, params.refit_every):
        learn = known & (target_day <= refit)
        x = np.vstack([x_past, x_own[learn]])
        y = np.concatenate([past_change, change[learn]])
        rows = np.flatnonzero((day >= refit) & (day < refit + params.refit_every))
        if rows.size:
            blocks.append((rows, *_fit_predict(x, y, x_own[rows], params)))
    rows = np.concatenate([b[0] for b in blocks])
    change = np.concatenate([b[1] for b in blocks])
    contributions = np.vstack([b[2] for b in blocks])
    bands = np.vstack([b[3] for b in blocks])
    level = frame["liquidity"].to_numpy()[rows]
    parts = pl.DataFrame(contributions[:, :-1], schema=list(FEATURES), orient="row")
    return (
        frame[rows]
        .select("run", "instrument", origin_day="day", target_day="target_day", target="target")
        .with_columns(
            horizon=pl.lit(horizon, pl.Int32),
            liquidity=level,
            change=change,
            raw_low=level + bands.min(axis=1),
            raw_high=level + bands.max(axis=1),
            bias=contributions[:, -1],
            features=contributions[:, :-1].sum(axis=1),
            contributions=parts.to_struct(),
        )
        .with_columns(drivers=drivers("contributions", list(FEATURES)))
        .with_columns(
            drivers_rest=pl.col("features")
            - pl.col("drivers").list.eval(pl.element().struct.field("points")).list.sum()
        )
        .select(list(_RAW))
    )


def _matrix(frame: pl.DataFrame) -> np.ndarray:
    return frame.select(FEATURES).to_numpy().astype(float)


def _fit_predict(x: np.ndarray, y: np.ndarray, rows: np.ndarray, params: ForecastParams):
    """Fit the point and quantile models on (x, y); for `rows`, the point model's prediction
    and its contributions (one column per feature, then the bias), and the two quantiles."""
    tail = (1 - params.coverage) / 2
    point = _fit(x, y, params, objective=_OBJECTIVES[params.objective])
    quantiles = [_fit(x, y, params, objective="quantile", alpha=a) for a in (tail, 1 - tail)]
    prediction = point.predict(rows, num_threads=1)
    contributions = point.predict(rows, pred_contrib=True, num_threads=1)
    bands = np.column_stack([m.predict(rows, num_threads=1) for m in quantiles])
    return prediction, contributions, bands


def _fit(x: np.ndarray, y: np.ndarray, params: ForecastParams, **objective):
    """A LightGBM booster of y on x, deterministic for `params.seed`."""
    import lightgbm  # heavy: imported only when a model is fitted

    settings = {
        **objective,
        "num_leaves": params.num_leaves,
        "learning_rate": params.learning_rate,
        "min_data_in_leaf": params.min_leaf_rows,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "seed": params.seed,
        "verbosity": -1,
    }
    data = lightgbm.Dataset(
        x,
        y,
        feature_name=list(FEATURES),
        categorical_feature=list(CATEGORICAL),
        params={"feature_pre_filter": False},
    )
    return lightgbm.train(settings, data, num_boost_round=params.n_estimators)


def _calibrate(raw: pl.DataFrame, params: ForecastParams) -> pl.DataFrame:
    """`raw` with the point, the calibrated band, ``calibrated`` and ``correction`` (see the
    module's docstring: split-conformal on the recent out-of-sample forecasts)."""
    origin, horizon = raw["origin_day"].to_numpy(), raw["horizon"].to_numpy()
    target = raw["target"].to_numpy().astype(float)
    # How far each outcome fell outside its band (negative inside); NaN until it is known.
    scores = np.maximum(raw["raw_low"].to_numpy() - target, target - raw["raw_high"].to_numpy())
    correction = np.full(raw.height, np.nan)
    for h in np.unique(horizon):
        mine = horizon == h
        known = mine & ~np.isnan(target)
        order = np.argsort(raw["target_day"].to_numpy()[known], kind="stable")
        when, score = raw["target_day"].to_numpy()[known][order], scores[known][order]
        for day in np.unique(origin[mine]):
            start, end = np.searchsorted(when, [day - params.calibration_days, day], side="right")
            if end - start >= params.min_calibration:
                rank = min(math.ceil((end - start + 1) * params.coverage), end - start)
                correction[mine & (origin == day)] = np.sort(score[start:end])[rank - 1]
    point = pl.col("liquidity") + pl.col("change")
    widen = pl.col("correction").fill_null(0.0)
    return raw.with_columns(correction=pl.Series(correction).fill_nan(None)).with_columns(
        point=point.clip(0, 100),
        low=pl.min_horizontal(pl.col("raw_low") - widen, point).clip(0, 100),
        high=pl.max_horizontal(pl.col("raw_high") + widen, point).clip(0, 100),
        calibrated=pl.col("correction").is_not_null(),
    )
