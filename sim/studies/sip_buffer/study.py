"""The SIP buffer-sizing study: plan it (everything validated before a run starts), run its
sweeps, and write its table, crossings and figures.

Sweeps (each a `sim.studies.sweep` folder under ``<out>/sweeps/``, resumed when the same study
is run again):

- one per condition (`conditions`): the buffer share over `shares`, every share over `seeds`;
- "sobol": the Sobol design (`sobol`) under the stressed condition, one run per point on one
  seed (common random numbers across points), when `sobol_samples` > 0.

Written to `out`: table.csv and table.md (`table`), crossing.csv (per condition and
absorption measure: the smallest share reaching `target`, `crossing`), sip_buffer.png,
sobol.csv and sobol.png, and study.json (what ran: the spec, each sweep's runs, errors and
wall time, the machine's cores).
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sim.pricing.bond import Bond
from sim.records.store import to_json_ready, write_bytes_atomically
from sim.scenario.model import Scenario, ScenarioError, load_scenario
from sim.studies import sweep
from sim.studies.sip_buffer import conditions as study_conditions
from sim.studies.sip_buffer import crossing as study_crossing
from sim.studies.sip_buffer import sobol as study_sobol
from sim.studies.sip_buffer import table as study_table
from sim.studies.sip_buffer.conditions import Condition

DEFAULT_OUT = Path("results") / "studies" / "sip_buffer"
DEFAULT_SHARES = "0:0.5:0.05"
DEFAULT_SEEDS = 20
DEFAULT_SOBOL_SAMPLES = 32
QUICK_SHARES = "0,0.5"
QUICK_SEEDS = 2
QUICK_SOBOL_SAMPLES = 2
SOBOL = "sobol"
SOBOL_OUTPUT = "sip.absorption_rate_value"  # what the indices apportion
MEASURES = ("absorption_value", "absorption_units")


@dataclass(frozen=True)
class StudySpec:
    """What the study runs (see `plan_study`)."""

    scenario: str
    reference: str
    shares: tuple[float, ...]
    seeds: tuple[int, ...]
    target: float
    conditions: tuple[Condition, ...]
    base_overrides: tuple[str, ...]  # every run's, before its condition's (--quick's)
    sobol_samples: int
    sobol_seed: int
    carry_rate: float
    quick: bool


@dataclass(frozen=True)
class StudyPlan:
    spec: StudySpec
    sweeps: dict[str, sweep.Plan]  # by name: each condition's, then "sobol"
    sobol_design: np.ndarray | None

    @property
    def runs(self) -> int:
        return sum(len(p.points) * len(p.seeds) for p in self.sweeps.values())


@dataclass(frozen=True)
class StudyResult:
    folder: Path
    table: pl.DataFrame
    crossings: pl.DataFrame
    sobol: pl.DataFrame | None
    files: dict[str, Path]
    record: dict[str, Any] = field(repr=False)


class StudyError(sweep.SweepError):
    """A study that cannot run as asked (a bad target, seeds, sample size or carry rate)."""


def carry_rate_of(scenario: Scenario) -> float:
    """The mean yield of the bonds SIP investors buy, at their reference prices on the first
    day: what the idle buffer would have earned invested like the investors' money."""
    sip = scenario.populations.get("sip")
    chosen = set(sip.bonds) if sip is not None and sip.bonds else None
    settle = scenario.calendar.start
    yields = [
        Bond(i.issue, i.maturity, i.coupon, i.frequency, i.day_count).yield_from_price(
            float(i.reference_price), settle
        )
        for i in scenario.instruments
        if chosen is None or i.symbol in chosen
    ]
    return float(np.mean(yields))


