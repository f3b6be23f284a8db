"""Spoofing: large resting orders their owner cancels soon, having traded the other way
meanwhile.

An order is a spoofing order when it is a resting limit order (not IOC or FOK), at least
`spoof_size_multiple` times the median size of the new orders in its book, cancelled within
`spoof_max_lifetime_seconds` of its placement with at most `spoof_max_fill_share` of it filled.
One owner's such orders on one side of one book, placed at most `spoof_episode_gap_seconds`
apart, are an episode; it is spoofing when the owner traded the instrument on the other side
(on any venue) between the episode's first placement and `spoof_grace_seconds` after its last
cancel. One alert per episode, with its orders and the owner's opposite trades. Score: the
size shown as a multiple of the book's median order.

`quick_cancels` (resting orders cancelled soon, barely filled) and `episodes` (grouping them)
are shared with `layering`.
"""

from __future__ import annotations

import polars as pl

from sim.analytics.surveillance.activity import Activity, median_sizes, opposite_trades
from sim.analytics.surveillance.alerts import clock, seconds, to_alerts
from sim.analytics.surveillance.params import SurveillanceParams
from sim.units import NS_PER_SECOND

SIDE_WORDS = {1: "buy", -1: "sell"}
TRADED_WORDS = {1: "bought", -1: "sold"}
GROUP = ("owner", "venue", "instrument", "side")


def quick_cancels(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    """Resting limit orders their owner cancelled within the lifetime, barely filled, with
    their book's median order size (``median_qty``)."""
    lifetime = int(params.spoof_max_lifetime_seconds * NS_PER_SECOND)
    return activity.lives.filter(
        (pl.col("type") == "limit")  # resting: IOC and FOK orders are typed apart
        & ((pl.col("cancelled_at") - pl.col("placed")) <= lifetime)
        & (pl.col("filled") <= params.spoof_max_fill_share * pl.col("qty"))
    ).join(median_sizes(activity.lives), on=["venue", "instrument"], how="left")


def episodes(orders: pl.DataFrame, activity: Activity, params: SurveillanceParams):
    """`orders` (from `quick_cancels`) grouped into episodes, one owner's on one side of one
    book placed at most the episode gap apart, each with the owner's opposite trades
    (`activity.opposite_trades`); episodes without any are left out. Columns: the group's,
    agent, owner_client, median_qty, order_ids, levels (distinct prices), size, filled,
    low_price, high_price, start (first placement), end (last cancel), longest (lifetime, ns),
    and the opposite trades' trade_ids, traded, trades, low, high."""
    gap = int(params.spoof_episode_gap_seconds * NS_PER_SECOND)
    apart = pl.col("placed").diff().over(GROUP)
    grouped = (
        orders.sort(*GROUP, "placed", "order_id")
        .with_columns(episode=(apart.is_null() | (apart > gap)).cum_sum())
        .group_by("episode")
        .agg(
            pl.col(*GROUP, "agent", "owner_client", "median_qty").first(),
            order_ids=pl.col("order_id").sort(),
            levels=pl.col("price").n_unique(),
            size=pl.col("qty").sum(),
            filled=pl.col("filled").sum(),
            low_price=pl.col("price").min(),
            high_price=pl.col("price").max(),
            start=pl.col("placed").min(),
            end=pl.col("cancelled_at").max(),
            longest=(pl.col("cancelled_at") - pl.col("placed")).max(),
        )
    )
    grace = int(params.spoof_grace_seconds * NS_PER_SECOND)
    return (
        grouped.join(opposite_trades(grouped, activity.fills, grace), on="episode")
        .with_columns(client=pl.col("owner_client"), score=pl.col("size") / pl.col("median_qty"))
        .sort("start", *GROUP)
    )


def spoofing(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    large = quick_cancels(activity, params).filter(
        pl.col("qty") >= params.spoof_size_multiple * pl.col("median_qty")
    )
    found = episodes(large, activity, params)
    prices = activity.prices

    def evidence(row: dict) -> str:
        instrument, side = row["instrument"], row["side"]
        return (
            f"{SIDE_WORDS[side]} {row['size']} units in {len(row['order_ids'])} orders at "
            f"{prices.range(instrument, row['low_price'], row['high_price'])} placed from "
            f"{clock(row['start'])}, each cancelled within {seconds(row['longest'])} with "
            f"{row['filled']} filled in all ({row['score']:.1f}x the book's median order of "
            f"{row['median_qty']:g}); meanwhile {TRADED_WORDS[-side]} {row['traded']} units in "
            f"{row['trades']} trades at {prices.range(instrument, row['low'], row['high'])}"
        )

    return to_alerts("spoofing", found, evidence)
