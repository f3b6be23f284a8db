"""The report's figures, drawn with matplotlib (imported only here, when a report is built) and
embedded in the page as base64 PNG ``data:`` URIs, so that the file needs nothing else."""

from __future__ import annotations

import base64
import io
import math

import polars as pl

from sim.presentation.report.model import Figure

MAX_PANELS = 20  # bonds drawn in the price figure: the most traded, beyond that
COLUMNS = 4
DPI = 90  # ~1,100 px wide: sharp on a screen and in an A4 PDF, and a few hundred kB


def png_uri(figure, dpi: int = DPI) -> str:
    """A matplotlib figure as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def shown_bonds(result) -> tuple[list[str], int]:
    """The bonds the price figure draws (the `MAX_PANELS` most traded, in listing order) and
    how many the run has."""
    symbols = [str(s) for s in result.instruments["symbol"]]
    if len(symbols) <= MAX_PANELS:
        return symbols, len(symbols)
    traded = (
        result.trades.group_by(pl.col("instrument").cast(pl.String))
        .agg(pl.col("qty").sum())
        .sort("qty", descending=True)
        .head(MAX_PANELS)["instrument"]
    )
    chosen = set(traded)
    return [s for s in symbols if s in chosen], len(symbols)


def prices_figure(result) -> Figure | None:
    """Each bond's mid price on each venue, its trades and its published fair value over the
    run, one small panel a bond (`sim.plots.price`); None for a run without bonds."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: slow to import
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure as MplFigure

    from sim.presentation import plots

    bonds, total = shown_bonds(result)
    if not bonds:
        return None
    rows = math.ceil(len(bonds) / COLUMNS)
    fig = MplFigure(figsize=(3.1 * COLUMNS, 2.3 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, COLUMNS, squeeze=False).ravel()
    for i, (ax, symbol) in enumerate(zip(axes, bonds, strict=False)):
        plots.price(result, symbol, ax=ax)
        ax.set_title(symbol, fontsize="small")
        ax.set(xlabel="", ylabel="")
        ax.tick_params(labelsize="x-small")
        locator = AutoDateLocator(minticks=2, maxticks=6)  # 6: a 3-day run has 12-hour ticks
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        if i:  # one legend for the figure: the first panel's
            ax.get_legend().remove()
        else:
            ax.legend(fontsize="x-small", loc="best")
    for ax in axes[len(bonds) :]:
        ax.set_visible(False)
    fig.supylabel("clean price (₹ per 100 face)", fontsize="small")
    drawn = f"the {len(bonds)} most traded of {total} bonds" if total > len(bonds) else "each bond"
    return Figure(
        uri=png_uri(fig),
        alt=f"Mid prices by venue, trades and fair value over the run, for {drawn}",
        caption=f"Prices against fair value, {drawn}: each venue's mid (steps), the trades "
        "(dots) and the published fair clean price (dashed).",
    )


def pulse_figure(daily: pl.DataFrame) -> Figure | None:
    """Each bond's daily liquidity index (its consolidated book) over the run, a row a bond
    and a column a trading day, from `sim.presentation.report.pulse.daily_pulse`'s rows;
    None without any."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: slow to import
    from matplotlib.figure import Figure as MplFigure

    if daily.is_empty():
        return None
    grid = (
        daily.sort("day").pivot(on="day", index="instrument", values="liquidity").sort("instrument")
    )
    bonds = grid["instrument"].to_list()
    days = [int(day) for day in grid.columns[1:]]
    values = grid.drop("instrument").to_numpy().astype(float)  # NaN: not scored that day
    fig = MplFigure(figsize=(8, 1.2 + 0.2 * len(bonds)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    image = ax.imshow(values, aspect="auto", cmap="RdYlGn", vmin=0, vmax=100,
                      interpolation="nearest")  # fmt: skip
    ax.set_yticks(range(len(bonds)), bonds, fontsize="x-small")
    shown = range(0, len(days), max(1, math.ceil(len(days) / 12)))  # at most a dozen labels
    ax.set_xticks(list(shown), [str(days[i]) for i in shown], fontsize="x-small")
    ax.set_xlabel("trading day", fontsize="small")
    scale = fig.colorbar(image, ax=ax, shrink=0.8)
    scale.set_label("liquidity index (0–100)", fontsize="small")
    scale.ax.tick_params(labelsize="x-small")
    return Figure(
        uri=png_uri(fig),
        alt=f"Daily liquidity index of each of {len(bonds)} bonds over {len(days)} trading days",
        caption="Each bond's daily liquidity index, its venues' books pooled: red is the least "
        "liquid, green the most (0–100; blank: not scored that day).",
    )
