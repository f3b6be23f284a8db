"""What every `bondlab` command shares: the application, the scenario argument and overrides,
the tracking URI option, and how a user's mistake is reported (one line a problem, status 2)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, NoReturn

import typer

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


TrackingUri = Annotated[
    str | None,
    typer.Option(
        metavar="URI",
        help="MLflow tracking URI [default: MLFLOW_TRACKING_URI, else results/mlflow/].",
    ),
]


def fail(problems: Iterable[str]) -> NoReturn:
    for line in problems:
        typer.echo(line, err=True)
    raise typer.Exit(2)


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its lines joined), for `fail`."""
    return " / ".join(line for line in str(exc).splitlines() if line) or type(exc).__name__


def load(path: str | Path, overrides: list[str] | None) -> Scenario:
    try:
        return load_scenario(path, overrides or ())
    except ScenarioError as exc:
        fail(exc.problems)


def number(value: bool | float) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value) or value == 0 or abs(value) >= 1000:
        return f"{value:,.0f}" if math.isfinite(value) else str(value)
    return f"{value:.4g}"


def print_wide(table) -> None:
    """Print a rich table as wide as it needs, never crushed into the terminal's width."""
    from rich.console import Console

    console = Console()
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    console.width = max(console.width, natural)
    console.print(table)


# The terminal's columns (compare.csv has every outcome): name and header.
