"""The backtesting harness: one strategy, run inside scenarios over seeds, scored.

`backtest` adds the strategy to each scenario as its ``[strategy]`` population
(`agents.strategy_host`: one agent, the population's endowment, every listing by default) and
runs each (scenario, seed), in this process or on a local process pool; the runs are the same
whatever the worker count, as each is a function of its scenario and seed alone. Each run is
scored from its own records by `sim.analytics.track_record`: the strategy's equity at each
close, its daily returns and the figures of `sim.analytics.performance` (empyrical's
conventions: 252 periods a year, sample standard deviation), what it traded and held.

With `walk_forward` (rolling train and test windows, `sim.strategy.walk_forward`, which the
strategy's context shows it), each run is scored on its test windows alone: every figure then
comes from out-of-sample days, and the report says so.

Aggregated over the runs: the performance of the pooled daily returns (every run's, in order
of scenario and seed: the "aggregate Sharpe" a gate compares), the mean of each per-run
figure, VaR and expected shortfall of the pooled daily returns at 95% and 99% by historical,
parametric and Monte Carlo methods (`sim.analytics.risk`, seeded), and the P&L in each
scenario, the stress files of the library among them. `write_backtest` writes it all, with
the tearsheet (`sim.presentation.tearsheet`).
"""

from __future__ import annotations

import io
import json
import multiprocessing
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sim.analytics import performance, risk
from sim.analytics.track_record import capital, daily_returns, equity_curve, track_record
from sim.engine.kernel import run
from sim.errors import BondlabError
from sim.records.store import to_json_ready, write_bytes_atomically
from sim.scenario.config import TomlFileError, read_toml
from sim.scenario.model import load_scenario
from sim.strategy.loading import load_strategy, strategy_params
from sim.strategy.walk_forward import WalkForward

POPULATION = "strategy"  # the population the strategy joins each scenario as
BACKTEST_FILE = "backtest.json"
RUNS_FILE = "runs.csv"
RETURNS_FILE = "returns.parquet"
VAR_FILE = "var.csv"
TEARSHEET_FILE = "tearsheet.png"
VAR_SEED = 20080915  # the Monte Carlo VaR's draws: fixed, so a backtest's report is too


@dataclass(frozen=True)
class BacktestRun:
    """One (scenario, seed): its results folder (None in memory), the strategy's agent, its
    figures, its daily equity and returns, and the run's manifest (what reproduces it)."""

    scenario: str
    seed: int
    run_id: str
    path: str | None
    stress: bool  # a stress file of the library (it has a [calibration] table)
    figures: dict[str, Any]
    daily: pl.DataFrame  # day, time, equity (paise), pnl (paise), return, scored
    drivers: dict[str, tuple[float, int]] = field(default_factory=dict)  # feature: (sum |c|, n)
    manifest: dict[str, Any] = field(default_factory=dict, compare=False)  # wall time varies


