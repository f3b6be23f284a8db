"""Whole-process simulator runs and the realism of their prices, against ABIDES and LOBSTER.

- `bondlab run scenarios/rmsc04.toml`, whole process (imports included), median of 3, and its
  10x-agent variant (median of 3), after one warm-up run of rmsc04 (as a user's second run:
  the bytecode and numba caches are written); `scenarios/baseline.toml` (20 bonds, 20 days),
  and baseline with 100,000 SIP investors. Peak memory is the child process's maximum resident
  set, and the same less the pages of mapped files resident at the end (see `_CHILD`).
- Stylized facts of one-minute mid returns pooled over 10 seeds of rmsc04, beside the same
  statistics of the LOBSTER sample days and the ABIDES figures of the design card.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOBSTER = ROOT.parent / "shared" / "data" / "lobster"
TEN_X = ["retail.count=10000", "value.count=1020", "momentum.count=120", "market_maker.count=20"]
ABIDES = {"rmsc04_s": 19.3, "rmsc04_mb": 350, "ten_x_s": 142, "ten_x_mb": 3000}
SEEDS = range(1, 11)


# The CLI in a fresh interpreter that reports its own peak memory on the way out (the CLI
# leaves through os._exit, so the report goes in front of it): the peak resident set, and the
# pages of mapped files (the libraries' code) resident at the end. Those are shared with other
# processes and are the kernel's to drop, and how many a process counts depends on what the page
# cache held before it: right after an install, every page of llvmlite's and arrow's libraries,
# about 90 MB more than once the cache has turned over. The peak less them is a lower bound of
# the memory the run itself needed.
_CHILD = """
import os, sys
from sim.cli import main
leave = os._exit
def report_and_leave(code):
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across exec, so a child of a
    # large benchmark process would report its parent's peak.
    with open("/proc/self/status") as status:
        fields = dict(line.split()[:2] for line in status if line.startswith(("VmHWM", "RssFile")))
    print("peak_kb", fields["VmHWM:"], file=sys.stderr)
    print("file_kb", fields["RssFile:"], file=sys.stderr)
    sys.stderr.flush()
    leave(code)
os._exit = report_and_leave
sys.argv = ["bondlab", *sys.argv[1:]]
main()
"""


# Children keep bytecode caches whatever this shell says: a user's second run reads them, and a
# run that recompiled the project's modules every time would time the compiler.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run_process(scenario: str, overrides: list[str], out: Path) -> dict:
    """One `bondlab run` in a fresh process: wall time, peak RSS and the run's manifest."""
    command = [sys.executable, "-c", _CHILD, "run", scenario, "--quiet", "--out", str(out)]
    for override in overrides:
        command += ["--set", override]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=_ENV, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    peak_kb = int(done.stderr.split("peak_kb")[-1].split()[0])
    file_kb = int(done.stderr.split("file_kb")[-1].split()[0])
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    events = sum(manifest["events"].values())
    return {
        "wall": wall,
        "rss_mb": peak_kb / 1024,
        "own_mb": (peak_kb - file_kb) / 1024,  # less the mapped files' pages
        "events": events,
        "sim_s": manifest["wall_time_s"],
    }


# What every run pays before its first event: the interpreter, the imports a run needs
# (mesa brings pandas and scipy.spatial with it), the scenario and numba's first load of the
# book's and the gateway's compiled kernels.
_START_UP = """
import os
import sim.cli, sim.engine.kernel, sim.analytics, sim.records.result
from sim.market.book import OrderBook
from sim.market.ledger import Ledger
from sim.market.venue import Venue
from sim.scenario.model import load_scenario
load_scenario("scenarios/rmsc04.toml")
OrderBook().top()
Venue("X", Ledger())
os._exit(0)
"""