def plan_study(
    *,
    scenario: str | Path = study_conditions.STUDY_SCENARIO,
    reference: str | Path = study_conditions.REFERENCE_SCENARIO,
    shares: str | None = None,
    seeds: int | str | Sequence[int] | None = None,
    target: float = 0.8,
    sobol_samples: int | None = None,
    carry_rate: float | None = None,
    quick: bool = False,
) -> StudyPlan:
    """Validate the study and plan its sweeps; nothing runs. `shares`: ``start:stop:step`` or
    ``v1,v2`` (default 0:0.5:0.05; --quick 0,0.5); `seeds`: N (1 to N), ``A..B``, ``1,2,5``
    or the seeds (default 20; --quick 2); `sobol_samples`: the Sobol base sample N, a power of
    2, or 0 to skip it (default 32; --quick 2); `carry_rate`: a year's rate the idle buffer
    forgoes (default `carry_rate_of` the scenario). `quick` runs a tiny market
    (`conditions.quick_overrides`). Raises `StudyError`, `SweepError` or `ScenarioError`."""
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1:
        raise StudyError(f"--target {target}: expected a share of exits in (0, 1], e.g. 0.8")
    shares = shares or (QUICK_SHARES if quick else DEFAULT_SHARES)
    seeds = seeds if seeds is not None else (QUICK_SEEDS if quick else DEFAULT_SEEDS)
    chosen = sweep.parse_seeds(str(seeds)) if isinstance(seeds, int | str) else tuple(seeds)
    if len(chosen) < 2:
        raise StudyError(f"--seeds {seeds}: expected at least 2 seeds (the CI is over seeds)")
    if sobol_samples is None:
        sobol_samples = QUICK_SOBOL_SAMPLES if quick else DEFAULT_SOBOL_SAMPLES
    if sobol_samples and (sobol_samples < 2 or sobol_samples & (sobol_samples - 1)):
        raise StudyError(f"--sobol {sobol_samples}: expected a power of 2 (>= 2), or 0 to skip")
    if carry_rate is not None and not (math.isfinite(carry_rate) and 0 <= carry_rate < 1):
        raise StudyError(f"--carry-rate {carry_rate}: expected a yearly rate in [0, 1), e.g. 0.08")
    base = load_scenario(scenario)
    calm, stress = study_conditions.conditions(scenario, reference)
    base_overrides = study_conditions.quick_overrides(base) if quick else ()
    grid_flag = f"--grid {study_table.SHARE}="  # the sweep's words for what --shares gave
    try:
        sweep.parse_axis(f"{study_table.SHARE}={shares}")
        plans = {
            c.name: sweep.plan(
                scenario,
                {study_table.SHARE: shares},
                chosen,
                overrides=[*base_overrides, *c.overrides],
            )
            for c in (calm, stress)
        }
    except ScenarioError as exc:
        raise ScenarioError(
            [line.replace(grid_flag, "--shares ") for line in exc.problems]
        ) from None
    except sweep.SweepError as exc:
        raise StudyError(str(exc).replace(grid_flag, "--shares ")) from None
    design = None
    if sobol_samples:
        design = study_sobol.design(sobol_samples)
        varied = {f.key for f in study_sobol.FACTORS}  # the design's, not --quick's
        kept = [o for o in base_overrides if o.partition("=")[0] not in varied]
        plans[SOBOL] = sweep.plan(
            scenario,
            points=study_sobol.points(design),
            seeds=(1,),
            overrides=[*kept, *stress.overrides],
        )
    share_values = tuple(float(p.values[0]) for p in plans[calm.name].points)
    spec = StudySpec(
        scenario=base.name,
        reference=str(reference),
        shares=share_values,
        seeds=chosen,
        target=float(target),
        conditions=(calm, stress),
        base_overrides=base_overrides,
        sobol_samples=sobol_samples,
        sobol_seed=1,
        carry_rate=carry_rate if carry_rate is not None else carry_rate_of(base),
        quick=quick,
    )
    return StudyPlan(spec, plans, design)


def run_study(
    study: StudyPlan,
    out: str | Path = DEFAULT_OUT,
    *,
    workers: int = 1,
    scheduler: str | Any | None = None,
    progress: Callable[[str, int, int, int], None] | None = None,
) -> StudyResult:
    """Run the study's sweeps (continuing any that `out` holds) and write its outputs.
    `progress` is called with (sweep name, runs done, runs, errors)."""
    folder = Path(out)
    rows: dict[str, pl.DataFrame] = {}
    sessions: dict[str, dict] = {}
    for name, planned in study.sweeps.items():
        started = time.perf_counter()
        report = None if progress is None else _named(progress, name)
        rows[name] = sweep.run_plan(
            planned,
            workers=workers,
            scheduler=scheduler,
            out=folder / "sweeps" / f"{name}-{planned.id}",
            progress=report,
        )
        status = rows[name]["status"]
        sessions[name] = {
            "runs": rows[name].height,
            "errors": int((status != "ok").sum()),
            "wall_seconds": round(time.perf_counter() - started, 1),
            "folder": f"sweeps/{name}-{planned.id}",
        }
    return write_study(study, rows, folder, sessions, workers=workers, scheduler=scheduler)


def _named(progress, name):
    return lambda done, total, errors: progress(name, done, total, errors)


