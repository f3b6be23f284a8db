"""The trading calendar: trading days, sessions, overnight gaps and settlement dates.

Times are integer nanoseconds since 1970-01-01 00:00 of the *local wall clock* (naive, no time
zone and no daylight-saving shifts): ``at(day, time(9, 15))`` is simply the wall time 09:15 of
that day counted in nanoseconds. Trading days are weekdays that are not holidays. A session runs
from its open to its close; `in_session` treats it as half-open, ``[open, close)``.
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sim.units import NS_PER_DAY

_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()


def date_ns(day: date) -> int:
    """Nanoseconds from the epoch to midnight starting ``day``."""
    return (day.toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY


def time_ns(clock: time) -> int:
    """Nanoseconds from midnight to the wall time ``clock``."""
    seconds = clock.hour * 3600 + clock.minute * 60 + clock.second
    return (seconds * 1_000_000 + clock.microsecond) * 1000


@dataclass(frozen=True)
class TradingCalendar:
    """``days`` trading days from ``start`` (included if it is a trading day).

    Weekends and ``holidays`` are skipped. Every trading day has one session from ``open`` to
    ``close`` (local wall times).
    """

    start: date
    days: int
    open: time
    close: time
    holidays: tuple[date, ...] = ()
    _days: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _opens: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _closes: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.start, date) or isinstance(self.start, datetime):
            raise ValueError(f"start must be a datetime.date, got {self.start!r}")
        if isinstance(self.days, bool) or not isinstance(self.days, int):
            raise ValueError(f"days must be an integer, got {self.days!r}")
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        for name in ("open", "close"):
            value = getattr(self, name)
            if not isinstance(value, time):
                raise ValueError(f"{name} must be a datetime.time, got {value!r}")
            if value.tzinfo is not None:
                raise ValueError(f"{name} must be a naive local wall time, got {value!r}")
        if self.close <= self.open:
            raise ValueError(f"close ({self.close}) must be after open ({self.open})")
        holidays = tuple(self.holidays)
        for h in holidays:
            if not isinstance(h, date) or isinstance(h, datetime):
                raise ValueError(f"holidays must be datetime.date values, got {h!r}")
        object.__setattr__(self, "holidays", tuple(sorted(set(holidays))))
        days = []
        for day in self._trading_dates_from(self.start):
            days.append(day)
            if len(days) == self.days:
                break
        open_ns, close_ns = time_ns(self.open), time_ns(self.close)
        object.__setattr__(self, "_days", tuple(days))
        object.__setattr__(self, "_opens", tuple(date_ns(d) + open_ns for d in days))
        object.__setattr__(self, "_closes", tuple(date_ns(d) + close_ns for d in days))

    def _trading_dates_from(self, first: date) -> Iterator[date]:
        """Trading dates from ``first`` on, without end (the calendar's rule, not its length)."""
        holidays = frozenset(self.holidays)
        day = first
        while True:
            if day.weekday() < 5 and day not in holidays:
                yield day
            day += timedelta(days=1)

    @property
    def trading_days(self) -> tuple[date, ...]:
        """The calendar's trading dates, in order."""
        return self._days

    @property
    def start_ns(self) -> int:
        """Open of the first session."""
        return self._opens[0]

    @property
    def end_ns(self) -> int:
        """Close of the last session."""
        return self._closes[-1]

    def session(self, day_index: int) -> tuple[int, int]:
        """``(open_ns, close_ns)`` of trading day ``day_index`` (0-based)."""
        i = self._checked_index(day_index)
        return self._opens[i], self._closes[i]

    def day_index(self, t_ns: int) -> int:
        """Index of the trading day whose session contains ``t_ns``, or of the last one before.

        Raises ValueError before the first session's open.
        """
        i = bisect_right(self._opens, t_ns) - 1
        if i < 0:
            raise ValueError(f"time {t_ns} ns is before the calendar's first open {self.start_ns}")
        return i

    def in_session(self, t_ns: int) -> bool:
        """Whether ``t_ns`` lies in a session, ``open <= t < close``."""
        i = bisect_right(self._opens, t_ns) - 1
        return i >= 0 and t_ns < self._closes[i]

    def next_open(self, t_ns: int) -> int | None:
        """Open of the first session that opens strictly after ``t_ns``; None after the last."""
        i = bisect_right(self._opens, t_ns)
        return self._opens[i] if i < len(self._opens) else None

    def after_gaps(self, t_ns: int) -> int | None:
        """`t_ns` moved past overnight gaps: before the first open it is that open, and time
        beyond a close continues at the next open (None past the last close)."""
        day = self.day_index(max(t_ns, self.start_ns))
        open_ns, close_ns = self.session(day)
        if t_ns < open_ns:
            return open_ns
        while t_ns > close_ns:
            nxt = self.next_open(close_ns)
            if nxt is None:
                return None
            t_ns = nxt + (t_ns - close_ns)
            day += 1
            close_ns = self.session(day)[1]
        return t_ns

    def settlement_time(self, t_ns: int, lag_days: int) -> int:
        """When a trade at ``t_ns`` settles, T+``lag_days``.

        Lag 0 settles at ``t_ns`` itself. Lag n settles at the open of the n-th trading day after
        the trading day of ``t_ns`` (see `day_index`); beyond the calendar's last day, later
        weekdays that are not holidays count as trading days with the same session times.
        """
        lag = operator.index(lag_days)
        if lag < 0:
            raise ValueError(f"lag_days must be >= 0, got {lag}")
        if lag == 0:
            return t_ns
        i = self.day_index(t_ns) + lag
        if i < len(self._opens):
            return self._opens[i]
        later = self._trading_dates_from(self._days[-1] + timedelta(days=1))
        for _ in range(i - len(self._opens) + 1):
            day = next(later)
        return date_ns(day) + time_ns(self.open)

    def to_datetime(self, t_ns: int) -> datetime:
        """The naive local wall time of ``t_ns``, truncated to the microsecond."""
        return _EPOCH + timedelta(microseconds=t_ns // 1000)

    def at(self, day_index: int, clock: time) -> int:
        """Nanoseconds of wall time ``clock`` on trading day ``day_index``."""
        if not isinstance(clock, time) or clock.tzinfo is not None:
            raise ValueError(f"clock must be a naive datetime.time, got {clock!r}")
        return date_ns(self._days[self._checked_index(day_index)]) + time_ns(clock)

    def _checked_index(self, day_index: int) -> int:
        i = operator.index(day_index)
        if not 0 <= i < len(self._days):
            raise ValueError(f"day_index must be in 0..{len(self._days) - 1}, got {i}")
        return i
