"""Fixed-coupon bullet bonds: accrued interest, price from yield, yield from price, risk.

Conventions (prices, accrued interest and cash flows are per 100 of face value):

- Coupon periods come from `sim.pricing.schedule.coupon_periods` (backward from maturity,
  unadjusted, end-of-month rule, short first stub). A coupon pays
  ``100 * coupon * yf(period start, period end)`` under the bond's day count, so ACT/365F and
  ACT/ACT-SEBI coupons vary with the period's length, and an ACT/ACT-ICMA or 30/360 regular
  coupon is exactly ``100 * coupon / frequency``. The face (100) is repaid at maturity.
- Zero-coupon bonds are ``coupon=0``. Their ``frequency`` still sets how the yield compounds and
  the notional periods along which time is measured; there is no ``frequency=0``.
- Accrued interest: ``100 * coupon * yf(last coupon date, settle)`` (reference period: the
  current coupon period).
- Time to a cash flow, t: along the schedule, the current period's fraction minus the accrued
  fraction, plus the whole fractions of the later periods. This is how QuantLib's
  ``CashFlows::npv`` measures it and, for the additive conventions (ACT/365F, ACT/ACT-ISDA,
  ACT/ACT-SEBI), it equals ``yf(settle, pay date)``; 30/360 and 30E/360 are not additive.
- Price from yield y (compounded ``frequency`` times a year): dirty price
  ``P = sum_i CF_i (1 + y/f)^(-f t_i)``; clean price = dirty price - accrued.
- Macaulay duration ``sum_i t_i CF_i DF_i / P``; modified duration ``-(1/P) dP/dy``
  ``= Macaulay / (1 + y/f)``; convexity ``(1/P) d2P/dy2``; DV01 ``= modified duration * P * 1e-4``
  per 100 face (the dirty-price fall for a one basis point rise in yield, to first order).
  All on the dirty price, as in QuantLib's ``BondFunctions``.
- Settlement must satisfy ``issue <= settle < maturity``; cash flows on the settle date itself
  are treated as paid.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from sim.pricing import _kernels
from sim.pricing.daycount import check_convention, year_fraction
from sim.pricing.schedule import FREQUENCIES, Period, coupon_periods


class PricingError(ValueError):
    """A price or yield that cannot be computed, e.g. the yield solver did not converge."""


class Flows(NamedTuple):
    """A bond's remaining cash flows seen from one settlement date (arrays are read-only)."""

    dates: tuple[date, ...]
    times: np.ndarray
    amounts: np.ndarray
    accrued: float


