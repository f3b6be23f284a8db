"""Sweeps (issue 19): how they scale on this machine, what a Dask cluster adds per point over the
process pool, and a paper estimate of a large study on a cluster.

1. One against two workers: `bondlab sweep baseline` over a small grid (buffer shares x seeds,
   a few days each), as whole processes, the two sides alternated, medians over the rounds;
   with the sweep's own wall time from sweep.json (the command's start-up left out).
2. Overhead per point: sweeps of tiny runs (one bond, a ten-minute session) in this process, on
   a 2-worker process pool and on a 2-worker Dask LocalCluster, each at two sizes; the slope
   (T(large) - T(small)) / (extra tasks) is the wall time of one more task with set-up (the
   pool's spawn, the client's connection) cancelled out, and the overhead per point is what
   the two workers spend on it beyond the run itself. Beside it, the bare dispatch: a no-op
   task's round trip on each.
3. The paper estimate of a 1,000-point x 20-seed study on 64 cores, from the per-point cost
   of a full baseline run measured here, the measured efficiency of two workers, the
   measured Dask overhead, and the cost of the sweep's own bookkeeping at that size (writing
   a part per run; combining 20,000 rows and summarising them), measured on synthetic rows.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3
SCALING_DAYS = 5
SCALING_GRID = "sip.buffer_fraction=0:0.3:0.1"
SCALING_POINTS = 4
SCALING_SEEDS = 2
TINY_SEEDS = (8, 32)  # per point, two points: 16 and 64 tasks
STUDY_POINTS, STUDY_SEEDS, CLUSTER_CORES = 1_000, 20, 64

TINY = """
[run]
name = "tiny"

[calendar]
start = 2024-01-02
days = 1
open = "09:30"
close = "09:40"

[[instruments]]
symbol = "ABM"
tick_size = "0.01"
unit_face_value = 100
reference_price = "100.00"

[[venues]]
name = "EXCH"
settlement_lag_days = 0

[fundamentals]
kind = "mean_reverting"
kappa_per_second = 1e-4
sigma_s = 0.01

[retail]
count = 20
arrivals_per_day = 10
cash_rupees = 100_000
units = 100

[value]
count = 4
arrival_interval_seconds = 60
observation_noise = 20
units = 200

