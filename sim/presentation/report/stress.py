"""The ``stress`` section: what the scenario's stress did to the market
(`sim.analytics.stress.stress_outcomes`) and, for a scenario with ``[calibration]`` targets,
each target against this run, judged as `sim.scenario.calibration.Target.met` judges it:
``|simulated - historical| <= tolerance``, measured over the target's own stress window."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sim.presentation.report.formats import label, number
from sim.presentation.report.model import FAIL, OK, Section, table
from sim.scenario.calibration import Target


@dataclass(frozen=True)
class TargetOutcome:
    """A calibration target and what this run measured of it (None: not measured)."""

    target: Target
    simulated: float | None

    @property
    def met(self) -> bool:
        return self.simulated is not None and self.target.met(self.simulated)

    @property
    def miss(self) -> float | None:
        """Simulated minus historical, in tolerances."""
        if self.simulated is None:
            return None
        return (self.simulated - self.target.historical) / self.target.tolerance


def stress_section(
    outcomes: Mapping[str, float | int | None], targets: Sequence[TargetOutcome] = ()
) -> Section:
    """The section of one run's stress `outcomes` (over the default window: from the earliest
    shock's day to the end) and its calibration `targets` (none: the scenario has none)."""
    shock_day = outcomes.get("shock_day")
    if shock_day is None:
        lead = [
            "The scenario has no shock, so there is no stress window: the outcomes measured "
            "against the days before a stress are not defined."
        ]
    else:
        reference = outcomes.get("reference_days")
        lead = [
            f"The stress window opens on trading day {shock_day} (the earliest shock) and "
            f"runs to the end of the run; it is compared with the {reference} trading "
            f"day{'s' * (reference != 1)} before it."
        ]
    status = status_text = None
    tables = []
    if targets:
        met = sum(t.met for t in targets)
        status, status_text = (OK, "targets met") if met == len(targets) else (FAIL, "missed")
        lead.append(f"This run meets {met} of the scenario's {len(targets)} calibration targets.")
        tables.append(_targets_table(targets))
    else:
        lead.append("The scenario has no [calibration] targets to compare with.")
    rows = [(label(k), number(v)) for k, v in outcomes.items() if k not in _WINDOW]
    tables.append(table(("outcome", "this run"), rows, caption="Stress outcomes"))
    return Section(
        id="stress",
        lead=tuple(lead),
        tables=tuple(tables),
        status=status,
        status_text=status_text or "",
        notes=(
            "Multiples are the window's extreme day over the reference days' mean; moves are "
            "in basis points, signed; drawdown in %. How each is measured: "
            "sim/analytics/stress.py. A calibration judges the mean over several seeds "
            "(bondlab calibrate); this is one run, one seed.",
        ),
    )


_WINDOW = ("shock_day", "reference_days")  # said in the lead, not the table


def _targets_table(targets: Sequence[TargetOutcome]):
    rows = [
        (
            t.target.label,
            t.target.kind,
            number(t.target.historical),
            number(t.target.tolerance),
            number(t.simulated),
            number(t.miss, 3),
            "met" if t.met else ("not measured" if t.simulated is None else "MISSED"),
            t.target.source,
        )
        for t in targets
    ]
    columns = ("target", "kind", "historical", "tolerance", "this run",
               "miss (tolerances)", "verdict", "source")  # fmt: skip
    return table(columns, rows, caption="Calibration targets against this run")
