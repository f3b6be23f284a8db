"""Shocks: the stress events a scenario's ``[[shocks]]`` list imposes, one spec per kind.

Every shock starts on trading day ``day`` (0-based) at ``at`` (default: the open). Shocks that
last have a ``path`` over time: a step, a linear ramp, an exponential decay or explicit points,
each held as points (day offset, fraction of full size), linear in between and flat after the
last. One-off events (a downgrade, a halt, new circuit-breaker settings) have no path.

A spec is validated once, here, and applied by whoever it concerns: the fundamental value
(curve, credit, volatility, downgrades, defaults), the venues (halts, circuit breakers), the
agents (panic, investors staying away, redemption waves, market makers' withdrawal, repo
haircuts), or the records (an FX rate). The README's shock table lists every kind with its fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.scenario.config import (
    HHMM,
    ConfigModel,
    Float,
    Int,
    InvalidField,
    pydantic_problems,
)
from sim.scenario.universe import RatingName

# Ratings with their notches pooled (AA+, AA and AA- are AA): the grades agents reason in.
GradeName = Literal["AAA", "AA", "A", "BBB", "BIG"]


class StepPath(ConfigModel):
    """``{kind = "step"}``: full size from the shock on."""

    kind: Literal["step"]

    def points(self) -> tuple[tuple[float, float], ...]:
        return ((0.0, 1.0),)


class RampPath(ConfigModel):
    """``{kind = "ramp", days = N}``: from nothing on the shock's day to full size N trading
    days later, linearly; full size after."""

    kind: Literal["ramp"]
    days: Float = Field(gt=0, le=2600)

    def points(self) -> tuple[tuple[float, float], ...]:
        return ((0.0, 0.0), (self.days, 1.0))


class DecayPath(ConfigModel):
    """``{kind = "decay", half_life_days = H}``: full size on the shock's day, then halving
    every H trading days, exactly on each day (linear within a day); nothing once below 0.1%."""

    kind: Literal["decay"]
    half_life_days: Float = Field(gt=0, le=260)

    def points(self) -> tuple[tuple[float, float], ...]:
        last = math.ceil(math.log2(1000) * self.half_life_days)  # the first day below 0.1%
        decayed = [(float(d), 0.5 ** (d / self.half_life_days)) for d in range(last)]
        return (*decayed, (float(last), 0.0))


class _PathShape(ConfigModel):
    """A path given as a table, for validation: its shape."""

    shape: Annotated[StepPath | RampPath | DecayPath, Field(discriminator="kind")]


class _Event(ConfigModel):
    """A one-off event on trading day ``day`` (0-based) at ``at`` (default: the open)."""

    day: Int = Field(ge=0)
    at: HHMM | None = None


class _Shock(_Event):
    """A shock that lasts, along ``path``: a step, a ramp or a decay (`StepPath`, `RampPath`,
    `DecayPath`), or explicit points (day offset, fraction of full size), linear in between and
    flat after the last. Every shape is held as its points."""

    path: tuple[tuple[Float, Float], ...] = Field(((0.0, 1.0),), min_length=1)

    @field_validator("path", mode="before")
    @classmethod
    def _as_points(cls, path: Any) -> Any:
        if not isinstance(path, Mapping):
            return path
        table = {"shape": dict(path)}
        try:
            return _PathShape.model_validate(table).shape.points()
        except ValidationError as exc:
            loc, reason = pydantic_problems(exc, _PathShape, table)[0]
            if len(loc) == 1:  # the shape itself, not one of its fields
                raise ValueError(reason) from None
            raise InvalidField(".".join(map(str, loc[1:])), reason) from None

    @model_validator(mode="after")
    def _path_increasing(self) -> _Shock:
        offsets = [offset for offset, _ in self.path]
        if offsets[0] < 0 or any(b <= a for a, b in pairwise(offsets)):
            raise InvalidField("path", f"day offsets must be >= 0 and increasing (got {offsets})")
        return self


class RatesParallelShock(_Shock):
    """Every tenor of the risk-free curve moves by ``size_bp``."""

    kind: Literal["rates_parallel"]
    size_bp: Float = Field(ge=-5000, le=5000)

    def curve_shock(self):
        """The pricing engine's move (`sim.pricing.ParallelShock`)."""
        from sim.pricing import ParallelShock

        return ParallelShock(self.size_bp, self.path)


