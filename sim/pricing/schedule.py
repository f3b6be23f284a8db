"""Coupon schedules: unadjusted coupon periods generated backward from maturity.

Rules (they match QuantLib's ``Schedule`` with ``NullCalendar``, ``Unadjusted``,
``DateGeneration.Backward`` and ``endOfMonth = maturity is a month end``, and the reference periods
of its ``FixedRateLeg``):

- Coupon dates are ``maturity - k * (12 / frequency)`` months for k = 0, 1, 2, ... while they are
  not before the issue date. Each date is computed from the maturity, not from the previous date,
  so a day clipped to a short month (31 Aug -> 28 Feb) does not drift.
- End of month: when the maturity is the last day of its month, every coupon date is the last day
  of its month (30 Jun -> 31 Dec -> 30 Jun). Otherwise the day of month is kept and clipped to the
  month's length (30 Aug -> 28/29 Feb -> 30 Aug).
- Stub: if the issue date is not a coupon date, the first period runs from the issue date to the
  first coupon date (a short first period, however short). Its reference period, which
  ACT/ACT-ICMA needs, is the regular period ending on the first coupon date: it starts one tenor
  before that date (with the same end-of-month rule).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

FREQUENCIES = (1, 2, 4)


@dataclass(frozen=True, slots=True)
class Period:
    """One accrual period ``(start, end]`` and the regular reference period it belongs to."""

    start: date
    end: date
    ref_start: date
    ref_end: date


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    # calendar.monthrange also computes a weekday; schedules call this a lot.
    return 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month - 1]


def is_month_end(day: date) -> bool:
    """True if ``day`` is the last calendar day of its month."""
    return day.day == _days_in_month(day.year, day.month)


def add_months(day: date, months: int, end_of_month: bool = False) -> date:
    """Shift ``day`` by a whole number of months, clipping the day to the target month's length.

    With ``end_of_month`` a month-end ``day`` maps to the month end of the target month.
    """
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = _days_in_month(year, month + 1)
    if end_of_month and is_month_end(day):
        return date(year, month + 1, last)
    return date(year, month + 1, min(day.day, last))


def coupon_periods(issue: date, maturity: date, frequency: int) -> tuple[Period, ...]:
    """The accrual periods from ``issue`` to ``maturity`` for 1, 2 or 4 coupons a year."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be 1, 2 or 4, got {frequency!r}")
    if maturity <= issue:
        raise ValueError(f"maturity ({maturity}) must be after issue ({issue})")
    step = 12 // frequency
    eom = is_month_end(maturity)
    dates = [maturity]
    k = 1
    while (d := add_months(maturity, -k * step, eom)) >= issue:
        dates.append(d)
        k += 1
    stub = dates[-1] != issue
    if stub:
        dates.append(issue)
    dates.reverse()
    periods = [Period(s, e, s, e) for s, e in pairwise(dates)]
    if stub:
        first = periods[0]
        periods[0] = Period(first.start, first.end, add_months(first.end, -step, eom), first.end)
    return tuple(periods)
