"""`RecordedFundamental`: a replayed day's own price as the value agents see.

On a replay day (a scenario's ``[replay]`` with ``fundamentals.kind = "replay"``) the value
of the replayed instrument is the recorded mid, mapped onto the instrument as the replayed
orders are (`sim.scenario.replay`): value agents and market makers then lean on the day that
is actually being traded, not on a process that knows nothing of it. The value at ``t`` is the
last recorded mid at or before ``t`` (the first one before the first message), so it never
looks ahead. It takes no shocks: the recorded day already has its own.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import pairwise
from typing import Any


class RecordedFundamental:
    """The recorded mid of one instrument, in price per 100 face, as a step function of time."""

    def __init__(self, symbol: str, times_ns: Sequence[int], values: Sequence[float]) -> None:
        if not times_ns or len(times_ns) != len(values):
            raise ValueError("a recorded fundamental needs one value per time, and at least one")
        if any(b < a for a, b in pairwise(times_ns)):
            raise ValueError("the recorded times go backwards")
        self._symbol = symbol
        self._times = list(times_ns)
        self._values = [float(v) for v in values]

    @property
    def symbols(self) -> tuple[str, ...]:
        return (self._symbol,)

    def value(self, symbol: str, t_ns: int) -> float:
        """The last recorded mid at or before `t_ns` (the first one before any)."""
        if symbol != self._symbol:
            raise ValueError(f"unknown symbol {symbol!r}; this fundamental has {self.symbols}")
        return self._values[max(bisect_right(self._times, t_ns) - 1, 0)]

    def apply_shock(self, shock: Any, t_ns: int) -> None:
        """Shocks move nothing here: the recorded day already has its own."""

    def fair_value_row(self, symbol: str, day: int, t_ns: int) -> tuple[float, None, None]:
        return self.value(symbol, t_ns), None, None

    def curve_rows(self, day: int) -> tuple[tuple[float, float], ...]:
        return ()
