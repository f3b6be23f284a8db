"""Credit: ratings, spread term structures, rating migration, default and Z-spreads.

The rating scale follows Indian agency notation (CRISIL/ICRA/CARE long-term scale): AAA down to
BBB-, then ``BIG`` ("below investment grade": every rating from BB+ down to C, pooled into one
bucket because retail marketplaces rarely list them and spreads there are idiosyncratic), and
``D`` (in default). A defaulted bond has no spread: it is worth its recovery (`defaulted_value`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from sim.pricing.curves import ZeroCurve, cashflow_times, price_cashflows

if TYPE_CHECKING:
    from sim.pricing.bond import Bond


class Rating(Enum):
    """Long-term credit rating, best first. ``BIG`` pools BB+ and below; ``D`` is default."""

    AAA = "AAA"
    AA_PLUS = "AA+"
    AA = "AA"
    AA_MINUS = "AA-"
    A_PLUS = "A+"
    A = "A"
    A_MINUS = "A-"
    BBB_PLUS = "BBB+"
    BBB = "BBB"
    BBB_MINUS = "BBB-"
    BIG = "BIG"
    D = "D"

    @classmethod
    def parse(cls, text: str | Rating) -> Rating:
        """A rating from its notation (``"AA+"``); ``Rating`` values pass through."""
        if isinstance(text, Rating):
            return text
        try:
            return cls(text.strip().upper())
        except (ValueError, AttributeError):
            names = [r.value for r in cls]
            raise ValueError(f"unknown rating {text!r}; expected one of {names}") from None

    @property
    def rank(self) -> int:
        """Position on the scale: 0 for AAA, rising as credit quality falls."""
        return _ORDER.index(self)

    @property
    def investment_grade(self) -> bool:
        return self.rank <= Rating.BBB_MINUS.rank


_ORDER = list(Rating)

# Illustrative spreads over G-secs in bp at 1/3/5/10 years: round numbers of the right order for
# Indian corporate bonds, NOT market data. Monotone in rating and in tenor.
DEFAULT_SPREAD_TENORS: tuple[float, ...] = (1.0, 3.0, 5.0, 10.0)
DEFAULT_SPREADS_BP: dict[Rating, tuple[float, ...]] = {
    Rating.AAA: (45.0, 55.0, 65.0, 75.0),
    Rating.AA_PLUS: (80.0, 90.0, 100.0, 115.0),
    Rating.AA: (110.0, 125.0, 140.0, 155.0),
    Rating.AA_MINUS: (150.0, 170.0, 190.0, 210.0),
    Rating.A_PLUS: (210.0, 230.0, 250.0, 270.0),
    Rating.A: (270.0, 290.0, 310.0, 330.0),
    Rating.A_MINUS: (340.0, 365.0, 390.0, 410.0),
    Rating.BBB_PLUS: (440.0, 465.0, 490.0, 515.0),
    Rating.BBB: (540.0, 565.0, 590.0, 615.0),
    Rating.BBB_MINUS: (640.0, 670.0, 695.0, 720.0),
    Rating.BIG: (900.0, 925.0, 950.0, 975.0),
}


@dataclass(frozen=True)
class SpreadTable:
    """Spread term structure (bp over the risk-free curve) for every non-default rating.

    Linear in tenor between the table's tenors, flat outside them. Spreads must not fall as the
    rating worsens, at any tenor.
    """

    tenors: tuple[float, ...]
    spreads_bp: Mapping[Rating, tuple[float, ...]]

    def __post_init__(self) -> None:
        tenors = tuple(float(t) for t in self.tenors)
        if not tenors or any(b <= a for a, b in pairwise(tenors)):
            raise ValueError("spread tenors must be non-empty and strictly increasing")
        table = {
            Rating.parse(k): tuple(float(v) for v in vals) for k, vals in self.spreads_bp.items()
        }
        missing = [r.value for r in _ORDER[:-1] if r not in table]
        if missing:
            raise ValueError(f"spread table is missing ratings: {missing}")
        if Rating.D in table:
            raise ValueError("rating D has no spread: defaulted bonds are valued at recovery")
        for rating, vals in table.items():
            if len(vals) != len(tenors):
                raise ValueError(
                    f"rating {rating.value} has {len(vals)} spreads for {len(tenors)} tenors"
                )
        for better, worse in pairwise(_ORDER[:-1]):
            if any(w < b for b, w in zip(table[better], table[worse], strict=True)):
                raise ValueError(
                    f"spreads must not fall as ratings worsen: {worse.value} is below "
                    f"{better.value} at some tenor"
                )
        object.__setattr__(self, "tenors", tenors)
        object.__setattr__(
            self, "spreads_bp", dict(sorted(table.items(), key=lambda kv: kv[0].rank))
        )

    def spread_bp(self, rating: Rating | str, tenor: float | np.ndarray) -> float | np.ndarray:
        """Spread in bp for ``rating`` at ``tenor`` (years)."""
        r = Rating.parse(rating)
        if r is Rating.D:
            raise ValueError("rating D has no spread: value a defaulted bond with defaulted_value")
        out = np.interp(np.asarray(tenor, dtype=float), self.tenors, self.spreads_bp[r])
        return float(out) if np.ndim(out) == 0 else out


DEFAULT_SPREAD_TABLE = SpreadTable(DEFAULT_SPREAD_TENORS, DEFAULT_SPREADS_BP)


# --- migration and default -----------------------------------------------------------------


@dataclass(frozen=True)
class RatingChange:
    """An event that moves a bond's rating on a given day (a downgrade, upgrade or default)."""

    bond_id: str
    day: int
    new_rating: Rating

    def __post_init__(self) -> None:
        object.__setattr__(self, "new_rating", Rating.parse(self.new_rating))


