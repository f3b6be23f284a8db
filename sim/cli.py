"""The ``bondlab`` command line: run scenarios and check scenario files.

A user's mistake (a bad file, flag or override) prints one line per problem on stderr and
exits with status 2, without a traceback; a bug in bondlab still raises.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from sim.engine import collector
from sim.errors import BondlabError
from sim.scenario.model import Scenario, ScenarioError, load_scenario

app = typer.Typer(
    name="bondlab",
    help="Agent-based market simulator for a fractional retail bond marketplace.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain usage errors: one "Error: ..." line
)
scenarios_app = typer.Typer(
    help="List the shipped scenarios; check scenario files.", no_args_is_help=True
)
app.add_typer(scenarios_app, name="scenarios")

# A str, not a Path: "./baseline" is a path, "baseline" a shipped scenario's name.
ScenarioArgument = Annotated[
    str,
    typer.Argument(
        metavar="SCENARIO",
        help="Scenario file (TOML), or the name of a shipped one (bondlab scenarios list).",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="KEY=VALUE", help="Override a value, e.g. sip.buffer_fraction=0.3."
    ),
]


def _fail(problems: Iterable[str]) -> NoReturn:
    for line in problems:
        typer.echo(line, err=True)
    raise typer.Exit(2)


def _load(path: str | Path, overrides: list[str] | None) -> Scenario:
    try:
        return load_scenario(path, overrides or ())
    except ScenarioError as exc:
        _fail(exc.problems)


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
    loaded = _load(scenario, overrides)
    from sim.engine.kernel import run  # the whole engine: only when a run is asked for

    try:
        with _progress(loaded, quiet) as progress:
            result = run(loaded, seed=seed, out=out, progress=progress)
    except (BondlabError, OSError) as exc:  # the user's to fix: scenario, output folder
        _fail([str(exc)])
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
            table.add_row(str(group), str(name), _number(value), end_section=i == len(rows) - 1)
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
        cells = [_number(v / 100) if v is not None else "" for v in (row["pnl_sum"], *sums)]
        table.add_row(kind, str(row["count"]), *cells)
    return table


def _number(value: bool | float) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value) or value == 0 or abs(value) >= 1000:
        return f"{value:,.0f}" if math.isfinite(value) else str(value)
    return f"{value:.4g}"


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
        _fail([str(exc)])
    _print_wide(_compare_table(table))
    for file in files:
        typer.echo(str(file))


def _print_wide(table) -> None:
    """Print a rich table as wide as it needs, never crushed into the terminal's width."""
    from rich.console import Console

    console = Console()
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    console.width = max(console.width, natural)
    console.print(table)


# The terminal's columns (compare.csv has every outcome): name and header.
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
        cells = ("" if row[name] is None else _number(row[name]) for name, _ in _COMPARE_COLUMNS)
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
        _fail(["--keep-runs keeps a calibration's runs, not --fit's trials: drop one of them"])
    loaded = _load(scenario, overrides)
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
        _fail([str(exc)])
    _print_wide(_calibration_table(calibrated))
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
        span = f"{_number(min(got))} to {_number(max(got))}" if got else ""
        mean = "" if r.mean is None else _number(r.mean)
        t = r.target
        grid.add_row(
            t.label, t.kind, mean, span, _number(t.historical), _number(t.tolerance),
            "yes" if r.met else "NO", t.source,
        )  # fmt: skip
    return grid


