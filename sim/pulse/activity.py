"""Trading activity per listing and interval, from trades and the ledger's transfers.

- ``turnover_velocity``: units traded in the interval over the bond's units outstanding (all
  units issued, `transfers` of kind ``issue``), per session: an hour's figure is scaled up by
  the sessions in an hour, so that intervals of different lengths compare;
- ``minutes_since_trade``: trading minutes (`sim.pulse.timeline`) from the last trade at or
  before the interval's end to that end; a listing that never traded counts from the first
  open;
- ``order_imbalance``: |buyer-initiated - seller-initiated units| / units traded, in [0, 1]:
  one-way flow (a run for the exit) is a strained market; null without trades;
- ``sip_activity``: units the SIP pool (agents of kind ``sip_pool``) moved in the bond, off
  the book (its purchases of investors' exits and its sales back, `transfers`) and on it (its
  trades on any venue), over units outstanding, per session; the same for every venue's row of
  the bond, as most of it happens off the book; null in a run without a pool.

The consolidated listing (`ALL_VENUES`) pools the venues' trades.
"""

from __future__ import annotations

import polars as pl

from sim.pulse.snapshots import ALL_VENUES
from sim.pulse.timeline import Timeline

_SLOT = ("day", "slot")


def _with_all_venues(trades: pl.DataFrame) -> pl.DataFrame:
    rows = trades.with_columns(pl.col("venue", "instrument").cast(pl.String))
    return pl.concat([rows, rows.with_columns(venue=pl.lit(ALL_VENUES))])


def outstanding_units(transfers: pl.DataFrame) -> pl.DataFrame:
    """Units issued per instrument: instrument, outstanding."""
    return (
        transfers.filter(pl.col("kind") == "issue")
        .group_by(pl.col("instrument").cast(pl.String))
        .agg(outstanding=pl.col("qty").sum())
    )


def _sip_units(
    trades: pl.DataFrame,
    transfers: pl.DataFrame,
    agents: pl.DataFrame,
    timeline: Timeline,
    spec: str,
) -> pl.DataFrame | None:
    """Units the SIP pool moved per instrument and interval; None without a pool."""
    pool = agents.filter(pl.col("kind") == "sip_pool")["agent"].to_list()
    if not pool:
        return None
    moved = pl.concat(
        [
            transfers.filter(
                pl.col("instrument").is_not_null()
                & (pl.col("source").is_in(pool) | pl.col("target").is_in(pool))
            ).select("time", pl.col("instrument").cast(pl.String), "qty"),
            trades.filter(
                pl.col("maker_agent").is_in(pool) | pl.col("taker_agent").is_in(pool)
            ).select("time", pl.col("instrument").cast(pl.String), "qty"),
        ]
    )
    return (
        timeline.assign(moved, spec)
        .group_by(*_SLOT, "instrument")
        .agg(sip_units=pl.col("qty").sum())
    )


def activity(
    grid: pl.DataFrame,
    trades: pl.DataFrame,
    transfers: pl.DataFrame,
    agents: pl.DataFrame,
    timeline: Timeline,
    spec: str,
) -> pl.DataFrame:
    """`grid` (interval rows: day, slot, start, end, venue, instrument) with the module's four
    features and ``trades`` (the interval's count)."""
    rows = _with_all_venues(trades)
    per_slot = (
        timeline.assign(rows, spec)
        .group_by(*_SLOT, "venue", "instrument")
        .agg(
            traded=pl.col("qty").sum(),
            signed=(pl.col("qty") * pl.col("aggressor_side")).sum(),
            trades=pl.len(),
        )
    )
    last = rows.select(pl.col("time").alias("last_trade"), "venue", "instrument").sort("last_trade")
    sessions = pl.DataFrame(
        {"day": range(timeline.days), "session_ns": timeline.closes - timeline.opens},
        schema={"day": pl.Int32, "session_ns": pl.Int64},
    )
    out = (
        grid.join(per_slot, on=[*_SLOT, "venue", "instrument"], how="left")
        .join(outstanding_units(transfers), on="instrument", how="left")
        .join(sessions, on="day", how="left")
        .sort("end")
        .join_asof(
            last,
            left_on="end",
            right_on="last_trade",
            by=["venue", "instrument"],
            check_sortedness=False,  # both sorted by time; polars cannot check within groups
        )
        .with_columns(pl.col("traded", "signed", "trades").fill_null(0))
    )
    per_session = (pl.col("end") - pl.col("start")) / pl.col("session_ns")
    ends = timeline.trading_ns(out["end"].to_numpy())
    last_trade = out["last_trade"].fill_null(timeline.opens[0]).to_numpy()
    out = out.with_columns(
        turnover_velocity=pl.col("traded") / pl.col("outstanding") / per_session,
        minutes_since_trade=pl.Series((ends - timeline.trading_ns(last_trade)) / 60e9),
        order_imbalance=pl.when(pl.col("traded") > 0).then(
            pl.col("signed").abs() / pl.col("traded")
        ),
    )
    sip = _sip_units(trades, transfers, agents, timeline, spec)
    if sip is None:
        out = out.with_columns(sip_activity=pl.lit(None, pl.Float64))
    else:
        out = out.join(sip, on=[*_SLOT, "instrument"], how="left").with_columns(
            sip_activity=pl.col("sip_units").fill_null(0) / pl.col("outstanding") / per_session
        )
    return out.select(
        *grid.columns,
        "turnover_velocity",
        "minutes_since_trade",
        "order_imbalance",
        "sip_activity",
        "trades",
    ).sort("start", "venue", "instrument")
