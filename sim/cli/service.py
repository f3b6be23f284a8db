"""`bondlab serve` and `bondlab live`: the exchange service, and a promoted strategy trading
at it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.base import (
    Overrides,
    ScenarioArgument,
    TrackingUri,
    app,
    fail,
    load,
)
from sim.errors import BondlabError


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

    loaded = load(scenario, overrides)
    try:
        chosen, origin = resolve_accounts(loaded, accounts, journal)
        typer.echo(origin)
        serve(loaded, chosen, host=host, port=port, speed=speed, seed=seed, journal=journal,
              announce=typer.echo)  # fmt: skip
    except BondlabError as exc:
        fail(str(exc).splitlines())
    except OSError as exc:  # the port is taken, the folder not writable
        fail([f"cannot serve: {exc}"])


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
        fail(str(exc).splitlines())
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
