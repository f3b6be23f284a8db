"""The ``pulse`` section: the Liquidity Pulse (`sim.pulse`) as a regulator reads it: each
bond's latest daily score, the lowest-scoring bonds and how they moved over the run, and each
bond's daily liquidity index (`sim.presentation.report.figures.pulse_figure`).

It reads the run's Pulse (`Result.pulse`: its pulse.parquet, or computed with the scenario's
``[pulse]`` settings), its daily rows (interval ``1d``: a session) of each
bond's consolidated book (venue ``all``: the venues' books pooled): the liquidity index, the
issuer's repayment support and the combined score, each 0–100, the score's uncertainty (a
standard deviation, in index points) and its top drivers (the features that moved it
furthest from 50, in index points). A bond's latest day is the last it was scored on (a bond
that matured during the run stops earlier). A run that recorded no book snapshot has no pulse,
and the section says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from sim.presentation.report.formats import label, number
from sim.presentation.report.model import MISSING, Figure, Section, Shown, table
from sim.pulse.snapshots import ALL_VENUES

DAILY = "1d"
LOWEST = 5  # bonds in the lowest-scoring table
COLUMNS = ("bond", "sector group", "grade", "liquidity", "repayment", "score",
           "uncertainty (sd)", "top drivers (points)")  # fmt: skip
LOWEST_COLUMNS = ("bond", "score, first day", "score, latest day", "change", "lowest score",
                  "on day")  # fmt: skip


def daily_pulse(result) -> pl.DataFrame | None:
    """`result`'s Pulse, its daily rows of each bond's consolidated book; None for a run
    without a book snapshot, which has no liquidity to score."""
    if result.book.is_empty():
        return None
    frame = result.pulse
    return frame.filter((pl.col("interval") == DAILY) & (pl.col("venue") == ALL_VENUES))


def latest_scores(daily: pl.DataFrame) -> pl.DataFrame:
    """Each bond's row of its latest day, lowest score first (unscored bonds last)."""
    return daily.filter(pl.col("day") == pl.col("day").max().over("instrument")).sort(
        "score", "instrument", nulls_last=True
    )


def lowest_bonds(daily: pl.DataFrame, count: int = LOWEST) -> pl.DataFrame:
    """The `count` bonds whose latest score is lowest: instrument, first (the first day's
    score), latest, change, lowest (their lowest daily score) and lowest_day."""
    return (
        daily.filter(pl.col("score").is_not_null())
        .sort("instrument", "day")
        .group_by("instrument", maintain_order=True)
        .agg(
            first=pl.col("score").first(),
            latest=pl.col("score").last(),
            lowest=pl.col("score").min(),
            lowest_day=pl.col("day").get(pl.col("score").arg_min()),
        )
        .with_columns(change=pl.col("latest") - pl.col("first"))
        .sort("latest", "instrument")
        .head(count)
    )


def pulse_section(daily: pl.DataFrame | None, figure: Figure | None) -> Section:
    """The section of `daily` (`daily_pulse`'s rows; None: the run has no pulse) and the
    liquidity `figure` (None: none drawn)."""
    if daily is None or daily.is_empty():
        return Section(
            id="pulse",
            lead=(
                "No pulse: the run recorded no book snapshots (or no daily interval), so "
                "there is no liquidity to score.",
            ),
        )
    latest = latest_scores(daily)
    lowest = lowest_bonds(daily)
    rows = [
        (
            r["instrument"], r["sector_group"], r["grade"] or "unrated", _points(r["liquidity"]),
            _points(r["repayment"]), _points(r["score"]),
            _points(r["score_uncertainty"] if r["score"] is not None
                    else r["liquidity_uncertainty"]),
            _drivers(r["score_drivers"] if r["score"] is not None else r["liquidity_drivers"]),
        )
        for r in latest.iter_rows(named=True)
    ]  # fmt: skip
    lowest_rows = [
        (
            r["instrument"], _points(r["first"]), _points(r["latest"]),
            _points(r["change"], sign=True), _points(r["lowest"]), number(r["lowest_day"]),
        )
        for r in lowest.iter_rows(named=True)
    ]  # fmt: skip
    last_day = int(daily["day"].max())
    named = ", ".join(
        f"{r['instrument']} {_points(r['latest'])}" for r in lowest.head(3).rows(named=True)
    )
    lead = [
        f"The Liquidity Pulse of {latest.height} bonds on their latest trading day (day "
        f"{last_day} for those still trading): a liquidity index of each bond's consolidated "
        "book (quoted spread, depth near mid, makers quoting both sides, turnover, time since "
        "the last trade, order-flow balance, the SIP pool's activity), its issuer's repayment "
        "support (credit spread, rating and the credit model's probabilities, stability, "
        "alternative data) and the score combining them by sector group, each 0–100: higher "
        "is more liquid, better supported.",
    ]
    tables = [table(COLUMNS, rows, caption="Each bond's latest daily score, lowest first")]
    if named:  # some bond has a score
        lead.append(f"Lowest scores: {named}.")
        caption = f"The {lowest.height} lowest-scoring bonds over the run"
        tables.append(table(LOWEST_COLUMNS, lowest_rows, caption=caption))
    return Section(
        id="pulse",
        lead=tuple(lead),
        tables=tuple(tables),
        figures=() if figure is None else (figure,),
        notes=(
            "From sim.pulse.pulse over the run's own files (weights and windows: "
            "sim.pulse.params). Each feature is ranked against the recent past of every bond "
            "(rolling windows of trading days; the run so far where it is shorter), so a "
            "score says where a bond stands in this market, not against a fixed scale. The "
            "uncertainty is the score's standard deviation, in index points, from how much it "
            "depends on the window, how much it moved over the last intervals and what could "
            "not be measured; the drivers are its largest contributions. An unrated bond has no "
            "repayment support, so no score: its liquidity index's uncertainty and drivers "
            "are shown, and dashes where it was not scored.",
        ),
    )


def _points(value: float | None, *, sign: bool = False) -> Shown:
    """Index points to one decimal (with its sign when `sign`)."""
    if value is None:
        return MISSING
    return Shown(f"{value:+.1f}" if sign else f"{value:.1f}")


def _drivers(drivers: Sequence[dict] | None) -> str:
    """``feature +1.2, feature -0.8``: each driver and its points."""
    return ", ".join(f"{label(d['feature'])} {d['points']:+.1f}" for d in drivers or ()) or "–"
