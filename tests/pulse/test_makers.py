"""Makers online, from order lifecycles written by hand."""

import polars as pl

from sim.pulse import snapshots as snap
from sim.pulse.makers import presence
from sim.records.recorder import Recorder
from tests.pulse.hand import AGENTS, INSTRUMENTS, at, snapshot

SNAPSHOTS = (5, 10, 15, 20)  # minutes after the first open


def limit(rec, minute, order_id, agent, side, qty, status="accepted", venue="NSE"):
    rec.order(at(0, minute), order_id, agent, venue, "SAFE", side, "limit", "GTC", 10_000, qty,
              status, "none")  # fmt: skip


def modify(rec, minute, order_id, agent, qty, status):
    rec.order(at(0, minute), order_id, agent, "NSE", "SAFE", 0, "modify", "GTC", 10_000, qty,
              status, "none")  # fmt: skip


def fill(rec, minute, order_id, agent, qty, *, as_taker=False):
    maker, taker = (99, order_id) if as_taker else (order_id, 99)
    maker_agent, taker_agent = (1, agent) if as_taker else (agent, 1)
    rec.trade(at(0, minute), "NSE", "SAFE", 10_000, qty, maker, taker, maker_agent, taker_agent, 1)


def online() -> dict[tuple[int, str], float]:
    rec = Recorder()
    limit(rec, 1, 1, 6, +1, 10)  # maker 6: a bid (1) and an ask (2) on NSE
    limit(rec, 1, 2, 6, -1, 10)
    limit(rec, 1, 1, 7, +1, 10, venue="BSE")  # maker 7: both sides on BSE, all along
    limit(rec, 1, 2, 7, -1, 10, venue="BSE")
    limit(rec, 2, 4, 7, -1, 5, status="filled")  # traded on arrival: never rests
    fill(rec, 2, 4, 7, 5, as_taker=True)
    limit(rec, 3, 5, 1, -1, 10)  # a retail order: not a maker's
    fill(rec, 6, 2, 6, 10)  # maker 6's ask is filled: one-sided at minute 10
    limit(rec, 11, 3, 6, -1, 10)  # a new ask
    fill(rec, 12, 3, 6, 4)  # 6 left
    modify(rec, 13, 3, 6, 10, "partially_filled")  # back to 10
    fill(rec, 14, 3, 6, 8)  # 2 left (counting from the modification): still quoting
    modify(rec, 16, 1, 6, 0, "rejected")  # refused: changes nothing
    rec.order(at(0, 17), 1, 6, "NSE", "SAFE", 0, "cancel", "GTC", None, None, "cancelled",
              "none")  # fmt: skip
    for minute in SNAPSHOTS:
        snapshot(rec, at(0, minute), "SAFE", [(9_990, 1)], [(10_010, 1)])
        snapshot(rec, at(0, minute), "SAFE", [(9_990, 1)], [(10_010, 1)], venue="BSE")
    frames = rec.frames()
    grid = snap.grid(frames["book"], snap.listings(frames["book"], frames["quotes"]), INSTRUMENTS)
    counts = presence(frames["orders"], frames["trades"], AGENTS, grid)
    return {
        (round((t - at(0, 0)) / 60e9), venue): n
        for t, venue, n in counts.select("time", "venue", "makers_two_sided").iter_rows()
    }


def test_a_maker_is_online_while_it_quotes_both_sides():
    got = online()
    assert [got[(m, "NSE")] for m in SNAPSHOTS] == [1, 0, 1, 0]
    assert [got[(m, "BSE")] for m in SNAPSHOTS] == [1, 1, 1, 1]


def test_the_consolidated_book_counts_each_maker_once():
    got = online()
    assert [got[(m, snap.ALL_VENUES)] for m in SNAPSHOTS] == [2, 1, 2, 1]


def test_a_run_without_makers_has_none_online():
    rec = Recorder()
    snapshot(rec, at(0, 5), "SAFE", [(9_990, 1)], [(10_010, 1)])
    limit(rec, 1, 1, 1, +1, 10)
    frames = rec.frames()
    grid = snap.grid(frames["book"], snap.listings(frames["book"], frames["quotes"]), INSTRUMENTS)
    agents = AGENTS.filter(pl.col("kind") != "market_maker")
    counts = presence(frames["orders"], frames["trades"], agents, grid)
    assert counts["makers_two_sided"].to_list() == [0.0, 0.0]


def test_a_maker_on_both_venues_counts_once_on_the_consolidated_book():
    rec = Recorder()
    for venue in ("NSE", "BSE"):
        limit(rec, 1, 1, 7, +1, 10, venue=venue)
        limit(rec, 1, 2, 7, -1, 10, venue=venue)
        snapshot(rec, at(0, 5), "SAFE", [(9_990, 1)], [(10_010, 1)], venue=venue)
    frames = rec.frames()
    grid = snap.grid(frames["book"], snap.listings(frames["book"], frames["quotes"]), INSTRUMENTS)
    counts = presence(frames["orders"], frames["trades"], AGENTS, grid)
    assert dict(counts.select("venue", "makers_two_sided").iter_rows()) == {
        "NSE": 1.0, "BSE": 1.0, snap.ALL_VENUES: 1.0,
    }  # fmt: skip
