"""What the liquidity forecasts learn from: each bond's daily index on the consolidated book
(its history, `daily_index`) and the features known at a day's close (`features`).

`daily_index` is one row per run, bond and trading day: ``run``, ``day``, ``instrument``,
``sector_group``, ``grade``, ``liquidity`` (0–100), ``liquidity_uncertainty``, ``repayment``
and one ``points_<feature>`` column per liquidity feature (its points in the index,
`sim.pulse.scoring`). Only ``day``, ``instrument`` and ``liquidity`` are required of a frame
passed in; a missing column is null, and a feature that is null throughout never splits a
tree.

`features` adds, per row (bond b, day t), only what is known at day t's close: the columns
`FEATURES` name. Lags and rolling means run over the bond's own rows up to t (its days with a
book, in day order), the market's over every bond's rows of a day, so nothing from after t
enters a row: shuffling or changing later rows cannot change it. The days since a scenario's
shock are not a feature, being unknown to a forecaster ahead of the shock, and nor is the day
of the run: in a library of runs of one scenario it would teach the model the file's calendar
of shocks. ``sector_group`` and ``grade`` are categorical, coded against fixed vocabularies
(`SECTOR_GROUPS`, `GRADES`) so that a code means the same in every run.
"""

from __future__ import annotations

import polars as pl

from sim.pulse.features import LIQUIDITY_FEATURES
from sim.pulse.frame import pulse
from sim.pulse.params import Grade, PulseParams, SectorGroup
from sim.pulse.snapshots import ALL_VENUES

SECTOR_GROUPS: tuple[str, ...] = SectorGroup.__args__
GRADES: tuple[str, ...] = Grade.__args__
POINTS = tuple(f"points_{f.name}" for f in LIQUIDITY_FEATURES)
HISTORY = (
    "run", "day", "instrument", "sector_group", "grade", "liquidity", "liquidity_uncertainty",
    "repayment", *POINTS,
)  # fmt: skip
REQUIRED = ("day", "instrument", "liquidity")
ROLLING = (3, 5, 10)  # the index's rolling means, in the bond's rows
BASELINE_WINDOW = 5  # the rolling-mean benchmark: the bond's last 5 rows, today's included
CATEGORICAL = ("sector_group", "grade")
FEATURES: tuple[str, ...] = (
    "liquidity", "change_1", "change_5", *(f"mean_{w}" for w in ROLLING), "mean_all",
    "from_mean_5", "from_mean_all", "sd_5", "market", "market_change_1", "market_mean_5",
    "relative", "liquidity_uncertainty", "repayment", "repayment_change_5", *POINTS,
    *(f"{p}_mean_5" for p in POINTS), *CATEGORICAL,
)  # fmt: skip


def daily_index(source, run: str = "run", params: PulseParams | None = None) -> pl.DataFrame:
    """The daily consolidated index of `source` (a `sim.Result`, a Pulse frame or a frame of
    this module's `HISTORY` columns) as `HISTORY` columns, sorted by run, instrument and day.
    The run is named by the frame's ``run`` column, a Result's run_id, or else `run`."""
    if isinstance(source, pl.DataFrame):
        frame = source
    else:
        daily = (params or PulseParams()).model_copy(update={"intervals": ("1d",)})
        frame = pulse(source, daily).with_columns(run=pl.lit(source.run_id))
    if "interval" in frame.columns:
        frame = frame.filter(pl.col("interval") == "1d")
    if "venue" in frame.columns:
        frame = frame.filter(pl.col("venue") == ALL_VENUES)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"the index history has no column {', '.join(missing)}")
    if "liquidity_points" in frame.columns:
        frame = frame.with_columns(
            pl.col("liquidity_points").struct.field(f.name).alias(f"points_{f.name}")
            for f in LIQUIDITY_FEATURES
        )
    if "run" not in frame.columns:
        frame = frame.with_columns(run=pl.lit(run))
    absent = {c: pl.lit(None, pl.Float64) for c in HISTORY if c not in frame.columns}
    return (
        frame.with_columns(**absent)
        .select(
            pl.col("run").cast(pl.String),
            pl.col("day").cast(pl.Int32),
            pl.col("instrument").cast(pl.String),
            pl.col("sector_group", "grade").cast(pl.String),
            pl.col("liquidity", "liquidity_uncertainty", "repayment", *POINTS).cast(pl.Float64),
        )
        .sort("run", "instrument", "day")
    )


def features(history: pl.DataFrame) -> pl.DataFrame:
    """`history` (`daily_index`'s frame) with the `FEATURES` columns (categoricals as codes)
    and ``rolling_mean`` (the benchmark: the mean of the bond's last `BASELINE_WINDOW` rows),
    sorted by run, instrument and day."""
    bond = ["run", "instrument"]
    index = pl.col("liquidity")
    market = (
        history.group_by("run", "day")
        .agg(market=index.mean())
        .sort("run", "day")
        .with_columns(
            market_change_1=pl.col("market").diff().over("run"),
            market_mean_5=pl.col("market").rolling_mean(5, min_samples=1).over("run"),
        )
    )
    rolling = {f"mean_{w}": index.rolling_mean(w, min_samples=1).over(bond) for w in ROLLING}
    points_mean = {
        f"{p}_mean_5": pl.col(p).rolling_mean(5, min_samples=1).over(bond) for p in POINTS
    }
    return (
        history.sort("run", "instrument", "day")
        .join(market, on=["run", "day"], how="left")
        .with_columns(
            change_1=index.diff(1).over(bond),
            change_5=index.diff(5).over(bond),
            mean_all=index.cum_sum().over(bond) / index.cum_count().over(bond),
            sd_5=index.rolling_std(5, min_samples=2).over(bond),
            relative=index - pl.col("market"),
            repayment_change_5=pl.col("repayment").diff(5).over(bond),
            rolling_mean=index.rolling_mean(BASELINE_WINDOW, min_samples=1).over(bond),
            **rolling,
            **points_mean,
        )
        .with_columns(
            _codes("sector_group", SECTOR_GROUPS),
            _codes("grade", GRADES),
            from_mean_5=index - pl.col("mean_5"),
            from_mean_all=index - pl.col("mean_all"),
        )
    )


def _codes(column: str, vocabulary: tuple[str, ...]) -> pl.Expr:
    """`column`'s place in `vocabulary` (null when absent or unknown), as a float for LightGBM."""
    return (
        pl.col(column)
        .replace_strict(vocabulary, list(range(len(vocabulary))), default=None)
        .cast(pl.Float64)
    )


def with_targets(frame: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """`frame` (`features`' frame) with ``target_day`` (day + `horizon`) and ``target`` (the
    bond's index on that day, null where the run has no row for it)."""
    later = frame.select("run", "instrument", target_day="day", target="liquidity")
    return frame.with_columns(target_day=pl.col("day") + horizon).join(
        later, on=["run", "instrument", "target_day"], how="left"
    )
