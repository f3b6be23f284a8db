"""The study's figures, for a deck: matplotlib, imported only here, drawn off-screen (Agg)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import polars as pl

from sim.studies.sip_buffer.crossing import Crossing

COLOURS = {"baseline": "#1f77b4", "covid_2020": "#d62728"}


def buffer_figure(table: pl.DataFrame, crossings: Mapping[str, Crossing], target: float):
    """Three panels over the buffer share, a line per condition with its 95% CI band:
    absorption by value (the target dashed, each condition's smallest share reaching it
    marked with its interval), the price impact of exits sold on the book, and the carry the
    idle buffer forwent."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: slow to import
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 4.4), layout="constrained")
    FigureCanvasAgg(figure)
    absorb, impact, carry = figure.subplots(1, 3)
    for condition in table["condition"].unique(maintain_order=True):
        rows = table.filter(pl.col("condition") == condition)
        colour = COLOURS.get(condition)
        label = f"{condition} ({rows['n'].max()} seeds)"
        _band(absorb, rows, "absorption_value", 100, colour, label)
        _band(impact, rows, "book_shortfall_bp", 1, colour, condition)
        _band(carry, rows, "carry_forgone_bp", 1, colour, condition)
        found = crossings.get(condition)
        if found is not None and math.isfinite(found.estimate):
            absorb.axvline(found.estimate, color=colour, lw=1, ls=":")
            high = found.high if math.isfinite(found.high) else rows["buffer_share"].max()
            absorb.axvspan(found.low, high, color=colour, alpha=0.08)
            absorb.annotate(
                f"{found.estimate:.3f}",
                (found.estimate, 100 * target),
                xytext=(4, -14),
                textcoords="offset points",
                color=colour,
                fontsize=8,
            )
    absorb.axhline(100 * target, color="black", lw=1, ls="--", label=f"target {target:.0%}")
    absorb.set(
        title="Early exits absorbed by the pool",
        xlabel="buffer share of SIP inflows",
        ylabel="% of exit value (mean, 95% CI)",
        ylim=(-2, 102),
    )
    absorb.legend(fontsize=8, loc="lower right")
    impact.set(
        title="Price impact of exits sold on the book",
        xlabel="buffer share",
        ylabel="bp below fair value (volume-weighted)",
    )
    carry.set(
        title="Carry forgone on the idle buffer", xlabel="buffer share", ylabel="bp of SIP inflows"
    )
    low, high = table["buffer_share"].min(), table["buffer_share"].max()
    margin = 0.03 * (high - low or 1)
    for ax in (absorb, impact, carry):
        ax.set_xlim(low - margin, high + margin)
        ax.grid(alpha=0.3)
    return figure


def _band(ax, rows: pl.DataFrame, name: str, scale: float, colour, label: str) -> None:
    rows = rows.filter(pl.col(f"{name}_mean").is_not_null())
    if rows.is_empty():
        return
    x = rows["buffer_share"].to_numpy()
    ax.plot(x, rows[f"{name}_mean"].to_numpy() * scale, marker="o", ms=3, color=colour, label=label)
    low = rows[f"{name}_ci_low"].fill_null(rows[f"{name}_mean"]).to_numpy() * scale
    high = rows[f"{name}_ci_high"].fill_null(rows[f"{name}_mean"]).to_numpy() * scale
    ax.fill_between(x, low, high, color=colour, alpha=0.2, lw=0)


def sobol_figure(indices: pl.DataFrame, note: str = ""):
    """A ranked horizontal bar chart of the Sobol indices, S1 and ST with their intervals,
    the most influential factor on top."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 0.7 * indices.height + 1.6), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    ranked = indices.sort("rank", descending=True)  # the top rank drawn last, at the top
    y = list(range(ranked.height))
    height = 0.38
    ax.barh(
        [v + height / 2 for v in y],
        ranked["ST"].to_numpy(),
        height,
        xerr=ranked["ST_conf"].to_numpy(),
        color="#d62728",
        alpha=0.8,
        label="total (ST)",
        capsize=3,
    )
    ax.barh(
        [v - height / 2 for v in y],
        ranked["S1"].to_numpy(),
        height,
        xerr=ranked["S1_conf"].to_numpy(),
        color="#1f77b4",
        alpha=0.8,
        label="first order (S1)",
        capsize=3,
    )
    ax.set_yticks(y, _labels(ranked))
    ax.axvline(0, color="black", lw=0.8)
    ax.set(
        xlabel="Sobol index of the absorption rate (95% CI)",
        title="What moves absorption: global sensitivity" + (f"\n{note}" if note else ""),
    )
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return figure


def _labels(ranked: pl.DataFrame) -> Sequence[str]:
    return [
        f"{row['label']}\n[{row['low']:g}, {row['high']:g}]" for row in ranked.iter_rows(named=True)
    ]