def _median_run(runs: list[dict]) -> dict:
    """The run of median wall time, with the largest peak memory of them all."""
    median = sorted(runs, key=lambda run: run["wall"])[len(runs) // 2]
    return {**median, **{k: max(run[k] for run in runs) for k in ("rss_mb", "own_mb")}}


def _process_seconds(code: str) -> float:
    """Median wall time of three fresh processes that run only `code`."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_ENV, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _stylized(out: Path):
    import sim
    from sim.analytics.stylized import (
        comparison_table,
        lobster_segments,
        minute_mid_return_segments,
    )

    scenario = sim.load_scenario(ROOT / "scenarios" / "rmsc04.toml")
    segments = []
    for seed in SEEDS:
        result = sim.run(scenario, seed=seed, out=out)
        segments += minute_mid_return_segments(result.quotes, "ABM")
    series = {"bondlab rmsc04 (10 seeds)": segments}
    for message in sorted(LOBSTER.glob("*_message_1.csv")):
        series[f"LOBSTER {message.name.split('_')[0]} 2012-06-21"] = lobster_segments(message)
    return comparison_table(series)


def _fmt(value, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        _run_process("scenarios/rmsc04.toml", [], out)  # warm: bytecode and numba caches
        start_up = _process_seconds(_START_UP)
        mesa_import = _process_seconds("import mesa")
        rmsc04 = [_run_process("scenarios/rmsc04.toml", [], out) for _ in range(3)]
        ten_x = _median_run([_run_process("scenarios/rmsc04.toml", TEN_X, out) for _ in range(3)])
        baseline = _run_process("scenarios/baseline.toml", [], out)
        investors = _run_process("scenarios/baseline.toml", ["sip.investors=100000"], out)
        facts = _stylized(out)
    median = statistics.median(r["wall"] for r in rmsc04)
    simulation = statistics.median(r["sim_s"] for r in rmsc04)
    day_budget = 1.9 - (median - simulation)  # the goal less everything but the day itself
    rss = max(r["rss_mb"] for r in rmsc04)
    own = max(r["own_mb"] for r in rmsc04)
    rows = [
        (
            "run",
            "whole process",
            "peak RSS (less file pages at exit)",
            "events",
            "events/s (simulation)",
            "vs ABIDES",
        ),
        ("---", "---", "---", "---", "---", "---"),
        (
            "rmsc04 (median of 3)",
            f"{median:.2f} s",
            f"{rss:.0f} MB ({own:.0f} MB)",
            f"{rmsc04[0]['events']:,}",
            f"{rmsc04[0]['events'] / rmsc04[0]['sim_s']:,.0f}",
            f"{ABIDES['rmsc04_s'] / median:.1f}x faster (19.3 s, 350 MB); goal 10x",
        ),
        (
            "rmsc04, 10x agents (median of 3)",
            f"{ten_x['wall']:.2f} s",
            f"{ten_x['rss_mb']:.0f} MB ({ten_x['own_mb']:.0f} MB)",
            f"{ten_x['events']:,}",
            f"{ten_x['events'] / ten_x['sim_s']:,.0f}",
            f"{ABIDES['ten_x_s'] / ten_x['wall']:.1f}x faster (142 s, 3.0 GB); goal 20x, 500 MB",
        ),
        (
            "baseline (20 bonds, 20 days)",
            f"{baseline['wall']:.2f} s",
            f"{baseline['rss_mb']:.0f} MB ({baseline['own_mb']:.0f} MB)",
            f"{baseline['events']:,}",
            f"{baseline['events'] / baseline['sim_s']:,.0f}",
            "goal <= 60 s",
        ),
        (
            "baseline, 100k SIP investors",
            f"{investors['wall']:.2f} s",
            f"{investors['rss_mb']:.0f} MB ({investors['own_mb']:.0f} MB)",
            f"{investors['events']:,}",
            f"{investors['events'] / investors['sim_s']:,.0f}",
            "one cohort agent holding arrays",
        ),
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    fact_rows = [
        (
            "series",
            "n",
            "excess kurtosis",
            "ACF(r) lag 1",
            "ACF(r) lags 2..5",
            "ACF(abs r) lags 1..10",
        ),
        ("---", "---", "---", "---", "---", "---"),
    ]
    for row in facts.iter_rows(named=True):
        if row["n"] is None:  # ABIDES: the design card's figures, approximate
            cells = ("", f"~{row['excess_kurtosis']:.0f}", f"{row['acf_1']:+.2f}", "",
                     "fades after lag 3")  # fmt: skip
        else:
            cells = (
                str(row["n"]),
                _fmt(row["excess_kurtosis"]),
                _fmt(row["acf_1"]),
                " ".join(_fmt(v) for v in row["acf_2_5"]),
                " ".join(_fmt(v) for v in row["abs_acf_1_10"]),
            )
        fact_rows.append((row["series"], *cells))
    fact_table = "\n".join("| " + " | ".join(row) + " |" for row in fact_rows)
    return f"""## Simulator

{table}

Whole-process times include starting up: Python, the imports a run needs, reading the
scenario and numba's first load of the book's and the gateway's compiled kernels,
{start_up:.2f} s here (median of 3 processes that do only that; `import mesa` alone takes
{mesa_import:.2f} s, as it brings pandas and scipy.spatial). So rmsc04 spends
{median - start_up:.2f} s on its own work, of which {simulation:.2f} s running the day and its
metrics (the manifest's wall time; the rest builds the agents and writes the files). Against
the 1.9 s goal, the day and its metrics could take at most {day_budget:.2f} s. Events are agent
wake-ups, requests, trades, quote changes and deliveries. The interpreter is the one `make`
made `.venv` with (see the machine above; the Makefile says which it prefers and why).

Stylized facts of one-minute mid returns (goals on rmsc04: excess kurtosis >= 3,
|ACF(r) lag 1| <= 0.1, ACF(abs r) > 0 at every lag 1-10; returns of real prices are
uncorrelated at every lag):

{fact_table}
"""


if __name__ == "__main__":
    sys.exit(print(run()))
