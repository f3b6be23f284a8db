"""`bondlab sweep` and `bondlab study`: many runs, on a process pool or a Dask cluster."""

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
)
from sim.errors import BondlabError
from sim.scenario.model import ScenarioError

# Where the runs go, for every command that runs many.
Workers = Annotated[
    int, typer.Option(metavar="K", min=1, help="Runs at a time, on a local process pool.")
]
Scheduler = Annotated[
    str | None, typer.Option(metavar="tcp://HOST:PORT", help="Run on this Dask cluster instead.")
]


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
    workers: Workers = 1,
    scheduler: Scheduler = None,
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
        fail(exc.problems)
    except BondlabError as exc:
        fail([str(exc)])
    folder = out or planned.default_folder()
    tasks = len(planned.points) * len(planned.seeds)
    try:
        with _sweep_progress(planned.scenario, quiet) as progress:
            rows = study.run_plan(planned, workers=workers, scheduler=scheduler, out=folder,
                                  resume=resume, progress=progress)  # fmt: skip
    except (BondlabError, OSError) as exc:  # the folder, the scheduler
        fail([str(exc)])
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
    workers: Workers = 1,
    scheduler: Scheduler = None,
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
        fail(exc.problems)
    except BondlabError as exc:
        fail([str(exc)])
    try:
        with _study_progress(quiet) as progress:
            result = sip_buffer.run_study(planned, out, workers=workers, scheduler=scheduler,
                                          progress=progress)  # fmt: skip
    except (BondlabError, OSError) as exc:  # the folder, the scheduler
        fail([str(exc)])
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
