"""Quote stuffing: bursts of messages (new orders, cancels, modifies) from one owner into one
book, far above the population's rate.

Every request in orders.parquet is a message, refused ones too. Messages are counted per owner,
book and second of the run's clock; the population's norm is the median count over every
(owner, book, second) with at least one message. A second is a burst when its count is at least
`stuffing_min_messages` and at least `stuffing_multiple` times that norm. Consecutive burst
seconds of one owner in one book make one alert, with every order its messages name.
Score: the burst's peak count per second over the norm.

Counting per book keeps a market maker that requotes many books at once apart from a stuffer:
its messages are many in a second, but few in any one book.
"""

from __future__ import annotations

import polars as pl

from sim.analytics.surveillance.activity import Activity
from sim.analytics.surveillance.alerts import clock, empty_alerts, to_alerts
from sim.analytics.surveillance.params import SurveillanceParams
from sim.units import NS_PER_SECOND

CELL = ("owner", "venue", "instrument", "second")


def quote_stuffing(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    messages = activity.requests.with_columns(second=pl.col("time") // NS_PER_SECOND)
    cells = messages.group_by(CELL).agg(count=pl.len())
    if cells.is_empty():
        return empty_alerts()
    norm = float(cells["count"].median())
    threshold = max(params.stuffing_min_messages, params.stuffing_multiple * norm)
    group = ("owner", "venue", "instrument")
    bursts = (
        cells.filter(pl.col("count") >= threshold)
        .sort(*group, "second")
        .with_columns(
            episode=(pl.col("second").diff().over(group).fill_null(2) > 1).cum_sum(),
        )
    )
    found = (
        messages.join(bursts.select(*CELL, "episode"), on=CELL)
        .group_by("episode")
        .agg(
            pl.col(*group, "agent", "owner_client").first(),
            order_ids=pl.col("order_id").filter(pl.col("order_id") > 0).unique().sort(),
            messages=pl.len(),
            new=(~pl.col("type").is_in(["cancel", "modify"])).sum(),
            cancels=(pl.col("type") == "cancel").sum(),
            modifies=(pl.col("type") == "modify").sum(),
            rejected=(pl.col("status") == "rejected").sum(),
            seconds=pl.col("second").n_unique(),
            start=pl.col("time").min(),
            end=pl.col("time").max(),
        )
        .join(bursts.group_by("episode").agg(peak=pl.col("count").max()), on="episode")
        .with_columns(
            client=pl.col("owner_client"),
            score=pl.col("peak") / norm,
            trade_ids=pl.lit([], pl.List(pl.Int64)),
        )
        .sort("start", "episode")
    )

    def evidence(row: dict) -> str:
        return (
            f"{row['messages']} messages in {row['seconds']} s from {clock(row['start'])} "
            f"(peak {row['peak']} a second, {row['score']:.0f}x the population's median of "
            f"{norm:g} a second in a book): {row['new']} new orders, {row['cancels']} cancels, "
            f"{row['modifies']} modifies, {row['rejected']} refused"
        )

    return to_alerts("quote_stuffing", found, evidence)
