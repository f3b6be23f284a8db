"""`bondlab pulse`: a run's Liquidity Pulse as a role sees it (`sim.pulse.roles`), its files
and its sector × rating heatmap."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.base import app, fail, one_line, print_wide
from sim.errors import BondlabError

_ROWS = 50  # printed; --out writes them all
_OUT_SUFFIXES = (".parquet", ".json")
_FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


@app.command("pulse")
def pulse_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run's results folder.")],
    bond: Annotated[
        str | None, typer.Option(metavar="ID", help="One bond's rows over the run.")
    ] = None,
    role: Annotated[
        str,
        typer.Option(
            metavar="ROLE",
            help="retail (the score, its band and a sentence), professional (with the "
            "features and drivers, per venue) or regulator (everything, uncertainties and "
            "the run's provenance).",
        ),
    ] = "professional",
    interval: Annotated[
        str, typer.Option(metavar="SPEC", help="The Pulse's interval: 1d, 1h, ...")
    ] = "1d",
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Write the view's rows, every interval of that kind (.parquet, the "
            "regulator's metadata in its key-value metadata; or .json with the metadata).",
        ),
    ] = None,
    heatmap: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Save the sector × rating heatmap of the last day (.png, .svg, .pdf).",
        ),
    ] = None,
) -> None:
    """The Liquidity Pulse of a run as a role sees it: without --bond each bond's last
    interval, with --bond that bond's intervals over the run. Read from pulse.parquet, or
    computed from the run's records when the run has none."""
    import polars as pl

    from sim.pulse.roles import ViewError, check_role, provenance, view
    from sim.records.result import Result

    try:
        check_role(role)
    except ViewError as exc:
        fail([f"--role {role}: {exc}"])
    for option, file in (("--out", out), ("--heatmap", heatmap)):
        if file is not None and file.resolve().is_relative_to(run_dir.resolve()):
            fail([f"{option} {file}: not inside the run folder, whose files its manifest lists"])
    if out is not None and out.suffix not in _OUT_SUFFIXES:
        fail([f"--out {out}: write {' or '.join(_OUT_SUFFIXES)}"])
    if heatmap is not None and heatmap.suffix not in _FIGURE_SUFFIXES:
        fail([f"--heatmap {heatmap}: write {', '.join(_FIGURE_SUFFIXES)}"])
    try:
        result = Result.load(run_dir)
        frame = result.pulse
        metadata = provenance(result, result.pulse_settings.params)
    except (BondlabError, OSError) as exc:  # a missing or damaged run
        fail([one_line(exc)])
    intervals = frame["interval"].unique(maintain_order=True).to_list()
    if interval not in intervals:
        fail([f"--interval {interval}: the Pulse of {result.run_id} has {', '.join(intervals)}"])
    try:
        seen = view(frame.filter(pl.col("interval") == interval), role, bond, metadata=metadata)
    except ViewError as exc:
        fail([f"--bond {bond}: {exc}"])
    if out is not None:
        _write(out, _view_bytes(seen, out.suffix))
    if heatmap is not None:
        _write(heatmap, _heatmap_bytes(frame, heatmap))
    if role == "regulator":
        for key, value in seen.metadata.items():
            shown = json.dumps(value, sort_keys=True) if isinstance(value, dict) else value
            typer.echo(f"{key}: {shown}")
    rows = seen.rows if bond is not None else _last_interval(seen.rows)
    what = bond or f"{rows['instrument'].n_unique()} bonds, the last interval"
    print_wide(_table(rows, role, f"{result.run_id}: the Pulse ({interval}) as {role}, {what}"))
    for file in (out, heatmap):
        if file is not None:
            typer.echo(str(file))


def _last_interval(rows):
    """Each bond's rows of its last interval."""
    import polars as pl

    return rows.filter(pl.col("start") == pl.col("start").max().over("instrument"))


def _write(file: Path, data: bytes) -> None:
    from sim.records.store import write_bytes_atomically

    try:
        write_bytes_atomically(file, data)
    except OSError as exc:
        fail([f"{file}: cannot be written ({exc.strerror or exc})"])


