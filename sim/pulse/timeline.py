"""The run's trading time, as the Pulse counts it: sessions from the manifest's calendar, each
record's trading day and interval, and a clock that stops overnight.

A record belongs to the last session that opened at or before it (day 0 for anything earlier),
as a scenario's shock days count. Within a day, interval ``k`` of length ``L`` covers
``(open + k L, open + (k + 1) L]``, the last one ending at the close, and what happens at the
open itself falls in the first: a book snapshot at the end of an interval describes it. Records
after the close (overnight transfers, say) fall in the day's last interval.

Trading time is nanoseconds of session since the first open: overnight gaps, weekends and
holidays do not count, so "minutes since the last trade" means minutes the market was open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

import numpy as np
import polars as pl

from sim.market.calendar import TradingCalendar
from sim.pulse.params import interval_ns


@dataclass(frozen=True)
class Timeline:
    """Opens and closes (ns) of the run's sessions, in order."""

    opens: np.ndarray
    closes: np.ndarray

    @classmethod
    def from_manifest(cls, manifest: dict) -> Timeline:
        """The sessions of the run whose manifest holds its resolved scenario."""
        spec = manifest["scenario"]["calendar"]
        calendar = TradingCalendar(
            start=date.fromisoformat(str(spec["start"])),
            days=int(spec["days"]),
            open=time.fromisoformat(str(spec["open"])),
            close=time.fromisoformat(str(spec["close"])),
            holidays=tuple(date.fromisoformat(str(h)) for h in spec.get("holidays", ())),
        )
        sessions = np.array([calendar.session(d) for d in range(calendar.days)], dtype=np.int64)
        return cls(sessions[:, 0], sessions[:, 1])

    @property
    def days(self) -> int:
        return len(self.opens)

    def day_of(self, times: np.ndarray) -> np.ndarray:
        """Trading day (0-based) of each time."""
        days = np.searchsorted(self.opens, times, side="right") - 1
        return np.clip(days, 0, self.days - 1).astype(np.int32)

    def trading_ns(self, times: np.ndarray) -> np.ndarray:
        """Nanoseconds of session from the first open to each time."""
        lengths = self.closes - self.opens
        before = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        day = self.day_of(times)
        return before[day] + np.clip(times - self.opens[day], 0, lengths[day])

    def intervals(self, spec: str) -> pl.DataFrame:
        """Every interval of kind `spec` ("1d", "1h", ...): interval, day, slot, start, end."""
        frames = []
        for day, (open_, close) in enumerate(zip(self.opens, self.closes, strict=True)):
            step = interval_ns(spec, int(close - open_))
            starts = np.arange(open_, close, step, dtype=np.int64)
            frames.append(
                pl.DataFrame(
                    {
                        "day": np.full(starts.size, day, dtype=np.int32),
                        "slot": np.arange(starts.size, dtype=np.int32),
                        "start": starts,
                        "end": np.minimum(starts + step, close),
                    }
                )
            )
        return pl.concat(frames).select(pl.lit(spec).alias("interval"), pl.all())

    def assign(self, frame: pl.DataFrame, spec: str, column: str = "time") -> pl.DataFrame:
        """`frame` with the day and slot of interval kind `spec` its `column` falls in."""
        times = frame[column].to_numpy()
        day = self.day_of(times)
        lengths = self.closes - self.opens
        steps = np.array([interval_ns(spec, int(n)) for n in lengths], dtype=np.int64)
        step, open_ = steps[day], self.opens[day]
        slots = -(-lengths[day] // step)  # ceil(session / step) slots that day
        slot = np.clip(-(-(times - open_) // step) - 1, 0, slots - 1)
        return frame.with_columns(
            day=pl.Series(day, dtype=pl.Int32), slot=pl.Series(slot, dtype=pl.Int32)
        )
