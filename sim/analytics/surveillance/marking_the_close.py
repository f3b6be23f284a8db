"""Marking the close: an owner's aggressive trading in the session's last minutes that moves
the closing price away from where it stood, out of step with its own trading that day.

For each owner, book and day, its aggressive (taker) trades in the closing window, the last
`close_window_minutes` of the session (`activity`: a session ends at its last request or
trade), are an alert when all of these hold:

- they come from at least `close_min_orders` orders, net in one direction (buying or selling),
  for at least `close_min_size_multiple` times the median size of the new orders in the book;
- the owner made at least `close_min_share` of the window's aggressive volume that way;
- its aggressive pace in the window (units per second) is at least `close_min_concentration`
  times its pace over the whole session in that book: it saves its trading for the close;
- the book's closing price (its last trade) moved at least `close_min_move_bp` its way from
  the level before the window (the mid at the window's start, else the last trade before it).

Score: the move in bp times the owner's share of the window's aggressive volume.
"""

from __future__ import annotations

import polars as pl

from sim.analytics.surveillance.activity import BOOK, Activity, median_sizes
from sim.analytics.surveillance.alerts import clock, hhmmss, to_alerts
from sim.analytics.surveillance.params import SurveillanceParams
from sim.units import NS_PER_MINUTE

GROUP = ("owner", "venue", "instrument", "day")


def marking_the_close(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    window = int(params.close_window_minutes * NS_PER_MINUTE)
    sessions = activity.sessions.with_columns(window_start=pl.col("close") - window)
    aggressive = activity.fills.filter(pl.col("aggressive")).join(sessions, on="day")
    in_window = aggressive.filter(pl.col("time") >= pl.col("window_start"))
    day_units = aggressive.group_by(GROUP).agg(day_units=pl.col("qty").sum())
    side_units = in_window.group_by(*BOOK, "day", "side").agg(side_units=pl.col("qty").sum())
    owners = (
        in_window.group_by(GROUP)
        .agg(
            pl.col("agent", "owner_client", "open", "close", "window_start").first(),
            orders=pl.col("order_id").n_unique(),
            bought=pl.col("qty").filter(pl.col("side") > 0).sum(),
            sold=pl.col("qty").filter(pl.col("side") < 0).sum(),
            order_ids=pl.col("order_id").unique().sort(),
            trade_ids=pl.col("trade_id").sort(),
            start=pl.col("time").min(),
            end=pl.col("time").max(),
        )
        .with_columns(side=(pl.col("bought") - pl.col("sold")).sign().cast(pl.Int8))
        .filter((pl.col("orders") >= params.close_min_orders) & (pl.col("side") != 0))
        .join(day_units, on=GROUP)
        .join(side_units, on=[*BOOK, "day", "side"])
        .join(median_sizes(activity.lives), on=BOOK)
        .with_columns(
            units=pl.when(pl.col("side") > 0).then("bought").otherwise("sold"),
            window_units=pl.col("bought") + pl.col("sold"),
        )
        .with_columns(
            share=pl.col("units") / pl.col("side_units"),
            concentration=(pl.col("window_units") / window)
            / (pl.col("day_units") / (pl.col("close") - pl.col("open")).clip(lower_bound=1)),
        )
        .filter(
            (pl.col("units") >= params.close_min_size_multiple * pl.col("median_qty"))
            & (pl.col("share") >= params.close_min_share)
            & (pl.col("concentration") >= params.close_min_concentration)
        )
    )
    found = (
        _with_prices(owners, activity)
        .with_columns(
            move_bp=pl.col("side") * (pl.col("closing") - pl.col("before")) / pl.col("before") * 1e4
        )
        .filter(pl.col("move_bp") >= params.close_min_move_bp)
        .with_columns(client=pl.col("owner_client"), score=pl.col("move_bp") * pl.col("share"))
        .sort("start", *GROUP)
    )
    prices = activity.prices

    def evidence(row: dict) -> str:
        instrument, buying = row["instrument"], row["side"] > 0
        return (
            f"{'bought' if buying else 'sold'} {row['units']} units in {row['orders']} "
            f"aggressive orders from {clock(row['start'])} to {hhmmss(row['end'])}, the last "
            f"{params.close_window_minutes:g} min before the {hhmmss(row['close'])} close "
            f"({row['share']:.0%} of the window's aggressive {'buying' if buying else 'selling'}"
            f", {row['concentration']:.1f}x its own pace that session); closing price "
            f"{prices(instrument, row['closing'])} against {prices(instrument, row['before'])} "
            f"at {hhmmss(row['window_start'])} ({row['move_bp']:+.1f} bp)"
        )

    return to_alerts("marking_the_close", found, evidence)


def _with_prices(owners: pl.DataFrame, activity: Activity) -> pl.DataFrame:
    """`owners` with ``before`` (the mid at the window's start, else the last trade before
    it) and ``closing`` (the book's last trade that day)."""
    if owners.is_empty():
        return owners.with_columns(before=pl.lit(None, pl.Float64), closing=pl.lit(None, pl.Int64))
    trades = activity.trades.select(*BOOK, "day", "time", "price").sort("time")
    closing = trades.group_by(*BOOK, "day").agg(closing=pl.col("price").last())
    mids = activity.quotes.filter(pl.col("mid").is_not_null())
    books = owners.select(*BOOK, "day", "window_start").unique().sort("window_start")
    # Strictly before the window: the level the closing trades are measured against.
    levels = books.join_asof(
        mids.select(*BOOK, "mid", mid_time="time").sort("mid_time"),
        left_on="window_start", right_on="mid_time", by=BOOK,
        strategy="backward", allow_exact_matches=False, check_sortedness=False,
    ).join_asof(
        trades.select(*BOOK, "price", trade_time="time"),
        left_on="window_start", right_on="trade_time", by=BOOK,
        strategy="backward", allow_exact_matches=False, check_sortedness=False,
    )  # fmt: skip
    levels = levels.select(
        *BOOK, "day", "window_start", before=pl.coalesce("mid", pl.col("price").cast(pl.Float64))
    )
    return (
        owners.join(levels, on=[*BOOK, "day", "window_start"])
        .join(closing, on=[*BOOK, "day"])
        .filter(pl.col("before") > 0)
    )
