"""`bondlab run`, `compare`, `calibrate` and `scenarios`: single runs and the scenario files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from sim.cli.base import (
    Overrides,
    ScenarioArgument,
    app,
    fail,
    load,
    number,
    print_wide,
    scenarios_app,
)
from sim.errors import BondlabError
from sim.scenario.model import Scenario


@app.command("run")
def run_command(
    scenario: ScenarioArgument,
    seed: Annotated[
        int | None,
        typer.Option(metavar="N", min=0, help="Seed of the run [default: the scenario's]."),
    ] = None,
    overrides: Overrides = None,
    out: Annotated[Path, typer.Option(metavar="DIR", help="Where run folders are written.")] = Path(
        "results"
    ),
    quiet: Annotated[
        bool, typer.Option("--quiet", help="No progress bar or summary; just print the path.")
    ] = False,
) -> None:
    """Run a scenario and write its results to OUT/<run_id>/."""
    loaded = load(scenario, overrides)
    from sim.engine.kernel import run  # the whole engine: only when a run is asked for

    try:
        with _progress(loaded, quiet) as progress:
            result = run(loaded, seed=seed, out=out, progress=progress)
    except (BondlabError, OSError) as exc:  # the user's to fix: scenario, output folder
        fail([str(exc)])
    if not quiet:
        _print_summary(result.metrics, loaded.recording.marks)
    typer.echo(str(result.path))


@contextmanager
def _progress(scenario: Scenario, quiet: bool) -> Iterator[Callable[[int, int, int], None] | None]:
    """A progress callback that draws a bar in simulated time (None when quiet)."""
    if quiet:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from sim.engine.build import trading_calendar

    spec = scenario.calendar
    calendar = trading_calendar(spec)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[clock]}"))
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(scenario.name, total=1.0, clock="")

        def progress(now_ns: int, start_ns: int, end_ns: int) -> None:
            day = calendar.day_index(max(now_ns, start_ns)) + 1
            clock = f"day {day}/{spec.days} {calendar.to_datetime(now_ns):%H:%M}"
            done = (now_ns - start_ns) / max(end_ns - start_ns, 1)
            bar.update(task, completed=min(max(done, 0.0), 1.0), clock=clock)

        yield progress


def _print_summary(metrics: dict[str, Any], marks: str) -> None:
    """Each top-level group's scalar metrics as a table (nested groups are left to notebooks)."""
    from rich.console import Console
    from rich.table import Table

    table = Table("group", "metric", "value", title="Summary")
    for group, values in metrics.items():
        if not isinstance(values, dict):
            values, group = {group: values}, ""
        rows = [(k, v) for k, v in values.items() if isinstance(v, bool | int | float)]
        for i, (name, value) in enumerate(rows):
            table.add_row(str(group), str(name), number(value), end_section=i == len(rows) - 1)
    console = Console()
    console.print(table)
    by_kind = metrics.get("pnl_by_kind")
    if by_kind:
        console.print(_pnl_table(by_kind, marks))


def _pnl_table(by_kind: dict[str, dict], marks: str):
    """PnL by agent kind with its parts, in rupees (`sim.analytics.attribution`)."""
    from rich.table import Table

    parts = ("carry", "valuation", "trading", "fees")
    basis = "marked to mid" if marks == "mid" else "at evaluated prices"
    table = Table("kind", "agents", "pnl", *parts, title=f"PnL by kind (rupees, {basis})")
    for kind, row in by_kind.items():
        sums = [row.get(f"pnl_{part}_sum") for part in parts]
        cells = [number(v / 100) if v is not None else "" for v in (row["pnl_sum"], *sums)]
        table.add_row(kind, str(row["count"]), *cells)
    return table


@app.command("compare")
def compare_command(
    runs: Annotated[
        list[Path], typer.Argument(metavar="RUN_DIR", help="Results folders of finished runs.")
    ],
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="Where compare.csv and compare.png are written.")
    ] = Path("results/compare"),
) -> None:
    """Compare runs side by side: market quality and stress outcomes, a table and a figure."""
    from sim.presentation import compare

    try:
        results = compare.load_runs(runs)
        table = compare.compare(results)
        files = compare.write(table, compare.figure(results), out)
    except (BondlabError, OSError) as exc:  # a missing or damaged run; an unwritable folder
        fail([str(exc)])
    print_wide(_compare_table(table))
    for file in files:
        typer.echo(str(file))


_COMPARE_COLUMNS = (
    ("spread_bp", "spread\nbp"),
    ("depth_top5", "depth\ntop 5"),
    ("volatility_1min", "vol\n1 min"),
    ("turnover_rupees_per_day", "turnover\n₹/day"),
    ("spread_multiple", "spread\n×"),
    ("depth_multiple", "depth\n×"),
    ("volume_multiple", "volume\n×"),
    ("yield_move_bp", "yield\nmove bp"),
    ("credit_spread_move_bp", "credit\nmove bp"),
    ("drawdown_pct", "drawdown\n% A-"),
    ("discount_to_fair_bp", "below\nfair bp"),
    ("sip_absorption", "SIP\nabsorbed"),
    ("margin_calls", "margin\ncalls"),
    ("forced_sale_units", "forced\nsales"),
    ("maker_presence", "maker\npresence"),
)


