"""`bondlab report`: the regulator's report of a run, a self-contained HTML page (and a PDF)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.base import app, fail, one_line
from sim.errors import BondlabError


@app.command("report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run's results folder.")],
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Where to write the page [default: beside RUN_DIR, as <run>-report.html; "
            "never inside it, whose files the manifest lists].",
        ),
    ] = None,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print it to a PDF beside it (headless chromium).")
    ] = False,
    rerun: Annotated[
        bool,
        typer.Option(
            "--rerun/--no-rerun",
            help="Run the manifest's scenario and seed again to check it reproduces.",
        ),
    ] = True,
    decisions: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="A gate decision log (decisions.jsonl, or its folder): show the decisions "
            "whose suite included this run.",
        ),
    ] = None,
) -> None:
    """Write the regulator's report of a run: its scenario and provenance, `bondlab verify`'s
    verdict, market quality, stress outcomes against the scenario's calibration targets, SIP
    absorption, market-maker compliance by tier, margin calls and forced sales, surveillance
    alerts with their evidence, and the gate decisions it belongs to. Prints the files
    written; exit status 0 whatever the verdict (the page shows it), 2 for a folder or a
    decision log that cannot be read, or a PDF that cannot be printed."""
    from sim.presentation.report import (
        PdfError,
        build_report,
        default_path,
        print_pdf,
        write_html,
    )
    from sim.records.verify import BadRunFolder
    from sim.studies.calibration import measure  # the outcomes `bondlab calibrate` judges

    html = out or default_path(run_dir)
    if html.resolve().is_relative_to(run_dir.resolve()):
        fail([f"{html}: inside the run folder, where verify counts any file its manifest "
              "does not list as tampering: write the report elsewhere"])  # fmt: skip
    log = None if decisions is None else _decisions(decisions)
    try:
        report = build_report(run_dir, rerun=rerun, decisions=log, measure=measure)
    except BadRunFolder as exc:
        fail([str(exc)])
    except (BondlabError, OSError) as exc:  # unreadable files; a scenario that cannot run here
        fail([f"{run_dir}: cannot be reported: {one_line(exc)}"])
    try:
        write_html(report, html)
        typer.echo(str(html))
        if pdf:
            typer.echo(str(print_pdf(html, html.with_suffix(".pdf"))))
    except PdfError as exc:
        fail([str(exc)])
    except OSError as exc:  # a folder that does not exist or cannot be written
        fail([f"{html}: cannot be written: {one_line(exc)}"])


def _decisions(path: Path):
    """The decision log at `path` (the file, or its folder), its chain checked."""
    from sim.gate.decisions import LOG_FILE, DecisionLog, DecisionLogError
    from sim.presentation.report import Decisions

    if path.is_dir() or path.name == LOG_FILE:
        log = DecisionLog(path if path.is_dir() else path.parent)
    else:
        fail([f"{path}: not a decision log (a gate's {LOG_FILE}, or its folder)"])
    if not log.path.is_file():
        fail([f"{log.path}: no such decision log"])
    try:
        broken = log.verify()
        if broken is not None:
            fail([f"{log.path}:{broken.line}: {broken.reason} (the decision log's chain is "
                  "broken: its records cannot be trusted)"])  # fmt: skip
        return Decisions(str(log.path), tuple(log.records()))
    except (DecisionLogError, OSError) as exc:
        fail([one_line(exc)])
