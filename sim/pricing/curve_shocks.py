"""Yield-curve shocks for the pricing engine: parallel, twist and butterfly moves with a time path.

A shock has a full size in basis points and a `path`: points ``(day_offset, fraction)`` of the
full size, linearly interpolated between points and held flat before the first and after the
last point. ``((0, 1.0),)`` is a step to full size on day 0; ``((0, 0), (5, 1), (30, 1), (60, 0))``
ramps up over five days, holds, then decays. Shocks add to zero rates and compose by summing
(``a + b`` or `CompositeShock`).

These are the engine's moves, not a file format: a scenario describes its shocks with the specs
of `sim.scenario.model` (``rates_parallel``, ``rates_twist``, ``rates_butterfly``), each of
which builds its move here (`curve_shock`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from itertools import pairwise

import numpy as np

from sim.pricing.curves import ZeroCurve

FULL_FROM_DAY_0: tuple[tuple[float, float], ...] = ((0.0, 1.0),)


def _check_path(path: Sequence[Sequence[float]]) -> tuple[tuple[float, float], ...]:
    try:
        points = tuple((float(day), float(frac)) for day, frac in path)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"path must be a list of (day_offset, fraction) pairs: {exc}") from None
    if not points:
        raise ValueError("path needs at least one (day_offset, fraction) point")
    days = [d for d, _ in points]
    if any(b <= a for a, b in pairwise(days)):
        raise ValueError("path day offsets must be strictly increasing")
    if not all(np.isfinite(v) for point in points for v in point):
        raise ValueError("path values must be finite")
    return points


def path_fraction(path: Sequence[tuple[float, float]], day: float) -> float:
    """Fraction of full size on ``day``: linear between points, flat outside them."""
    days = [d for d, _ in path]
    fracs = [f for _, f in path]
    return float(np.interp(day, days, fracs))


def _piecewise_linear(t: np.ndarray, knots: Sequence[float], values: Sequence[float]) -> np.ndarray:
    return np.interp(t, knots, values)


class _Shock:
    """Shared behaviour of the shock dataclasses: time path, extra curve nodes and `apply`."""

    path: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", _check_path(self.path))
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name == "path":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(
                    f"{type(self).__name__} field {f.name} must be a number, got {value!r}"
                )
            if not np.isfinite(value):
                raise ValueError(
                    f"{type(self).__name__} field {f.name} must be finite, got {value!r}"
                )
            object.__setattr__(self, f.name, float(value))

    def profile_bp(self, tenors: np.ndarray) -> np.ndarray:
        """Full-size move in bp at each tenor (before the time path)."""
        raise NotImplementedError

    def pivots(self) -> tuple[float, ...]:
        """Tenors where the shock profile bends; added as curve nodes when applied."""
        return ()

    def shift_bp(self, tenors: float | np.ndarray, day: float) -> np.ndarray:
        """Move in bp at ``tenors`` on ``day``."""
        t = np.asarray(tenors, dtype=float)
        return self.profile_bp(t) * path_fraction(self.path, day)

    def apply(self, curve: ZeroCurve, day: float) -> ZeroCurve:
        """``curve`` with this shock's move on ``day`` added to its zero rates."""
        return _apply(curve, (self,), day)

    def __add__(self, other: Shock | CompositeShock) -> CompositeShock:
        return CompositeShock((self,)) + other  # type: ignore[arg-type]


@dataclass(frozen=True)
class ParallelShock(_Shock):
    """Every tenor moves by ``size_bp``."""

    size_bp: float
    path: tuple[tuple[float, float], ...] = FULL_FROM_DAY_0

    def profile_bp(self, tenors: np.ndarray) -> np.ndarray:
        return np.full_like(tenors, self.size_bp, dtype=float)


@dataclass(frozen=True)
class TwistShock(_Shock):
    """Short end moves by ``short_bp``, long end by ``long_bp``.

    Tenors up to ``short_pivot`` move by ``short_bp``, tenors from ``long_pivot`` on by
    ``long_bp``, and the move is linear in tenor between the pivots (years).
    """

    short_bp: float
    long_bp: float
    short_pivot: float = 2.0
    long_pivot: float = 10.0
    path: tuple[tuple[float, float], ...] = FULL_FROM_DAY_0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.short_pivot < self.long_pivot:
            raise ValueError(
                f"twist pivots need 0 <= short_pivot < long_pivot, got "
                f"{self.short_pivot} and {self.long_pivot}"
            )

    def profile_bp(self, tenors: np.ndarray) -> np.ndarray:
        return _piecewise_linear(
            tenors, (self.short_pivot, self.long_pivot), (self.short_bp, self.long_bp)
        )

    def pivots(self) -> tuple[float, ...]:
        return (self.short_pivot, self.long_pivot)


@dataclass(frozen=True)
class ButterflyShock(_Shock):
    """Wings move by ``wings_bp`` and the belly by ``belly_bp``.

    Tenors up to ``short_pivot`` and from ``long_pivot`` on move by ``wings_bp``; the
    ``belly`` tenor moves by ``belly_bp``; the move is linear in tenor in between.
    """

    wings_bp: float
    belly_bp: float
    short_pivot: float = 2.0
    belly: float = 5.0
    long_pivot: float = 10.0
    path: tuple[tuple[float, float], ...] = FULL_FROM_DAY_0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.short_pivot < self.belly < self.long_pivot:
            raise ValueError(
                f"butterfly tenors need 0 <= short_pivot < belly < long_pivot, got "
                f"{self.short_pivot}, {self.belly} and {self.long_pivot}"
            )

    def profile_bp(self, tenors: np.ndarray) -> np.ndarray:
        return _piecewise_linear(
            tenors,
            (self.short_pivot, self.belly, self.long_pivot),
            (self.wings_bp, self.belly_bp, self.wings_bp),
        )

    def pivots(self) -> tuple[float, ...]:
        return (self.short_pivot, self.belly, self.long_pivot)


Shock = ParallelShock | TwistShock | ButterflyShock


@dataclass(frozen=True)
class CompositeShock:
    """The sum of several shocks."""

    parts: tuple[Shock, ...]

    def shift_bp(self, tenors: float | np.ndarray, day: float) -> np.ndarray:
        t = np.asarray(tenors, dtype=float)
        return sum((p.shift_bp(t, day) for p in self.parts), np.zeros_like(t))

    def apply(self, curve: ZeroCurve, day: float) -> ZeroCurve:
        return _apply(curve, self.parts, day)

    def __add__(self, other: Shock | CompositeShock) -> CompositeShock:
        extra = other.parts if isinstance(other, CompositeShock) else (other,)
        return CompositeShock(self.parts + extra)


def _apply(curve: ZeroCurve, shocks: Sequence[Shock], day: float) -> ZeroCurve:
    # Pivots become nodes so a piecewise-linear shock is exact on a linear curve. On a
    # monotone-cubic curve the extra nodes also slightly reshape it between the old nodes.
    extra = [p for s in shocks for p in s.pivots()]
    grid = np.unique(np.r_[curve.tenors, extra])
    move_bp = sum((s.shift_bp(grid, day) for s in shocks), np.zeros_like(grid))
    rates = np.asarray(curve.zero_rate(grid)) + move_bp / 1e4
    return curve.with_rates(tuple(grid), tuple(rates))


CurveShock = ParallelShock | TwistShock | ButterflyShock | CompositeShock