@dataclass(frozen=True)
class Backtest:
    """A strategy's runs over scenarios and seeds, and what they add up to."""

    strategy: str
    params: dict[str, Any]
    scenarios: tuple[str, ...]
    seeds: tuple[int, ...]
    runs: tuple[BacktestRun, ...]
    walk_forward: WalkForward | None = None
    periods_per_year: float = performance.DAILY_PERIODS_PER_YEAR
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def per_run(self) -> pl.DataFrame:
        """One row per run: scenario, seed, run_id and every figure."""
        return pl.DataFrame(
            [
                {"scenario": r.scenario, "seed": r.seed, "run_id": r.run_id, "stress": r.stress,
                 **r.figures}
                for r in self.runs
            ]
        )  # fmt: skip

    def returns(self) -> pl.DataFrame:
        """Every run's daily returns, long: scenario, seed, day, time, equity, pnl, return."""
        return pl.concat(
            [
                r.daily.select(
                    pl.lit(r.scenario).alias("scenario"), pl.lit(r.seed).alias("seed"), pl.all()
                )
                for r in self.runs
            ]
        )

    def pooled_returns(self) -> np.ndarray:
        """The scored daily returns (out of sample, in a walk-forward backtest) of every run
        one after the other, in order of scenario and seed."""
        return self.returns().filter("scored")["return"].to_numpy()

    @property
    def scoring(self) -> str:
        """What the figures are measured on, in words."""
        if self.walk_forward is None:
            return "every trading day of every run"
        w = self.walk_forward
        return (
            f"out-of-sample days only: walk-forward, {w.train_days} training days then test "
            f"windows of {w.test_days}, rolling"
        )

    def aggregate(self) -> dict[str, Any]:
        """The pooled returns' performance, the runs' count and the mean of each per-run
        figure (``mean_<figure>``)."""
        if "aggregate" not in self._cache:
            pooled = performance.summary(self.pooled_returns(), self.periods_per_year)
            table = self.per_run()
            means = {
                f"mean_{name}": float(table[name].mean())
                for name, dtype in table.schema.items()
                if dtype.is_numeric() and name != "seed"
            }
            scored = int(table["scored_days"].sum())
            self._cache["aggregate"] = {"runs": len(self.runs), "scored_days": scored,
                                        **pooled, **means}  # fmt: skip
        return self._cache["aggregate"]

    def var_table(self) -> pl.DataFrame:
        """VaR and ES of the pooled daily returns (fractions of equity) at 95% and 99%, by
        every method (`sim.analytics.risk.var_table`, its Monte Carlo draws seeded)."""
        return risk.var_table(self.pooled_returns(), seed=VAR_SEED)

    def scenario_pnl(self) -> pl.DataFrame:
        """Per scenario: whether it is a stress file, runs, and the mean, worst and best P&L
        (rupees), the mean total return and the worst drawdown over its runs."""
        pnl = pl.col("pnl_rupees")
        return (
            self.per_run()
            .group_by("scenario", maintain_order=True)
            .agg(
                pl.col("stress").first(),
                pl.len().alias("runs"),
                pnl.mean().alias("mean_pnl_rupees"),
                pnl.min().alias("worst_pnl_rupees"),
                pnl.max().alias("best_pnl_rupees"),
                pl.col("total_return").mean().alias("mean_total_return"),
                pl.col("max_drawdown").min().alias("worst_max_drawdown"),
            )
        )

    def drivers(self) -> pl.DataFrame:
        """What drove the strategy's decisions, where it explains them with per-feature
        contributions (`decision={"contributions": {...}}`, as a LightGBM strategy's): each
        feature's mean absolute contribution over every decision of every run, largest
        first; empty when none does."""
        totals: dict[str, list[float]] = {}
        for one in self.runs:
            for feature, (total, count) in one.drivers.items():
                entry = totals.setdefault(feature, [0.0, 0])
                entry[0] += total
                entry[1] += count
        rows = [(f, total / count, count) for f, (total, count) in totals.items() if count]
        frame = pl.DataFrame(
            rows, schema=["feature", "mean_abs_contribution", "decisions"], orient="row"
        )
        return frame.sort("mean_abs_contribution", descending=True)

    def tearsheet(self):
        """The one-page tearsheet, a matplotlib figure (`sim.presentation.tearsheet`)."""
        from sim.presentation.tearsheet import tearsheet

        return tearsheet(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "params": self.params,
            "scenarios": list(self.scenarios),
            "seeds": list(self.seeds),
            "periods_per_year": self.periods_per_year,
            "walk_forward": None if self.walk_forward is None else vars(self.walk_forward),
            "scoring": self.scoring,
            "aggregate": self.aggregate(),
            "var": self.var_table().to_dicts(),
            "scenario_pnl": self.scenario_pnl().to_dicts(),
            "drivers": self.drivers().to_dicts(),
            "runs": [
                {**row, "path": r.path}
                for row, r in zip(self.per_run().to_dicts(), self.runs, strict=True)
            ],
        }


class BacktestError(BondlabError, ValueError):
    """A backtest's seeds or parameter file cannot be used."""


def seeds_from(text: str) -> tuple[int, ...]:
    """Seeds from ``"0..9"`` (both ends included), ``"1,2,5"`` or ``"7"``."""
    try:
        if ".." in text:
            first, last = (int(part) for part in text.split(".."))
            seeds = tuple(range(first, last + 1))
        else:
            seeds = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise BacktestError(f"--seeds {text!r}: expected 0..9, 1,2,5 or 7") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise BacktestError(f"--seeds {text!r}: expected distinct seeds >= 0, at least one")
    return seeds


def walk_forward_from(text: str) -> WalkForward:
    """Walk-forward windows from ``"TRAIN,TEST"`` trading days, e.g. ``"10,5"``."""
    try:
        train, test = (int(part) for part in text.split(","))
        return WalkForward(train, test)
    except ValueError:
        raise BacktestError(f"--walk-forward {text!r}: expected TRAIN,TEST days >= 1") from None


