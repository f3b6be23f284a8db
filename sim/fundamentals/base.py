"""What every fundamental process provides (`Fundamental`), and the number checks and
Ornstein–Uhlenbeck variance the processes share."""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np


class Fundamental(Protocol):
    """What agents, the kernel and the recorder need from a fundamental process.

    ``value``: price per 100 face at ``t_ns``. ``apply_shock``: a scenario shock acts from
    ``t_ns`` on (shocks must arrive in time order). ``fair_value_row``: ``(fair clean price,
    fair yield, spread bp)`` for the recorder; ``curve_rows``: the day's ``(tenor_years,
    zero_rate)`` points.
    """

    @property
    def symbols(self) -> tuple[str, ...]: ...
    def value(self, symbol: str, t_ns: int) -> float: ...
    def apply_shock(self, shock: Any, t_ns: int) -> None: ...
    def fair_value_row(self, symbol: str, day: int, t_ns: int) -> tuple[float, Any, Any]: ...
    def curve_rows(self, day: int) -> tuple[tuple[float, float], ...]: ...


def ou_variance(kappa: float, dt: float) -> float:
    """Variance of an OU transition over ``dt`` per unit ``sigma**2``."""
    return dt if kappa == 0 else -math.expm1(-2.0 * kappa * dt) / (2.0 * kappa)


def check_number(name: str, value: Any, *, positive: bool = False, signed: bool = False) -> float:
    """``value`` as a float if it is a finite number, ``>= 0`` (``> 0``) unless ``signed``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if signed and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if not signed and (not math.isfinite(value) or value < 0 or (positive and value == 0)):
        raise ValueError(
            f"{name} must be finite and {'> 0' if positive else '>= 0'}, got {value!r}"
        )
    return float(value)
