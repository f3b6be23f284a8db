"""The combined score: liquidity and repayment support weighed by the bond's sector group,
plus its rating's adjustment.

    score = clip(a L + (1 - a) R + adjustment(grade), 0, 100)
    score_uncertainty = sqrt((a u_L)^2 + ((1 - a) u_R)^2)

with L and R the bond's liquidity index (its listing and interval) and its issuer's repayment
index of the same day, u their uncertainties, a the liquidity share of the bond's sector group
(`PulseWeights.sector_liquidity_share`, `sim.pulse.sectors`) and the adjustment the points
`PulseWeights.rating_adjustment` gives the issuer's grade (its worst bond's rating: AA+, AA
and AA- are AA, and so on). Each feature's points in the score are its points in its index
times that index's share, and the adjustment is a driver of its own (``rating_adjustment``):
the score is 50 plus their sum, before the clip. A bond without a repayment index (unrated)
has no score.
"""

from __future__ import annotations

import polars as pl

from sim.pulse.features import LIQUIDITY_FEATURES
from sim.pulse.params import PulseWeights
from sim.pulse.repayment import REPAYMENT_FEATURES
from sim.pulse.scoring import drivers
from sim.pulse.sectors import sector_groups

_REPAYMENT_COLUMNS = (
    "repayment",
    "repayment_uncertainty",
    "repayment_points",
    "repayment_drivers",
    "rating",
    "grade",
)


def combine(
    liquidity: pl.DataFrame,
    repayment: pl.DataFrame,
    instruments: pl.DataFrame,
    weights: PulseWeights,
) -> pl.DataFrame:
    """`liquidity` rows (`sim.pulse.liquidity`) with issuer, sector, sector_group, their
    issuer's repayment columns and the combined score, its uncertainty, points and drivers."""
    bonds = instruments.select(
        pl.col("symbol").alias("instrument"),
        pl.col("issuer").fill_null(pl.col("symbol")),
        "sector",
    )
    bonds = bonds.with_columns(sector_groups(bonds["sector"]))
    share = pl.col("sector_group").replace_strict(
        weights.sector_liquidity_share, return_dtype=pl.Float64
    )
    adjustment = pl.col("grade").replace_strict(
        weights.rating_adjustment, default=0.0, return_dtype=pl.Float64
    )
    frame = (
        liquidity.join(bonds, on="instrument", how="left")
        .join(
            repayment.select("day", "issuer", *_REPAYMENT_COLUMNS),
            on=["day", "issuer"],
            how="left",
        )
        .with_columns(_share=share, _adjustment=adjustment)
    )
    liquidity_names = [f.name for f in LIQUIDITY_FEATURES]
    repayment_names = [f.name for f in REPAYMENT_FEATURES]
    points = pl.struct(
        *(
            (pl.col("liquidity_points").struct.field(name) * pl.col("_share")).alias(name)
            for name in liquidity_names
        ),
        *(
            (pl.col("repayment_points").struct.field(name) * (1 - pl.col("_share"))).alias(name)
            for name in repayment_names
        ),
        pl.col("_adjustment").alias("rating_adjustment"),
    )
    return (
        frame.with_columns(
            score=(
                pl.col("_share") * pl.col("liquidity")
                + (1 - pl.col("_share")) * pl.col("repayment")
                + pl.col("_adjustment")
            ).clip(0.0, 100.0),
            score_uncertainty=(
                (pl.col("_share") * pl.col("liquidity_uncertainty")) ** 2
                + ((1 - pl.col("_share")) * pl.col("repayment_uncertainty")) ** 2
            ).sqrt(),
            score_points=pl.when(pl.col("repayment").is_not_null()).then(points),
        )
        .with_columns(
            score_drivers=pl.when(pl.col("repayment").is_not_null()).then(
                drivers("score_points", [*liquidity_names, *repayment_names, "rating_adjustment"])
            )
        )
        .drop("_share", "_adjustment")
    )