@app.command("backtest")
def backtest_command(
    strategy: Annotated[
        str,
        typer.Argument(metavar="STRATEGY", help="module:Class or path/to/file.py:Class."),
    ],
    params: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="The strategy's parameters (TOML or JSON)."),
    ] = None,
    scenarios: Annotated[
        str, typer.Option(metavar="A,B,C", help="Scenarios (names or files) to run it in.")
    ] = "baseline",
    seeds: Annotated[str, typer.Option(metavar="0..9", help="Seeds: 0..9, 1,2,5 or 7.")] = "1..3",
    workers: Annotated[
        int, typer.Option(metavar="K", min=1, help="Runs at a time, on a local process pool.")
    ] = 1,
    overrides: Overrides = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR", help="Where its report goes [default: results/backtest/<Class>]."
        ),
    ] = None,
    keep_runs: Annotated[
        bool, typer.Option("--keep-runs", help="Keep each run's results folder in runs/.")
    ] = False,
    walk_forward: Annotated[
        str | None,
        typer.Option(
            metavar="TRAIN,TEST",
            help="Rolling windows of trading days; only the test windows are scored.",
        ),
    ] = None,
) -> None:
    """Backtest a strategy in scenarios over seeds: per-run and aggregate performance, VaR and
    expected shortfall, P&L by scenario, and a tearsheet."""
    from sim.studies import backtest as harness  # the engine: only when asked for

    folder = out or Path("results") / "backtest" / strategy.rpartition(":")[2]
    try:
        chosen = harness.seeds_from(seeds)
        given = harness.read_params(params) if params is not None else {}
        names = [name.strip() for name in scenarios.split(",") if name.strip()]
        windows = None if walk_forward is None else harness.walk_forward_from(walk_forward)
        result = harness.backtest(
            strategy,
            given,
            names,
            chosen,
            overrides=overrides or (),
            workers=workers,
            runs_out=folder / "runs" if keep_runs else None,
            walk_forward=windows,
        )
        harness.write_backtest(result, folder)
    except (BondlabError, OSError) as exc:
        _fail(str(exc).splitlines())
    _print_wide(_backtest_table(result))
    typer.echo(str(folder))


def _backtest_table(result):
    from rich.table import Table

    title = f"{result.strategy}: {len(result.runs)} runs, scored on {result.scoring}"
    table = Table("figure", "value", title=title)
    for key, value in result.aggregate().items():
        table.add_row(key, _number(value))
    return table


TrackingUri = Annotated[
    str | None,
    typer.Option(
        metavar="URI",
        help="MLflow tracking URI [default: MLFLOW_TRACKING_URI, else results/mlflow/].",
    ),
]


@app.command("register")
@app.command("gate")
def gate_command(
    strategy: Annotated[
        str, typer.Argument(metavar="STRATEGY", help="module:Class or path/to/file.py:Class.")
    ],
    name: Annotated[str, typer.Option(metavar="NAME", help="The registered model's name.")],
    params: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="The strategy's parameters (TOML or JSON)."),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="The gate's policy [default: the shipped gate.toml]."),
    ] = None,
    require_approval: Annotated[
        bool,
        typer.Option("--require-approval", help="A passing version waits as candidate."),
    ] = False,
    by: Annotated[str, typer.Option(metavar="WHO", help="Who runs the gate.")] = "ci",
    tracking_uri: TrackingUri = None,
) -> None:
    """Backtest a strategy on the policy's suite, register it as a new version of NAME and
    promote it to production only if it passes every check; exit 1 when it fails. (`register`
    is the same command: every registration runs the gate's suite.)"""
    from sim.gate import registry  # mlflow: only when asked for
    from sim.gate.policy import load_policy
    from sim.studies.backtest import read_params

    try:
        given = read_params(params) if params is not None else {}
        outcome = registry.gate(
            strategy, given, name, load_policy(policy), tracking_uri=tracking_uri, who=by,
            require_approval=require_approval or None,
        )  # fmt: skip
    except BondlabError as exc:
        _fail(str(exc).splitlines())
    _print_wide(_verdict_table(outcome))
    moved = f"now {outcome.alias}" if outcome.alias else "no alias moved"
    typer.echo(f"{name} version {outcome.version}: {outcome.verdict.reason()} ({moved})")
    if not outcome.verdict.passed:
        raise typer.Exit(1)