class RatesTwistShock(_Shock):
    """Tenors up to the short pivot move ``short_bp``, from the long pivot on ``long_bp``."""

    kind: Literal["rates_twist"]
    short_bp: Float = Field(ge=-5000, le=5000)
    long_bp: Float = Field(ge=-5000, le=5000)
    short_pivot_years: Float = Field(2.0, ge=0, le=50)
    long_pivot_years: Float = Field(10.0, ge=0, le=50)

    def curve_shock(self):
        """The pricing engine's move (`sim.pricing.TwistShock`)."""
        from sim.pricing import TwistShock

        return TwistShock(
            self.short_bp, self.long_bp, self.short_pivot_years, self.long_pivot_years, self.path
        )

    @model_validator(mode="after")
    def _pivots_ordered(self) -> RatesTwistShock:
        if self.short_pivot_years >= self.long_pivot_years:
            raise InvalidField(
                "long_pivot_years",
                f"must be > short_pivot_years ({self.short_pivot_years}) "
                f"(got {self.long_pivot_years})",
            )
        return self


class RatesButterflyShock(_Shock):
    """The wings move ``wings_bp`` and the belly ``belly_bp``, linear in tenor between."""

    kind: Literal["rates_butterfly"]
    wings_bp: Float = Field(ge=-5000, le=5000)
    belly_bp: Float = Field(ge=-5000, le=5000)
    short_pivot_years: Float = Field(2.0, ge=0, le=50)
    belly_years: Float = Field(5.0, ge=0, le=50)
    long_pivot_years: Float = Field(10.0, ge=0, le=50)

    def curve_shock(self):
        """The pricing engine's move (`sim.pricing.ButterflyShock`)."""
        from sim.pricing import ButterflyShock

        return ButterflyShock(
            self.wings_bp,
            self.belly_bp,
            self.short_pivot_years,
            self.belly_years,
            self.long_pivot_years,
            self.path,
        )

    @model_validator(mode="after")
    def _tenors_ordered(self) -> RatesButterflyShock:
        if not self.short_pivot_years < self.belly_years < self.long_pivot_years:
            raise InvalidField(
                "belly_years",
                f"must lie strictly between short_pivot_years ({self.short_pivot_years}) and "
                f"long_pivot_years ({self.long_pivot_years}) (got {self.belly_years})",
            )
        return self


class SpreadShock(_Shock):
    """Credit spreads widen by ``size_bp``: of the given ratings and/or sectors (default: all).
    A bond is moved when it matches both filters given."""

    kind: Literal["spread"]
    size_bp: Float = Field(ge=-5000, le=5000)
    ratings: tuple[RatingName, ...] | None = Field(None, min_length=1)
    sectors: tuple[str, ...] | None = Field(None, min_length=1)

    def applies_to(self, rating, sector: str | None = None) -> bool:
        """Whether a bond rated `rating` (a `sim.pricing.Rating`) in `sector` is moved."""
        return (self.ratings is None or rating.value in self.ratings) and (
            self.sectors is None or sector in self.sectors
        )


class DowngradeShock(_Event):
    """Every bond of ``issuer`` loses ``notches`` rating notches (to BIG at worst): its credit
    spread, and every agent that reads ratings, follow."""

    kind: Literal["downgrade"]
    issuer: str
    notches: Int = Field(1, ge=1, le=10)


class DefaultShock(_Shock):
    """``issuer`` defaults: its bonds are rated D and valued at ``recovery`` of face (default:
    the fundamentals' ``recovery``), trade flat (no accrued interest) and pay nothing due from
    that day on. Its sector's other bonds widen
    by ``contagion_bp`` along the path."""

    kind: Literal["default"]
    issuer: str
    recovery: Float | None = Field(None, ge=0, le=1)
    contagion_bp: Float = Field(0.0, ge=0, le=5000)

    @model_validator(mode="after")
    def _at_the_open(self) -> DefaultShock:
        if self.at is not None:
            raise InvalidField("at", "a default acts at its day's open, before any payment due")
        return self


class FundamentalJumpShock(_Shock):
    """The fundamental value of the given symbols (default: all) jumps by ``size_pct``."""

    kind: Literal["fundamental_jump"]
    size_pct: Float = Field(gt=-100, le=1000)
    symbols: tuple[str, ...] | None = Field(None, min_length=1)


class VolatilityShock(_Shock):
    """The fundamentals' volatility is multiplied by ``multiplier`` (at full size; by
    ``1 + (multiplier - 1) x fraction`` along the path)."""

    kind: Literal["volatility"]
    multiplier: Float = Field(ge=1, le=20)

    @property
    def level(self) -> float:
        """Its full size: the volatility added, as a multiple of the calm one."""
        return self.multiplier - 1.0


class PanicShock(_Shock):
    """Retail panic of the given ``intensity`` (0: calm, 1: everyone runs)."""

    kind: Literal["panic"]
    intensity: Float = Field(ge=0, le=1)

    @property
    def level(self) -> float:
        """Its full size: the intensity."""
        return self.intensity


