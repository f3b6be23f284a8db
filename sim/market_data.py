"""Level-1 market data: every change of every book's best bid and ask, kept in time order.

The kernel publishes a book's L1 whenever a request changed it; participants read it back
delayed by their latency (`delayed_quote`), and subscribers are told after their latency.
Keeping the history instead of sending one message per change to every reader is what lets a
thousand agents watch a book for the cost of a binary search.
"""

from __future__ import annotations

from bisect import bisect_right

from sim.participant import Quote

_EMPTY = (None, 0, None, 0)


class MarketData:
    def __init__(self) -> None:
        self._times: dict[tuple[str, str], list[int]] = {}
        self._quotes: dict[tuple[str, str], list[Quote]] = {}
        self.subscribers: dict[tuple[str, str], list] = {}

    def publish(self, venue: str, symbol: str, time: int, level1: tuple) -> Quote | None:
        """Record the book's L1 if it changed; returns the new quote, or None if unchanged."""
        key = (venue, symbol)
        quotes = self._quotes.setdefault(key, [])
        if quotes and quotes[-1][1:] == level1:
            return None
        if not quotes and level1 == _EMPTY:
            return None
        quote = Quote(time, *level1)
        times = self._times.setdefault(key, [])
        if times and times[-1] == time:
            # Several changes at one instant: readers only ever see the last.
            quotes[-1] = quote
        else:
            times.append(time)
            quotes.append(quote)
        return quote

    def delayed_quote(self, venue: str, symbol: str, as_of: int) -> Quote:
        """The last L1 published at or before `as_of` (an empty quote before the first)."""
        key = (venue, symbol)
        times = self._times.get(key)
        if not times:
            return Quote(as_of, *_EMPTY)
        i = bisect_right(times, as_of)
        return self._quotes[key][i - 1] if i else Quote(as_of, *_EMPTY)

    def last(self, venue: str, symbol: str) -> Quote:
        quotes = self._quotes.get((venue, symbol))
        return quotes[-1] if quotes else Quote(0, *_EMPTY)
