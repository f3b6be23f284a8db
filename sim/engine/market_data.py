"""Level-1 market data: every change of every book's best bid and ask, kept in time order.

The kernel publishes a book's L1 whenever a request changed it; participants read it back
delayed by their latency (`delayed_quote`), and subscribers are told after their latency.
Keeping the history instead of sending one message per change to every reader is what lets a
thousand agents watch a book for the cost of a binary search.
"""

from __future__ import annotations

from bisect import bisect_right

from sim.market.messages import Quote

_EMPTY = (None, 0, None, 0)
# NamedTuple's generated __new__ is slow for the hot path; this builds the same tuple.
_new_quote = tuple.__new__


class _History:
    """One book's published quotes and their times, and the last level 1 published."""

    __slots__ = ("level1", "quotes", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.quotes: list[Quote] = []
        self.level1 = _EMPTY  # an empty book before anything is published


class MarketData:
    def __init__(self) -> None:
        self._histories: dict[tuple[str, str], _History] = {}

    def publish(self, venue: str, symbol: str, time: int, level1: tuple) -> Quote | None:
        """Record the book's L1 if it changed; returns the new quote, or None if unchanged."""
        history = self._histories.get((venue, symbol))
        if history is None:
            history = self._histories[venue, symbol] = _History()
        if level1 == history.level1:
            return None
        history.level1 = level1
        quote = _new_quote(Quote, (time, *level1))
        times = history.times
        if times and times[-1] == time:
            # Several changes at one instant: readers only ever see the last.
            history.quotes[-1] = quote
        else:
            times.append(time)
            history.quotes.append(quote)
        return quote

    def delayed_quote(self, venue: str, symbol: str, as_of: int) -> Quote:
        """The last L1 published at or before `as_of` (an empty quote before the first)."""
        history = self._histories.get((venue, symbol))
        i = 0 if history is None else bisect_right(history.times, as_of)
        return history.quotes[i - 1] if i else Quote(as_of, *_EMPTY)

    def last(self, venue: str, symbol: str) -> Quote:
        history = self._histories.get((venue, symbol))
        return history.quotes[-1] if history and history.quotes else Quote(0, *_EMPTY)