@dataclass(frozen=True, slots=True)
class Bond:
    """A fixed-coupon bullet bond; ``coupon`` is an annual rate (0.0726 for 7.26%).

    ``face`` is the bond's denomination; prices, accrued interest and cash flows are quoted
    per 100 of it whatever it is.
    """

    issue: date
    maturity: date
    coupon: float
    frequency: int
    day_count: str
    face: float = 100.0

    def __post_init__(self) -> None:
        for name in ("issue", "maturity"):
            value = getattr(self, name)
            if not isinstance(value, date) or isinstance(value, datetime):
                raise ValueError(f"{name} must be a datetime.date, got {value!r}")
        if self.maturity <= self.issue:
            raise ValueError(f"maturity ({self.maturity}) must be after issue ({self.issue})")
        if not (isinstance(self.coupon, int | float) and math.isfinite(self.coupon)):
            raise ValueError(f"coupon must be a finite annual rate, got {self.coupon!r}")
        if self.coupon < 0:
            raise ValueError(f"coupon must not be negative, got {self.coupon!r}")
        if type(self.frequency) is not int or self.frequency not in FREQUENCIES:
            raise ValueError(
                f"frequency must be 1, 2 or 4 coupons a year (zero-coupon bonds use coupon=0), "
                f"got {self.frequency!r}"
            )
        check_convention(self.day_count)
        if not (isinstance(self.face, int | float) and math.isfinite(self.face)):
            raise ValueError(f"face must be a finite positive amount, got {self.face!r}")
        if self.face <= 0:
            raise ValueError(f"face must be positive, got {self.face!r}")

    def periods(self) -> tuple[Period, ...]:
        """The bond's accrual periods, first to last."""
        return _schedule(self)[0]

    def flows(self, settle: date) -> Flows:
        """Cash flows after ``settle`` with their times and the accrued interest (cached)."""
        return _flows(self, self._checked(settle))

    def cashflows(self, settle: date) -> tuple[list[date], np.ndarray]:
        """Pay dates after ``settle`` and the amounts paid then, per 100 face.

        The last amount is the final coupon plus the redemption of 100.
        """
        flows = self.flows(settle)
        return list(flows.dates), flows.amounts.copy()

    def cashflow_times(self, settle: date) -> np.ndarray:
        """Year fractions t from ``settle`` to each date of `cashflows` (see module notes)."""
        return self.flows(settle).times.copy()

    def accrued(self, settle: date) -> float:
        """Accrued interest at ``settle``, per 100 face."""
        return self.flows(settle).accrued

    def dirty_price(self, ytm: float, settle: date) -> float:
        """Price including accrued interest, per 100 face, at yield ``ytm``."""
        flows = self.flows(settle)
        return _kernels.dirty_price(
            flows.times, flows.amounts, 0, flows.times.size, self.frequency, self._log_growth(ytm)
        )

    def clean_price(self, ytm: float, settle: date) -> float:
        """Price excluding accrued interest, per 100 face, at yield ``ytm``."""
        return self.dirty_price(ytm, settle) - self.flows(settle).accrued

    def yield_from_price(self, clean: float, settle: date) -> float:
        """The yield (compounded ``frequency`` times a year) that gives clean price ``clean``.

        Raises `PricingError` if the dirty price is not positive or the solver does not converge.
        """
        flows = self.flows(settle)
        dirty = clean + flows.accrued
        x, status = _kernels.solve_log_growth(
            flows.times, flows.amounts, 0, flows.times.size, self.frequency, dirty
        )
        if status == _kernels.BAD_PRICE:
            raise PricingError(
                f"no yield for clean price {clean!r}: the dirty price {dirty!r} is not positive"
            )
        if status == _kernels.NO_TIME:
            raise PricingError(
                f"no yield at settle {settle}: the remaining cash flows are all at t = 0 under "
                f"{self.day_count}, so the price does not depend on the yield"
            )
        if status < 0:
            raise PricingError(
                f"yield solver did not converge for clean price {clean!r} at settle {settle} "
                f"(maturity {self.maturity}, {flows.times.size} cash flows, last at "
                f"t={flows.times[-1]:.6g})"
            )
        return self.frequency * math.expm1(x)

    def macaulay_duration(self, ytm: float, settle: date) -> float:
        """Macaulay duration in years: the present-value-weighted mean time of the cash flows."""
        price, time_weighted, _ = self._moments(ytm, settle)
        return time_weighted / price

    def modified_duration(self, ytm: float, settle: date) -> float:
        """Modified duration ``-(1/P) dP/dy`` on the dirty price."""
        price, time_weighted, _ = self._moments(ytm, settle)
        return time_weighted / (price * (1.0 + ytm / self.frequency))

    def convexity(self, ytm: float, settle: date) -> float:
        """Convexity ``(1/P) d2P/dy2`` on the dirty price."""
        price, _, second = self._moments(ytm, settle)
        return second / (price * (1.0 + ytm / self.frequency) ** 2)

    def dv01(self, ytm: float, settle: date) -> float:
        """Modified duration x dirty price x 1e-4, per 100 face (positive for a long position)."""
        _, time_weighted, _ = self._moments(ytm, settle)
        return time_weighted / (1.0 + ytm / self.frequency) * 1e-4

    def _moments(self, ytm: float, settle: date) -> tuple[float, float, float]:
        """Dirty price, sum of t PV and sum of t (t + 1/f) PV."""
        flows = self.flows(settle)
        t = flows.times
        pv = flows.amounts * np.exp(-self.frequency * t * self._log_growth(ytm))
        return float(pv.sum()), float(pv @ t), float(pv @ (t * (t + 1.0 / self.frequency)))

    def _log_growth(self, ytm: float) -> float:
        if not ytm > -self.frequency:
            raise ValueError(
                f"ytm must be a number above -frequency ({-self.frequency}), got {ytm!r}"
            )
        return math.log1p(ytm / self.frequency)

    def _checked(self, settle: date) -> date:
        if not isinstance(settle, date) or isinstance(settle, datetime):
            raise ValueError(f"settle must be a datetime.date, got {settle!r}")
        if settle < self.issue:
            raise ValueError(f"settle ({settle}) is before issue ({self.issue})")
        if settle >= self.maturity:
            raise ValueError(f"settle ({settle}) is on or after maturity ({self.maturity})")
        return settle


def _fraction(bond: Bond, start: date, end: date, period: Period) -> float:
    # ICMA measures within the coupon's reference period; SEBI's years are anchored on maturity.
    anchor = bond.maturity if bond.day_count == "ACT/ACT-SEBI" else period.ref_end
    return year_fraction(bond.day_count, start, end, period.ref_start, anchor)


@lru_cache(maxsize=16384)
def _schedule(bond: Bond) -> tuple[tuple[Period, ...], tuple[float, ...], tuple[date, ...]]:
    """Periods, their year fractions and their end dates."""
    periods = coupon_periods(bond.issue, bond.maturity, bond.frequency)
    fractions = tuple(_fraction(bond, p.start, p.end, p) for p in periods)
    return periods, fractions, tuple(p.end for p in periods)


@lru_cache(maxsize=16384)
def _flows(bond: Bond, settle: date) -> Flows:
    periods, fractions, ends = _schedule(bond)
    first = bisect_right(ends, settle)  # the period with start <= settle < end
    current = periods[first]
    accrued_fraction = _fraction(bond, current.start, settle, current)
    rate = 100.0 * bond.coupon
    dates, times, amounts = [], [], []
    t = fractions[first] - accrued_fraction
    for k in range(first, len(periods)):
        if k > first:
            t += fractions[k]
        amount = rate * fractions[k] + (100.0 if k == len(periods) - 1 else 0.0)
        if amount > 0.0:
            dates.append(periods[k].end)
            times.append(t)
            amounts.append(amount)
    times_array = np.array(times)
    amounts_array = np.array(amounts)
    times_array.flags.writeable = False
    amounts_array.flags.writeable = False
    return Flows(tuple(dates), times_array, amounts_array, rate * accrued_fraction)
