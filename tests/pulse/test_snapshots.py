"""Quoted spread and depth near mid, on books built by hand."""

import polars as pl
import pytest

from sim.pulse import snapshots as snap
from sim.records.recorder import Recorder
from tests.pulse.hand import INSTRUMENTS, at, snapshot


def measured(rec: Recorder, depth_bp: float = 50.0, cap: float = 10_000.0) -> pl.DataFrame:
    frames = rec.frames()
    book = frames["book"]
    grid = snap.grid(book, snap.listings(book, frames["quotes"]), INSTRUMENTS)
    return snap.measures(snap.levels(book), grid, INSTRUMENTS, depth_bp, cap)


def row(frame: pl.DataFrame, time: int, venue: str, instrument: str = "SAFE") -> dict:
    (found,) = frame.filter(
        (pl.col("time") == time) & (pl.col("venue") == venue) & (pl.col("instrument") == instrument)
    ).to_dicts()
    return found


def test_spread_is_in_bp_of_mid_and_depth_counts_face_near_mid():
    rec = Recorder()
    # Mid 10_000, spread 20 ticks = 20 bp. Within 50 bp (50 ticks) of mid: 10 + 5 units; 9_940
    # and 10_100 are 60 and 100 ticks away. Units are 1,000 rupees of face: 15,000 rupees.
    snapshot(rec, at(0), "SAFE", [(9_990, 10), (9_940, 20)], [(10_010, 5), (10_100, 7)])
    got = row(measured(rec), at(0), "NSE")
    assert got["mid"] == 10_000
    assert got["spread_bp"] == pytest.approx(20.0)
    assert got["depth_rupees"] == 15_000


def test_a_level_exactly_depth_bp_away_counts():
    rec = Recorder()
    snapshot(rec, at(0), "SAFE", [(9_990, 10), (9_950, 20)], [(10_010, 5)])  # 9_950: 50 bp
    assert row(measured(rec), at(0), "NSE")["depth_rupees"] == 35_000


def test_the_consolidated_book_adds_the_venues():
    rec = Recorder()
    snapshot(rec, at(0), "SAFE", [(9_990, 10)], [(10_010, 5)])
    snapshot(rec, at(0), "SAFE", [(9_995, 4)], [(10_020, 6)], venue="BSE")
    got = row(measured(rec), at(0), snap.ALL_VENUES)
    # Best bid 9_995 (BSE), best ask 10_010 (NSE): mid 10_002.5, spread 15 ticks.
    assert got["mid"] == 10_002.5
    assert got["spread_bp"] == pytest.approx(15 / 10_002.5 * 1e4)
    assert got["depth_rupees"] == (4 + 10 + 5 + 6) * 1000


def test_a_missing_side_counts_as_the_cap_and_an_empty_book_is_put_back():
    rec = Recorder()
    snapshot(rec, at(0), "SAFE", [(9_990, 10)], [])  # no ask
    snapshot(rec, at(0), "RISKY", [(9_000, 10)], [(9_100, 10)])
    snapshot(rec, at(1), "RISKY", [(9_000, 10)], [(9_100, 10)])  # SAFE empty at at(1)
    frame = measured(rec, cap=777.0)
    one_sided, empty = row(frame, at(0), "NSE"), row(frame, at(1), "NSE")
    assert one_sided["spread_bp"] == 777.0 and one_sided["depth_rupees"] == 0
    assert empty["bid"] is None and empty["ask"] is None
    assert empty["spread_bp"] == 777.0 and empty["depth_rupees"] == 0


def test_a_bond_leaves_the_grid_at_its_maturity():
    rec = Recorder()
    for day in range(4):
        snapshot(rec, at(day), "SAFE", [(9_990, 10)], [(10_010, 5)])
    snapshot(rec, at(0), "RISKY", [(9_000, 10)], [])  # a listing from then on: empty books
    frame = measured(rec)
    days_quoted = frame.filter(pl.col("instrument") == "RISKY")["time"].to_list()
    assert days_quoted == [at(0), at(0), at(1), at(1)]  # NSE and "all", until 2024-01-03