def _verdict_table(outcome):
    from rich.table import Table

    title = f"{outcome.name} version {outcome.version}"
    table = Table("check", "value", "rule", "passed", title=title)
    for check in outcome.verdict.checks:
        value = "-" if check.value is None else _number(check.value)
        shown = "yes" if check.passed else "NO"
        table.add_row(check.name, value, f"{check.rule} {check.bound:g}", shown)
    return table


@app.command("approve")
def approve_command(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    version: Annotated[int, typer.Argument(metavar="VERSION")],
    by: Annotated[str, typer.Option(metavar="WHO", help="Who approves it.")],
    tracking_uri: TrackingUri = None,
) -> None:
    """Promote a candidate version (one the gate passed, approval required) to production."""
    from sim.gate import registry

    try:
        registry.approve(name, version, by, tracking_uri=tracking_uri)
    except BondlabError as exc:
        _fail([str(exc)])
    typer.echo(f"{name} version {version}: production, approved by {by}")


@app.command("rollback")
def rollback_command(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    by: Annotated[str, typer.Option(metavar="WHO", help="Who rolls it back.")] = "ops",
    tracking_uri: TrackingUri = None,
) -> None:
    """Give production back to the version that held it before."""
    from sim.gate import registry

    try:
        record = registry.rollback(name, who=by, tracking_uri=tracking_uri)
    except BondlabError as exc:
        _fail([str(exc)])
    typer.echo(f"{name}: production is version {record['production']} again")


