"""The simulation clock: simpy's `Environment` on integer nanoseconds, with scheduled calls.

Nearly every event of a run is a plain function call at a time (an agent's wake-up, a request
reaching a venue, an answer reaching an agent). `call_at` books such a call as a `_Call`, the
least an event in simpy's queue needs to be: a `simpy.Timeout` with a callback would cost a
Timeout, a list and a partial per event. `run` and `step` process `_Call`s like any event, in
order of time, then of booking.
"""

from __future__ import annotations

from heapq import heappush

import simpy
from simpy.events import NORMAL


class Clock(simpy.Environment):
    """A simpy environment whose events are mostly scheduled function calls."""

    def call_at(self, t: int, fn, *args) -> None:
        """Run `fn(*args)` at time `t` (now if `t` has passed); calls due at one time run in
        the order they were booked."""
        now = self._now
        # What `schedule` does, without its call: this runs for nearly every event.
        heappush(self._queue, (t if t > now else now, NORMAL, next(self._eid), _Call(fn, args)))


class _Call:
    """A scheduled function call: a simpy event that is its own callback. `Environment.step`
    reads `callbacks` and `_ok` and nothing else from events that succeed."""

    __slots__ = ("args", "callbacks", "fn")
    _ok = True

    def __init__(self, fn, args: tuple) -> None:
        self.fn = fn
        self.args = args
        self.callbacks = (self,)

    def __call__(self, _event) -> None:
        self.fn(*self.args)