@dataclass(frozen=True)
class DefaultEvent:
    """A bond defaults on ``day``; holders recover ``recovery_rate`` of face."""

    bond_id: str
    day: int
    recovery_rate: float = 0.4

    def __post_init__(self) -> None:
        _check_recovery(self.recovery_rate)


def _check_recovery(recovery_rate: float) -> None:
    if not 0.0 <= recovery_rate <= 1.0:
        raise ValueError(f"recovery_rate must be in [0, 1], got {recovery_rate!r}")


def defaulted_value(recovery_rate: float, face: float = 100.0) -> float:
    """Value of a defaulted bond: ``recovery_rate * face``.

    Accrued interest stops at default and is not recovered separately (it is part of the claim
    that the recovery rate already discounts), so this is both the clean and the dirty value.
    """
    _check_recovery(recovery_rate)
    return recovery_rate * face


@dataclass(frozen=True)
class MigrationMatrix:
    """One-period rating transition probabilities over the full scale (rows: from, cols: to).

    Rows sum to 1 and ``D`` is absorbing.
    """

    probabilities: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        p = np.asarray(self.probabilities, dtype=float)
        n = len(_ORDER)
        if p.shape != (n, n):
            raise ValueError(f"migration matrix must be {n}x{n} (AAA..D), got shape {p.shape}")
        if np.any(p < 0) or not np.all(np.isfinite(p)):
            raise ValueError("migration probabilities must be finite and non-negative")
        bad = np.flatnonzero(np.abs(p.sum(axis=1) - 1.0) > 1e-9)
        if bad.size:
            raise ValueError(
                f"migration rows must sum to 1; rows {[_ORDER[i].value for i in bad]} do not"
            )
        if p[-1, -1] != 1.0:
            raise ValueError("rating D must be absorbing (D -> D with probability 1)")
        object.__setattr__(self, "probabilities", tuple(tuple(row) for row in p))

    def sample(self, ratings: Sequence[Rating | str], rng: np.random.Generator) -> list[Rating]:
        """Next-period ratings for ``ratings``, drawn with ``rng``."""
        p = np.asarray(self.probabilities)
        cum = np.cumsum(p, axis=1)
        ranks = np.array([Rating.parse(r).rank for r in ratings], dtype=int)
        draws = rng.random(ranks.size)
        # Index of the first cumulative probability above the draw; the clip guards 1 - eps.
        idx = (draws[:, None] >= cum[ranks]).sum(axis=1)
        return [_ORDER[i] for i in np.minimum(idx, len(_ORDER) - 1)]


def illustrative_migration_matrix() -> MigrationMatrix:
    """An annual matrix of plausible shape (illustrative, not agency data).

    Each rating stays put with 80–92% probability, moves one notch with most of the rest
    (downgrades twice as likely as upgrades), and defaults with a probability that rises from
    0.01% (AAA) to 8% (BIG).
    """
    n = len(_ORDER)
    default_prob = np.array(
        [0.0001, 0.0002, 0.0003, 0.0005, 0.001, 0.0015, 0.002, 0.004, 0.006, 0.01, 0.08]
    )
    stay = np.linspace(0.92, 0.80, n - 1)
    p = np.zeros((n, n))
    for i in range(n - 1):
        p[i, n - 1] = default_prob[i]
        moves = 1.0 - stay[i] - default_prob[i]
        up, down = (moves / 3, 2 * moves / 3) if i > 0 else (0.0, moves)
        if i == n - 2:  # BIG: the only way down is default, so the rest stays or goes up
            up, down = moves, 0.0
        p[i, i] = stay[i]
        if i > 0:
            p[i, i - 1] += up
        p[i, i + 1] += down
    p[n - 1, n - 1] = 1.0
    return MigrationMatrix(tuple(tuple(row) for row in p))


# --- Z-spread ------------------------------------------------------------------------------


def z_spread_from_cashflows(
    times: np.ndarray, amounts: np.ndarray, curve: ZeroCurve, dirty_price: float
) -> float:
    """Constant continuous spread ``z`` with ``sum CF_i DF(t_i) exp(-z t_i) = dirty_price``."""
    times = np.asarray(times, dtype=float)
    amounts = np.asarray(amounts, dtype=float)
    if times.size == 0:
        raise ValueError("no cash flows after settle: the bond has matured")
    if not math.isfinite(dirty_price) or dirty_price <= 0:
        raise ValueError(f"dirty price must be positive and finite, got {dirty_price!r}")
    if np.any(amounts < 0) or np.any(times < 0):
        raise ValueError("Z-spread needs non-negative cash flows at non-negative times")

    def error(z: float) -> float:
        return price_cashflows(curve, times, amounts, z) - dirty_price

    from scipy.optimize import brentq  # lazy: scipy.optimize is slow to import

    # The price falls monotonically in z; widen the bracket until it straddles the target.
    lo, hi = -0.05, 0.5
    for attempt in range(7):
        if attempt:
            lo, hi = lo * 2, hi * 2
        if error(lo) >= 0 >= error(hi):
            return float(brentq(error, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500))
    raise ValueError(
        f"no Z-spread in [{lo:.3g}, {hi:.3g}] reprices the bond at {dirty_price:.6g} "
        f"(undiscounted cash flows total {amounts.sum():.6g})"
    )


def z_spread(bond: Bond, curve: ZeroCurve, settle: date, dirty_price: float) -> float:
    """Z-spread (continuous, decimal) of ``bond`` over ``curve`` at ``dirty_price`` per 100 face.

    Cash-flow times are ACT/365F from ``settle``.
    """
    times, amounts = cashflow_times(bond, settle)
    return z_spread_from_cashflows(times, amounts, curve, dirty_price)
