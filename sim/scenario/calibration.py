"""A scenario's ``[calibration]``: the history a stress file claims to reproduce.

Each ``[[calibration.targets]]`` entry names an outcome a run measures of itself (``metric``,
one of `sim.analytics.stress`'s outcomes), the historical figure with its ``source``, and the
``tolerance`` within which the mean over seeds must land. A target is an **input** when the
scenario imposes it (the curve move a rates shock draws) and **emergent** when it comes out
of the agents' trading (spreads widening as makers withdraw, SIP exits the pool absorbs). A
file whose targets are all inputs tests nothing, so at least two must be emergent.

``[calibration.free]`` names the parameters `bondlab calibrate --fit` may search, each an
override key (as ``--set`` takes them) with its range: only the agents' behaviour under stress
(maker withdrawal, panic, the redemption hazard, agent parameters), never a shock that draws an
input path.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.scenario.config import ConfigModel, Float, Int, InvalidField

METRIC_NAME = r"^[a-z][A-Za-z0-9_]*$"
# Shock kinds whose fields draw input paths: the fit never moves them.
INPUT_KINDS = frozenset(
    {
        "rates_parallel",
        "rates_twist",
        "rates_butterfly",
        "spread",
        "downgrade",
        "default",
        "volatility",
        "fx",
        "venue_halt",
        "circuit_breaker",
        "fundamental_jump",
    }
)


class Target(ConfigModel):
    """One historical figure a run should reproduce: ``|mean over seeds - historical| <=
    tolerance``, in the metric's own units, measured over a stress window that opens on
    ``shock_day`` (default: the earliest shock's day) and lasts ``days`` trading days
    (default: to the end of the run), as the history it is compared with was."""

    metric: str = Field(pattern=METRIC_NAME, max_length=64)
    historical: Float
    tolerance: Float = Field(gt=0)
    kind: Literal["input", "emergent"]
    source: str = Field(min_length=1, max_length=300)
    key: bool = True  # checked by the tests' reduced run too
    shock_day: Int | None = Field(None, ge=0)
    days: Int | None = Field(None, ge=1)

    @property
    def window(self) -> tuple[int | None, int | None]:
        """(shock_day, days): the stress window it is measured over."""
        return self.shock_day, self.days

    @property
    def label(self) -> str:
        """The metric, with its window when the target names one: ``turnover_multiple, days
        11-53``."""
        if self.shock_day is None and self.days is None:
            return self.metric
        first = "the first shock's day" if self.shock_day is None else f"day {self.shock_day}"
        if self.days is None:
            return f"{self.metric}, from {first}"
        if self.shock_day is None:
            return f"{self.metric}, {self.days} days from {first}"
        return f"{self.metric}, days {self.shock_day}-{self.shock_day + self.days - 1}"

    def met(self, simulated: float) -> bool:
        """Whether a simulated mean is within tolerance of the historical figure."""
        return abs(simulated - self.historical) <= self.tolerance


class CalibrationSpec(ConfigModel):
    """``[calibration]``: the targets, the seeds `bondlab calibrate` runs by default, and the
    free parameters of ``--fit`` (override key -> ``[low, high]``)."""

    seeds: Int = Field(3, ge=1, le=100)
    targets: tuple[Target, ...] = Field(min_length=2)
    free: dict[str, tuple[Float, Float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _tests_something(self) -> CalibrationSpec:
        emergent = sum(t.kind == "emergent" for t in self.targets)
        if emergent < 2:
            raise InvalidField(
                "targets", f"needs at least two emergent targets, not only inputs (got {emergent})"
            )
        for key, (low, high) in self.free.items():
            if not low < high:
                raise InvalidField(f"free.{key}", f"needs low < high (got [{low}, {high}])")
        return self


def input_free_parameters(spec: CalibrationSpec, shocks: tuple) -> list[tuple[str, str]]:
    """(key, reason) of each free parameter that would move an input: a field of a shock whose
    kind draws an input path."""
    out = []
    for key in spec.free:
        parts = key.split(".")
        if parts[0] != "shocks":
            continue
        if len(parts) < 3 or not parts[1].isdigit() or int(parts[1]) >= len(shocks):
            out.append((key, "names no shock field (shocks.<index>.<field>)"))
        elif shocks[int(parts[1])].kind in INPUT_KINDS:
            kind = shocks[int(parts[1])].kind
            out.append((key, f"is a field of a {kind!r} shock, an input: --fit never moves one"))
    return out
