"""What a backtest costs over its scenario's own run (issue 16's goal: at most 10% more).

Three things timed in one process, interleaved, medians over the rounds: the baseline run on
its own; the same run with buy and hold hosted as its `[strategy]` population; and
`sim.backtest` of buy and hold in the baseline for one seed, which runs that second run and
scores it (equity, returns, performance, VaR, P&L by scenario). The harness's own cost is the
backtest over the hosted run; the strategy's, the hosted run over the bare one.
"""

from __future__ import annotations

import statistics
import time

DAYS = 5
ROUNDS = 7
STRATEGY = "strategies.buy_and_hold:BuyAndHold"


def run() -> str:
    import sim
    from sim.studies.backtest import POPULATION, backtest

    overrides = [f"calendar.days={DAYS}"]
    bare = sim.load_scenario("baseline", overrides)
    table = {"ref": STRATEGY, "params": {}}
    hosted = sim.load_scenario("baseline", overrides, tables={POPULATION: table})

    def timed(fn) -> float:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    jobs = {
        "baseline alone": lambda: sim.run(bare, seed=1, out=None),
        "with the strategy hosted": lambda: sim.run(hosted, seed=1, out=None),
        "sim.backtest (one seed)": lambda: backtest(STRATEGY, {}, ["baseline"], (1,),
                                                    overrides=overrides),
    }  # fmt: skip
    for fn in jobs.values():  # warm: numba's caches, the strategy's import
        fn()
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(ROUNDS):
        for name, fn in jobs.items():
            times[name].append(timed(fn))
    medians = {name: statistics.median(values) for name, values in times.items()}
    alone, hosted_s, backtested = medians.values()
    lines = [
        "## Backtest overhead",
        "",
        f"`baseline` over {DAYS} days, seed 1, buy and hold as the strategy: medians of "
        f"{ROUNDS} interleaved rounds in one process (`benchmarks/bench_backtest.py`).",
        "",
        "| what | median s | range s |",
        "|---|---|---|",
        *(
            f"| {name} | {medians[name]:.2f} | {min(v):.2f} to {max(v):.2f} |"
            for name, v in times.items()
        ),
        "",
        f"The harness adds {100 * (backtested / hosted_s - 1):+.1f}% to the run it scores "
        f"(goal: at most +10%); the hosted strategy adds {100 * (hosted_s / alone - 1):+.1f}% "
        "to the bare scenario.",
    ]
    return "\n".join(lines)
