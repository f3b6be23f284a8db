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


@app.command("sweep")
def sweep_command(
    scenario: ScenarioArgument,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY=SPEC",
            help="A key and its values, start:stop:step (stop included when a step lands on "
            "it) or v1,v2,...; repeat for more keys: every combination runs.",
        ),
    ] = None,
    seeds: Annotated[
        str, typer.Option(metavar="N", help="Seeds 1 to N (or A..B, or 1,2,5).")
    ] = "1",
    workers: Annotated[
        int, typer.Option(metavar="K", min=1, help="Runs at a time, on a local process pool.")
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(metavar="tcp://HOST:PORT", help="Run on this Dask cluster instead."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="The sweep's folder [default: results/sweeps/<scenario>-<hash of the sweep>].",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the sweep in its folder, which must hold it (the same command run "
            "again continues it too).",
        ),
    ] = False,
    overrides: Overrides = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Run a scenario at every point of a grid over seeds: a row of metrics per run
    (rows.parquet, written as it goes) and per point their means with 95% confidence intervals
    (summary.parquet, summary.csv); exit 1 when a run failed (its row holds the error)."""
    from sim.studies import sweep as study  # the engine: only when asked for

    try:
        chosen = study.parse_seeds(seeds)
        planned = study.plan(scenario, grid or (), chosen, overrides=overrides or ())
    except ScenarioError as exc:
        _fail(exc.problems)
    except BondlabError as exc:
        _fail([str(exc)])
    folder = out or planned.default_folder()
    tasks = len(planned.points) * len(planned.seeds)
    try:
        with _sweep_progress(planned.scenario, quiet) as progress:
            rows = study.run_plan(planned, workers=workers, scheduler=scheduler, out=folder,
                                  resume=resume, progress=progress)  # fmt: skip
    except (BondlabError, OSError) as exc:  # the folder, the scheduler
        _fail([str(exc)])
    except KeyboardInterrupt:
        typer.echo(f"interrupted: run the same command again to continue {folder}", err=True)
        raise typer.Exit(130) from None
    failed = rows.filter(rows["status"] != "ok")
    typer.echo(
        f"{planned.scenario}: {len(planned.points)} points x {len(planned.seeds)} seeds, "
        f"{tasks - failed.height} runs ok, {failed.height} failed"
    )
    if failed.height:
        first = failed.row(0, named=True)
        typer.echo(f"first failure: point {first['point']} seed {first['seed']}: {first['error']}")
    typer.echo(str(folder))
    if failed.height:
        raise typer.Exit(1)


@contextmanager
def _sweep_progress(name: str, quiet: bool) -> Iterator[Callable[[int, int, int], None] | None]:
    """A progress callback that draws a bar of runs done with an ETA (None when quiet)."""
    if quiet:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[failed]}"), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn())  # fmt: skip
    bar = Progress(*columns, console=Console(stderr=True))
    tasks = []  # added on the first call, at the runs a resumed sweep had done (not in its ETA)

    def progress(done: int, total: int, errors: int) -> None:
        failed = f"{errors} failed" if errors else ""
        if not tasks:  # started here, once the sweep runs: a refused one prints only its error
            bar.start()
            tasks.append(bar.add_task(name, total=total, completed=done, failed=failed))
        bar.update(tasks[0], completed=done, failed=failed)

    try:
        yield progress
    finally:
        if tasks:  # an idle bar's stop prints a blank line
            bar.stop()


study_app = typer.Typer(
    help="Studies built on sweeps: sip-buffer sizes the SIP liquidity-recycling buffer.",
    no_args_is_help=True,
)
app.add_typer(study_app, name="study")


@study_app.command("sip-buffer")
def sip_buffer_command(
    seeds: Annotated[
        str | None,
        typer.Option(metavar="N", help="Seeds 1 to N (or A..B, or 1,2,5) [default: 20; 2 quick]."),
    ] = None,
    shares: Annotated[
        str | None,
        typer.Option(
            metavar="SPEC",
            help="Buffer shares, start:stop:step or v1,v2 [default: 0:0.5:0.05; 0,0.5 quick].",
        ),
    ] = None,
    target: Annotated[
        float, typer.Option(metavar="SHARE", help="Target share of early exits absorbed.")
    ] = 0.8,
    workers: Annotated[
        int, typer.Option(metavar="K", min=1, help="Runs at a time, on a local process pool.")
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(metavar="tcp://HOST:PORT", help="Run on this Dask cluster instead."),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(metavar="DIR", help="The study's folder (its sweeps resume there)."),
    ] = Path("results/studies/sip_buffer"),
    sobol: Annotated[
        int | None,
        typer.Option(
            "--sobol",
            metavar="N",
            help="Sobol base sample (a power of 2: N x 7 runs); 0 skips [default: 32; 2 quick].",
        ),
    ] = None,
    carry_rate: Annotated[
        float | None,
        typer.Option(
            metavar="RATE",
            help="Yearly rate the idle buffer forgoes [default: the SIP bonds' mean yield].",
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="A tiny market, 2 shares x 2 seeds: a smoke run.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Size the SIP buffer: sweep the pool's share of inflows in the calm market and in
    covid_2020's redemption wave (scenarios/sip_buffer_study.toml), and find the smallest share
    absorbing --target of early exits with its 95% CI over seeds; rank the levers of absorption
    by Sobol indices. Writes table.csv/.md, crossing.csv, sip_buffer.png, sobol.csv/.png and
    study.json to --out; exit 1 when a run failed."""
    from sim.studies import sip_buffer  # the study and its sweeps: only when asked for

    try:
        planned = sip_buffer.plan_study(shares=shares, seeds=seeds, target=target,
                                        sobol_samples=sobol, carry_rate=carry_rate,
                                        quick=quick)  # fmt: skip
    except ScenarioError as exc:
        _fail(exc.problems)
    except BondlabError as exc:
        _fail([str(exc)])
    try:
        with _study_progress(quiet) as progress:
            result = sip_buffer.run_study(planned, out, workers=workers, scheduler=scheduler,
                                          progress=progress)  # fmt: skip
    except (BondlabError, OSError) as exc:  # the folder, the scheduler
        _fail([str(exc)])
    except KeyboardInterrupt:
        typer.echo(f"interrupted: run the same command again to continue {out}", err=True)
        raise typer.Exit(130) from None
    spec, record = planned.spec, result.record
    failed = sum(s["errors"] for s in record["sweeps"].values())
    typer.echo(
        f"{spec.scenario}: {len(spec.shares)} shares x {len(spec.seeds)} seeds in "
        f"{len(spec.conditions)} conditions"
        + (f", Sobol N={spec.sobol_samples}" if spec.sobol_samples else "")
        + f": {record['runs']} runs, {failed} failed"
    )
    typer.echo(f"smallest buffer share absorbing {spec.target:.0%} of early exits by value "
               "(95% CI over seeds):")  # fmt: skip
    for row in result.crossings.filter(result.crossings["measure"] == "absorption_value").iter_rows(
        named=True
    ):
        typer.echo(f"  {row['condition']}: {_share(row['estimate'])} "
                   f"[{_share(row['ci_low'])}, {_share(row['ci_high'])}]")  # fmt: skip
    if result.sobol is not None:
        ranked = ", ".join(
            f"{r['factor']} {r['ST']:.2f}" for r in result.sobol.iter_rows(named=True)
        )
        typer.echo(f"Sobol total indices of absorption: {ranked}")
    typer.echo(str(result.folder))
    if failed:
        raise typer.Exit(1)


def _share(value: float | None) -> str:
    return "beyond the grid" if value is None else f"{value:.3f}"


@contextmanager
def _study_progress(quiet: bool) -> Iterator[Callable[[str, int, int, int], None] | None]:
    """A progress callback for a study's sweeps, one after the other: a bar each."""
    if quiet:
        yield None
        return
    current: list[Any] = []  # [sweep name, its bar's context, its callback]

    def progress(name: str, done: int, total: int, errors: int) -> None:
        if not current or current[0] != name:
            if current:
                current[1].__exit__(None, None, None)
            bar = _sweep_progress(name, quiet=False)
            current[:] = [name, bar, bar.__enter__()]
        current[2](done, total, errors)

    try:
        yield progress
    finally:
        if current:
            current[1].__exit__(None, None, None)


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
        _fail([str(exc)])
    except (BondlabError, OSError) as exc:  # unreadable files; a scenario that cannot run here
        _fail([f"{run_dir}: cannot be verified: {_one_line(exc)}"])
    for line in verdict.findings:
        typer.echo(line)
    raise typer.Exit(verdict.exit_code)


def _one_line(exc: BaseException) -> str:
    return " / ".join(line for line in str(exc).splitlines() if line) or type(exc).__name__


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
                _fail([f"{run_dir}: trade {trade} is not one of account {agent}'s"])
            table = table.filter(pl.col("trade_id") == trade)
        elif agent is not None:
            table = table.filter((pl.col("buyer") == agent) | (pl.col("seller") == agent))
        if csv is not None:
            write_bytes_atomically(csv, table.write_csv().encode())
    except (BondlabError, OSError) as exc:  # a missing or damaged run; an unwritable file
        _fail([_one_line(exc)])
    if trade is not None:
        typer.echo(json.dumps(receipt, indent=2, ensure_ascii=False))
    elif csv is None:
        _print_wide(_receipts_table(table, f"{result.run_id}: {table.height} trades"))
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
