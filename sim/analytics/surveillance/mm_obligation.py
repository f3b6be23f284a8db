"""Market makers' obligation breaches, by tier: periods in which a maker's own quotes in a
book missed its tier's maximum spread or minimum size.

**Obligations.** A maker's tier and obligations are its population's settings in the run's
resolved scenario (the manifest's ``scenario``: ``tier``, ``max_spread_ticks``, ``min_size``);
`with_obligations` adds them to agents.parquet, which records the kind and population but not
the tier. Makers are the agents of `maker_kinds` with obligations; without those columns the
detector has nothing to check.

**Its quotes.** Rebuilt from the maker's own orders and fills: each order's price and open
units after every new order, modify (a new total), fill and cancel. A maker's quote on a side
is its most recently placed or re-priced order on that side while that order is open (makers
keep one quote a side, cancelling strays); a side with none is missing.

**Breaches.** The quote is checked at every change and at each session's open and close (a
session spans the day's first to last record, `activity`). A check fails when a side is
missing, the spread exceeds ``max_spread_ticks`` or a side shows fewer than ``min_size`` units;
consecutive failing time is a breach period, counted when it lasts at least
`obligation_min_breach_seconds` (a fill that takes a quote down until the next requote is not
one). One alert per maker, book and day with breaches; score: the share of the session in
breach. `compliance_by_tier` sums the same periods per tier.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from sim.analytics.surveillance.activity import BOOK, KEY, Activity
from sim.analytics.surveillance.alerts import clock, empty_alerts, hhmmss, to_alerts
from sim.analytics.surveillance.params import SurveillanceParams
from sim.units import NS_PER_DAY, NS_PER_SECOND

OBLIGATIONS: dict[str, pl.DataType] = {
    "tier": pl.String(),
    "max_spread_ticks": pl.Int64(),
    "min_size": pl.Int64(),
}
MAKER_BOOK = ("agent", *BOOK)
SIDES = {1: "bid", -1: "ask"}


def with_obligations(agents: pl.DataFrame, scenario: Mapping) -> pl.DataFrame:
    """agents.parquet with each maker's ``tier``, ``max_spread_ticks`` and ``min_size`` from
    its population's table in `scenario` (a manifest's resolved ``scenario``); null for
    populations without obligations. A null tier is written "none"."""
    rows = []
    for population in agents["population"].unique().sort().to_list():
        table = scenario.get(population)
        if isinstance(table, Mapping) and {"max_spread_ticks", "min_size"} <= table.keys():
            rows.append({
                "population": population,
                "tier": table.get("tier") or "none",
                "max_spread_ticks": table["max_spread_ticks"],
                "min_size": table["min_size"],
            })  # fmt: skip
    found = pl.DataFrame(rows, schema={"population": pl.String(), **OBLIGATIONS})
    return agents.drop(*OBLIGATIONS, strict=False).join(found, on="population", how="left")


def mm_obligation(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    periods = _periods(activity, params)
    if periods.is_empty():
        return empty_alerts()
    found = (
        periods.filter(pl.col("counted"))
        .group_by(*MAKER_BOOK, "day")
        .agg(
            pl.col(*OBLIGATIONS, "open", "close").first(),
            periods=pl.len(),
            start=pl.col("start").min(),
            end=pl.col("end").max(),
            breach_ns=pl.col("duration").sum(),
            missing_ns=pl.col("missing_ns").sum(),
            wide_ns=pl.col("wide_ns").sum(),
            small_ns=pl.col("small_ns").sum(),
            widest=pl.col("widest").max(),
            smallest=pl.col("smallest").min(),
            order_ids=pl.col("order_ids").explode().unique().sort(),
        )
        .with_columns(
            client=pl.lit(None, pl.String),
            score=pl.col("breach_ns") / (pl.col("close") - pl.col("open")).clip(lower_bound=1),
            trade_ids=pl.lit([], pl.List(pl.Int64)),
        )
        .sort("start", *MAKER_BOOK)
    )

    def evidence(row: dict) -> str:
        minutes = (row["close"] - row["open"]) / 60e9
        parts = [f"a side missing {row['missing_ns'] / 60e9:.1f} min"]
        if row["wide_ns"]:
            parts.append(f"spread too wide {row['wide_ns'] / 60e9:.1f} min (widest "
                         f"{row['widest']} ticks)")  # fmt: skip
        if row["small_ns"]:
            parts.append(f"too small {row['small_ns'] / 60e9:.1f} min (smallest "
                         f"{row['smallest']} units)")  # fmt: skip
        return (
            f"tier {row['tier']} (spread at most {row['max_spread_ticks']} ticks, at least "
            f"{row['min_size']} units a side): obligations missed for "
            f"{row['breach_ns'] / 60e9:.1f} min of the {minutes:.0f}-min session "
            f"({row['score']:.0%}) in {row['periods']} periods from {clock(row['start'])} to "
            f"{hhmmss(row['end'])}; " + ", ".join(parts)
        )

    return to_alerts("mm_obligation", found, evidence)


def compliance_by_tier(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    """Per tier: ``makers``, ``books`` (maker and book pairs), ``session_hours`` (their
    sessions summed), ``breach_periods``, ``breach_hours`` (periods counted as breaches) and
    ``breach_share``."""
    periods = _periods(activity, params)
    schema = {"tier": pl.String(), "makers": pl.UInt32(), "books": pl.UInt32(),
              "session_hours": pl.Float64(), "breach_periods": pl.UInt32(),
              "breach_hours": pl.Float64(), "breach_share": pl.Float64()}  # fmt: skip
    if periods.is_empty():
        return pl.DataFrame(schema=schema)
    sessions = (
        periods.select(*MAKER_BOOK, "tier", "day", "open", "close")
        .unique()
        .group_by("tier")
        .agg(
            makers=pl.col("agent").n_unique(),
            books=pl.struct(MAKER_BOOK).n_unique(),
            session_ns=(pl.col("close") - pl.col("open")).sum(),
        )
    )
    breaches = (
        periods.filter(pl.col("counted"))
        .group_by("tier")
        .agg(breach_periods=pl.len(), breach_ns=pl.col("duration").sum())
    )
    hour = 3600 * NS_PER_SECOND
    return (
        sessions.join(breaches, on="tier", how="left")
        .with_columns(pl.col("breach_periods").fill_null(0), pl.col("breach_ns").fill_null(0))
        .select(
            "tier", "makers", "books",
            session_hours=pl.col("session_ns") / hour,
            breach_periods="breach_periods",
            breach_hours=pl.col("breach_ns") / hour,
            breach_share=pl.col("breach_ns") / pl.col("session_ns").clip(lower_bound=1),
        )
        .cast(schema)
        .sort("tier")
    )  # fmt: skip


def _makers(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    agents = activity.agents
    if not set(OBLIGATIONS) <= set(agents.columns):
        return pl.DataFrame(schema={"agent": pl.Int64(), **OBLIGATIONS})
    return agents.filter(
        pl.col("kind").is_in(params.maker_kinds) & pl.col("max_spread_ticks").is_not_null()
    ).select(pl.col("agent").cast(pl.Int64), *(pl.col(c).cast(t) for c, t in OBLIGATIONS.items()))


def _order_states(activity: Activity, makers: list[int]) -> pl.DataFrame:
    """Every state of the makers' orders: KEY, agent, side, time, price, open (units), live;
    ``placed`` marks a new order or a re-price (a modify)."""
    requests = activity.requests.filter(
        pl.col("agent").is_in(makers) & (pl.col("status") != "rejected") & (pl.col("order_id") > 0)
    )
    new = requests.filter(~pl.col("type").is_in(["cancel", "modify"]))
    sides = new.select(*KEY, "side")
    ended = pl.col("status").is_in(["filled", "cancelled"])  # nothing left once it was handled
    sets = requests.filter(pl.col("type") != "cancel").select(
        *KEY, "agent", "time",
        rank=pl.lit(0), set_price=pl.col("price"), set_qty=pl.col("qty"),
        fill=pl.lit(0, pl.Int64), ends=ended, placed=pl.lit(True),
    )  # fmt: skip
    cancels = requests.filter(pl.col("type") == "cancel").select(
        *KEY, "agent", "time",
        rank=pl.lit(2), set_price=pl.lit(None, pl.Int64), set_qty=pl.lit(None, pl.Int64),
        fill=pl.lit(0, pl.Int64), ends=pl.lit(True), placed=pl.lit(False),
    )  # fmt: skip
    fills = activity.fills.filter(pl.col("agent").is_in(makers)).select(
        *KEY, "agent", "time",
        rank=pl.lit(1), set_price=pl.lit(None, pl.Int64), set_qty=pl.lit(None, pl.Int64),
        fill=pl.col("qty"), ends=pl.lit(False), placed=pl.lit(False),
    )  # fmt: skip
    # In one instant: the request, then its fills, then a cancel. Every order's first event
    # sets its size, so a running count of sizes set numbers the segments of all orders.
    events = pl.concat([sets, fills, cancels]).join(sides, on=KEY).sort(*KEY, "time", "rank")
    return (
        events.with_columns(
            order=pl.struct(KEY).rle_id(), segment=pl.col("set_qty").is_not_null().cum_sum()
        )
        .with_columns(
            price=pl.col("set_price").forward_fill().over("order"),
            open=pl.col("set_qty").forward_fill() - pl.col("fill").cum_sum().over("segment"),
            ended=pl.col("ends").cum_max().over("order"),
        )
        .with_columns(live=~pl.col("ended") & (pl.col("open") > 0))
        .select(*KEY, "agent", "side", "time", "price", "open", "live", "placed")
    )


def _quotes(states: pl.DataFrame, checks: pl.DataFrame, side: int) -> pl.DataFrame:
    """`checks` (agent, venue, instrument, time) with the maker's quote on `side` then:
    price, units and order id, null when missing."""
    name = SIDES[side]
    mine = states.filter(pl.col("side") == side)
    placements = (
        mine.filter(pl.col("placed"))
        .select(*MAKER_BOOK, "order_id", placed_at=pl.col("time"))
        .unique(subset=[*MAKER_BOOK, "placed_at"], keep="last", maintain_order=True)
        .sort("placed_at")
    )
    # The last state at each time: the one after every event of that instant.
    latest = (
        mine.select(*KEY, "price", "open", "live", state_at=pl.col("time"))
        .unique(subset=[*KEY, "state_at"], keep="last", maintain_order=True)
        .sort("state_at")
    )
    return (
        checks.join_asof(
            placements, left_on="time", right_on="placed_at", by=MAKER_BOOK, strategy="backward",
            check_sortedness=False,
        )
        .join_asof(
            latest, left_on="time", right_on="state_at", by=KEY, strategy="backward",
            check_sortedness=False,
        )
        .select(
            *MAKER_BOOK, "time",
            pl.when(pl.col("live")).then(pl.col("price")).alias(name),
            pl.when(pl.col("live")).then(pl.col("open")).alias(f"{name}_qty"),
            pl.when(pl.col("live")).then(pl.col("order_id")).alias(f"{name}_order"),
        )
    )  # fmt: skip


def _periods(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    """Each maker's consecutive stretches of failing checks per book and day: start, end,
    duration and how long each condition failed (ns), the widest spread, the smallest side,
    the quotes' order ids, ``counted`` (long enough to be a breach), and its obligations."""
    makers = _makers(activity, params)
    if makers.is_empty():
        return pl.DataFrame()
    states = _order_states(activity, makers["agent"].to_list())
    books = states.select(*MAKER_BOOK).unique()
    bounds = books.join(activity.sessions, how="cross")
    times = [
        states.select(*MAKER_BOOK, "time"),
        bounds.select(*MAKER_BOOK, time="open"),
        bounds.select(*MAKER_BOOK, time="close"),
    ]
    checks = pl.concat(times).unique().sort("time", *MAKER_BOOK)
    quoted = (
        _quotes(states, checks, 1)
        .join(_quotes(states, checks, -1), on=[*MAKER_BOOK, "time"])
        .with_columns(day=pl.col("time") // NS_PER_DAY)
        .join(activity.sessions, on="day")
        .filter(pl.col("time") < pl.col("close"))  # a check at the close ends the last stretch
        .join(makers, on="agent")
        .sort(*MAKER_BOOK, "day", "time")
    )
    group = [*MAKER_BOOK, "day"]
    nxt = pl.col("time").shift(-1).over(pl.struct(group).rle_id())  # sorted: runs are groups
    missing = pl.col("bid").is_null() | pl.col("ask").is_null()
    wide = ~missing & (pl.col("ask") - pl.col("bid") > pl.col("max_spread_ticks"))
    small = ~missing & (pl.min_horizontal("bid_qty", "ask_qty") < pl.col("min_size"))
    checked = quoted.with_columns(
        duration=pl.min_horizontal(nxt.fill_null(pl.col("close")), pl.col("close"))
        - pl.col("time"),
        missing=missing,
        wide=wide,
        small=small,
        failing=missing | wide | small,
    ).with_columns(stretch=pl.struct(*group, "failing").rle_id())  # a run of one verdict
    minimum = int(params.obligation_min_breach_seconds * NS_PER_SECOND)
    return (
        checked.filter(pl.col("failing"))
        .group_by("stretch")
        .agg(
            pl.col(*group, *OBLIGATIONS, "open", "close").first(),
            start=pl.col("time").min(),
            end=(pl.col("time") + pl.col("duration")).max(),
            duration=pl.col("duration").sum(),
            missing_ns=pl.col("duration").filter(pl.col("missing")).sum(),
            wide_ns=pl.col("duration").filter(pl.col("wide")).sum(),
            small_ns=pl.col("duration").filter(pl.col("small")).sum(),
            widest=(pl.col("ask") - pl.col("bid")).filter(pl.col("wide")).max(),
            smallest=pl.min_horizontal("bid_qty", "ask_qty").filter(pl.col("small")).min(),
            order_ids=pl.concat_list("bid_order", "ask_order").explode().drop_nulls().unique(),
        )
        .with_columns(counted=pl.col("duration") >= minimum)
        .drop("stretch")
        .sort(*group, "start")
    )