_COMPARE_CAPTION = (
    "×: the stress window's worst day over the days before it; moves at their peak; "
    "drawdown and discount of bonds rated A and below; SIP absorbed, margin calls, forced "
    "sales and maker presence over the run. compare.csv has every outcome."
)


def _compare_table(table):
    """`bondlab compare`'s table: a row per run, its headline columns."""
    from rich.table import Table

    grid = Table("run", "scenario", title="Runs", caption=_COMPARE_CAPTION)
    for _, header in _COMPARE_COLUMNS:
        grid.add_column(header, justify="right")
    for row in table.iter_rows(named=True):
        cells = ("" if row[name] is None else number(row[name]) for name, _ in _COMPARE_COLUMNS)
        grid.add_row(row["run_id"], row["scenario"], *cells)
    return grid


@app.command("calibrate")
def calibrate_command(
    scenario: ScenarioArgument,
    seeds: Annotated[
        int | None,
        typer.Option(metavar="N", min=1, help="Seeds to run [default: calibration.seeds]."),
    ] = None,
    overrides: Overrides = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Where calibration.json and calibration.png go [default: "
            "results/calibration/<scenario>].",
        ),
    ] = None,
    fit: Annotated[
        bool,
        typer.Option(
            "--fit", help="Search calibration.free (Optuna) to meet the emergent targets."
        ),
    ] = False,
    trials: Annotated[
        int, typer.Option(metavar="N", min=1, help="With --fit: how many trials to spend.")
    ] = 20,
    keep_runs: Annotated[
        bool,
        typer.Option(
            "--keep-runs", help="Keep each seed's results folder, in runs/ beside the figure."
        ),
    ] = False,
) -> None:
    """Run a stress scenario over seeds and set each calibration target beside its history;
    exit 1 when a target is missed."""
    if fit and keep_runs:
        fail(["--keep-runs keeps a calibration's runs, not --fit's trials: drop one of them"])
    loaded = load(scenario, overrides)
    from sim.studies import calibration as study  # the engine: only when asked for

    count = seeds or (loaded.calibration.seeds if loaded.calibration else 1)
    chosen = study.default_seeds(loaded, count)
    folder = out or Path("results") / "calibration" / loaded.name
    try:
        study.check_metrics(loaded)
        if fit:
            found = study.fit(scenario, overrides or (), chosen, trials)
            calibrated = found.calibration
            typer.echo(f"fitted ({trials} trials, loss {found.loss:.4g}):")
            for key, value in found.params.items():
                typer.echo(f"  --set {key}={value:.6g}")
        else:
            runs_out = folder / "runs" if keep_runs else None
            calibrated = study.calibrate(loaded, chosen, runs_out=runs_out)
        study.write_calibration(calibrated, folder)
        if fit:
            study.write_fit(found, folder)
    except (BondlabError, OSError) as exc:  # no [calibration], an unknown metric, a folder
        fail([str(exc)])
    print_wide(_calibration_table(calibrated))
    typer.echo(str(folder))
    if not calibrated.met:
        raise typer.Exit(1)


def _calibration_table(calibrated):
    from rich.table import Table

    seeds = len(calibrated.seeds)
    title = f"{calibrated.scenario}: {seeds} seed{'s' * (seeds != 1)}"
    grid = Table("target", "kind", "simulated", "range", "historical", "±", "met", "source")
    grid.title = title
    for r in calibrated.results:
        got = r.measured
        span = f"{number(min(got))} to {number(max(got))}" if got else ""
        mean = "" if r.mean is None else number(r.mean)
        t = r.target
        grid.add_row(
            t.label, t.kind, mean, span, number(t.historical), number(t.tolerance),
            "yes" if r.met else "NO", t.source,
        )  # fmt: skip
    return grid


@scenarios_app.command("list")
def list_command() -> None:
    """Print the shipped scenarios: each one's name, the dates it spans and what it is."""
    from sim.scenario import library

    shipped = library.names()
    files = [library.folder() / f"{name}{library.SUFFIX}" for name in shipped]
    periods = [library.period(file) for file in files]
    width = max(map(len, shipped), default=0)
    span = max(map(len, periods), default=0)
    for name, when, file in zip(shipped, periods, files, strict=True):
        typer.echo(f"{name:<{width}}  {when:<{span}}  {library.summary(file)}".rstrip())


@scenarios_app.command("show")
def show_command(scenario: ScenarioArgument) -> None:
    """Print a scenario file as it is written: a shipped one by name, or a path."""
    from sim.scenario import library

    try:
        text = Path(library.locate(scenario)).read_text(encoding="utf-8")
    except library.UnknownScenario as exc:
        fail([str(exc)])
    except FileNotFoundError:
        fail([f"{scenario}: no such file"])
    except (OSError, UnicodeDecodeError) as exc:
        fail([f"{scenario}: cannot read it ({exc})"])
    typer.echo(text, nl=False)


@scenarios_app.command("validate")
def validate_command(scenario: ScenarioArgument, overrides: Overrides = None) -> None:
    """Check a scenario (with overrides) and print what it holds."""
    loaded = load(scenario, overrides)
    populations = ", ".join(loaded.populations) or "none"
    typer.echo(
        f"ok: {loaded.name} ({loaded.hash[:12]}), {len(loaded.instruments)} instruments, "
        f"{len(loaded.venues)} venues, populations: {populations}"
    )
