"""`bondlab verify`, `bondlab receipts` and `bondlab surveil`: a run folder as a regulator reads
it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.base import app, fail, one_line, print_wide
from sim.errors import BondlabError


@app.command("verify")
def verify_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run's results folder.")],
    rerun: Annotated[
        bool,
        typer.Option(
            "--rerun/--no-rerun",
            help="Run the manifest's scenario and seed again and compare the files.",
        ),
    ] = True,
) -> None:
    """Verify a run: its audit chain, every file against the manifest's sha256, and a re-run
    from the manifest that must give the same files. Exit status: 0 verified; 1 tampered (the
    first broken record and each changed file are named) or not reproduced; 2 a folder that
    cannot be checked; 3 made with another version (its files intact, its re-run here
    differs)."""
    from sim.records.verify import BadRunFolder, verify

    rerun_with = None
    if rerun:
        from sim.engine.kernel import run as rerun_with  # the engine: only to re-run
    try:
        verdict = verify(run_dir, rerun=rerun_with)
    except BadRunFolder as exc:
        fail([str(exc)])
    except (BondlabError, OSError) as exc:  # unreadable files; a scenario that cannot run here
        fail([f"{run_dir}: cannot be verified: {one_line(exc)}"])
    for line in verdict.findings:
        typer.echo(line)
    raise typer.Exit(verdict.exit_code)


@app.command("receipts")
def receipts_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run's results folder.")],
    agent: Annotated[
        int | None, typer.Option(metavar="N", help="Only the trades of account N, either side.")
    ] = None,
    trade: Annotated[
        int | None, typer.Option(metavar="ID", help="One trade's receipt in full (JSON).")
    ] = None,
    csv: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write the receipts to FILE as CSV.")
    ] = None,
) -> None:
    """Trade receipts: each trade's price, accrued interest, both sides' fees and what each
    paid or received, the valuation in force with its breakdown, and each venue's best bid
    and ask at the time (money in rupees here; in paise in the CSV and JSON)."""
    import json

    import polars as pl

    from sim.records.result import Result
    from sim.records.store import write_bytes_atomically

    try:
        result = Result.load(run_dir)
        table = result.receipts()
        if trade is not None:
            receipt = result.receipt(trade)
            if agent is not None and agent not in (receipt["buyer"]["agent"],
                                                   receipt["seller"]["agent"]):  # fmt: skip
                fail([f"{run_dir}: trade {trade} is not one of account {agent}'s"])
            table = table.filter(pl.col("trade_id") == trade)
        elif agent is not None:
            table = table.filter((pl.col("buyer") == agent) | (pl.col("seller") == agent))
        if csv is not None:
            write_bytes_atomically(csv, table.write_csv().encode())
    except (BondlabError, OSError) as exc:  # a missing or damaged run; an unwritable file
        fail([one_line(exc)])
    if trade is not None:
        typer.echo(json.dumps(receipt, indent=2, ensure_ascii=False))
    elif csv is None:
        print_wide(_receipts_table(table, f"{result.run_id}: {table.height} trades"))
    if csv is not None:
        typer.echo(str(csv))


_RECEIPT_ROWS = 50  # printed; --csv writes them all


def _receipts_table(table, title: str):
    """`bondlab receipts`' table: a row per trade, money in rupees, the venue's own quote."""
    from rich.table import Table

    grid = Table("trade", "time", "venue", "instrument", "buyer", "seller", "qty", "clean",
                 "accrued ₹", "buyer fee ₹", "seller fee ₹", "fair clean", "vs fair bp",
                 "its bid", "its ask", title=title)  # fmt: skip
    for column in grid.columns[4:]:
        column.justify = "right"

    def rupees(paise: int | None) -> str:
        return "" if paise is None else f"{paise / 100:,.2f}"

    def number(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:,.{digits}f}"

    for row in table.head(_RECEIPT_ROWS).iter_rows(named=True):
        venue, tick = row["venue"], row["clean_price"] / row["price"]

        def quote(side: str, row=row, venue=venue, tick=tick) -> str:
            ticks = row.get(f"{venue}_{side}")
            return "" if ticks is None else f"{ticks * tick:,.2f}"

        grid.add_row(
            str(row["trade_id"]), f"{row['datetime']:%Y-%m-%d %H:%M:%S}", venue,
            row["instrument"], str(row["buyer"]), str(row["seller"]), str(row["qty"]),
            number(row["clean_price"], 2), rupees(row["accrued"]), rupees(row["buyer_fee"]),
            rupees(row["seller_fee"]), number(row["fair_clean_price"], 4),
            number(row["price_vs_fair_bp"], 1), quote("bid"), quote("ask"),
        )  # fmt: skip
    if table.height > _RECEIPT_ROWS:
        grid.caption = f"the first {_RECEIPT_ROWS} of {table.height}: --csv FILE writes them all"
    return grid


@app.command("surveil")
def surveil_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run's results folder.")],
    detector: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            help="Run only this detector (repeat for several): spoofing, layering, wash_trade, "
            "marking_the_close, quote_stuffing, momentum_ignition, mm_obligation.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write the alerts to FILE (parquet).")
    ] = None,
) -> None:
    """Market-abuse surveillance of a run: spoofing, layering, wash trades, marking the close,
    quote stuffing, momentum ignition and market makers' obligation breaches, one alert a row
    with its evidence (sim/analytics/surveillance)."""
    import io

    from sim.analytics.surveillance import DETECTOR_NAMES, SurveillanceParams, surveil_result
    from sim.records.result import Result
    from sim.records.store import write_bytes_atomically
    from sim.scenario.config import closest

    unknown = [name for name in detector or () if name not in DETECTOR_NAMES]
    if unknown:
        hints = [closest(name, DETECTOR_NAMES) for name in unknown]
        fail([
            f"--detector {name}: no such detector ("
            + (f"did you mean {hint}? " if hint else "")
            + f"detectors: {', '.join(DETECTOR_NAMES)})"
            for name, hint in zip(unknown, hints, strict=True)
        ])  # fmt: skip
    params = SurveillanceParams(detectors=tuple(dict.fromkeys(detector or DETECTOR_NAMES)))
    try:
        result = Result.load(run_dir)
        alerts = surveil_result(result, params=params)
    except (BondlabError, OSError) as exc:  # a missing or damaged run
        fail([one_line(exc)])
    if out is not None:
        buffer = io.BytesIO()
        alerts.write_parquet(buffer)
        try:
            write_bytes_atomically(out, buffer.getvalue())
        except OSError as exc:
            fail([f"{out}: cannot be written ({exc.strerror or exc})"])
    print_wide(_alerts_table(alerts, f"{result.run_id}: {alerts.height} alerts"))
    if out is not None:
        typer.echo(str(out))


_ALERT_ROWS = 50  # printed; --out writes them all


def _alerts_table(alerts, title: str):
    """`bondlab surveil`'s table: a row per alert, with its evidence."""
    from rich.table import Table

    from sim.analytics.surveillance.alerts import clock

    grid = Table("detector", "agent", "client", "venue", "instrument", "start", "score",
                 "orders", "trades", "evidence", title=title)  # fmt: skip
    for column in (grid.columns[1], *grid.columns[6:9]):
        column.justify = "right"
    for row in alerts.head(_ALERT_ROWS).iter_rows(named=True):
        grid.add_row(
            row["detector"], str(row["agent"]), row["client"] or "", row["venue"] or "",
            row["instrument"] or "", clock(row["start"]), f"{row['score']:.3g}",
            str(len(row["order_ids"])), str(len(row["trade_ids"])), row["evidence"],
        )  # fmt: skip
    counts = alerts["detector"].value_counts(sort=True).iter_rows() if alerts.height else ()
    caption = ", ".join(f"{name} {n}" for name, n in counts)
    if alerts.height > _ALERT_ROWS:
        caption += f"; the first {_ALERT_ROWS} of {alerts.height}: --out FILE writes them all"
    grid.caption = caption or "no alerts"
    return grid