def write_study(
    study: StudyPlan,
    rows: dict[str, pl.DataFrame],
    folder: Path,
    sessions: dict[str, dict] | None = None,
    *,
    workers: int = 1,
    scheduler: str | Any | None = None,
) -> StudyResult:
    """The table, crossings and figures from the sweeps' rows, written to `folder`."""
    from sim.studies.sip_buffer import figures  # lazy: matplotlib

    spec = study.spec
    per_run = {c.name: study_table.outcomes(rows[c.name], spec.carry_rate) for c in spec.conditions}
    summary = study_table.table(per_run)
    found: dict[str, dict[str, study_crossing.Crossing]] = {}
    for name, runs in per_run.items():
        found[name] = {}
        for measure in MEASURES:
            shares, values = _matrix(runs, measure)
            found[name][measure] = study_crossing.crossing(shares, values, spec.target)
    crossings = pl.DataFrame(
        [
            {"condition": name, "measure": measure, **c.to_dict()}
            for name, by_measure in found.items()
            for measure, c in by_measure.items()
        ]
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "table.csv": folder / "table.csv",
        "table.md": folder / "table.md",
        "crossing.csv": folder / "crossing.csv",
        "sip_buffer.png": folder / "sip_buffer.png",
    }
    write_bytes_atomically(files["table.csv"], summary.write_csv().encode())
    write_bytes_atomically(files["table.md"], study_table.markdown(summary).encode())
    write_bytes_atomically(files["crossing.csv"], crossings.write_csv().encode())
    main = {name: by_measure["absorption_value"] for name, by_measure in found.items()}
    _save(figures.buffer_figure(summary, main, spec.target), files["sip_buffer.png"])
    indices, sobol_record = None, None
    if SOBOL in rows:
        indices, sobol_record = _sobol(study, rows[SOBOL])
        files["sobol.csv"] = folder / "sobol.csv"
        files["sobol.png"] = folder / "sobol.png"
        write_bytes_atomically(files["sobol.csv"], indices.write_csv().encode())
        note = (
            f"N = {spec.sobol_samples}, {rows[SOBOL].height} runs under "
            f"{spec.conditions[1].name}, seed {spec.sobol_seed}"
        )
        _save(figures.sobol_figure(indices, note), files["sobol.png"])
    record = {
        "spec": {**asdict(spec), "conditions": [asdict(c) for c in spec.conditions]},
        "engine": {
            "workers": workers,
            "scheduler": None if scheduler is None else str(scheduler),
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
        },
        "sweeps": sessions or {},
        "runs": sum(r.height for r in rows.values()),
        "crossings": crossings.to_dicts(),
        "sobol": sobol_record,
    }
    files["study.json"] = folder / "study.json"
    text = json.dumps(to_json_ready(record), indent=2, sort_keys=True) + "\n"
    write_bytes_atomically(files["study.json"], text.encode())
    return StudyResult(folder, summary, crossings, indices, files, record)


def _matrix(runs: pl.DataFrame, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Seeds x shares of one outcome (NaN where a run failed or had no exits)."""
    wide = (
        runs.filter(pl.col("status") == "ok")
        .pivot(on=study_table.SHARE, index="seed", values=measure, aggregate_function="first")
        .sort("seed")
    )
    shares = sorted(float(c) for c in wide.columns if c != "seed")
    by_text = {float(c): c for c in wide.columns if c != "seed"}
    values = wide.select([by_text[s] for s in shares]).to_numpy().astype(float)
    return np.array(shares), values


def _sobol(study: StudyPlan, rows: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """Sobol indices of the absorption by value; a run without a value (it failed, or saw no
    exits) counts at the mean of the others, and the record says how many did."""
    if SOBOL_OUTPUT not in rows.columns:  # no run succeeded, so no metric has a column
        errors = rows["error"].drop_nulls()
        first = f": {errors[0]}" if len(errors) else ""
        raise StudyError(f"sobol: no run gave an absorption rate ({rows.height} failed{first})")
    outputs = (
        rows.sort("point")
        .select(pl.when(pl.col("status") == "ok").then(pl.col(SOBOL_OUTPUT)))
        .to_series()
        .to_numpy()
        .astype(float)
    )
    missing = int(np.sum(~np.isfinite(outputs)))
    if missing == outputs.size:
        raise StudyError("sobol: no run gave an absorption rate")
    outputs = np.where(np.isfinite(outputs), outputs, np.nanmean(outputs))
    indices = study_sobol.analyze(outputs)
    record = {
        "base_samples": study.spec.sobol_samples,
        "runs": int(outputs.size),
        "missing": missing,
        "output": SOBOL_OUTPUT,
        "factors": [asdict(f) for f in study_sobol.FACTORS],
        "indices": indices.to_dicts(),
    }
    return indices, record


def _save(figure, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    write_bytes_atomically(path, buffer.getvalue())