def read_params(path: str | Path) -> dict[str, Any]:
    """A strategy's parameters from a TOML or JSON file: one table of name = value."""
    path = Path(path)
    if path.suffix == ".json":
        try:
            value = json.loads(path.read_text())
        except OSError as exc:
            raise BacktestError(f"{path}: cannot read ({exc.strerror})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BacktestError(f"{path}: not JSON ({exc})") from None
    else:
        try:
            value = read_toml(path, what="parameter file")
        except TomlFileError as exc:
            raise BacktestError(str(exc)) from None
    if not isinstance(value, dict):
        raise BacktestError(f"{path}: expected a table of parameters, got {type(value).__name__}")
    return value


def backtest(
    strategy: str | type,
    params: Mapping[str, Any] | None = None,
    scenarios: Sequence[str] = ("baseline",),
    seeds: Iterable[int] = (1, 2, 3),
    *,
    overrides: Sequence[str] = (),
    host: Mapping[str, Any] | None = None,
    workers: int = 1,
    runs_out: str | Path | None = None,
    walk_forward: WalkForward | tuple[int, int] | None = None,
) -> Backtest:
    """Run `strategy` (``"module:Class"``, ``"file.py:Class"`` or the class itself) with
    `params` in each of `scenarios` (names or paths) over `seeds`, and score it. A class
    defined in ``__main__`` (a notebook's, a script's) runs in this process only.

    `overrides` apply to every scenario (``--set`` keys; ``strategy.*`` reaches the strategy's
    population), `host` adds fields of that population (``cash_rupees``, ``units``,
    ``markets``, ...). `workers` > 1 runs them on a local process pool. `runs_out` keeps each
    run's results folder there. `walk_forward` (train days, test days) scores test windows
    alone. Raises `sim.strategy.StrategyError` for a strategy or
    parameters that cannot be used and `sim.scenario.ScenarioError` for a scenario, before
    anything runs."""
    if isinstance(strategy, type):
        if strategy.__module__ == "__main__" and workers > 1:
            raise BacktestError(
                f"{strategy.__qualname__} is defined in __main__, which worker processes "
                "cannot import: use workers=1, or put it in a module or file"
            )
        strategy = f"{strategy.__module__}:{strategy.__qualname__}"
    checked = strategy_params(load_strategy(strategy), params)
    if walk_forward is not None and not isinstance(walk_forward, WalkForward):
        try:
            walk_forward = WalkForward(*walk_forward)
        except (TypeError, ValueError) as exc:
            raise BacktestError(f"walk_forward {walk_forward!r}: {exc}") from None
    table = {**dict(host or {}), "ref": strategy, "params": checked}
    if walk_forward is not None:
        table["walk_forward"] = vars(walk_forward)
    loaded = {
        name: load_scenario(name, overrides, tables={POPULATION: table}) for name in scenarios
    }
    seeds = tuple(int(seed) for seed in seeds)
    jobs = [
        (scenario, seed, runs_out, walk_forward) for scenario in loaded.values() for seed in seeds
    ]
    if workers <= 1 or len(jobs) <= 1:
        runs = [_run_one(job) for job in jobs]
    else:
        # Spawned, not forked: a fork of a process with polars' and numba's threads may hang.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            runs = list(pool.map(_run_one, jobs))
    return Backtest(strategy, checked, tuple(loaded), seeds, tuple(runs), walk_forward)


def _run_one(job) -> BacktestRun:
    scenario, seed, runs_out, walk_forward = job
    result = run(scenario, seed=seed, out=runs_out)
    (agent,) = result.agents.filter(pl.col("population") == POPULATION)["agent"]
    curve = equity_curve(result, agent)
    returns = daily_returns(curve, capital(result, agent))
    in_test = (lambda day: True) if walk_forward is None else walk_forward.in_test
    scored = [in_test(day) for day in range(curve.height)]
    return BacktestRun(
        scenario=scenario.name,
        seed=seed,
        run_id=result.run_id,
        path=None if result.path is None else str(result.path),
        stress=scenario.calibration is not None,
        figures=track_record(result, agent, scored=scored),
        daily=curve.select("day", "time", "equity", "pnl").with_columns(
            pl.Series("return", returns), pl.Series("scored", scored)
        ),
        drivers=_drivers(result.decisions.filter(pl.col("agent") == agent)["details"]),
        manifest=result.manifest,
    )


def _drivers(details: pl.Series) -> dict[str, tuple[float, int]]:
    """Each feature's summed absolute contribution and count over decisions that give them."""
    out: dict[str, tuple[float, int]] = {}
    for text in details:
        contributions = json.loads(text).get("contributions") if text else None
        for feature, value in (contributions or {}).items():
            if feature == "bias":  # the model's expected value, not a driver
                continue
            total, count = out.get(feature, (0.0, 0))
            out[feature] = (total + abs(float(value)), count + 1)
    return out


def write_backtest(result: Backtest, out_dir: str | Path) -> Path:
    """Write ``backtest.json`` (everything), ``runs.csv`` (a row per run),
    ``returns.parquet`` (daily returns), ``var.csv`` and ``tearsheet.png`` into `out_dir`,
    each atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_json_ready(result.to_dict()), indent=2, sort_keys=True)
    write_bytes_atomically(out / BACKTEST_FILE, text.encode())
    for name, frame in ((RUNS_FILE, result.per_run()), (VAR_FILE, result.var_table())):
        write_bytes_atomically(out / name, frame.write_csv().encode())
    buffer = io.BytesIO()
    result.returns().write_parquet(buffer)
    write_bytes_atomically(out / RETURNS_FILE, buffer.getvalue())
    buffer = io.BytesIO()
    result.tearsheet().savefig(buffer, format="png", dpi=110)
    write_bytes_atomically(out / TEARSHEET_FILE, buffer.getvalue())
    return out