@app.command("gate-history")
def gate_history_command(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    at: Annotated[
        str | None,
        typer.Option(metavar="TIME", help="ISO time: which version was production then."),
    ] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """The decision log of NAME (its chain checked first): every decision, approval and
    rollback; with --at, the version that was production at that time."""
    from datetime import UTC, datetime

    from sim.gate import registry

    when = None
    if at is not None:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            _fail([f"--at {at!r}: expected an ISO time, e.g. 2026-12-05T09:00"])
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    try:
        if when is not None:
            version = registry.production_at(name, when, tracking_uri=tracking_uri)
            typer.echo(f"{name} at {when.isoformat()}: production was version {version}")
            return
        records = registry.history(name, tracking_uri=tracking_uri)
    except BondlabError as exc:
        _fail([str(exc)])
    _print_wide(_history_table(name, records))


def _history_table(name: str, records):
    from rich.table import Table

    table = Table("time", "kind", "version", "who", "production after", "reason", title=name)
    for r in records:
        table.add_row(
            r["time"], r["kind"], str(r["version"]), str(r.get("who", "")),
            str(r.get("production")), str(r.get("reason", "")),
        )  # fmt: skip
    return table


@app.command("monitor")
def monitor_command(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    stream: Annotated[
        str,
        typer.Option(
            metavar="RUN_DIR_OR_SCENARIO",
            help="A finished run's folder to replay, or a scenario (name or file) to run.",
        ),
    ],
    policy: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="The gate's policy [default: the shipped gate.toml]."),
    ] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Re-score NAME's production version on a fresh stream and compare it with its gate
    figures; on degradation, alert (exit 1) and roll back when the policy says so."""
    from sim.gate.monitor import monitor
    from sim.gate.policy import load_policy

    try:
        outcome = monitor(name, stream, load_policy(policy), tracking_uri=tracking_uri)
    except BondlabError as exc:
        _fail(str(exc).splitlines())
    typer.echo(
        f"{name} version {outcome.version} on {stream}: sharpe {outcome.sharpe:.4g} "
        f"(gate {outcome.gate_sharpe:.4g}), max drawdown {outcome.max_drawdown:.4%}"
    )
    if outcome.degraded:
        typer.echo(f"DEGRADED: {'; '.join(outcome.reasons)}")
        if outcome.rolled_back_to is not None:
            typer.echo(f"rolled back: production is version {outcome.rolled_back_to}")
        raise typer.Exit(1)


@app.command("serve")
def serve_command(
    scenario: ScenarioArgument,
    host: Annotated[str, typer.Option(metavar="HOST", help="Interface to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(metavar="PORT", min=1, max=65535)] = 8000,
    speed: Annotated[
        float,
        typer.Option(metavar="X", min=0.001, max=1e6, help="Simulated seconds a wall second."),
    ] = 1.0,
    journal: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Journal every request here; restart from it."),
    ] = None,
    accounts: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Client accounts and API keys (TOML)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(metavar="N", min=0)] = None,
    overrides: Overrides = None,
) -> None:
    """Serve a scenario's venues over HTTP and WebSocket (FastAPI + uvicorn), with the
    background agents trading on the wall clock scaled by SPEED."""
    from sim.service.server import resolve_accounts, serve  # fastapi: only when asked for

    loaded = _load(scenario, overrides)
    try:
        chosen, origin = resolve_accounts(loaded, accounts, journal)
        typer.echo(origin)
        serve(loaded, chosen, host=host, port=port, speed=speed, seed=seed, journal=journal,
              announce=typer.echo)  # fmt: skip
    except BondlabError as exc:
        _fail(str(exc).splitlines())
    except OSError as exc:  # the port is taken, the folder not writable
        _fail([f"cannot serve: {exc}"])


@app.command("live")
def live_command(
    model: Annotated[
        str, typer.Option(metavar="URI", help="models:/NAME@production (or models:/NAME/VERSION).")
    ],
    url: Annotated[str, typer.Option(metavar="URL", help="The exchange service.")],
    api_key: Annotated[str, typer.Option(metavar="KEY", help="The trading account's API key.")],
    duration: Annotated[
        float | None,
        typer.Option(metavar="S", min=0.0, help="Stop after S seconds [default: Ctrl-C]."),
    ] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Trade a strategy version the gate promoted at the exchange service (bondlab serve),
    through the same Strategy API as in simulation; refuse any version that does not hold
    production or whose artifacts differ from the ones the gate judged."""
    from sim.live.runner import run_live  # mlflow, httpx: only when asked for

    try:
        summary = run_live(model, url, api_key, duration_s=duration, tracking_uri=tracking_uri)
    except BondlabError as exc:
        _fail(str(exc).splitlines())
    typer.echo(
        f"{summary.name} version {summary.version} ({summary.strategy}) stopped by "
        f"{summary.stopped_by}: {summary.messages} messages, {summary.requests} requests, "
        f"{summary.fills} fills, {summary.cancelled_at_end} orders cancelled at the end"
    )
    held = ", ".join(f"{b} {q}" for b, q in sorted(summary.positions_at_end.items())) or "none"
    typer.echo(f"positions at the end: {held}")
    if not summary.reconciled:
        for bond, (expected, held_now) in summary.mismatches.items():
            typer.echo(f"NOT reconciled: {bond}: expected {expected}, service holds {held_now}")
        raise typer.Exit(1)
    typer.echo("reconciled with the service")


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
        _fail([str(exc)])
    except FileNotFoundError:
        _fail([f"{scenario}: no such file"])
    except (OSError, UnicodeDecodeError) as exc:
        _fail([f"{scenario}: cannot read it ({exc})"])
    typer.echo(text, nl=False)


@scenarios_app.command("validate")
def validate_command(scenario: ScenarioArgument, overrides: Overrides = None) -> None:
    """Check a scenario (with overrides) and print what it holds."""
    loaded = _load(scenario, overrides)
    populations = ", ".join(loaded.populations) or "none"
    typer.echo(
        f"ok: {loaded.name} ({loaded.hash[:12]}), {len(loaded.instruments)} instruments, "
        f"{len(loaded.venues)} venues, populations: {populations}"
    )


def main() -> NoReturn:
    """Entry point of the ``bondlab`` console script."""
    collector.off_during_start_up()
    try:
        app()
    except SystemExit as done:
        code = done.code
    else:
        code = 0
    if not isinstance(code, int):  # sys.exit("message") convention
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    # Tearing down numba's LLVM, polars, pandas and scipy at exit takes a quarter of a
    # second and does nothing for a finished command: its files are written and closed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
