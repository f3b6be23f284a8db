"""Robustness to the population mix: does realism hang on one calibrated mix? (issue 14)

A researcher's first experiment is to change the populations. Each run below is `rmsc04.toml`
(one day, a mean-reverting fundamental) or `baseline.toml` (20 days, 20 bonds priced by the
pricing engine), as shipped but for the four population sizes, at every corner of the grid:
value investors 10 or 100, retail investors (noise traders) 100 or 1,000, momentum traders 0 or
24, market makers 1 or 4; seed 1. For each run: the largest |trade price - value| of any trade,
and the largest at a day's end (each bond's last trade of each day), in % of the value, where
the value is the fundamental at the trade's time (rmsc04) or the published fair value
(baseline). The target: no run without shocks ends a day more than 5% from its value.
"""

from __future__ import annotations

import itertools
import time

import polars as pl

SEED = 1
GRID = {
    "value.count": (10, 100),
    "retail.count": (100, 1000),
    "momentum.count": (0, 24),
    "market_maker.count": (1, 4),
}
TARGET_PCT = 5.0


def gaps(scenario: str, overrides: list[str]) -> tuple[float, float, int]:
    """(largest gap of any trade, largest at a day's end, trades) of one run, gaps in %."""
    from sim.engine.kernel import Simulation
    from sim.scenario import library, load_scenario

    simulation = Simulation(load_scenario(library.locate(scenario), overrides), seed=SEED)
    trades = simulation.run(out=None).trades.with_columns(pl.col("instrument").cast(pl.String))
    if trades.is_empty():
        return 0.0, 0.0, 0
    calendar, fundamental = simulation.calendar, simulation.fundamental
    ticks = {s: float(i.tick_size) for s, i in simulation.instruments.items()}
    rows = trades.select("time", "instrument", "price").rows()
    gap = [
        abs(price * ticks[symbol] / fundamental.value(symbol, t) - 1) * 100
        for t, symbol, price in rows
    ]
    frame = pl.DataFrame(
        {
            "day": [calendar.day_index(t) for t, _, _ in rows],
            "instrument": [s for _, s, _ in rows],
            "gap": gap,
        }
    )
    day_end = frame.group_by("instrument", "day", maintain_order=True).last()["gap"].max()
    return max(gap), day_end, len(rows)


def run() -> str:
    lines = [
        "| scenario | value | retail | momentum | makers | trades | largest gap (%) "
        "| largest at a day's end (%) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    worst: dict[str, list] = {}
    started = time.perf_counter()
    for scenario in ("rmsc04", "baseline"):
        for sizes in itertools.product(*GRID.values()):
            overrides = [f"{key}={size}" for key, size in zip(GRID, sizes, strict=True)]
            largest, day_end, trades = gaps(scenario, overrides)
            worst.setdefault(scenario, []).append((day_end, sizes))
            lines.append(
                f"| {scenario} | {' | '.join(map(str, sizes))} | {trades} | {largest:.2f} "
                f"| {day_end:.2f} |"
            )
    summary = []
    for scenario, runs in worst.items():
        over = [sizes for day_end, sizes in runs if day_end > TARGET_PCT]
        top = max(day_end for day_end, _ in runs)
        verdict = "met" if not over else f"**not met** in {len(over)} of {len(runs)} mixes"
        summary.append(
            f"- {scenario}: the largest gap at a day's end over {len(runs)} mixes is "
            f"{top:.2f}%: target {verdict}."
        )
    minutes = (time.perf_counter() - started) / 60
    return (
        f"## Robustness to the population mix\n\n{__doc__.strip()}\n\n"
        + "\n".join(summary)
        + f"\n\n{chr(10).join(lines)}\n\n({len(lines) - 2} runs, {minutes:.0f} minutes.)"
    )
