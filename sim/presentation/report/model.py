"""What a report is made of, before any HTML: sections holding paragraphs, tables and figures.

Each section builder returns a `Section`; the template (``templates/report.html.j2``) lays
them out in order. A section's ``id`` is the page's anchor for it and is stable: readers link
to ``#market-quality``; `TITLES` lists them in page order with their titles. Cells are already
text: numbers are formatted by `sim.presentation.report.formats` into `Shown` values, which
the page aligns right.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

OK, WARN, FAIL = "ok", "warn", "fail"  # a section's status badge

# The sections in page order, by the id that anchors each on the page, and their titles.
TITLES = {
    "scenario": "Scenario and provenance",
    "reproducibility": "Reproducibility",
    "market-quality": "Market quality",
    "stress": "Stress outcomes",
    "sip": "SIP absorption",
    "market-makers": "Market-maker compliance",
    "pulse": "Liquidity Pulse",
    "repo": "Repo: margin calls and forced sales",
    "surveillance": "Surveillance alerts",
    "gate": "Gate decisions",
}
SECTION_IDS = tuple(TITLES)


@dataclass(frozen=True)
class Shown:
    """A formatted number: its text, aligned right in a table."""

    text: str

    def __str__(self) -> str:
        return self.text


MISSING = Shown("–")  # a figure the run could not measure


@dataclass(frozen=True)
class Table:
    """A table of text cells; ``right[i]`` says whether column i holds numbers, and
    ``details[j]`` (when given) is prose shown across the table under row j."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: tuple[bool, ...]
    caption: str = ""
    details: tuple[str, ...] = ()


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    caption: str = "",
    details: Sequence[str] = (),
) -> Table:
    """A `Table` of `rows`: `Shown` cells (and None, shown as a dash) are numbers, anything
    else is text; a column is aligned right when every cell in it is a number. `details`, one
    a row or none, are shown under their rows (an alert's evidence, say)."""
    cells = [tuple(MISSING if value is None else value for value in row) for row in rows]
    for row in cells:
        if len(row) != len(columns):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(columns)} columns")
    if details and len(details) != len(cells):
        raise ValueError(f"{len(details)} details for {len(cells)} rows")
    right = tuple(
        bool(cells) and all(isinstance(row[i], Shown) for row in cells) for i in range(len(columns))
    )
    text = tuple(tuple(str(value) for value in row) for row in cells)
    return Table(tuple(columns), text, right, caption, tuple(details))


@dataclass(frozen=True)
class Figure:
    """An image embedded in the page: a ``data:`` URI, its alternative text and caption."""

    uri: str
    alt: str
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """One section of the report, under its `id` (one of `SECTION_IDS`).

    `lead` is its paragraphs; `status` (OK, WARN, FAIL or None) puts a badge beside the
    title with `status_text`; `detail` is preformatted text shown folded (the resolved
    scenario, say) under `detail_title`; `notes` are the small print on how it was measured.
    """

    id: str
    lead: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()
    notes: tuple[str, ...] = ()
    status: str | None = None
    status_text: str = ""
    detail: str | None = None
    detail_title: str = ""

    def __post_init__(self) -> None:
        if self.id not in TITLES:
            raise ValueError(f"no report section {self.id!r}; known: {', '.join(TITLES)}")

    @property
    def title(self) -> str:
        return TITLES[self.id]


@dataclass(frozen=True)
class Report:
    """A run's report: its title, when and by what it was written, and its sections."""

    run_id: str
    title: str
    written: str
    bondlab_version: str
    sections: tuple[Section, ...]
