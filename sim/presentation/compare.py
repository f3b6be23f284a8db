"""Runs side by side: `compare` gives one row per run of market quality and stress outcomes,
`figure` their daily paths, and `write` saves both as ``compare.csv`` and ``compare.png``.

Market quality is each run's metrics.json pooled over its books (instrument and venue): the
median of the books' median quoted spreads (bp of mid), the mean of their mean top-5 depths
(units) and of their one-minute volatilities (sd of log mid returns), and the notional
turnover (rupees) per trading day. Stress outcomes are `sim.analytics.stress.stress_outcomes`,
each run measured around its own earliest shock.

    from sim.presentation import compare
    runs = compare.load_runs(["results/baseline-seed1-...", "results/sip_demo-seed1-..."])
    compare.write(compare.compare(runs), compare.figure(runs), "results/compare")
"""

from __future__ import annotations

import io
import os
import statistics
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from sim.analytics.stress import (
    StressWindow,
    daily_depth,
    daily_quoted_spread,
    stress_outcomes,
    stress_window,
    with_trading_day,
)
from sim.records.result import Result, ResultError

_CALENDAR_FIELDS = ("start", "days", "open", "close")


def load_runs(runs: Iterable[Result | str | os.PathLike]) -> list[Result]:
    """Each run as a `Result`: results folders are loaded (and checked against their
    manifests); a `ResultError` names the first that is missing or damaged."""
    results = [run if isinstance(run, Result) else Result.load(run) for run in runs]
    if not results:
        raise ValueError("no runs to compare")
    for result in results:
        calendar = result.manifest.get("scenario", {}).get("calendar", {})
        missing = [field for field in _CALENDAR_FIELDS if field not in calendar]
        if missing:
            raise ResultError(
                f"{result.path or result.run_id}: manifest.json has no scenario calendar "
                f"({', '.join(missing)} missing)"
            )
    return results


def pooled_market_quality(metrics: dict) -> dict[str, float | None]:
    """A run's market quality pooled over its books, from its metrics."""
    books = [book for venues in metrics["market_quality"].values() for book in venues.values()]

    def present(name: str) -> list[float]:
        return [book[name] for book in books if book.get(name) is not None]

    spreads, depths = present("spread_bps_median"), present("depth_top5_mean")
    volatilities, turnovers = present("volatility_1min"), present("turnover_notional_rupees")
    days = metrics["summary"]["trading_days"]
    return {
        "spread_bp": statistics.median(spreads) if spreads else None,
        "depth_top5": statistics.fmean(depths) if depths else None,
        "volatility_1min": statistics.fmean(volatilities) if volatilities else None,
        "turnover_rupees_per_day": sum(turnovers) / days if turnovers else None,
    }


def compare(runs: Iterable[Result | str | os.PathLike], *, pre_days: int = 5) -> pl.DataFrame:
    """One row per run (Results or results folders): run_id, scenario, seed, trading_days,
    the pooled market quality and every stress outcome (`pre_days` before each run's
    earliest shock as its reference)."""
    rows = [
        {
            "run_id": result.run_id,
            "scenario": result.manifest["scenario"]["run"]["name"],
            "seed": result.manifest["seed"],
            "trading_days": result.manifest["scenario"]["calendar"]["days"],
            **pooled_market_quality(result.metrics),
            **stress_outcomes(result, pre_days=pre_days),
        }
        for result in load_runs(runs)
    ]
    return pl.DataFrame(rows, infer_schema_length=None)


def figure(runs: Iterable[Result | str | os.PathLike], *, pre_days: int = 5):
    """Daily paths of every run: median quoted spread (bp), mean top-5 depth (units) and mean
    fair yield (%) by trading day, each run's shock day dotted."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: slow to import
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(14, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    spread_ax, depth_ax, yield_ax = fig.subplots(1, 3)
    for k, result in enumerate(load_runs(runs)):
        window = stress_window(result, pre_days=pre_days)
        colour, label = f"C{k % 10}", result.run_id
        paths = (
            (spread_ax, daily_quoted_spread(result.book, window), "spread_bp"),
            (depth_ax, daily_depth(result.book, result.instruments, window), "depth"),
            (yield_ax, _daily_fair_yield(result.fair_values, window), "yield_pct"),
        )
        for ax, daily, column in paths:
            ax.plot(daily["day"], daily[column], "o-", ms=3, lw=1, color=colour, label=label)
            if window.shock_day is not None:
                ax.axvline(window.shock_day, color=colour, ls=":", lw=1)
    spread_ax.set(title="Median quoted spread", xlabel="trading day", ylabel="bp of mid")
    depth_ax.set(title="Mean top-5 depth", xlabel="trading day", ylabel="units")
    yield_ax.set(title="Mean fair yield", xlabel="trading day", ylabel="%")
    for ax in (spread_ax, depth_ax, yield_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    spread_ax.legend(loc="best", fontsize="small")
    return fig


def _daily_fair_yield(fair_values: pl.DataFrame, window: StressWindow) -> pl.DataFrame:
    """(day, yield_pct): the mean over bonds of each one's last fair yield of the day."""
    return (
        with_trading_day(fair_values.drop_nulls("fair_yield"), window)
        .group_by("day", "instrument")
        .agg(pl.col("fair_yield").last())
        .group_by("day")
        .agg((pl.col("fair_yield").mean() * 100).alias("yield_pct"))
        .sort("day")
    )


def write(table: pl.DataFrame, fig, out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """``compare.csv`` and ``compare.png`` in `out_dir` (made if needed). Both are rendered
    first, then each is written under a temporary name and renamed over the old one, so a
    failure leaves no half-written file."""
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=120)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv, png = out / "compare.csv", out / "compare.png"
    for final, data in ((csv, table.write_csv().encode()), (png, image.getvalue())):
        tmp = out / f".{final.name}.tmp-{os.getpid()}"
        try:
            tmp.write_bytes(data)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
    return csv, png
