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
