"""Day-count conventions: the year fraction between two dates.

Names and definitions (``start <= end``; d1/m1/y1 and d2/m2/y2 are the dates' parts):

``"30/360"``
    30/360 bond basis (30A/360; the 2006 ISDA definitions' 30/360), as QuantLib
    ``Thirty360(Thirty360.BondBasis)``:
    d1 = 31 becomes 30; d2 = 31 becomes 30 only if d1 is then 30. No special rule for February.
    Year fraction = (360 (y2 - y1) + 30 (m2 - m1) + (d2 - d1)) / 360. (Unlike 30/360 USA,
    a month-end February is not a whole month: 31 Aug -> 29 Feb 2024 is 179/360.)
``"30E/360"``
    30E/360 Eurobond basis (the 2006 ISDA definitions' 30E/360, 4.16(g)), as QuantLib
    ``Thirty360(Thirty360.EurobondBasis)``: any 31 becomes 30. No special rule for February:
    28 Feb 2023 -> 31 Aug 2023 is 182/360. Not "30E/360 (ISDA)" (4.16(h); QuantLib's
    ``Thirty360.ISDA`` or ``German``), which makes the last day of February the 30th.
``"ACT/365F"``
    Actual days / 365.
``"ACT/ACT-ISDA"``
    Days in each calendar year over that year's length (365 or 366), summed, with QuantLib's
    ``ActualActual(ISDA)`` arithmetic.
``"ACT/ACT-ICMA"``
    Needs the regular coupon (reference) period ``[ref_start, ref_end]`` that contains
    ``[start, end]``: ``(1 / f) * days(start, end) / days(ref_start, ref_end)``, where the number
    of periods a year f comes from the reference period's length (its months,
    ``round(12 * days / 365)``), as in QuantLib's ``ActualActual(ISMA)``. A whole regular period
    is exactly 1/f.
``"ACT/ACT-SEBI"``
    SEBI's circular CIR/IMD/DF-1/122/2016 for Indian corporate bonds: actual days over 365, or
    366 for the whole one-year period that contains 29 February, however often coupons are paid.
    Our reading: the "years" are coupon years, the windows ``(A - k years, A - (k - 1) years]``
    anchored on a coupon anniversary A (a bond passes its maturity; by default A = ``end``).
    Each day of ``(start, end]`` counts 1/366 if its window contains a 29 February, else 1/365,
    so an annual coupon is exactly one year and a semi-annual coupon in the coupon year holding
    29 February is days/366 even if that half-year itself has no 29 February. Windows whose
    anniversary is 29 February fall on 28 February in other years. The fractions are additive:
    ``yf(a, b) + yf(b, c) == yf(a, c)`` for a fixed anchor.

An unknown name raises ``ValueError`` listing the valid names.
"""

from __future__ import annotations

import calendar
from datetime import date

from sim.pricing.schedule import add_months

CONVENTIONS = ("30/360", "30E/360", "ACT/ACT-ICMA", "ACT/ACT-ISDA", "ACT/365F", "ACT/ACT-SEBI")


def check_convention(name: str) -> str:
    """Return ``name`` if it is a known convention, else raise ``ValueError`` listing them."""
    if name not in CONVENTIONS:
        raise ValueError(f"unknown day count {name!r}; valid names: {', '.join(CONVENTIONS)}")
    return name


def year_fraction(
    convention: str,
    start: date,
    end: date,
    ref_start: date | None = None,
    ref_end: date | None = None,
) -> float:
    """Year fraction from ``start`` to ``end`` (``start <= end``) under ``convention``.

    ``ref_start``/``ref_end`` are the reference coupon period for ACT/ACT-ICMA (required there);
    for ACT/ACT-SEBI ``ref_end`` is the coupon anniversary that anchors the one-year windows.
    Other conventions ignore them.
    """
    check_convention(convention)
    if end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    if convention == "30/360":
        return _thirty_360(start, end, eurobond=False)
    if convention == "30E/360":
        return _thirty_360(start, end, eurobond=True)
    if convention == "ACT/365F":
        return (end - start).days / 365.0
    if convention == "ACT/ACT-ISDA":
        return _act_act_isda(start, end)
    if convention == "ACT/ACT-ICMA":
        return _act_act_icma(start, end, ref_start, ref_end)
    return _act_act_sebi(start, end, end if ref_end is None else ref_end)


def _thirty_360(start: date, end: date, eurobond: bool) -> float:
    d1 = min(start.day, 30)
    d2 = end.day
    if d2 == 31 and (eurobond or d1 == 30):
        d2 = 30
    days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)
    return days / 360.0


def _year_length(year: int) -> float:
    return 366.0 if calendar.isleap(year) else 365.0


def _act_act_isda(start: date, end: date) -> float:
    if start == end:
        return 0.0
    # QuantLib's arithmetic, kept term by term so that the results agree to the last bit.
    y1, y2 = start.year, end.year
    total = float(y2 - y1 - 1)
    total += (date(y1 + 1, 1, 1) - start).days / _year_length(y1)
    total += (end - date(y2, 1, 1)).days / _year_length(y2)
    return total


def _act_act_icma(start: date, end: date, ref_start: date | None, ref_end: date | None) -> float:
    if ref_start is None or ref_end is None:
        raise ValueError("ACT/ACT-ICMA needs the reference coupon period (ref_start, ref_end)")
    if not ref_start <= start <= end <= ref_end:
        raise ValueError(
            f"ACT/ACT-ICMA: [{start}, {end}] is not inside the reference period "
            f"[{ref_start}, {ref_end}]"
        )
    ref_days = (ref_end - ref_start).days
    months = round(12 * ref_days / 365)
    if months == 0:
        raise ValueError(f"ACT/ACT-ICMA: reference period [{ref_start}, {ref_end}] is too short")
    if start == end:
        return 0.0
    return (months / 12.0) * (end - start).days / ref_days


def _has_leap_day(lo: date, hi: date) -> bool:
    """True if 29 February falls in ``(lo, hi]``."""
    return any(
        calendar.isleap(y) and lo < date(y, 2, 29) <= hi for y in range(lo.year, hi.year + 1)
    )


def _act_act_sebi(start: date, end: date, anchor: date) -> float:
    # Find the coupon-year window (lo, hi] that holds the day after start, then walk forward.
    k = anchor.year - start.year + 1
    while add_months(anchor, -12 * k) > start:
        k += 1
    while add_months(anchor, -12 * (k - 1)) <= start:
        k -= 1
    total = 0.0
    lo = add_months(anchor, -12 * k)
    while lo < end:
        k -= 1
        hi = add_months(anchor, -12 * k)
        days = (min(hi, end) - max(lo, start)).days
        total += days / (366.0 if _has_leap_day(lo, hi) else 365.0)
        lo = hi
    return total
