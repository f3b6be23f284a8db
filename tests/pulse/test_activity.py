"""Turnover velocity, time since the last trade, order-flow imbalance and the SIP pool's
activity, from trades and transfers written by hand."""

import polars as pl
import pytest

from sim.pulse.activity import activity
from sim.pulse.snapshots import ALL_VENUES
from sim.pulse.timeline import Timeline
from sim.records.recorder import Recorder
from tests.pulse.hand import AGENTS, at, manifest

TIMELINE = Timeline.from_manifest(manifest())


def trade(rec, minute, qty, aggressor, *, day=0, venue="NSE", maker=1, taker=1):
    rec.trade(at(day, minute), venue, "SAFE", 10_000, qty, 1, 2, maker, taker, aggressor)


def measured(rec: Recorder, spec: str = "1h") -> pl.DataFrame:
    frames = rec.frames()
    pairs = pl.DataFrame({"venue": ["NSE", "BSE", ALL_VENUES], "instrument": ["SAFE"] * 3})
    grid = TIMELINE.intervals(spec).join(pairs, how="cross")
    return activity(grid, frames["trades"], frames["transfers"], AGENTS, TIMELINE, spec)


def at_slot(frame, day, slot, venue="NSE") -> dict:
    (found,) = frame.filter(
        (pl.col("day") == day) & (pl.col("slot") == slot) & (pl.col("venue") == venue)
    ).to_dicts()
    return found


def issued(rec, units=1_000):
    rec.transfer(at(0, 0), "issue", None, 1, 0, "SAFE", units)


def test_turnover_velocity_is_units_outstanding_traded_per_session():
    rec = Recorder()
    issued(rec)
    trade(rec, 10, 30, +1)
    trade(rec, 20, 20, -1)
    frame = measured(rec)
    # 50 of 1,000 units in an hour; a session is 6.25 hours: 0.05 x 6.25 = 0.3125 per session.
    assert at_slot(frame, 0, 0)["turnover_velocity"] == pytest.approx(0.3125)
    assert at_slot(frame, 0, 1)["turnover_velocity"] == 0.0
    # The day's last slot, 15:15-15:30, is a quarter hour: rates stay per session.
    trade(rec, 370, 10, +1)
    assert at_slot(measured(rec), 0, 6)["turnover_velocity"] == pytest.approx(10 / 1_000 * 25)


def test_imbalance_is_the_net_aggressor_share_and_missing_without_trades():
    rec = Recorder()
    issued(rec)
    trade(rec, 10, 30, +1)  # 30 bought, 10 sold: |30 - 10| / 40
    trade(rec, 20, 10, -1)
    trade(rec, 70, 5, +1)  # next hour, 5 bought and 45 sold: |5 - 45| / 50
    trade(rec, 80, 45, -1)
    frame = measured(rec)
    assert at_slot(frame, 0, 0)["order_imbalance"] == pytest.approx(0.5)
    assert at_slot(frame, 0, 1)["order_imbalance"] == pytest.approx(0.8)
    assert at_slot(frame, 0, 2)["order_imbalance"] is None


def test_time_since_the_last_trade_counts_trading_minutes_only():
    rec = Recorder()
    issued(rec)
    trade(rec, 345, 5, +1)  # 15:00 on day 0
    frame = measured(rec)
    # At the end of day 1's first hour (10:15): 30 minutes of day 0 and 60 of day 1.
    assert at_slot(frame, 1, 0)["minutes_since_trade"] == pytest.approx(90.0)
    # Before it, counted from the first open: day 0's 13:15-14:15 slot ends 300 minutes in.
    assert at_slot(frame, 0, 4)["minutes_since_trade"] == pytest.approx(300.0)
    assert at_slot(frame, 0, 5)["minutes_since_trade"] == pytest.approx(15.0)


def test_the_consolidated_listing_pools_the_venues():
    rec = Recorder()
    issued(rec)
    trade(rec, 10, 30, +1, venue="NSE")
    trade(rec, 50, 10, +1, venue="BSE")
    frame = measured(rec)
    assert at_slot(frame, 0, 0, ALL_VENUES)["turnover_velocity"] == pytest.approx(40 / 1000 * 6.25)
    assert at_slot(frame, 0, 0, ALL_VENUES)["minutes_since_trade"] == pytest.approx(10.0)
    assert at_slot(frame, 0, 0, "NSE")["minutes_since_trade"] == pytest.approx(50.0)


def test_sip_activity_counts_the_pools_transfers_and_trades_on_every_venue_row():
    rec = Recorder()
    issued(rec)
    rec.transfer(at(0, 5), "transfer", 5, 4, 100_000, "SAFE", 20)  # the pool buys an exit
    trade(rec, 10, 5, -1, maker=4)  # and sells 5 units on the book
    rec.transfer(at(0, 15), "transfer", 1, 5, 100_000, None, 0)  # cash only: not counted
    frame = measured(rec, "1d")
    for venue in ("NSE", "BSE", ALL_VENUES):
        assert at_slot(frame, 0, 0, venue)["sip_activity"] == pytest.approx(25 / 1_000)


def test_a_run_without_a_sip_pool_has_no_sip_activity():
    rec = Recorder()
    issued(rec)
    frames = rec.frames()
    grid = TIMELINE.intervals("1d").with_columns(venue=pl.lit("NSE"), instrument=pl.lit("SAFE"))
    agents = AGENTS.filter(pl.col("kind") != "sip_pool")
    frame = activity(grid, frames["trades"], frames["transfers"], agents, TIMELINE, "1d")
    assert frame["sip_activity"].null_count() == frame.height
