"""Each bond's credit state per trading day, as published: spread, rating and the credit model's
migration and default probabilities.

A day's state is the valuation published at its open (`fair_values`' first time that day; of
several rows at that time, the last), so that the repayment index of day d is known before
day d trades. A valuation without a spread is a bond in default (rating D). The rating is not
recorded: it is the one whose spread in the pricing engine's table
(`sim.pricing.DEFAULT_SPREAD_TABLE`), at the bond's remaining maturity, is nearest the
published rating spread (exact unless a scenario changed the table).

The probabilities are the credit model's (`sim.pricing.illustrative_migration_matrix`, one
year): ``default_probability`` the rating's chance of default, ``downgrade_probability`` of
ending the year lower but not in default; a bond in default has both at 1 (nothing worse could
happen to its holders than has). ``latent_bp`` is the credit adjustment the fundamental adds
to the rating spread (the common credit factor, spread shocks, default contagion): the
issuer's latent credit state, which the alternative data observe.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from sim.pricing.credit import DEFAULT_SPREAD_TABLE, Rating, illustrative_migration_matrix
from sim.pulse.timeline import Timeline

GRADES = {
    "AAA": "AAA",
    "AA+": "AA",
    "AA": "AA",
    "AA-": "AA",
    "A+": "A",
    "A": "A",
    "A-": "A",
    "BBB+": "BBB",
    "BBB": "BBB",
    "BBB-": "BBB",
    "BIG": "BIG",
    "D": "D",
}
RATING_ORDER = [r.value for r in Rating]  # best first; D last


def rating_probabilities() -> pl.DataFrame:
    """rating, default_probability and downgrade_probability (one year) of every rating."""
    p = np.asarray(illustrative_migration_matrix().probabilities)
    n = len(RATING_ORDER)
    lower = np.triu(np.ones((n, n)), k=1)[:, :-1]  # the columns below each row's rating, not D
    return pl.DataFrame(
        {
            "rating": RATING_ORDER,
            "default_probability": np.where(np.arange(n) == n - 1, 1.0, p[:, -1]),
            "downgrade_probability": np.where(
                np.arange(n) == n - 1, 1.0, (p[:, :-1] * lower).sum(axis=1)
            ),
        }
    )


def _nearest_rating(spread_bp: np.ndarray, years: np.ndarray) -> np.ndarray:
    """The rating whose table spread at `years` is nearest each published rating spread."""
    ratings = list(DEFAULT_SPREAD_TABLE.spreads_bp)
    table = np.stack([DEFAULT_SPREAD_TABLE.spread_bp(r, years) for r in ratings], axis=1)
    best = np.abs(table - spread_bp[:, None]).argmin(axis=1)
    return np.array([ratings[i].value for i in best], dtype=object)


def daily_credit(
    fair_values: pl.DataFrame, instruments: pl.DataFrame, timeline: Timeline
) -> pl.DataFrame:
    """Per trading day and bond with a valuation: day, instrument, issuer, sector, spread_bp,
    rating, grade, default_probability, downgrade_probability, latent_bp."""
    rows = fair_values.with_columns(pl.col("instrument").cast(pl.String))
    rows = rows.with_columns(day=pl.Series(timeline.day_of(rows["time"].to_numpy())))
    published = (
        rows.with_row_index("_order")
        .filter(pl.col("time") == pl.col("time").min().over("day", "instrument"))
        .sort("_order")
        .group_by("day", "instrument", maintain_order=True)
        .last()
        .join(
            instruments.select(
                pl.col("symbol").alias("instrument"), "issuer", "sector", "maturity"
            ),
            on="instrument",
            how="left",
        )
    )
    dates = pl.DataFrame(
        {"day": np.arange(timeline.days, dtype=np.int32), "date": timeline.opens}
    ).with_columns(pl.col("date").cast(pl.Datetime("ns")).dt.date())
    published = published.join(dates, on="day", how="left")
    years = (published["maturity"] - published["date"]).dt.total_days() / 365.0
    defaulted = published["spread_bp"].is_null().to_numpy()
    spreads = published["rating_spread_bp"].fill_null(0.0).to_numpy()
    inferred = _nearest_rating(spreads, years.fill_null(1.0).to_numpy())
    rating = np.where(defaulted, "D", inferred)
    return (
        published.with_columns(rating=pl.Series(rating.tolist(), dtype=pl.String))
        .with_columns(grade=pl.col("rating").replace_strict(GRADES))
        .join(rating_probabilities(), on="rating", how="left")
        .select(
            "day",
            "instrument",
            pl.col("issuer").fill_null(pl.col("instrument")),
            "sector",
            "spread_bp",
            "rating",
            "grade",
            "default_probability",
            "downgrade_probability",
            latent_bp=pl.col("model_adjustment_bp"),
        )
        .sort("day", "instrument")
    )
