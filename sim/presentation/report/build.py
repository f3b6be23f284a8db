"""A run folder to a `Report`: verify the run, then read each section from its records.

The verdict comes first and is shown whatever it is. A tampered run's figures are withheld
(its sections say so, under their usual ids), since they would be read from altered files; a
run that is intact but not reproduced, or made with another version, is reported in full
beside its verdict. A folder `verify` cannot check raises `sim.records.verify.BadRunFolder`
(one line naming the file and why).
"""

from __future__ import annotations

import importlib.metadata
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from sim.presentation.report.figures import prices_figure, pulse_figure
from sim.presentation.report.gate import Decisions, gate_section
from sim.presentation.report.market import market_quality_section
from sim.presentation.report.model import Report, Section
from sim.presentation.report.populations import (
    market_makers_section,
    repo_section,
    sip_section,
)
from sim.presentation.report.provenance import reproducibility_section, scenario_section
from sim.presentation.report.pulse import daily_pulse, pulse_section
from sim.presentation.report.stress import TargetOutcome, stress_section
from sim.presentation.report.surveillance import surveillance_section
from sim.records.store import MANIFEST_FILE
from sim.records.verify import TAMPERED, verify

# The sections read from the run's records, in page order: a tampered run's are withheld.
FROM_RECORDS = (
    "market-quality", "stress", "sip", "market-makers", "pulse", "repo", "surveillance",
)  # fmt: skip

# measure(result, shock_day=..., days=...) -> {outcome: value}: `stress_outcomes`, or a
# caller's superset of it (the calibration's, which adds FX moves).
Measure = Callable[..., Mapping[str, Any]]


def build_report(
    run_dir: str | Path,
    *,
    rerun: bool = True,
    alerts: pl.DataFrame | None = None,
    decisions: Decisions | None = None,
    measure: Measure | None = None,
) -> Report:
    """The report of the run in `run_dir`.

    `rerun` re-runs the manifest's scenario and seed as `bondlab verify` does; `alerts` are
    the surveillance alerts (None: `sim.analytics.surveillance.surveil_result` finds them);
    `decisions` the gate's decision log (None: none given); `measure` measures the stress
    outcomes over a calibration target's window (None: `stress_outcomes`).
    """
    path = Path(run_dir)
    rerun_with = None
    if rerun:
        from sim.engine.kernel import run as rerun_with  # the engine: only to re-run
    verdict = verify(path, rerun=rerun_with)  # raises BadRunFolder for what it cannot check
    manifest = json.loads((path / MANIFEST_FILE).read_bytes())  # verify read it as JSON
    if verdict.status == TAMPERED:
        body = tuple(_withheld(section_id) for section_id in FROM_RECORDS)
    else:
        body = _sections(path, manifest, alerts, measure)
    sections = (
        scenario_section(manifest),
        reproducibility_section(verdict),
        *body,
        gate_section(manifest, decisions),
    )
    run_id = str(manifest.get("run_id") or path.name)
    return Report(
        run_id=run_id,
        title=f"Regulator's report: {run_id}",
        written=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        bondlab_version=importlib.metadata.version("bondlab"),
        sections=sections,
    )


def _sections(
    path: Path,
    manifest: Mapping[str, Any],
    alerts: pl.DataFrame | None,
    measure: Measure | None,
) -> tuple[Section, ...]:
    """The sections read from an intact run's records, in page order."""
    from sim.analytics.stress import stress_outcomes
    from sim.analytics.surveillance import surveil_result, tier_compliance
    from sim.records.result import Result

    result = Result.load(path)
    if alerts is None:
        alerts = surveil_result(result)
    measure = measure or stress_outcomes
    outcomes = stress_outcomes(result)
    metrics, agents = result.metrics, result.agents
    daily = daily_pulse(result)
    return (
        market_quality_section(metrics.get("market_quality", {}), prices_figure(result)),
        stress_section(outcomes, _targets(result, manifest, measure)),
        sip_section(metrics, outcomes),
        market_makers_section(metrics, agents, manifest["scenario"], tier_compliance(result)),
        pulse_section(daily, None if daily is None else pulse_figure(daily)),
        repo_section(metrics, agents, outcomes),
        surveillance_section(alerts),
    )


def _targets(result, manifest: Mapping[str, Any], measure: Measure) -> list[TargetOutcome]:
    """The scenario's calibration targets, each measured over its own window."""
    from sim.scenario.calibration import CalibrationSpec

    spec = manifest["scenario"].get("calibration")
    if spec is None:
        return []
    targets = CalibrationSpec.model_validate(spec).targets
    measured = {w: measure(result, shock_day=w[0], days=w[1]) for w in {t.window for t in targets}}
    return [TargetOutcome(t, _finite(measured[t.window].get(t.metric))) for t in targets]


def _finite(value: Any) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _withheld(section_id: str) -> Section:
    return Section(
        id=section_id,
        lead=(
            "Withheld: the run's files do not match its manifest (see Reproducibility), so "
            "nothing here would be read from what was written.",
        ),
    )
