"""Plots of a run, from its `Result`: prices against fair value, spreads, depth and agents'
PnL. Each takes an optional matplotlib ``ax`` and returns the figure; matplotlib is imported
only when a plot is drawn. Prices are shown in rupees per 100 face, money in rupees.

    from sim import plots
    plots.price(result, "HOUSI1-2030-A")
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl


def price(result, instrument: str | None = None, venue: str | None = None, ax=None):
    """Mid price (per venue), trades and fair value over time."""
    instrument, tick = _instrument(result, instrument)
    fig, ax = _axes(ax)
    quotes = _select(result.quotes, instrument, venue)
    for (name,), part in quotes.partition_by("venue", as_dict=True, maintain_order=True).items():
        mid = (part["bid"] + part["ask"]) * (tick / 2)
        ax.step(part["clock"], mid, where="post", lw=0.8, label=f"mid {name}")
    trades = _select(result.trades, instrument, venue)
    if not trades.is_empty():
        ax.scatter(trades["clock"], trades["price"] * tick, s=4, c="k", label="trades")
    fair = result.fair_values.filter(pl.col("instrument").cast(pl.String) == instrument)
    if not fair.is_empty():
        clock = fair.select(pl.from_epoch("time", time_unit="ns"))["time"]
        ax.plot(clock, fair["fair_clean_price"], "--", lw=1, label="fair value")
    ax.set(title=instrument, xlabel="time", ylabel="price (₹ per 100 face)")
    ax.legend(loc="best", fontsize="small")
    return fig


def spread(result, instrument: str | None = None, venue: str | None = None, ax=None):
    """Quoted spread (ask − bid) in ticks over time, one line per venue."""
    instrument, _ = _instrument(result, instrument)
    fig, ax = _axes(ax)
    quotes = _select(result.quotes, instrument, venue)
    for (name,), part in quotes.partition_by("venue", as_dict=True, maintain_order=True).items():
        ax.step(part["clock"], part["ask"] - part["bid"], where="post", lw=0.8, label=name)
    ax.set(title=f"{instrument} quoted spread", xlabel="time", ylabel="spread (ticks)")
    ax.legend(loc="best", fontsize="small")
    return fig


def depth(
    result, instrument: str | None = None, venue: str | None = None, levels: int = 5, ax=None
):
    """Mean displayed quantity by level in the L2 snapshots: bids left, asks right."""
    instrument, _ = _instrument(result, instrument)
    fig, ax = _axes(ax)
    book = _select(result.book, instrument, venue).filter(pl.col("level") <= levels)
    snapshots = max(book.select(pl.struct("time", "venue").n_unique()).item(), 1)
    profile = (
        book.group_by("side", "level").agg(pl.col("qty").sum() / snapshots).sort("side", "level")
    )
    for side, colour, label in ((1, "tab:green", "bid"), (-1, "tab:red", "ask")):
        part = profile.filter(pl.col("side") == side)
        ax.bar(part["level"] * -side, part["qty"], color=colour, label=label)
    ax.set(
        title=f"{instrument} mean depth by level",
        xlabel="level (bids negative, asks positive)",
        ylabel="quantity (units)",
    )
    ax.legend(loc="best", fontsize="small")
    return fig


def pnl_by_kind(result, ax=None):
    """Distribution of agent PnL (paise in the file, shown in rupees) by agent kind."""
    fig, ax = _axes(ax)
    agents = result.agents.with_columns(pl.col("kind").cast(pl.String)).sort("kind")
    kinds = agents["kind"].unique(maintain_order=True).to_list()
    data = [agents.filter(pl.col("kind") == kind)["pnl"].to_numpy() / 100 for kind in kinds]
    ax.boxplot(data, tick_labels=kinds)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(title="PnL by agent kind", ylabel="PnL (₹)")
    ax.tick_params(axis="x", labelrotation=30)
    return fig


def _instrument(result, instrument: str | None) -> tuple[str, float]:
    """The instrument to plot (the first listed when None) and its rupees per tick."""
    table = result.instruments
    if table.is_empty():
        raise ValueError(f"{result!r}: instruments.parquet is empty")
    if instrument is None:
        instrument = str(table["symbol"][0])
    row = table.filter(pl.col("symbol").cast(pl.String) == instrument)
    if row.is_empty():
        known = ", ".join(map(str, table["symbol"]))
        raise ValueError(f"unknown instrument {instrument!r}; the run has {known}")
    return instrument, float(Decimal(str(row["tick_size"][0])))


def _select(frame: pl.DataFrame, instrument: str, venue: str | None) -> pl.DataFrame:
    frame = frame.filter(pl.col("instrument").cast(pl.String) == instrument)
    if venue is not None:
        frame = frame.filter(pl.col("venue").cast(pl.String) == venue)
    return frame.with_columns(pl.from_epoch("time", time_unit="ns").alias("clock"))


def _axes(ax):
    import matplotlib.pyplot as plt  # lazy: matplotlib is slow to import

    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4))
        return fig, ax
    return ax.figure, ax
