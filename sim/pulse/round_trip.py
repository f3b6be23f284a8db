"""The realised cost of a standard round trip, walked through the recorded book snapshots.

At each snapshot of a listing (each venue's book, and the consolidated one), buy `size` units
against the asks, best first, level by level, then sell `size` units against the bids: the
cost is what the two legs lose together, in bp of mid,

    cost_bp = (mean buy price - mean sell price) / mid x 10,000

which is the effective spread plus the impact of walking the book on both sides. `size` is
`PulseParams.round_trip_rupees` of face, in the instrument's units (rounded up). The mid is the
book's; a book with a side missing has none, and the valuation in force stands in (the fair
clean price, in ticks). What the recorded levels cannot fill (an empty side, or the size
beyond the snapshot's depth) is charged at a concession of `PulseParams.unfilled_penalty_bp`
from mid, or the worst recorded level if that is worse: a seller who finds no bid does not
trade at mid. The book as recorded is all the walk sees: the recorder keeps
`recording.book_depth` levels a side.
"""

from __future__ import annotations

import polars as pl

_KEYS = ["time", "venue", "instrument"]


def _leg(book_levels: pl.DataFrame, side: int, size: pl.Expr) -> pl.DataFrame:
    """One leg against side `side` of the book (-1 asks: a buy; +1 bids: a sell): per
    listing and snapshot, the units filled, their cost in ticks and the worst price reached."""
    best_first = book_levels.filter(pl.col("side") == side).sort(
        *_KEYS, "price", descending=[False, False, False, side == 1]
    )
    return (
        best_first.with_columns(size=size)
        .with_columns(before=pl.col("qty").cum_sum().over(_KEYS) - pl.col("qty"))
        .with_columns(fill=(pl.col("size") - pl.col("before")).clip(0, None))
        .with_columns(fill=pl.min_horizontal("fill", "qty"))
        .group_by(_KEYS)
        .agg(
            filled=pl.col("fill").sum(),
            paid=(pl.col("fill") * pl.col("price")).sum(),
            worst=pl.col("price").filter(pl.col("fill") > 0).last(),
        )
    )


def round_trip_costs(
    book_levels: pl.DataFrame,
    books: pl.DataFrame,
    fair_values: pl.DataFrame,
    instruments: pl.DataFrame,
    size_rupees: int,
    penalty_bp: float,
) -> pl.DataFrame:
    """Per listing and snapshot of `books` (`sim.pulse.snapshots.measures`): time, venue,
    instrument, cost_bp and filled (the share of both legs the recorded book filled)."""
    terms = instruments.select(
        pl.col("symbol").alias("instrument"),
        units=(size_rupees / pl.col("unit_face_value")).ceil().cast(pl.Int64),
        tick=pl.col("tick_size").cast(pl.Float64),
    )
    valued = fair_values.select(
        "time", pl.col("instrument").cast(pl.String), fair=pl.col("fair_clean_price")
    ).sort("time")
    size = pl.col("units")
    levels = book_levels.join(terms.select("instrument", "units"), on="instrument")
    buys = _leg(levels, -1, size).rename({"filled": "bought", "paid": "buy_paid", "worst": "ask"})
    sells = _leg(levels, 1, size).rename({"filled": "sold", "paid": "sell_got", "worst": "bid"})
    concession = penalty_bp / 1e4
    frame = (
        books.select(*_KEYS, "mid")
        .sort("time")
        .join_asof(valued, on="time", by="instrument", check_sortedness=False)
        .join(terms, on="instrument", how="left")
        .with_columns(mid=pl.col("mid").fill_null(pl.col("fair") / pl.col("tick")))
        .join(buys, on=_KEYS, how="left")
        .join(sells, on=_KEYS, how="left")
        .with_columns(pl.col("bought", "sold", "buy_paid", "sell_got").fill_null(0))
    )
    buy_rest = pl.max_horizontal(pl.col("ask"), pl.col("mid") * (1 + concession))
    sell_rest = pl.min_horizontal(pl.col("bid"), pl.col("mid") * (1 - concession))
    buy_price = (pl.col("buy_paid") + (size - pl.col("bought")) * buy_rest) / size
    sell_price = (pl.col("sell_got") + (size - pl.col("sold")) * sell_rest) / size
    return (
        frame.filter(pl.col("mid").is_not_null())
        .select(
            *_KEYS,
            cost_bp=(buy_price - sell_price) / pl.col("mid") * 1e4,
            filled=(pl.col("bought") + pl.col("sold")) / (2 * size),
        )
        .sort(_KEYS)
    )