[market_maker]
count = 1
quote_size = 20
units = 2000
requote_seconds = 5
"""

# Children keep bytecode caches whatever this shell says: a user's second run reads them.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@contextmanager
def _bytecode_written():
    """Pool and cluster workers spawned from here inherit the environment: the same for them."""
    saved = os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTHONDONTWRITEBYTECODE"] = saved


def _cli_sweep(workers: int, out: Path) -> tuple[float, float, float]:
    """One `bondlab sweep` process: its wall time, the sweep's own (sweep.json) and the CPU
    seconds of the process and its pool's workers."""
    command = [
        str(Path(sys.executable).parent / "bondlab"), "sweep", "baseline",
        "--grid", SCALING_GRID, "--seeds", str(SCALING_SEEDS), "--workers", str(workers),
        "--set", f"calendar.days={SCALING_DAYS}", "--out", str(out), "--quiet",
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=_ENV, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    (session,) = json.loads((out / "sweep.json").read_text())["sessions"]
    return wall, session["wall_seconds"], cpu


_BURN = "x = 0\nfor i in range(20_000_000): x += i"


def _capacity() -> float:
    """How many cores two CPU-bound processes get here now: 2 on an idle 2-core machine, less
    when other work shares it (pure Python, one process, then two at once)."""
    command = [sys.executable, "-c", _BURN]
    one = _timed(lambda: subprocess.run(command, check=True))
    two = _timed(lambda: [p.wait() for p in [subprocess.Popen(command) for _ in range(2)]])
    return 2 * one / two


def _scaling(folder: Path) -> tuple[dict[int, list[tuple[float, float, float]]], list[float]]:
    _cli_sweep(1, folder / "warm")  # caches written, as for a user's second sweep
    times: dict[int, list[tuple[float, float, float]]] = {1: [], 2: []}
    capacity = []
    for r in range(ROUNDS):
        capacity.append(_capacity())
        for workers in (1, 2) if r % 2 == 0 else (2, 1):
            times[workers].append(_cli_sweep(workers, folder / f"w{workers}-r{r}"))
    capacity.append(_capacity())
    return times, capacity


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _overhead(folder: Path) -> tuple[dict[str, dict[int, list[float]]], dict[str, float]]:
    """Tiny sweeps per engine and size (seconds); no-op round trips per engine (seconds)."""
    from concurrent.futures import ProcessPoolExecutor, wait
    from multiprocessing import get_context

    from distributed import Client, LocalCluster

    from sim.studies.sweep import sweep

    path = folder / "tiny.toml"
    path.write_text(TINY)
    grid = {"retail.count": [20, 21]}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:  # fmt: skip
        engines = {
            "in this process": {},
            "process pool, 2 workers": {"workers": 2},
            "Dask LocalCluster, 2 workers": {"scheduler": cluster.scheduler_address},
        }
        for options in engines.values():  # warm: imports in the cluster's workers, numba
            sweep(path, grid, 2, **options)
        times = {name: {n: [] for n in TINY_SEEDS} for name in engines}
        for r in range(ROUNDS):
            order = list(engines.items()) if r % 2 == 0 else list(engines.items())[::-1]
            for name, options in order:
                for n in TINY_SEEDS:
                    times[name][n].append(_timed(partial(sweep, path, grid, n, **options)))
        dispatch = {}
        tasks = list(range(400))
        with Client(cluster.scheduler_address, set_as_default=False) as client:
            client.gather(client.map(abs, tasks, pure=False))
            dispatch["Dask LocalCluster, 2 workers"] = statistics.median(
                _timed(lambda: client.gather(client.map(abs, tasks, pure=False)))
                for _ in range(ROUNDS)
            ) / len(tasks)
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        wait([pool.submit(abs, t) for t in tasks])
        dispatch["process pool, 2 workers"] = statistics.median(
            _timed(lambda: wait([pool.submit(abs, t) for t in tasks])) for _ in range(ROUNDS)
        ) / len(tasks)
    return times, dispatch


def _full_run() -> tuple[float, float, float]:
    """A full baseline run in this process, after one to warm up: wall and CPU seconds
    (medians of two), peak RSS of the process in MB."""
    import sim

    scenario = sim.load_scenario("baseline")
    sim.run(scenario, seed=1, out=None)
    walls, cpus = [], []
    for seed in (2, 3):
        before = resource.getrusage(resource.RUSAGE_SELF)
        walls.append(_timed(lambda seed=seed: sim.run(scenario, seed=seed, out=None)))
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    return statistics.median(walls), statistics.median(cpus), peak_kb / 1024


def _bookkeeping(folder: Path) -> dict[str, float]:
    """The sweep's own costs at the study's size, on synthetic rows with a full baseline run's
    metrics (every run given the same names, values perturbed): per part written and read
    back, and combining and summarising 20,000 rows."""
    import dataclasses
    import io

    import numpy as np
    import polars as pl

    import sim
    from sim.studies import sweep as study
    from sim.studies.executors import Outcome, flatten_metrics

    metrics = flatten_metrics(sim.run(sim.load_scenario("baseline", ["calendar.days=2"]),
                                      seed=1, out=None).metrics)  # fmt: skip
    planned = study.plan("baseline", ["sip.buffer_fraction=0.1"], 1, overrides=["calendar.days=2"])
    outcome = Outcome(0, 1, "ok", None, 1.0, metrics)
    buffer = io.BytesIO()
    write_s = statistics.median(
        _timed(lambda: study._narrow(planned, [outcome]).write_parquet(io.BytesIO()))
        for _ in range(20)
    )
    study._narrow(planned, [outcome]).write_parquet(buffer)
    rng = np.random.default_rng(0)
    names, base = (
        list(metrics),
        np.array([v if v is not None else np.nan for v in metrics.values()]),
    )
    rows = STUDY_POINTS * STUDY_SEEDS
    values = base * rng.uniform(0.9, 1.1, size=(rows, len(names)))
    narrow = pl.DataFrame({
        "point": np.repeat(np.arange(STUDY_POINTS), STUDY_SEEDS),
        "sip.buffer_fraction": np.repeat(np.linspace(0, 0.5, STUDY_POINTS), STUDY_SEEDS),
        "seed": np.tile(np.arange(1, STUDY_SEEDS + 1), STUDY_POINTS),
        "status": ["ok"] * rows,
        "error": pl.Series([None] * rows, dtype=pl.String),
        "wall_seconds": np.ones(rows),
        "metric_names": [names] * rows,
        "metric_values": pl.Series(values).cast(pl.List(pl.Float64)),
    })  # fmt: skip
    parts = folder / "parts"
    parts.mkdir()
    for i in range(200):
        (parts / f"{i}.parquet").write_bytes(buffer.getvalue())
    files = sorted(parts.iterdir())
    read_s = _timed(lambda: pl.read_parquet(files)) / len(files)
    widened = dataclasses.replace(planned, points=(planned.points[0],) * STUDY_POINTS)
    started = time.perf_counter()
    wide = study._wide(widened, narrow)
    summary = study.summarize(wide)
    combine_s = time.perf_counter() - started
    return {
        "write_ms": write_s * 1000,
        "read_ms": read_s * 1000,
        "part_kb": len(buffer.getvalue()) / 1024,
        "combine_s": combine_s,
        "metrics": len(names),
        "summary_rows": summary.height,
    }


def _overhead_row(name, times, slope, overhead, dispatch) -> str:
    small, large = (statistics.median(times[n]) for n in TINY_SEEDS)
    cost = "(the run itself)" if overhead is None else f"{overhead:+.3f}"
    trip = "" if dispatch is None else f"{dispatch * 1000:.2f}"
    return f"| {name} | {small:.2f} | {large:.2f} | {slope:.3f} | {cost} | {trip} |"


def run() -> str:
    from benchmarks.run import machine_details

    with tempfile.TemporaryDirectory() as tmp, _bytecode_written():
        folder = Path(tmp)
        load_before = os.getloadavg()[0]
        scaling, capacity = _scaling(folder)
        times, dispatch = _overhead(folder)
        run_wall, run_cpu, peak_mb = _full_run()
        books = _bookkeeping(folder)
        load_after = os.getloadavg()[0]

    runs = SCALING_POINTS * SCALING_SEEDS
    med = {w: tuple(statistics.median(t[i] for t in v) for i in range(3))
           for w, v in scaling.items()}  # fmt: skip
    cores = statistics.median(capacity)
    speedup = med[1][1] / med[2][1]
    start_up_cpu = med[2][2] - med[1][2]  # the second worker's spawn, imports and first run
    small, large = TINY_SEEDS
    extra = 2 * (large - small)
    slope = {name: (statistics.median(t[large]) - statistics.median(t[small])) / extra
             for name, t in times.items()}  # fmt: skip
    alone = slope["in this process"]
    overhead = {name: 2 * s - alone for name, s in slope.items() if name != "in this process"}
    dask_overhead = max(overhead["Dask LocalCluster, 2 workers"], 0.0)
    pool_overhead = max(overhead["process pool, 2 workers"], 0.0)

    study_runs = STUDY_POINTS * STUDY_SEEDS
    per_point = run_cpu + dask_overhead
    core_hours = study_runs * per_point / 3600
    per_worker = study_runs / CLUSTER_CORES
    efficiency = per_worker * per_point / (per_worker * per_point + max(start_up_cpu, 0.0))
    wall_h = core_hours / (CLUSTER_CORES * efficiency)
    arrivals = CLUSTER_CORES / per_point  # runs finishing per second, cluster-wide
    driver_busy = arrivals * books["write_ms"] / 1000
    lines = [
        "## Sweeps: scaling and cluster overhead",
        "",
        machine_details().rstrip(),
        f"- load average (1 min) {load_before:.1f} at the start, {load_after:.1f} at the end "
        "(other sessions share this machine)",
        "",
        f"`benchmarks/bench_sweep.py`, {ROUNDS} rounds each, the sides alternated; medians.",
        "",
        f"### One against two workers (`bondlab sweep baseline --grid {SCALING_GRID} "
        f"--seeds {SCALING_SEEDS} --set calendar.days={SCALING_DAYS}`: {runs} runs)",
        "",
        "| workers | whole process s | sweep s (sweep.json) | per run s | CPU s (all processes) |",
        "|---|---|---|---|---|",
        *(
            f"| {w} | {med[w][0]:.1f} | {med[w][1]:.1f} | {med[w][1] / runs:.2f} | "
            f"{med[w][2]:.1f} |"
            for w in (1, 2)
        ),
        "",
        f"Two workers ran the sweep {speedup:.2f}x as fast as one, the whole process "
        f"{med[1][0] / med[2][0]:.2f}x. The machine gave two CPU-bound processes "
        f"{cores:.2f} cores' worth meanwhile (a pure-Python loop, one process against two at "
        f"once, before each round and after the last: {', '.join(f'{c:.2f}' for c in capacity)}"
        f"), so {cores:.2f}x is the ceiling here. The pool's own cost is the CPU it adds: "
        f"{start_up_cpu:+.1f} CPU s for the second worker's spawn, imports and first run "
        "(numba's caches loaded, the first models trained), paid once per worker.",
        "",
        f"### Overhead per point: Dask against the process pool (tiny runs, 2 points x "
        f"{small} and x {large} seeds)",
        "",
        "| engine | s at 16 tasks | s at 64 tasks | s per extra task | overhead per point, "
        "worker-s | no-op round trip, ms |",
        "|---|---|---|---|---|---|",
        *(
            _overhead_row(name, t, slope[name], overhead.get(name), dispatch.get(name))
            for name, t in times.items()
        ),
        "",
        "s per extra task: (T(64) - T(16)) / 48, set-up (the pool's spawn, the client's "
        "connection) cancelled out. Overhead per point: twice that (two workers busy) less the "
        "slope in this process, the worker-seconds a task costs beyond its run; on a loaded "
        "machine it is as noisy as the machine. The no-op round trip (400 `abs` calls, mapped "
        "and gathered, or submitted and waited for) is each engine's bare dispatch. At a "
        "study's per-point cost either is noise: "
        f"Dask's is {100 * dask_overhead / run_cpu:.2f}% of a full baseline run, the pool's "
        f"{100 * pool_overhead / run_cpu:.2f}%.",
        "",
        f"### Paper estimate: {STUDY_POINTS:,} points x {STUDY_SEEDS} seeds on "
        f"{CLUSTER_CORES} cores",
        "",
        f"- Per point: a full `baseline` run (20 bonds, 20 days, every population) takes "
        f"{run_cpu:.1f} CPU s here ({run_wall:.1f} s of wall time on the shared machine; "
        f"median of 2, warm), at a peak of {peak_mb:.0f} MB for the whole process.",
        f"- {study_runs:,} runs x ({run_cpu:.1f} s + {dask_overhead:.3f} s of Dask overhead) "
        f"= {core_hours:,.0f} core-hours.",
        f"- On {CLUSTER_CORES} cores, {per_worker:.0f} runs each: each worker's start-up "
        f"({max(start_up_cpu, 0.0):.1f} CPU s, measured above) is "
        f"{100 * (1 - efficiency):.2f}% of its work, so about **{wall_h:.1f} hours** of "
        f"wall time; on this 2-core machine, idle, the same study would take "
        f"{core_hours / 2 / 24:.1f} days.",
        f"- The driver keeps up: {arrivals:.1f} runs finish a second, and writing each one's "
        f"part ({books['part_kb']:.0f} KB, {books['metrics']:,} metrics) takes "
        f"{books['write_ms']:.1f} ms, so it is busy {100 * driver_busy:.1f}% of the time.",
        f"- At the end, reading {study_runs:,} parts takes about "
        f"{study_runs * books['read_ms'] / 1000:.0f} s ({books['read_ms']:.2f} ms each), and "
        f"widening and summarising the rows {books['combine_s']:.0f} s (measured on synthetic "
        f"rows: {books['summary_rows']:,} summary rows).",
        "- Assumptions: the cluster's cores are as fast as these, one Dask worker thread per "
        f"core with ~{peak_mb / 1024 + 0.5:.0f} GB of memory each, and nothing else on them; "
        "runs share nothing but the driver, so the work divides evenly; the scheduler sees a "
        "few tasks a second, far below its capacity; the cluster's own start-up and the last "
        f"wave of runs (at most one run's {run_cpu:.0f} s) are left out.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
