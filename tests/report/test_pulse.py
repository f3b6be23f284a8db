"""The report's ``pulse`` section on the shared run: each bond's latest daily score as
`sim.pulse.pulse` gives it, the lowest-scoring bonds, the liquidity figure, and a run without
a book snapshot said to have no pulse."""

from __future__ import annotations

import polars as pl

import sim.pulse
from sim.presentation.report.pulse import daily_pulse, pulse_section
from sim.records.result import Result
from sim.records.store import REQUIRED_FRAMES


def pulse_of(report):
    return next(section for section in report.sections if section.id == "pulse")


def latest_daily(run_dir) -> pl.DataFrame:
    """Each bond's consolidated score on its last day, from `sim.pulse.pulse` directly."""
    frame = sim.pulse.pulse(Result.load(run_dir))
    daily = frame.filter((pl.col("interval") == "1d") & (pl.col("venue") == "all"))
    return daily.filter(pl.col("day") == pl.col("day").max().over("instrument"))


def test_each_bonds_latest_daily_score_is_the_runs_pulse(report, run_dir):
    scores, _ = pulse_of(report).tables
    expected = latest_daily(run_dir)
    rows = {row[0]: row for row in scores.rows}
    assert set(rows) == set(Result.load(run_dir).instruments["symbol"])
    for bond in expected.iter_rows(named=True):
        row = rows[bond["instrument"]]
        assert row[1:3] == (bond["sector_group"], bond["grade"])
        shown = [f"{bond[name]:.1f}" for name in ("liquidity", "repayment", "score",
                                                   "score_uncertainty")]  # fmt: skip
        assert list(row[3:7]) == shown
        top = bond["score_drivers"][0]
        assert row[7].startswith(f"{top['feature'].replace('_', ' ')} {top['points']:+.1f}")
    listed = [float(row[5]) for row in scores.rows]
    assert listed == sorted(listed)  # lowest first


def test_the_lowest_scoring_bonds_and_the_liquidity_figure(report, run_dir):
    section = pulse_of(report)
    scores, lowest = section.tables
    expected = latest_daily(run_dir).sort("score", "instrument").head(5)
    assert [row[0] for row in lowest.rows] == expected["instrument"].to_list()
    assert [row[2] for row in lowest.rows] == [f"{s:.1f}" for s in expected["score"]]
    assert section.lead[-1].startswith(f"Lowest scores: {expected['instrument'][0]} ")
    (figure,) = section.figures
    assert figure.uri.startswith("data:image/png;base64,") and len(figure.uri) > 5_000
    assert f"each of {len(scores.rows)} bonds" in figure.alt


def test_a_run_without_a_book_snapshot_has_no_pulse(run_dir):
    recorded = Result.load(run_dir)
    frames = {name: recorded.frame(name) for name in REQUIRED_FRAMES}
    frames["book"] = frames["book"].clear()
    bookless = Result.in_memory(frames, recorded.metrics, recorded.manifest)
    assert daily_pulse(bookless) is None
    section = pulse_section(None, None)
    assert section.lead[0].startswith("No pulse") and not section.tables and not section.figures
