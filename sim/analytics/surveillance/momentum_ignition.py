"""Momentum ignition: a burst of an owner's aggressive orders that moves the price, then its
trade the other way into the move it started.

An owner's aggressive (taker) orders on one side of one book, each at most
`ignition_gap_seconds` after the one before, are a burst when there are at least
`ignition_min_orders` of them, its units are at least `ignition_min_volume_share` of all the
units the book traded from its first order to its last (the owner moved the market, rather
than trading along with one that moved), and the book's last price moved at least
`ignition_min_move_bp` their way from the last trade before the burst to the last at its end.
It is ignition when the
owner then trades the other way in the same book (as maker or taker) within
`ignition_reversal_seconds` of the burst's end, for at least `ignition_reversal_share` of the
burst's units. One alert per burst, with the burst's and the reversal's orders and trades.
Score: the move in bp times the reversed share of the burst (at most 1).
"""

from __future__ import annotations

import polars as pl

from sim.analytics.surveillance.activity import BOOK, KEY, Activity
from sim.analytics.surveillance.alerts import clock, hhmmss, seconds, to_alerts
from sim.analytics.surveillance.params import SurveillanceParams
from sim.analytics.surveillance.spoofing import TRADED_WORDS
from sim.units import NS_PER_SECOND

GROUP = ("owner", "venue", "instrument", "side")


def momentum_ignition(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    gap = int(params.ignition_gap_seconds * NS_PER_SECOND)
    orders = (
        activity.fills.filter(pl.col("aggressive"))
        .group_by(KEY)
        .agg(
            pl.col("owner", "agent", "owner_client", "side").first(),
            time=pl.col("time").min(),
            units=pl.col("qty").sum(),
            trade_ids=pl.col("trade_id"),
        )
        .sort(*GROUP, "time", "order_id")
    )
    apart = pl.col("time").diff().over(GROUP)
    bursts = (
        orders.with_columns(episode=(apart.is_null() | (apart > gap)).cum_sum())
        .group_by("episode")
        .agg(
            pl.col(*GROUP, "agent", "owner_client").first(),
            orders=pl.len(),
            order_ids=pl.col("order_id").sort(),
            trade_ids=pl.col("trade_ids").explode().sort(),
            units=pl.col("units").sum(),
            start=pl.col("time").min(),
            burst_end=pl.col("time").max(),
        )
        .filter(pl.col("orders") >= params.ignition_min_orders)
        .sort("start")
    )
    trades = activity.trades.select(*BOOK, "price", trade_time="time").sort("trade_time")
    moved = (
        _with_market_units(bursts, activity)
        .filter(pl.col("units") >= params.ignition_min_volume_share * pl.col("market_units"))
        .join_asof(
            trades.rename({"price": "before"}), left_on="start", right_on="trade_time",
            by=BOOK, strategy="backward", allow_exact_matches=False, check_sortedness=False,
        )
        .drop("trade_time")
        .sort("burst_end")
        .join_asof(
            trades.rename({"price": "after"}), left_on="burst_end", right_on="trade_time",
            by=BOOK, strategy="backward", check_sortedness=False,
        )
        .with_columns(
            move_bp=pl.col("side") * (pl.col("after") - pl.col("before")) / pl.col("before") * 1e4
        )
        .filter(pl.col("move_bp") >= params.ignition_min_move_bp)
    )  # fmt: skip
    found = (
        moved.join(_reversals(moved, activity, params), on="episode")
        .filter(pl.col("reversed") >= params.ignition_reversal_share * pl.col("units"))
        .with_columns(
            client=pl.col("owner_client"),
            score=pl.col("move_bp") * (pl.col("reversed") / pl.col("units")).clip(upper_bound=1),
            order_ids=pl.concat_list("order_ids", "reversal_orders").list.unique().list.sort(),
            trade_ids=pl.concat_list("trade_ids", "reversal_trades").list.unique().list.sort(),
        )
        .sort("start", "episode")
    )
    prices = activity.prices

    def evidence(row: dict) -> str:
        instrument, side = row["instrument"], row["side"]
        return (
            f"{TRADED_WORDS[side]} {row['units']} units in {row['orders']} aggressive orders "
            f"from {clock(row['start'])} to {hhmmss(row['burst_end'])}, moving the price from "
            f"{prices(instrument, row['before'])} to {prices(instrument, row['after'])} "
            f"({row['move_bp']:+.1f} bp its way); then {TRADED_WORDS[-side]} {row['reversed']} "
            f"units within {seconds(row['end'] - row['burst_end'])} at "
            f"{prices.range(instrument, row['low'], row['high'])}"
        )

    return to_alerts("momentum_ignition", found, evidence)


def _with_market_units(bursts: pl.DataFrame, activity: Activity) -> pl.DataFrame:
    """`bursts` with ``market_units``: the units its book traded from ``start`` to
    ``burst_end``, both included (the running total at the end less the one before the start)."""
    running = (
        activity.trades.sort("time")
        .select(*BOOK, trade_time="time", total=pl.col("qty").cum_sum().over(BOOK))
        .sort("trade_time")
    )
    before = bursts.sort("start").join_asof(
        running.rename({"total": "before_start"}), left_on="start", right_on="trade_time",
        by=BOOK, strategy="backward", allow_exact_matches=False, check_sortedness=False,
    ).drop("trade_time")  # fmt: skip
    after = before.sort("burst_end").join_asof(
        running.rename({"total": "at_end"}), left_on="burst_end", right_on="trade_time",
        by=BOOK, strategy="backward", check_sortedness=False,
    )  # fmt: skip
    return (
        after.with_columns(market_units=pl.col("at_end") - pl.col("before_start").fill_null(0))
        .drop("trade_time", "before_start", "at_end")
        .sort("start")
    )


def _reversals(
    bursts: pl.DataFrame, activity: Activity, params: SurveillanceParams
) -> pl.DataFrame:
    """Per burst, the owner's trades the other way in its book soon after it: ``reversed``
    (units), ``reversal_orders``, ``reversal_trades``, ``end`` (the last), ``low``, ``high``."""
    window = int(params.ignition_reversal_seconds * NS_PER_SECOND)
    own = activity.fills.select(
        "owner", *BOOK, "order_id", "trade_id", "qty", "price",
        fill_time=pl.col("time"), fill_side=pl.col("side"),
    )  # fmt: skip
    return (
        bursts.select("episode", "owner", *BOOK, "side", "burst_end")
        .join(own, on=["owner", *BOOK])
        .filter(
            (pl.col("fill_side") == -pl.col("side"))
            & (pl.col("fill_time") > pl.col("burst_end"))
            & (pl.col("fill_time") <= pl.col("burst_end") + window)
        )
        .group_by("episode")
        .agg(
            reversed=pl.col("qty").sum(),
            reversal_orders=pl.col("order_id").unique(),
            reversal_trades=pl.col("trade_id"),
            end=pl.col("fill_time").max(),
            low=pl.col("price").min(),
            high=pl.col("price").max(),
        )
    )
