"""The stream's fan-out: what the run publishes, carried to each WebSocket that may see it.

The run publishes from whichever thread advances it (the pacer, or a request's); each stream
is an asyncio queue on the server's event loop, fed through `call_soon_threadsafe`. Public
messages (quotes, trades, depth snapshots, the clock) go to every stream; an account's own
(its fills) to that account's streams and the regulator's. A stream that falls `MAX_BACKLOG`
messages behind is closed rather than let the service's memory grow: its client reconnects
and reads state back over REST.

A stream subscribes to topics: a channel (every message of it), or one of a channel's
narrower topics, such as ``pulse.<bond>`` (one bond's Liquidity Pulse, published only to the
streams that ask for it by name).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

MAX_BACKLOG = 10_000
CHANNELS = ("quote", "trade", "book", "fill", "clock")  # a stream's topics unless it asks


@dataclass(eq=False)
class Stream:
    """One WebSocket's subscription: whose messages, which topics, where they go."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue
    account: str | None  # None: every account's (the regulator)
    channels: frozenset[str]  # its topics
    overflowed: bool = False


class Hub:
    def __init__(self) -> None:
        self._streams: list[Stream] = []
        self._lock = threading.Lock()

    def subscribe(self, stream: Stream) -> None:
        with self._lock:
            self._streams = [*self._streams, stream]

    def unsubscribe(self, stream: Stream) -> None:
        with self._lock:
            self._streams = [s for s in self._streams if s is not stream]

    def topics(self) -> frozenset[str]:
        """Every topic some stream subscribes to: what is worth publishing."""
        return frozenset().union(*(stream.channels for stream in self._streams))

    def publish(
        self, account: str | None, channel: str, message: dict, *, topic: str | None = None
    ) -> None:
        """`message` on `channel` (its ``type``), to the streams subscribed to `topic` (default:
        the channel), for `account` only (and the regulator) or for all (None)."""
        streams = self._streams  # replaced, never mutated: safe to read without the lock
        if not streams:
            return
        topic = topic or channel
        message = {"type": channel, **message}
        for stream in streams:
            if topic not in stream.channels or stream.overflowed:
                continue
            if account is not None and stream.account not in (None, account):
                continue
            if stream.queue.qsize() >= MAX_BACKLOG:
                stream.overflowed = True
                stream.loop.call_soon_threadsafe(stream.queue.put_nowait, None)
                continue
            stream.loop.call_soon_threadsafe(stream.queue.put_nowait, message)
