"""The exchange service's Liquidity Pulse: each bond's latest hourly pulse (`sim.pulse`), read
from the service's records so far, computed once an interval and published on the stream.

An hourly interval ``(start, end]`` (`sim.pulse.timeline`: hours from each session's open, the
last one ending at the close) has closed once simulated time is past its end, when everything
at its end (the book snapshot that describes it) has happened. The first request or
publication after an interval closes computes `sim.pulse.pulse` over every record so far
(`live_params`: the scenario's ``[pulse]`` weights on hourly intervals); its rows up to that
interval are then served until the next one closes. Only reading the records holds the
exchange's lock: the market goes on while the pulse is computed. A closed interval's pulse
does not depend on what happens after it (the normalisation windows look back only), so the
cache is the run's pulse.

A bond's pulse (`bond_view`): the latest closed interval it has rows in (interval, day, start,
end), its issuer, sector, sector group, rating and grade, and for the consolidated book
(``consolidated``: the venues' books pooled) and each venue's (``venues``) the liquidity index,
the issuer's repayment support and the combined score, each 0–100 with its uncertainty (a
standard deviation, in index points) and top drivers (feature, points); null where the run has
none (an unrated bond has no repayment support, so no score).

On the stream, the topic ``pulse.<bond>`` carries the bond's pulse (type ``pulse``) at each
step of the run that closes an interval; it is computed only when a stream subscribes to one.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np
import polars as pl

from sim.pulse import PulseParams, pulse
from sim.pulse.snapshots import ALL_VENUES
from sim.pulse.timeline import Timeline
from sim.records.result import Result
from sim.service.hub import Hub

INTERVAL = "1h"
CHANNEL = "pulse"
TOPIC_PREFIX = f"{CHANNEL}."  # a bond's topic: "pulse.<bond>"
INDICES = ("liquidity", "repayment", "score")
_BOND_FIELDS = ("interval", "day", "start", "end", "issuer", "sector", "sector_group", "rating",
                "grade")  # fmt: skip


def pulse_topic(bond: str) -> str:
    """The stream's topic of `bond`'s pulse."""
    return TOPIC_PREFIX + bond


class LivePulse:
    """The pulse of a running exchange whose `scenario` sets the sessions: `records` reads
    the records so far (taking the exchange's lock), `hub` carries the stream. `computed`
    counts the pulses computed."""

    def __init__(self, records: Callable[[], Result], scenario, hub: Hub) -> None:
        self._records = records
        self._hub = hub
        self._params = live_params(scenario)
        timeline = Timeline.from_manifest({"scenario": scenario.to_dict()})
        self._ends = np.sort(timeline.intervals(INTERVAL)["end"].to_numpy())
        self._lock = threading.Lock()  # one computation at a time, each interval once
        self._cached: tuple[int, pl.DataFrame | None] | None = None
        self._published: int | None = None
        self.computed = 0

    def closed_end(self, now: int) -> int | None:
        """The end of the latest interval closed at `now` (None: none has)."""
        closed = int(np.searchsorted(self._ends, now, side="left"))  # ends before now
        return int(self._ends[closed - 1]) if closed else None

    @property
    def first_end(self) -> int:
        return int(self._ends[0])

    def frame(self, now: int) -> pl.DataFrame | None:
        """The pulse of every bond over the intervals closed at `now` (None: none has, or no
        book was recorded in one)."""
        end = self.closed_end(now)
        if end is None:
            return None
        with self._lock:
            # a request that read the time before another computed a later hour takes that
            if self._cached is None or self._cached[0] < end:
                self._cached = (end, _pulse_until(self._records(), end, self._params))
                self.computed += 1
            return self._cached[1]

    def bond(self, symbol: str, now: int) -> dict | None:
        """`symbol`'s latest pulse at `now` (`bond_view`); None before an interval with a
        book of it has closed."""
        frame = self.frame(now)
        return None if frame is None else bond_view(frame, symbol)

    def publish(self, now: int) -> None:
        """Once an interval has closed, each subscribed bond's pulse on its topic."""
        end = self.closed_end(now)
        if end is None or end == self._published:
            return
        self._published = end
        bonds = sorted(
            t.removeprefix(TOPIC_PREFIX) for t in self._hub.topics() if t.startswith(TOPIC_PREFIX)
        )
        if not bonds:
            return  # nobody listens: nothing to compute
        frame = self.frame(now)
        if frame is None:
            return
        for symbol in bonds:
            view = bond_view(frame, symbol)
            if view is not None:
                self._hub.publish(None, CHANNEL, {**view, "time": now}, topic=pulse_topic(symbol))


def live_params(scenario) -> PulseParams:
    """The scenario's ``[pulse]`` settings (the defaults without one), on hourly intervals."""
    spec = scenario.pulse.params if scenario.pulse is not None else PulseParams()
    return spec.model_copy(update={"intervals": (INTERVAL,)})


def _pulse_until(result: Result, end: int, params: PulseParams) -> pl.DataFrame | None:
    """The pulse of `result`'s intervals ending by `end`; None before its first book snapshot
    (a scenario may record the book less often than hourly), when there is nothing to score."""
    if result.book.is_empty():
        return None
    return pulse(result, params).filter(pl.col("end") <= end)


def bond_view(frame: pl.DataFrame, symbol: str) -> dict | None:
    """`symbol`'s pulse over its latest interval in `frame` (`sim.pulse.pulse`'s rows of one
    interval kind) as plain values (see the module's docstring); None without a row."""
    rows = frame.filter(pl.col("instrument") == symbol)
    if rows.is_empty():
        return None
    latest = rows.filter(pl.col("end") == pl.col("end").max()).sort("venue")
    listings = {row["venue"]: _listing(row) for row in latest.iter_rows(named=True)}
    first = latest.row(0, named=True)
    return {
        "bond": symbol,
        **{name: first[name] for name in _BOND_FIELDS},
        "consolidated": listings.pop(ALL_VENUES),
        "venues": list(listings.values()),
    }


def _listing(row: dict) -> dict:
    return {"venue": row["venue"], **{name: _index(row, name) for name in INDICES}}


def _index(row: dict, name: str) -> dict | None:
    """One index of a listing: value, uncertainty, drivers; None where it has no value."""
    value = _finite(row[name])
    if value is None:
        return None
    return {
        "value": value,
        "uncertainty": _finite(row[f"{name}_uncertainty"]),
        "drivers": [
            {"feature": driver["feature"], "points": driver["points"]}
            for driver in row[f"{name}_drivers"] or ()
        ],
    }


def _finite(value: float | None) -> float | None:
    """JSON has no NaN: a value that is not a number is missing."""
    return None if value is None or not math.isfinite(value) else float(value)
