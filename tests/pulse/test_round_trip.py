"""The standard round trip walked through books built by hand."""

import polars as pl
import pytest

from sim.pulse import snapshots as snap
from sim.pulse.round_trip import round_trip_costs
from sim.records.recorder import Recorder
from tests.pulse.hand import INSTRUMENTS, at, snapshot


def costs(rec: Recorder, size_rupees=100_000, penalty_bp=500.0) -> dict:
    """Cost and fill share on NSE's SAFE book at the first snapshot."""
    frames = rec.frames()
    book = frames["book"]
    grid = snap.grid(book, snap.listings(book, frames["quotes"]), INSTRUMENTS)
    levels = snap.levels(book)
    books = snap.measures(levels, grid, INSTRUMENTS, 50.0, 10_000.0)
    found = round_trip_costs(
        levels, books, frames["fair_values"], INSTRUMENTS, size_rupees, penalty_bp
    )
    (row,) = found.filter((pl.col("venue") == "NSE") & (pl.col("instrument") == "SAFE")).to_dicts()
    return row


def test_both_legs_walk_the_book_best_first():
    rec = Recorder()
    # 100 units (100,000 rupees of 1,000-rupee units). Buy 60 @ 10_010 + 40 @ 10_030 = 10_018
    # on average; sell 30 @ 9_990 + 70 @ 9_970 = 9_976. Mid 10_000: (10_018 - 9_976) bp = 42.
    snapshot(rec, at(0), "SAFE", [(9_990, 30), (9_970, 100)], [(10_010, 60), (10_030, 100)])
    got = costs(rec)
    assert got["cost_bp"] == pytest.approx(42.0)
    assert got["filled"] == 1.0


def test_a_size_within_the_best_level_pays_the_quoted_spread():
    rec = Recorder()
    snapshot(rec, at(0), "SAFE", [(9_990, 500)], [(10_010, 500)])
    assert costs(rec)["cost_bp"] == pytest.approx(20.0)


def test_what_the_book_cannot_fill_pays_the_concession():
    rec = Recorder()
    # Asks hold 60: the other 40 pay 5% over mid (10_500), worse than the last level. The
    # sell leg fills at 9_990. Buy (60 x 10_010 + 40 x 10_500) / 100 = 10_206: 216 bp.
    snapshot(rec, at(0), "SAFE", [(9_990, 500)], [(10_010, 60)])
    got = costs(rec)
    assert got["cost_bp"] == pytest.approx(216.0)
    assert got["filled"] == pytest.approx(160 / 200)


def test_a_level_beyond_the_concession_sets_the_price_of_the_rest():
    rec = Recorder()
    # The asks' last level, 11_000, is beyond 10_500: the 40 units left pay 11_000.
    snapshot(rec, at(0), "SAFE", [(9_990, 500)], [(10_010, 30), (11_000, 30)])
    buy = (30 * 10_010 + 30 * 11_000 + 40 * 11_000) / 100
    assert costs(rec)["cost_bp"] == pytest.approx(buy - 9_990)


def test_an_empty_side_is_measured_from_the_valuation():
    rec = Recorder()
    rec.fair_value(at(0, 0), "SAFE", 101.0, 0.07, 50.0)  # 10_100 ticks
    snapshot(rec, at(0), "SAFE", [(10_000, 500)], [])
    # Buy all 100 at 10_100 x 1.05 = 10_605; sell at 10_000: 605 ticks, over a mid of 10_100.
    assert costs(rec)["cost_bp"] == pytest.approx(605 / 10_100 * 1e4)
