"""The bonds of a scenario: listed ones (``[[instruments]]``) and a generated universe
(``[universe]``), which `generate_universe` draws into explicit instruments at load.
"""

from __future__ import annotations

import re
import typing
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.scenario.config import ConfigModel, Dec, Float, Int, InvalidField

# The values of sim.pricing.Rating and sim.pricing.CONVENTIONS, written out so that loading a
# scenario does not import the pricing engine (scipy, numba); a test keeps them in step.
RatingName = Literal["AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BIG", "D"]
DayCount = Literal["30/360", "30E/360", "ACT/ACT-ICMA", "ACT/ACT-ISDA", "ACT/365F", "ACT/ACT-SEBI"]
RATINGS: tuple[str, ...] = typing.get_args(RatingName)
BOND_TERMS = ("issuer", "sector", "rating", "coupon", "issue", "maturity", "frequency", "day_count")


class _Contract(ConfigModel):
    """Price grid and unit size shared by instruments and the universe."""

    tick_size: Dec = Field(Decimal("0.01"), gt=0, le=100)  # rupees per 100 face
    lot_size: Int = Field(1, ge=1, le=1_000_000)
    unit_face_value: Int = Field(1000, ge=1, le=10**9)  # rupees of face per unit

    @model_validator(mode="after")
    def _whole_paise(self) -> _Contract:
        paise = self.tick_size * self.unit_face_value  # paise per tick per unit
        if paise != paise.to_integral_value():
            raise InvalidField(
                "tick_size",
                f"one tick ({self.tick_size} per 100 face) on a unit of {self.unit_face_value} "
                f"rupees face is {paise} paise; it must be whole paise",
            )
        return self


class InstrumentSpec(_Contract):
    """``[[instruments]]``: a listed bond; prices are per 100 face. The bond fields are needed
    by the ``bond`` fundamental."""

    symbol: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.&-]*$", max_length=32)
    reference_price: Dec = Field(gt=0, le=10_000)
    issuer: str | None = Field(None, min_length=1)
    sector: str | None = Field(None, min_length=1)
    rating: RatingName | None = None
    coupon: Float | None = Field(None, ge=0, le=0.5)
    issue: date | None = None
    maturity: date | None = None
    frequency: Literal[1, 2, 4] | None = None
    day_count: DayCount | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InstrumentSpec:
        if self.reference_price % self.tick_size:
            raise InvalidField(
                "reference_price",
                f"must be on the tick grid, a multiple of {self.tick_size} "
                f"(got {self.reference_price})",
            )
        if self.issue and self.maturity and self.maturity <= self.issue:
            raise InvalidField(
                "maturity", f"must be after issue ({self.issue}) (got {self.maturity})"
            )
        return self


class Universe(_Contract):
    """``[universe]``: ``count`` generated bonds, resolved at load (see `generate_universe`)."""

    count: Int = Field(ge=1, le=10_000)
    seed: Int | None = Field(None, ge=0, lt=2**63)
    ratings: dict[RatingName, Annotated[Float, Field(ge=0)]] = Field(
        default_factory=lambda: {"AAA": 0.2, "AA+": 0.2, "AA": 0.2, "A": 0.2, "BBB": 0.2},
        min_length=1,
    )
    sectors: tuple[Annotated[str, Field(min_length=1)], ...] = Field(
        ("NBFC", "PSU", "Infrastructure", "Manufacturing"), min_length=1
    )
    issuers_per_sector: Int = Field(2, ge=1, le=100)
    coupon_range: tuple[Annotated[Float, Field(ge=0, le=0.5)], Float] = (0.07, 0.11)
    maturity_years: tuple[Annotated[Float, Field(ge=0.25, le=50)], Float] = (2.0, 10.0)

    @model_validator(mode="after")
    def _consistent(self) -> Universe:
        if sum(self.ratings.values()) <= 0:
            raise InvalidField("ratings", "needs a positive weight")
        prefixes = [sector_prefix(s) for s in self.sectors]
        for i, prefix in enumerate(prefixes):
            if not prefix or prefix in prefixes[:i]:
                raise InvalidField(
                    f"sectors.{i}",
                    f"needs letters or digits that start a symbol prefix of its own "
                    f"(got {self.sectors[i]!r}, prefix {prefix!r})",
                )
        for name, (low, high), cap in (
            ("coupon_range", self.coupon_range, 0.5),
            ("maturity_years", self.maturity_years, 50),
        ):
            if not low <= high <= cap:
                raise InvalidField(name, f"needs low <= high <= {cap} (got [{low}, {high}])")
        return self


