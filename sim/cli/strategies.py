"""`bondlab backtest`, and the gate's commands: `gate` (`register`), `approve`, `rollback`,
`gate-history` and `monitor`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.base import (
    Overrides,
    TrackingUri,
    app,
    fail,
    number,
    print_wide,
)
from sim.errors import BondlabError


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
        fail(str(exc).splitlines())
    print_wide(_backtest_table(result))
    typer.echo(str(folder))


def _backtest_table(result):
    from rich.table import Table

    title = f"{result.strategy}: {len(result.runs)} runs, scored on {result.scoring}"
    table = Table("figure", "value", title=title)
    for key, value in result.aggregate().items():
        table.add_row(key, number(value))
    return table


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
        fail(str(exc).splitlines())
    print_wide(_verdict_table(outcome))
    moved = f"now {outcome.alias}" if outcome.alias else "no alias moved"
    typer.echo(f"{name} version {outcome.version}: {outcome.verdict.reason()} ({moved})")
    if not outcome.verdict.passed:
        raise typer.Exit(1)


def _verdict_table(outcome):
    from rich.table import Table

    title = f"{outcome.name} version {outcome.version}"
    table = Table("check", "value", "rule", "passed", title=title)
    for check in outcome.verdict.checks:
        value = "-" if check.value is None else number(check.value)
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
        fail([str(exc)])
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
        fail([str(exc)])
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
            fail([f"--at {at!r}: expected an ISO time, e.g. 2026-12-05T09:00"])
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    try:
        if when is not None:
            version = registry.production_at(name, when, tracking_uri=tracking_uri)
            typer.echo(f"{name} at {when.isoformat()}: production was version {version}")
            return
        records = registry.history(name, tracking_uri=tracking_uri)
    except BondlabError as exc:
        fail([str(exc)])
    print_wide(_history_table(name, records))


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
        fail(str(exc).splitlines())
    typer.echo(
        f"{name} version {outcome.version} on {stream}: sharpe {outcome.sharpe:.4g} "
        f"(gate {outcome.gate_sharpe:.4g}), max drawdown {outcome.max_drawdown:.4%}"
    )
    if outcome.degraded:
        typer.echo(f"DEGRADED: {'; '.join(outcome.reasons)}")
        if outcome.rolled_back_to is not None:
            typer.echo(f"rolled back: production is version {outcome.rolled_back_to}")
        raise typer.Exit(1)