def _view_bytes(seen, suffix: str) -> bytes:
    """The view as a file: parquet (the metadata as the file's key-value metadata, for the
    regulator) or JSON."""
    from sim.records.store import to_json_ready

    if suffix == ".json":
        text = json.dumps(to_json_ready(seen.to_dict()), indent=2, allow_nan=False)
        return (text + "\n").encode()
    buffer = io.BytesIO()
    about = {"bondlab.pulse.role": seen.role}
    if seen.metadata:
        about["bondlab.pulse.metadata"] = json.dumps(to_json_ready(seen.metadata), sort_keys=True)
    seen.rows.write_parquet(buffer, metadata=about)
    return buffer.getvalue()


def _heatmap_bytes(frame, file: Path) -> bytes:
    """The heatmap of the combined score (of liquidity when the run has no rated bonds), in
    `file`'s format."""
    from sim.presentation.pulse_heatmap import pulse_heatmap

    value = "score" if frame["score"].is_not_null().any() else "liquidity"
    try:
        figure = pulse_heatmap(frame, value=value)
    except ValueError as exc:  # settings without daily intervals
        fail([f"--heatmap {file}: {exc}"])
    buffer = io.BytesIO()
    figure.savefig(buffer, format=file.suffix.lstrip("."), dpi=120)
    return buffer.getvalue()


def _table(rows, role: str, title: str):
    """The terminal's table: a row per bond and interval (`_columns`)."""
    import polars as pl
    from rich.table import Table

    columns = _columns(role)
    grid = Table(*(header for header, _, _ in columns), title=title)
    for column, (_, _, right) in zip(grid.columns, columns, strict=True):
        column.justify = "right" if right else "left"
    end = pl.from_epoch("end", time_unit="ns").dt.strftime("%Y-%m-%d %H:%M")
    for row in rows.head(_ROWS).with_columns(time=end).iter_rows(named=True):
        grid.add_row(*(cell(row) for _, cell, _ in columns))
    if rows.height > _ROWS:
        grid.caption = f"the first {_ROWS} of {rows.height} rows: --out FILE writes them all"
    return grid


def _columns(role: str) -> list[tuple[str, Callable[[dict], str], bool]]:
    """(header, the cell of a row, right-justified) of each column `role` is shown: retail's
    sentence; the professional's indices, drivers and features per venue; the regulator's
    with each index's uncertainty and the issuer's rating."""
    if role == "retail":
        return [
            ("bond", lambda r: r["instrument"], False),
            ("time", lambda r: r["time"], False),
            ("score", lambda r: _number(r["score"], 0), True),
            ("band", lambda r: r["band"] or "", False),
            ("explanation", lambda r: r["explanation"], False),
        ]
    regulator = role == "regulator"

    def index(name: str) -> tuple[str, Callable[[dict], str], bool]:
        if regulator:
            return f"{name} ± sd", lambda r: _spread(r[name], r[f"{name}_uncertainty"]), True
        return name, lambda r: _number(r[name], 1), True

    return [
        ("bond", lambda r: r["instrument"], False),
        ("venue", lambda r: r["venue"], False),
        *([("rating", lambda r: r["rating"] or "", False)] if regulator else []),
        ("time", lambda r: r["time"], False),
        index("score"),
        ("band", lambda r: r["band"] or "", False),
        index("liquidity"),
        index("repayment"),
        ("drivers", lambda r: _drivers(r["score_drivers"] or r["liquidity_drivers"]), False),
        ("spread bp", lambda r: _number(r["quoted_spread_bp"], 1), True),
        ("depth ₹", lambda r: _number(r["depth_rupees"], 0), True),
        ("makers", lambda r: _number(r["makers_two_sided"], 1), True),
        ("turnover", lambda r: _number(r["turnover_velocity"], 3), True),
        ("since trade min", lambda r: _number(r["minutes_since_trade"], 1), True),
    ]


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _spread(value: float | None, sd: float | None) -> str:
    return "" if value is None else f"{value:.1f} ± {sd:.1f}"


def _drivers(drivers: list[dict] | None) -> str:
    """The top drivers as "depth +5.8, quoted_spread -2.4"."""
    return ", ".join(f"{d['feature']} {d['points']:+.1f}" for d in drivers or ())