def sector_prefix(sector: str) -> str:
    """The symbol prefix of ``sector``'s issuers: its first five letters or digits, upper case."""
    return re.sub(r"[^A-Za-z0-9]", "", sector).upper()[:5]


def generate_universe(universe: Universe, start: date, run_seed: int) -> tuple[InstrumentSpec, ...]:
    """``universe.count`` bonds drawn from ``universe.seed`` (default ``run_seed``).

    Each sector has ``issuers_per_sector`` issuers (``NBFC1``, ``NBFC2``, ...), each with one
    rating drawn from the weights; a bond picks an issuer, a maturity in whole months within
    ``maturity_years`` of ``start``, an issue date whole years earlier (on or before ``start``,
    so coupon periods are regular), a coupon rising with credit risk (rounded to 1bp), semi-annual
    coupons on ``30/360`` or ``ACT/365F``, and a reference price near par on the tick grid.
    Symbols are ``ISSUER-YEAR-LETTER``, e.g. ``NBFC1-2031-A``.
    """
    rng = np.random.default_rng(run_seed if universe.seed is None else universe.seed)
    names = list(universe.ratings)
    weights = np.array([universe.ratings[r] for r in names])
    issuers = [
        (sector, f"{sector_prefix(sector)}{k}")
        for sector in universe.sectors
        for k in range(1, universe.issuers_per_sector + 1)
    ]
    issuer_ratings = [
        names[j] for j in rng.choice(len(names), len(issuers), p=weights / weights.sum())
    ]
    ranks = sorted({RATINGS.index(r) for r in names})
    low, high = universe.coupon_range
    first_month, last_month = (round(12 * y) for y in universe.maturity_years)
    taken: dict[tuple[str, int], int] = {}
    bonds = []
    for _ in range(universe.count):
        j = int(rng.integers(len(issuers)))
        sector, issuer = issuers[j]
        months = int(rng.integers(max(first_month, 1), max(last_month, first_month, 1) + 1))
        maturity = _add_months(start, months)
        issue = _add_months(maturity, -12 * (months // 12 + int(rng.integers(1, 4))))
        risk = ranks.index(RATINGS.index(issuer_ratings[j])) / max(len(ranks) - 1, 1)
        coupon = round(low + (high - low) * (0.7 * risk + 0.3 * rng.random()), 4)
        ticks = round((100 + rng.normal(0, 0.5)) / float(universe.tick_size))
        letter = taken.get((issuer, maturity.year), 0)
        taken[(issuer, maturity.year)] = letter + 1
        bonds.append(
            InstrumentSpec(
                symbol=f"{issuer}-{maturity.year}-{_letters(letter)}",
                tick_size=universe.tick_size,
                lot_size=universe.lot_size,
                unit_face_value=universe.unit_face_value,
                reference_price=max(ticks, 1) * universe.tick_size,
                issuer=issuer,
                sector=sector,
                rating=issuer_ratings[j],
                coupon=coupon,
                issue=issue,
                maturity=maturity,
                frequency=2,
                day_count=("30/360", "ACT/365F")[int(rng.integers(2))],
            )
        )
    return tuple(bonds)


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    return date(day.year + year, month + 1, min(day.day, 28))  # day 28 exists in every month


def _letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, ..."""
    text = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        text = chr(65 + r) + text
    return text
