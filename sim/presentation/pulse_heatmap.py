"""The Pulse by sector and rating: a heatmap of a Pulse frame's (`sim.pulse.frame`) daily
scores, one cell per sector group (`sim.pulse.sectors`) and rating grade (AA+, AA and AA- are
AA, and so on; "unrated" for bonds without a rating).

A cell is the mean, over the bonds in it, of their score on the consolidated book (venue
"all") on one trading day, the run's last unless told, with the number of bonds under it; a
cell without bonds is blank. The colour runs from red (0) through yellow (50, neutral) to
green (100). matplotlib is imported only when a figure is drawn.

    from sim.presentation.pulse_heatmap import heatmap_table, pulse_heatmap
    figure = pulse_heatmap(result.pulse)             # the combined score, the last day
    figure = pulse_heatmap(result.pulse, value="liquidity", day=3)
    figure.savefig("pulse.png")
"""

from __future__ import annotations

import typing

import polars as pl

from sim.pulse.params import Grade, SectorGroup
from sim.pulse.snapshots import ALL_VENUES

VALUES = ("score", "liquidity", "repayment")
SECTOR_GROUPS = typing.get_args(SectorGroup)
UNRATED = "unrated"
GRADES = (*typing.get_args(Grade), UNRATED)


def heatmap_table(
    frame: pl.DataFrame, value: str = "score", day: int | None = None
) -> pl.DataFrame:
    """The heatmap's cells: sector_group, grade, mean (of `value` over the cell's bonds) and
    bonds, on trading `day` (the frame's last when None); only cells with bonds. A
    `ValueError` names a `value` not in `VALUES`, or a frame without that day."""
    if value not in VALUES:
        raise ValueError(f"value must be one of {', '.join(VALUES)}, got {value!r}")
    daily = frame.filter((pl.col("interval") == "1d") & (pl.col("venue") == ALL_VENUES))
    if daily.is_empty():
        raise ValueError('the Pulse has no daily ("1d") rows on the consolidated book')
    day = daily["day"].max() if day is None else day
    rows = daily.filter(pl.col("day") == day)
    if rows.is_empty():
        days = daily["day"].unique().sort()
        raise ValueError(f"no day {day} in the Pulse (days {days.min()} to {days.max()})")
    return (
        rows.with_columns(pl.col("grade").fill_null(UNRATED))
        .group_by("sector_group", "grade")
        .agg(mean=pl.col(value).mean(), bonds=pl.col("instrument").n_unique())
        .with_columns(day=pl.lit(day, dtype=pl.Int32))
        .sort(
            pl.col("sector_group").replace_strict(
                {g: i for i, g in enumerate(SECTOR_GROUPS)}, return_dtype=pl.Int32
            ),
            pl.col("grade").replace_strict(
                {g: i for i, g in enumerate(GRADES)}, return_dtype=pl.Int32
            ),
        )
    )


def pulse_heatmap(
    frame: pl.DataFrame, value: str = "score", day: int | None = None, title: str | None = None
):
    """A matplotlib Figure: `heatmap_table` drawn as sector groups (rows) by grades (columns)
    that have bonds, each cell annotated with its mean and number of bonds."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: slow to import
    from matplotlib.figure import Figure

    cells = heatmap_table(frame, value, day)
    groups = [g for g in SECTOR_GROUPS if g in set(cells["sector_group"])]
    grades = [g for g in GRADES if g in set(cells["grade"])]
    grid = [[float("nan")] * len(grades) for _ in groups]
    fig = Figure(figsize=(1.3 * len(grades) + 3.0, 0.8 * len(groups) + 1.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for group, grade, mean, bonds, _ in cells.iter_rows():
        row, column = groups.index(group), grades.index(grade)
        shown = "n/a" if mean is None else f"{mean:.0f}"
        if mean is not None:
            grid[row][column] = mean
        ax.text(column, row, f"{shown}\n{bonds} bond{'s' * (bonds != 1)}",
                ha="center", va="center", fontsize="small")  # fmt: skip
    image = ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(grades)), grades)
    ax.set_yticks(range(len(groups)), groups)
    ax.set_xlabel("rating grade")
    ax.set_ylabel("sector group")
    fig.colorbar(image, ax=ax, label=f"mean {value} (0-100)")
    day = cells["day"][0]
    ax.set_title(title or f"Liquidity Pulse: mean {value} by sector and rating, trading day {day}")
    fig.tight_layout()
    return fig
