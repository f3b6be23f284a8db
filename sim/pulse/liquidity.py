"""The liquidity index, 0–100 per listing and interval: the features of `sim.pulse.features`,
normalised over rolling windows (`sim.pulse.normalise`) and weighted (`sim.pulse.scoring`,
`PulseWeights.liquidity`).

Each venue's books are normalised among themselves and the consolidated books (`ALL_VENUES`)
among themselves, each interval kind apart. Other things equal, a wider spread, a longer wait
since the last trade or a more one-sided flow never raises the index; more depth, makers,
turnover or SIP recycling never lowers it.
"""

from __future__ import annotations

import polars as pl

from sim.pulse.features import LIQUIDITY_FEATURES, interval_features, snapshot_features
from sim.pulse.normalise import windows_for
from sim.pulse.params import PulseParams
from sim.pulse.scoring import index_scores
from sim.pulse.snapshots import ALL_VENUES
from sim.pulse.timeline import Timeline

# Interval positions in time: day-major, and no session has this many slots.
_SLOTS_PER_DAY = 100_000


def score_liquidity(features: pl.DataFrame, params: PulseParams, run_days: int) -> pl.DataFrame:
    """`features` (one interval kind: `interval_features`' frame) with the liquidity index,
    its uncertainty, points and drivers."""
    frame = features.with_columns(
        seq=pl.col("day").cast(pl.Int64) * _SLOTS_PER_DAY + pl.col("slot"),
        consolidated=pl.col("venue") == ALL_VENUES,
    )
    scored = index_scores(
        frame,
        LIQUIDITY_FEATURES,
        params.weights.liquidity.as_dict(),
        windows_for(params.windows_days, run_days),
        pool=["consolidated"],
        entity=["venue", "instrument"],
        name="liquidity",
    )
    return scored.drop("seq", "consolidated")


def liquidity_index(
    result, params: PulseParams | None = None, per_snapshot: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The liquidity index of every listing and interval of each kind in
    `PulseParams.intervals`, the kinds one after another. `per_snapshot` is
    `snapshot_features` of the run when the caller has it already."""
    params = params or PulseParams()
    timeline = Timeline.from_manifest(result.manifest)
    if per_snapshot is None:
        per_snapshot = snapshot_features(result, params)
    return pl.concat(
        [
            score_liquidity(
                interval_features(result, timeline, spec, per_snapshot), params, timeline.days
            )
            for spec in params.intervals
        ]
    )
