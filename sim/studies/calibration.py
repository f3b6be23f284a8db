"""Calibrating a stress scenario against the history its ``[calibration]`` cites.

`calibrate` runs the scenario over seeds, measures every target from each run's own records
(`sim.analytics.stress.stress_outcomes`, plus the recorded FX path), and sets the mean and the
range over the seeds beside the historical figure and its tolerance. `fit` searches the file's
``[calibration.free]`` parameters with Optuna (seeded TPE, a budget of trials) so that the
emergent targets are met; it never moves an input.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from sim.analytics.stress import stress_outcomes
from sim.engine.kernel import run
from sim.errors import BondlabError
from sim.records.store import write_bytes_atomically
from sim.scenario.calibration import Target
from sim.scenario.config import closest
from sim.scenario.model import Scenario, load_scenario

CALIBRATION_FILE = "calibration.json"
FIGURE_FILE = "calibration.png"
FIT_FILE = "fit.json"


class CalibrationError(BondlabError, ValueError):
    """A scenario cannot be calibrated: it has no ``[calibration]``, or names a metric no run
    measures."""


@dataclass(frozen=True)
class TargetResult:
    """One target over the seeds: each seed's value (None where the run had nothing to
    measure), their mean and range, and whether the mean is within tolerance."""

    target: Target
    values: tuple[float | None, ...]

    @property
    def measured(self) -> list[float]:
        return [v for v in self.values if v is not None and math.isfinite(v)]

    @property
    def mean(self) -> float | None:
        got = self.measured
        return sum(got) / len(got) if got else None

    @property
    def met(self) -> bool:
        return self.mean is not None and self.target.met(self.mean)

    def to_dict(self) -> dict[str, Any]:
        got = self.measured
        return {
            **self.target.model_dump(mode="json"),
            "label": self.target.label,
            "values": list(self.values),
            "mean": self.mean,
            "low": min(got, default=None),
            "high": max(got, default=None),
            "met": self.met,
        }


@dataclass(frozen=True)
class Calibration:
    """A scenario's targets measured over `seeds`, and the results folders of its runs when
    they were kept (one per seed, in order)."""

    scenario: str
    scenario_hash: str
    seeds: tuple[int, ...]
    results: tuple[TargetResult, ...]
    runs: tuple[Path, ...] = ()

    @property
    def met(self) -> bool:
        return all(r.met for r in self.results)

    def missed(self) -> list[TargetResult]:
        return [r for r in self.results if not r.met]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "scenario_hash": self.scenario_hash,
            "seeds": list(self.seeds),
            "met": self.met,
            "targets": [r.to_dict() for r in self.results],
            "runs": [str(path) for path in self.runs],
        }


def measure(
    result, shock_day: int | None = None, days: int | None = None
) -> dict[str, float | None]:
    """Every outcome a calibration target may name, measured from one run over the stress
    window opening on `shock_day` for `days` (`stress_window`'s defaults): the stress outcomes,
    and ``fx_move_pct_<PAIR>`` for each exchange rate the run recorded (over the whole run)."""
    outcomes = dict(stress_outcomes(result, shock_day=shock_day, days=days))
    for pair in result.fx["pair"].unique(maintain_order=True).to_list():
        outcomes[f"{FX_METRIC}{pair}"] = fx_move_pct(result, pair)
    return outcomes


def fx_move_pct(result, pair: str) -> float | None:
    """The largest move (%, signed) of the recorded rate of `pair` from its first value."""
    rates = result.fx.filter(pl.col("pair").cast(pl.String) == pair)["rate"].to_list()
    if not rates:
        return None
    return max((100.0 * (r / rates[0] - 1.0) for r in rates), key=abs)


def check_metrics(scenario: Scenario) -> None:
    """Refuse, before any run, a target naming a metric no run measures."""
    spec = _spec(scenario)
    known = set(METRICS)
    for i, target in enumerate(spec.targets):
        if target.metric not in known and not re.fullmatch(FX_PATTERN, target.metric):
            close = closest(target.metric, known)
            hint = f" (did you mean {close}?)" if close else ""
            raise CalibrationError(
                f"{scenario.source}: calibration.targets[{i}].metric: unknown metric "
                f"{target.metric!r}{hint}; known: {', '.join(sorted(known))}, {FX_METRIC}<PAIR>"
            )


def calibrate(
    scenario: Scenario,
    seeds: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    runs_out: str | Path | None = None,
) -> Calibration:
    """Run `scenario` once per seed (default: its file's ``calibration.seeds`` seeds from the
    run's seed on) and measure each target; with `runs_out`, each run's results folder is
    written there and kept."""
    spec = _spec(scenario)
    check_metrics(scenario)
    seeds = tuple(seeds) if seeds is not None else default_seeds(scenario, spec.seeds)
    windows = dict.fromkeys(t.window for t in spec.targets)
    outcomes = []  # per seed: {window: measured outcomes}
    kept = []
    for done, seed in enumerate(seeds):
        result = run(scenario, seed=seed, out=runs_out)
        outcomes.append({w: measure(result, *w) for w in windows})
        if result.path is not None:
            kept.append(result.path)
        if progress is not None:
            progress(done + 1, len(seeds))
    results = tuple(
        TargetResult(t, tuple(_number(o[t.window].get(t.metric)) for o in outcomes))
        for t in spec.targets
    )
    return Calibration(scenario.name, scenario.hash, seeds, results, tuple(kept))


def default_seeds(scenario: Scenario, count: int) -> tuple[int, ...]:
    return tuple(range(scenario.seed, scenario.seed + count))


def write_calibration(calibration: Calibration, out_dir: str | Path) -> Path:
    """Write ``calibration.json`` and its figure into `out_dir` (each atomically)."""
    from sim.presentation.calibration import calibration_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(calibration.to_dict(), indent=2, sort_keys=True, allow_nan=False)
    write_bytes_atomically(out / CALIBRATION_FILE, text.encode())
    figure = calibration_figure(calibration.to_dict())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    write_bytes_atomically(out / FIGURE_FILE, buffer.getvalue())
    return out


# --- fitting the emergent behaviour ----------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """The best free parameters found and the calibration they achieve."""

    params: dict[str, float]
    loss: float
    trials: int
    calibration: Calibration

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "loss": self.loss,
            "trials": self.trials,
            "calibration": self.calibration.to_dict(),
        }


def write_fit(found: Fit, out_dir: str | Path) -> Path:
    """Write ``fit.json`` (the fitted values, the loss and their calibration) atomically."""
    path = Path(out_dir) / FIT_FILE
    text = json.dumps(found.to_dict(), indent=2, sort_keys=True, allow_nan=False)
    write_bytes_atomically(path, text.encode())
    return path


def loss(calibration: Calibration) -> float:
    """Sum over the emergent targets of the squared miss in tolerances (a target not measured
    counts as missed by ten tolerances)."""
    total = 0.0
    for r in calibration.results:
        if r.target.kind != "emergent":
            continue
        miss = 10.0 if r.mean is None else (r.mean - r.target.historical) / r.target.tolerance
        total += miss * miss
    return total


def fit(
    path: str | Path,
    overrides: Iterable[str] = (),
    seeds: Sequence[int] | None = None,
    trials: int = 20,
    sampler_seed: int = 0,
) -> Fit:
    """Search the scenario file's ``[calibration.free]`` parameters with Optuna's TPE sampler
    (seeded: the same budget gives the same trials), `trials` runs of every seed each."""
    import optuna

    overrides = tuple(overrides)
    base = load_scenario(path, overrides)
    free = _spec(base).free
    if not free:
        raise CalibrationError(f"{base.source}: calibration.free names no parameter to fit")
    seeds = tuple(seeds) if seeds is not None else default_seeds(base, _spec(base).seeds)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=sampler_seed))
    found: dict[int, Calibration] = {}

    def objective(trial) -> float:
        chosen = {key: trial.suggest_float(key, low, high) for key, (low, high) in free.items()}
        scenario = load_scenario(path, (*overrides, *(f"{k}={v!r}" for k, v in chosen.items())))
        found[trial.number] = calibrate(scenario, seeds)
        return loss(found[trial.number])

    study.optimize(objective, n_trials=trials)
    best = study.best_trial
    return Fit(dict(best.params), best.value, trials, found[best.number])


def _spec(scenario: Scenario):
    if scenario.calibration is None:
        raise CalibrationError(f"{scenario.source}: has no [calibration] table to calibrate")
    return scenario.calibration


def _number(value: Any) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# The metrics a target may name: `measure`'s keys.
METRICS = (
    "spread_multiple",
    "depth_multiple",
    "volume_multiple",
    "turnover_multiple",
    *(f"{name}{suffix}" for name in ("yield_move_bp", "credit_spread_move_bp")
      for suffix in ("", "_AAA", "_AA", "_A", "_BBB", "_BIG")),
    "drawdown_pct",
    "discount_to_fair_bp",
    "fire_sale_yield_bp",
    "sip_absorption",
    "sip_absorption_window",
    "margin_calls",
    "forced_sale_units",
    "forced_sale_units_window",
    "maker_presence",
)  # fmt: skip
FX_METRIC = "fx_move_pct_"  # and the pair, e.g. fx_move_pct_USDINR
FX_PATTERN = FX_METRIC + "[A-Z]{6}"
