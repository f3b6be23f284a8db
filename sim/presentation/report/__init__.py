"""The regulator's report of one run: a self-contained HTML page, and its PDF.

    report = build_report("results/baseline-seed1-…")     # verify, then read each section
    write_html(report, default_path("results/baseline-seed1-…"))
    print_pdf(html_path, pdf_path)                         # headless Chromium

Its sections, in order, with the ids that anchor them (`SECTION_IDS`): ``scenario`` (the
scenario and its provenance), ``reproducibility`` (`bondlab verify`'s verdict),
``market-quality``, ``stress`` (against the scenario's calibration targets), ``sip``,
``market-makers``, ``pulse`` (the Liquidity Pulse, `sim.pulse`), ``repo``, ``surveillance``
and ``gate``. A module per part: `model` (what a report is made of), `formats`, a module per
group of sections, `figures`, `build`, `render` (jinja2, ``templates/report.html.j2``) and
`pdf`. matplotlib and jinja2 are imported only when a report is built or rendered.
"""

from sim.presentation.report.build import build_report
from sim.presentation.report.gate import Decisions
from sim.presentation.report.model import SECTION_IDS
from sim.presentation.report.pdf import PdfError, print_pdf
from sim.presentation.report.render import default_path, render_html, write_html

__all__ = [
    "SECTION_IDS",
    "Decisions",
    "PdfError",
    "build_report",
    "default_path",
    "print_pdf",
    "render_html",
    "write_html",
]
