"""How the report writes the run's units for a reader: money in paise as rupees, times in
integer nanoseconds (naive wall time, as the calendar keeps them) as dates and times, shares
as percentages. Each returns a `Shown` number, or `MISSING` for None (and NaN)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sim.presentation.report.model import MISSING, Shown

_EPOCH = datetime(1970, 1, 1)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def number(value: float | None, digits: int = 4) -> Shown:
    """An integer with thousands separators; a float to `digits` significant digits (with
    separators from 1,000 on)."""
    if _missing(value):
        return MISSING
    if isinstance(value, bool):
        return Shown("yes" if value else "no")
    if isinstance(value, int):
        return Shown(f"{value:,}")
    if value != 0 and abs(value) >= 1000:
        return Shown(f"{value:,.0f}")
    return Shown(f"{value:.{digits}g}")


def percent(share: float | None, digits: int = 1) -> Shown:
    """A share (0.25) as a percentage (25.0%)."""
    return MISSING if _missing(share) else Shown(f"{share * 100:.{digits}f}%")


def rupees(paise: int | float | None) -> Shown:
    """Money in paise, in rupees with two decimals."""
    return MISSING if _missing(paise) else Shown(f"₹{paise / 100:,.2f}")


def clock(t_ns: int | None) -> str:
    """A record's time (ns) as ``2024-01-02 09:30:01.250``."""
    if t_ns is None:
        return "–"
    moment = _EPOCH + timedelta(microseconds=t_ns // 1000)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def label(key: str) -> str:
    """A metric's key as words: ``exit_units_requested`` -> ``exit units requested``."""
    return key.replace("_", " ")


def metric(key: str, value) -> Shown | str:
    """A metrics.json figure shown in its unit: ``..._paise`` as rupees, other numbers as
    numbers, anything else as text."""
    if key.endswith("_paise") and not _missing(value):
        return rupees(value)
    if value is None or isinstance(value, int | float):
        return number(value)
    return str(value)


def metric_label(key: str) -> str:
    """A metrics.json key as words, its ``_paise`` unit moved into the words as rupees."""
    if key.endswith("_paise"):
        return f"{label(key.removesuffix('_paise'))} (₹)"
    return label(key)
