"""A `Report` to one self-contained HTML file: the jinja2 template
``templates/report.html.j2`` (shipped in the package), its style inline, its figures embedded
as ``data:`` URIs. The page loads nothing: no script, no stylesheet, no font, no image from
anywhere else, so it reads the same offline, in an archive, or printed."""

from __future__ import annotations

from pathlib import Path

from sim.presentation.report.model import Report
from sim.records.store import write_bytes_atomically

TEMPLATE = "report.html.j2"


def render_html(report: Report) -> str:
    """The page of `report`, every value escaped."""
    from jinja2 import Environment, PackageLoader, StrictUndefined  # lazy: only to render

    environment = Environment(
        loader=PackageLoader("sim.presentation.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt field fails the render, not the reader
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template(TEMPLATE).render(report=report)


def write_html(report: Report, path: str | Path) -> Path:
    """Write the page of `report` to `path` (atomically) and return it."""
    path = Path(path)
    write_bytes_atomically(path, render_html(report).encode("utf-8"))
    return path


def default_path(run_dir: str | Path) -> Path:
    """Where `bondlab report` writes a run's page: beside its folder, as
    ``<run folder>-report.html``. Never inside it: verify counts any file the manifest does
    not list as tampering."""
    folder = Path(run_dir).resolve()
    return folder.parent / f"{folder.name}-report.html"
