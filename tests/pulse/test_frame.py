"""`pulse` on a hand-built run: unrated bonds have no repayment or score."""

import polars as pl

from sim.pulse import pulse
from sim.pulse.params import PulseParams
from sim.records.recorder import Recorder
from tests.pulse.hand import INSTRUMENTS, at, result, snapshot


def test_a_run_without_rated_bonds_has_liquidity_but_no_repayment_or_score():
    rec = Recorder()
    rec.transfer(at(0, 0), "issue", None, 1, 0, "SAFE", 1_000)
    for day in range(4):
        snapshot(rec, at(day, 60), "SAFE", [(9_990, 10)], [(10_010, 10 * (day + 1))])
    unrated = INSTRUMENTS.with_columns(pl.lit(None, pl.String).alias("rating"))
    frame = pulse(result(rec, instruments=unrated), PulseParams(intervals=("1d",)))
    safe = frame.filter((pl.col("instrument") == "SAFE") & (pl.col("venue") == "all"))
    assert safe["depth_rupees"].to_list() == [20_000.0, 30_000.0, 40_000.0, 50_000.0]
    # Deeper every day, all else equal: the depth score climbs, and the index with it.
    assert safe["liquidity"].is_sorted() and safe["liquidity"][0] < safe["liquidity"][3]
    assert frame["repayment"].null_count() == frame["score"].null_count() == frame.height
