"""The repayment-support index, 0–100 per issuer and trading day: how well the issuer's debt
looks supported, from the credit model, the market's stability and alternative data.

Issuer features on day d (bonds pooled per issuer; `sim.pulse.credit` for the day's state):

| feature (weight key) | column | scored | better when |
|---|---|---|---|
| credit_spread | credit_spread_bp: mean spread of its bonds (10,000 bp in default) | rank | lower |
| rating | rating_rank: its worst bond's notch, 0 AAA ... 10 BIG, 11 D | 1 - rank/10 | lower |
| default_probability | one-year, of that rating | -log10(p)/4 | lower |
| downgrade_probability | one-year, of that rating | 1 - p | lower |
| spread_stability | spread_volatility_bp: sd of daily spread changes | rank | lower |
| depth_stability | depth_variation: sd / mean of its daily consolidated depth | rank | lower |
| traffic, utilities, sentiment | `sim.pulse.altdata` | rank | higher |

"rank" features are normalised over the rolling windows like the liquidity features (every
issuer pooled, `sim.pulse.normalise`); the others are on absolute scales (a rating means the
same in any market): AAA scores 1 and BIG 0; a default probability of 0.01% scores 1, 1% 0.5
and certainty 0. The stabilities look back over the shortest window's days before d (7, or the
run's length), so they and everything else are known at day d's open; on day 0 they are
missing (a neutral score, and more uncertainty).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from sim.pulse.altdata import SIGNALS, alt_data
from sim.pulse.credit import RATING_ORDER, daily_credit
from sim.pulse.features import snapshot_features
from sim.pulse.normalise import windows_for
from sim.pulse.params import PulseParams
from sim.pulse.scoring import Feature, index_scores
from sim.pulse.snapshots import ALL_VENUES
from sim.pulse.timeline import Timeline

DEFAULT_SPREAD_BP = 10_000.0
_BIG = RATING_ORDER.index("BIG")

REPAYMENT_FEATURES: tuple[Feature, ...] = (
    Feature("credit_spread", "credit_spread_bp", higher_is_better=False),
    Feature("rating", "rating_rank", higher_is_better=False, scale=lambda rank: 1.0 - rank / _BIG),
    Feature(
        "default_probability",
        "default_probability",
        higher_is_better=False,
        scale=lambda p: -np.log10(np.maximum(p, 1e-12)) / 4.0,
    ),
    Feature(
        "downgrade_probability",
        "downgrade_probability",
        higher_is_better=False,
        scale=lambda p: 1.0 - p,
    ),
    Feature("spread_stability", "spread_volatility_bp", higher_is_better=False),
    Feature("depth_stability", "depth_variation", higher_is_better=False),
    *(Feature(name, name, higher_is_better=True) for name in SIGNALS),
)


def _issuer_days(credit: pl.DataFrame) -> pl.DataFrame:
    """Per day and issuer: sector, rating (its worst bond's), its probabilities, the mean
    spread and latent state (10,000 bp and null in default)."""
    ranked = credit.with_columns(
        rating_rank=pl.col("rating").replace_strict(
            {r: i for i, r in enumerate(RATING_ORDER)}, return_dtype=pl.Int32
        )
    )
    worst = pl.col("rating_rank").arg_max()
    return (
        ranked.group_by("day", "issuer")
        .agg(
            pl.col("sector").first(),
            pl.col("rating", "grade", "default_probability", "downgrade_probability").get(worst),
            pl.col("rating_rank").max(),
            credit_spread_bp=pl.col("spread_bp").mean(),
            latent_bp=pl.col("latent_bp").mean(),
            defaulted=(pl.col("rating") == "D").any(),
        )
        .with_columns(
            credit_spread_bp=pl.when("defaulted")
            .then(DEFAULT_SPREAD_BP)
            .otherwise("credit_spread_bp"),
            latent_bp=pl.when("defaulted").then(None).otherwise("latent_bp"),
        )
        .drop("defaulted")
        .sort("issuer", "day")
    )


def _daily_depth(per_snapshot: pl.DataFrame, timeline: Timeline) -> pl.DataFrame:
    """Each bond's mean consolidated depth per day: day, instrument, depth_rupees."""
    consolidated = per_snapshot.filter(pl.col("venue") == ALL_VENUES)
    return (
        timeline.assign(consolidated, "1d")
        .group_by("day", "instrument")
        .agg(pl.col("depth_rupees").mean())
    )


def _stabilities(
    issuers: pl.DataFrame, credit: pl.DataFrame, depth: pl.DataFrame, lookback: int
) -> pl.DataFrame:
    """`issuers` with spread_volatility_bp and depth_variation over the `lookback` days
    before each day."""
    issuer_depth = (
        depth.join(credit.select("day", "instrument", "issuer"), on=["day", "instrument"])
        .group_by("day", "issuer")
        .agg(pl.col("depth_rupees").sum())
    )
    past = {"window_size": max(lookback, 2), "min_samples": 2}  # a deviation needs two days
    return (
        issuers.join(issuer_depth, on=["day", "issuer"], how="left")
        .sort("issuer", "day")
        .with_columns(
            spread_volatility_bp=pl.col("credit_spread_bp")
            .diff()
            .rolling_std(**past)
            .shift(1)
            .over("issuer"),
            depth_variation=(
                pl.col("depth_rupees").rolling_std(**past)
                / pl.col("depth_rupees").rolling_mean(**past)
            )
            .shift(1)
            .over("issuer"),
        )
        .drop("depth_rupees")
    )


def repayment_index(
    result,
    params: PulseParams | None = None,
    per_snapshot: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The repayment-support index per trading day and issuer (rated bonds only): day,
    issuer, sector, rating, grade, the features' columns, repayment,
    repayment_uncertainty, repayment_points and repayment_drivers. `per_snapshot` is
    `sim.pulse.features.snapshot_features` of the run when the caller has it already."""
    params = params or PulseParams()
    timeline = Timeline.from_manifest(result.manifest)
    rated = result.instruments.filter(pl.col("rating").is_not_null())
    if rated.is_empty():
        raise ValueError(f"{result.run_id}: no rated bonds, so no repayment index")
    credit = daily_credit(result.fair_values, rated, timeline).filter(
        pl.col("instrument").is_in(rated["symbol"].to_list())
    )
    if per_snapshot is None:
        per_snapshot = snapshot_features(result, params)
    windows = windows_for(params.windows_days, timeline.days)
    issuers = _stabilities(
        _issuer_days(credit), credit, _daily_depth(per_snapshot, timeline), min(windows)
    )
    signals = alt_data(
        issuers.select("day", "issuer", "latent_bp"), int(result.manifest["seed"]), params.alt_data
    )
    frame = issuers.drop("latent_bp").join(signals, on=["day", "issuer"]).sort("day", "issuer")
    scored = index_scores(
        frame.with_columns(seq=pl.col("day").cast(pl.Int64), pool=pl.lit(0)),
        REPAYMENT_FEATURES,
        params.weights.repayment.as_dict(),
        windows,
        pool=["pool"],
        entity=["issuer"],
        name="repayment",
    )
    return scored.drop("seq", "pool")