class ParticipationShock(_Shock):
    """Investors stay away from the market: retail and value investors arrive ``1 - drop``
    times as often at full size (``1 - drop x`` the path's fraction), as buyers and sellers
    alike wait for yields to settle."""

    kind: Literal["participation"]
    drop: Float = Field(ge=0, le=0.95)

    @property
    def level(self) -> float:
        """Its full size: the share of arrivals that stay away."""
        return self.drop


class RedemptionWaveShock(_Shock):
    """SIP investors' early-exit hazard is multiplied by ``hazard_multiplier`` (at full size;
    by ``1 + (hazard_multiplier - 1) x fraction`` along the path)."""

    kind: Literal["redemption_wave"]
    hazard_multiplier: Float = Field(ge=1, le=1000)

    @property
    def level(self) -> float:
        """Its full size: the hazard added, as a multiple of the calm one."""
        return self.hazard_multiplier - 1.0


class LiquidityWithdrawalShock(_Shock):
    """Market makers withdraw: each pulls its quotes with probability ``fraction``, and those
    still quoting widen their spreads ``spread_multiplier`` times (at full size; by
    ``1 + (spread_multiplier - 1) x fraction of the path``) and centre them ``lean_bp`` below
    the price they quote around (by ``lean_bp x fraction of the path``): dealers who will not
    take bonds onto their balance sheets in a market of sellers price to sell, not to buy."""

    kind: Literal["liquidity_withdrawal"]
    fraction: Float = Field(ge=0, le=1)
    spread_multiplier: Float = Field(1.0, ge=1, le=50)
    lean_bp: Float = Field(0.0, ge=0, le=2000)

    @property
    def level(self) -> float:
        """Its full size: the share withdrawn."""
        return self.fraction


class RepoHaircutShock(_Shock):
    """Repo haircuts rise by ``add_pct`` percentage points of the collateral's value, by rating
    grade (grades not named: unchanged)."""

    kind: Literal["repo_haircut"]
    add_pct: dict[GradeName, Annotated[Float, Field(ge=0, le=90)]] = Field(min_length=1)


class VenueHaltShock(_Event):
    """``venue`` halts trading in ``symbols`` (default: every listing) for ``minutes`` of
    trading time, ending at the close at the latest: the next session opens as usual."""

    kind: Literal["venue_halt"]
    venue: str
    minutes: Float = Field(gt=0, le=1440)
    symbols: tuple[str, ...] | None = Field(None, min_length=1)


class CircuitBreakerShock(_Event):
    """``venue``'s price bands change from then on: orders beyond ``limit_pct`` of the reference
    are rejected, and a trade beyond ``halt_pct`` halts the instrument for ``halt_minutes``."""

    kind: Literal["circuit_breaker"]
    venue: str
    limit_pct: Float = Field(gt=0, lt=100)
    halt_pct: Float = Field(gt=0, lt=100)
    halt_minutes: Float = Field(gt=0, le=1440)

    @model_validator(mode="after")
    def _halt_within_limit(self) -> CircuitBreakerShock:
        if self.halt_pct > self.limit_pct:
            raise InvalidField(
                "halt_pct", f"must be <= limit_pct ({self.limit_pct}) (got {self.halt_pct})"
            )
        return self


class FxShock(_Shock):
    """An exchange rate (``pair``, base then quote currency, rupees per dollar for ``USDINR``)
    moves by ``size_pct``: recorded with the run as an index (1.0 at the start; several shocks
    on one pair compound) for the narrative; no agent trades on it."""

    kind: Literal["fx"]
    pair: str = Field("USDINR", pattern=r"^[A-Z]{6}$")
    size_pct: Float = Field(gt=-100, le=1000)


CURVE_SHOCKS = (RatesParallelShock, RatesTwistShock, RatesButterflyShock)
# Kinds that name a venue, an issuer or a sector that must exist in the scenario.
VENUE_SHOCKS = (VenueHaltShock, CircuitBreakerShock)
ISSUER_SHOCKS = (DowngradeShock, DefaultShock)
# Kinds only the bond fundamental (``fundamentals.kind = "bond"``) applies.
BOND_SHOCKS = (SpreadShock, DowngradeShock, DefaultShock, VolatilityShock)


Shock = Annotated[
    RatesParallelShock
    | RatesTwistShock
    | RatesButterflyShock
    | SpreadShock
    | DowngradeShock
    | DefaultShock
    | FundamentalJumpShock
    | VolatilityShock
    | PanicShock
    | ParticipationShock
    | RedemptionWaveShock
    | LiquidityWithdrawalShock
    | RepoHaircutShock
    | VenueHaltShock
    | CircuitBreakerShock
    | FxShock,
    Field(discriminator="kind"),
]
