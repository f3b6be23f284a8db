"""Wash trades: one beneficial owner on both sides of a trade.

A trade is a wash when its maker and taker are the same owner (`activity`'s beneficial
owners): one account that is not an omnibus account, whatever client codes the two sides
carry (self-trade prevention stops a code trading with itself, not with the account's other
codes), or one investor of an omnibus account. Two investors of an omnibus account trading
with each other are two owners, not a wash. One alert per owner, book and day, with every
order and trade. Score: the wash trades' share of the units the book traded that day.
"""

from __future__ import annotations

import polars as pl

from sim.analytics.surveillance.activity import Activity, omnibus_accounts
from sim.analytics.surveillance.alerts import clock, hhmmss, to_alerts
from sim.analytics.surveillance.params import SurveillanceParams

GROUP = ("agent", "venue", "instrument", "day")


def wash_trade(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    trades = activity.trades
    omnibus = omnibus_accounts(activity.agents)
    same_owner = (pl.col("maker_agent") == pl.col("taker_agent")) & (
        ~pl.col("maker_agent").is_in(omnibus) | (pl.col("maker_client") == pl.col("taker_client"))
    )
    volume = trades.group_by("venue", "instrument", "day").agg(book_units=pl.col("qty").sum())
    found = (
        trades.filter(same_owner)
        .with_columns(agent=pl.col("maker_agent"))
        .group_by(GROUP)
        .agg(
            trade_ids=pl.col("trade_id").sort(),
            order_ids=pl.concat_list("maker_order_id", "taker_order_id").explode().unique().sort(),
            clients=pl.concat_list("maker_client", "taker_client").explode().unique().sort(),
            units=pl.col("qty").sum(),
            low=pl.col("price").min(),
            high=pl.col("price").max(),
            start=pl.col("time").min(),
            end=pl.col("time").max(),
        )
        .join(volume, on=["venue", "instrument", "day"])
        .with_columns(
            client=pl.col("clients").cast(pl.List(pl.String)).list.join(", "),
            score=pl.col("units") / pl.col("book_units"),
        )
        .sort("start", *GROUP)
    )
    prices = activity.prices

    def evidence(row: dict) -> str:
        clients = row["clients"]
        between = (
            f"client codes {' and '.join(map(str, clients))}"
            if len(clients) > 1
            else f"client code {clients[0]} and itself"
        )
        return (
            f"{len(row['trade_ids'])} trades, {row['units']} units between {between} of "
            f"account {row['agent']} at {prices.range(row['instrument'], row['low'], row['high'])}"
            f", {clock(row['start'])} to {hhmmss(row['end'])}: {row['score']:.0%} of the "
            f"book's {row['book_units']} units that day"
        )

    return to_alerts("wash_trade", found, evidence)
