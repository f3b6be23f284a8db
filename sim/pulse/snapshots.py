"""The recorded book snapshots as the Pulse reads them: every listing at every snapshot time,
each venue's book and the venues' consolidated book, with its quoted spread and depth near mid.

The recorder writes a snapshot's levels only (`book`: time, venue, instrument, side, level,
price in ticks, qty in units); a book with nothing in it has no rows, so the grid of listings
(every venue and instrument the run quoted) times snapshot times puts it back, until the bond's
maturity date. The consolidated book, venue `ALL_VENUES`, adds the venues' quantities at each
price: what an order routed across the venues could reach.

Per snapshot (prices in ticks, so bp of mid do not depend on the tick size):

- ``spread_bp``: (best ask - best bid) / mid x 10,000; a book with a side missing counts as
  `PulseParams.one_sided_spread_bp` (wider than any quoted spread), so a vanishing side can
  only lower the index; a consolidated book may be crossed, and its spread negative;
- ``depth_rupees``: face value (units x the instrument's unit face value) resting within
  `PulseParams.depth_bp` of mid, both sides; 0 without a mid (a side missing).
"""

from __future__ import annotations

import polars as pl

ALL_VENUES = "all"
_KEYS = ("time", "venue", "instrument")


def levels(book: pl.DataFrame) -> pl.DataFrame:
    """Each venue's levels and the consolidated book's: time, venue, instrument, side, price,
    qty (venue and instrument as strings)."""
    venues = book.select(
        "time",
        pl.col("venue").cast(pl.String),
        pl.col("instrument").cast(pl.String),
        "side",
        "price",
        "qty",
    )
    consolidated = (
        venues.group_by("time", "instrument", "side", "price")
        .agg(pl.col("qty").sum())
        .select("time", pl.lit(ALL_VENUES).alias("venue"), "instrument", "side", "price", "qty")
    )
    return pl.concat([venues, consolidated])


def listings(book: pl.DataFrame, quotes: pl.DataFrame) -> pl.DataFrame:
    """Every (venue, instrument) the run recorded a book or a quote for, and each instrument
    once more under `ALL_VENUES`."""
    pairs = pl.concat(
        [frame.select(pl.col("venue", "instrument").cast(pl.String)) for frame in (book, quotes)]
    ).unique()
    every = pairs.select(pl.lit(ALL_VENUES).alias("venue"), "instrument").unique()
    return pl.concat([pairs, every]).sort("venue", "instrument")


def grid(book: pl.DataFrame, pairs: pl.DataFrame, instruments: pl.DataFrame) -> pl.DataFrame:
    """Every listing of `pairs` at every snapshot time before its bond's maturity date."""
    times = book.select(pl.col("time").unique().sort())
    matures = instruments.select(
        pl.col("symbol").alias("instrument"),
        pl.col("maturity").cast(pl.Datetime("ns")).cast(pl.Int64).alias("matures"),
    )
    return (
        times.join(pairs, how="cross")
        .join(matures, on="instrument", how="left")
        .filter(pl.col("matures").is_null() | (pl.col("time") < pl.col("matures")))
        .drop("matures")
        .sort(*_KEYS)
    )


def measures(
    book_levels: pl.DataFrame,
    snapshot_grid: pl.DataFrame,
    instruments: pl.DataFrame,
    depth_bp: float,
    one_sided_spread_bp: float,
) -> pl.DataFrame:
    """Per listing and snapshot: bid, ask, mid (ticks, null without both sides), spread_bp and
    depth_rupees (see the module's docstring)."""
    tops = book_levels.group_by(*_KEYS).agg(
        bid=pl.col("price").filter(pl.col("side") == 1).max(),
        ask=pl.col("price").filter(pl.col("side") == -1).min(),
    )
    face = instruments.select(pl.col("symbol").alias("instrument"), "unit_face_value")
    books = (
        snapshot_grid.join(tops, on=list(_KEYS), how="left")
        .join(face, on="instrument", how="left")
        .with_columns(mid=(pl.col("bid") + pl.col("ask")) / 2)
        .with_columns(
            spread_bp=((pl.col("ask") - pl.col("bid")) / pl.col("mid") * 1e4).fill_null(
                one_sided_spread_bp
            )
        )
    )
    near = (
        book_levels.join(books.select(*_KEYS, "mid"), on=list(_KEYS))
        .filter((pl.col("price") - pl.col("mid")).abs() <= pl.col("mid") * depth_bp / 1e4)
        .group_by(*_KEYS)
        .agg(near_units=pl.col("qty").sum())
    )
    return (
        books.join(near, on=list(_KEYS), how="left")
        .with_columns(
            depth_rupees=(
                pl.col("near_units").fill_null(0) * pl.col("unit_face_value").fill_null(1)
            ).cast(pl.Float64)
        )
        .select(*_KEYS, "bid", "ask", "mid", "spread_bp", "depth_rupees")
        .sort(*_KEYS)
    )
