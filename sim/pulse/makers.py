"""Market makers online: how many makers quote both sides of a book at each snapshot.

Makers are the agents of kind ``market_maker`` (agents.parquet). Their resting orders are
rebuilt from the records, each order (venue, instrument, order id) by its events in time order:

- a new limit order sets its remaining quantity to its size, a modification to its new size
  (the book's `modify` sets what remains); a refused modification changes nothing;
- each fill takes its quantity off, as the resting side (trades' maker) or on arrival (taker);
- a cancel, a refusal of the new order, or a status of ``filled`` or ``cancelled`` (self-trade
  prevention) ends it.

At one time, events go set, then fills, then ends: an order that trades on arrival is recorded
with its fills at the same instant. An order is live while what remains is positive. A maker
quotes a side of a book when it has a live order on it, and is online (two-sided) when it
quotes both; on the consolidated book (`ALL_VENUES`) a maker counts once if it is two-sided on
any venue.
"""

from __future__ import annotations

import polars as pl

from sim.pulse.snapshots import ALL_VENUES

_ORDER = ("venue", "instrument", "order_id", "agent")
_SET, _FILL, _END = 0, 1, 2
_NEW_ORDERS = ("limit", "post_only")


def maker_ids(agents: pl.DataFrame) -> list[int]:
    return agents.filter(pl.col("kind") == "market_maker")["agent"].sort().to_list()


def _events(orders: pl.DataFrame, trades: pl.DataFrame, makers: list[int]) -> pl.DataFrame:
    """The makers' order events: time, rank (set, fill, end), the order's keys, set_qty (the
    quantity a set event leaves), fill_qty."""
    mine = orders.filter(pl.col("agent").is_in(makers)).with_columns(
        pl.col("venue", "instrument", "type", "status").cast(pl.String)
    )
    new = pl.col("type").is_in(_NEW_ORDERS)
    modify = (pl.col("type") == "modify") & (pl.col("status") != "rejected")
    ends = (
        (pl.col("type") == "cancel")
        | (new & (pl.col("status") == "rejected"))
        | ((new | modify) & pl.col("status").is_in(["filled", "cancelled"]))
    )
    sets = mine.filter((new & (pl.col("status") != "rejected")) | modify).select(
        "time", pl.lit(_SET).alias("rank"), *_ORDER, set_qty="qty", fill_qty=pl.lit(0, pl.Int64)
    )
    ended = mine.filter(ends).select(
        "time", pl.lit(_END).alias("rank"), *_ORDER, set_qty=pl.lit(0, pl.Int64),
        fill_qty=pl.lit(0, pl.Int64),
    )  # fmt: skip
    fills = [
        trades.filter(pl.col(f"{role}_agent").is_in(makers)).select(
            "time",
            pl.lit(_FILL).alias("rank"),
            pl.col("venue", "instrument").cast(pl.String),
            order_id=f"{role}_order_id",
            agent=f"{role}_agent",
            set_qty=pl.lit(None, pl.Int64),
            fill_qty="qty",
        )
        for role in ("maker", "taker")
    ]
    return pl.concat([sets, ended, *fills], how="vertical_relaxed")


def live_sides(orders: pl.DataFrame, trades: pl.DataFrame, makers: list[int]) -> pl.DataFrame:
    """Each time a maker's number of live orders on one side of a book changes: time, agent,
    venue, instrument, side (+1 bid, -1 ask), live (that number from then on)."""
    sides = (
        orders.filter(pl.col("agent").is_in(makers) & pl.col("type").is_in(_NEW_ORDERS))
        .select(pl.col("venue", "instrument").cast(pl.String), "order_id", "agent", "side")
        .unique(subset=list(_ORDER), keep="first")
    )
    events = (
        _events(orders, trades, makers)
        .with_columns(set_qty=pl.when(pl.col("rank") == _END).then(0).otherwise("set_qty"))
        .sort(*_ORDER, "time", "rank", maintain_order=True)
        .with_columns(segment=(pl.col("rank") != _FILL).cum_sum().over(_ORDER))
        .with_columns(
            remaining=pl.col("set_qty").first().over(*_ORDER, "segment")
            - pl.col("fill_qty").cum_sum().over(*_ORDER, "segment")
        )
        .with_columns(live=(pl.col("remaining") > 0).cast(pl.Int32))
        .with_columns(change=pl.col("live") - pl.col("live").shift(1, fill_value=0).over(_ORDER))
        .filter(pl.col("change") != 0)
        .join(sides, on=list(_ORDER))
    )
    return (
        events.sort("time", "agent", "venue", "instrument", "side", "order_id")
        .with_columns(live=pl.col("change").cum_sum().over("agent", "venue", "instrument", "side"))
        .select("time", "agent", "venue", "instrument", "side", "live")
    )


def presence(
    orders: pl.DataFrame, trades: pl.DataFrame, agents: pl.DataFrame, snapshots: pl.DataFrame
) -> pl.DataFrame:
    """Makers two-sided on each listing at each snapshot: `snapshots` (time, venue,
    instrument, the consolidated book's rows included) with ``makers_two_sided``."""
    makers = maker_ids(agents)
    keys = ["time", "venue", "instrument"]
    if not makers:
        return snapshots.select(*keys, makers_two_sided=pl.lit(0.0))
    changes = live_sides(orders, trades, makers)
    venue_rows = snapshots.filter(pl.col("venue") != ALL_VENUES).select(keys)
    queries = (
        venue_rows.join(pl.DataFrame({"agent": makers}), how="cross")
        .join(pl.DataFrame({"side": [1, -1]}, schema={"side": pl.Int8}), how="cross")
        .sort("time")
    )
    quoting = (
        queries.join_asof(
            changes.sort("time"),
            on="time",
            by=["agent", "venue", "instrument", "side"],
            check_sortedness=False,  # both sorted by time; polars cannot check within groups
        )
        .group_by(*keys, "agent")
        .agg(two_sided=(pl.col("live").fill_null(0) > 0).all())
    )
    per_venue = quoting.group_by(keys).agg(makers_two_sided=pl.col("two_sided").sum())
    consolidated = (
        quoting.group_by("time", "instrument", "agent")
        .agg(pl.col("two_sided").any())
        .group_by("time", "instrument")
        .agg(makers_two_sided=pl.col("two_sided").sum())
        .with_columns(venue=pl.lit(ALL_VENUES))
    )
    found = pl.concat([per_venue, consolidated.select(per_venue.columns)])
    return (
        snapshots.select(keys)
        .join(found, on=keys, how="left")
        .select(*keys, makers_two_sided=pl.col("makers_two_sided").fill_null(0).cast(pl.Float64))
    )
