"""The market participant: a mesa agent that trades only through venue gateways.

Everything a participant does goes through the kernel with latency: a request reaches the
venue after the participant's outbound latency, and the venue's answer, its fills and the
market data it subscribed to come back as events after the inbound latency. It reads quotes
as they were when they could have reached it (`quote()` is the book's L1 delayed by the
participant's market-data latency), never the live book. That separation is what lets the
same decision code run against a live venue later.

Subclasses override the `on_*` hooks they need and call `submit`, `cancel`, `modify` and
`wake_in`/`wake_at`. All their randomness comes from `self.agent_rng`, a generator spawned from the
run's seed sequence for this agent alone: array draws from it directly, scalar draws through
`self.draws`, which takes them from it in blocks (`sim.engine.draws`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.engine.draws import ScalarDraws

if TYPE_CHECKING:
    from sim.engine.kernel import Simulation
    from sim.engine.latency import Latency
    from sim.market.messages import OpenOrder, Quote, Response, Trade


class Participant(mesa.Agent):
    """Base class of every trading agent. Its ledger account id is its mesa `unique_id`."""

    kind = "participant"

    def __init__(self, sim: Simulation, rng: np.random.Generator, latency: Latency) -> None:
        super().__init__(sim.model)
        self.sim = sim
        self.draws = ScalarDraws(rng)  # scalar draws, taken from agent_rng in blocks
        self.latency = latency
        self.orders_sent = 0
        self.fills = 0
        self.fees_paid = 0  # paise, net of rebates

    @property
    def agent_rng(self) -> np.random.Generator:
        """This agent's generator (read-only: `draws` takes its scalars from it)."""
        return self.draws.generator

    @property
    def account(self) -> int:
        return self.unique_id

    @property
    def now(self) -> int:
        return self.sim.env.now

    # --- acting ---------------------------------------------------------------------------

    def submit(
        self,
        venue: str,
        symbol: str,
        side,
        qty: int,
        price: int | None = None,
        tif: str = "GTC",
        **options,
    ) -> None:
        """Send a new order; the answer arrives later through `on_response`."""
        self.orders_sent += 1
        self.sim.send(self, "new", venue, symbol, (side, qty, price, tif), options)

    def cancel(self, venue: str, symbol: str, order_id: int) -> None:
        self.sim.send(self, "cancel", venue, symbol, (order_id,), {})

    def modify(
        self,
        venue: str,
        symbol: str,
        order_id: int,
        qty: int | None = None,
        price: int | None = None,
    ) -> None:
        self.sim.send(self, "modify", venue, symbol, (order_id, qty, price), {})

    def wake_in(self, delay_ns: int) -> None:
        """Call `on_wake` after `delay_ns` of trading time (overnight gaps are skipped)."""
        sim = self.sim
        sim.wake(self, sim.env.now + int(delay_ns))

    def wake_at(self, time_ns: int) -> None:
        self.sim.wake(self, int(time_ns))

    def subscribe(self, venue: str, symbol: str, channel: str = "l1") -> None:
        """Market data of one book, each event after this participant's latency:
        "l1" calls `on_quote` on every level-1 change, "l2" calls `on_book` with a depth
        snapshot at the recording interval, "trades" calls `on_trade` for every trade."""
        self.sim.subscribe(self, venue, symbol, channel)

    # --- seeing ---------------------------------------------------------------------------

    def quote(self, venue: str, symbol: str) -> Quote:
        """Level 1 of a book as it was one market-data latency ago."""
        sim = self.sim
        as_of = sim.env.now - self.latency.sample(self.draws)
        return sim.market_data.delayed_quote(venue, symbol, as_of)

    def price_limits(self, venue: str, symbol: str) -> tuple[int, int] | None:
        """The venue's published price band for the instrument (None if it has none)."""
        return self.sim.venues[venue].price_limits(symbol)

    def position(self, symbol: str) -> int:
        """Units owned once pending trades settle."""
        return self.sim.ledger.account(self.account).position(symbol)

    def free_cash(self) -> int:
        return self.sim.ledger.account(self.account).free_cash

    def open_orders(self, venue: str | None = None) -> list[tuple[str, OpenOrder]]:
        """(venue, order) for each of this participant's open orders: its own order book
        keeping, as any trading system has."""
        venues, account = self.sim.venues, self.unique_id
        if venue:
            return [(venue, o) for o in venues[venue].open_orders(account)]
        found = []
        for name, v in venues.items():
            for order in v.open_orders(account):
                found.append((name, order))
        return found

    # --- hooks ----------------------------------------------------------------------------

    def on_start(self) -> None:
        """Called once at the first session's open."""

    def on_wake(self) -> None:
        """Called at the times asked for with `wake_in`/`wake_at`."""

    def on_session_open(self, day: int) -> None:
        """Called at every session's open (after `on_start` on day 0)."""

    def on_session_close(self, day: int) -> None:
        """Called at every session's close."""

    def on_run_end(self) -> None:
        """Called once when the run is over: after the last close, once every answer and fill
        still on its way has arrived."""

    def on_response(self, request: tuple, response: Response) -> None:
        """The venue's answer to one of this participant's requests."""

    def on_fill(self, trade: Trade, side: int) -> None:
        """One of this participant's orders traded (side +1 bought, -1 sold)."""

    def on_quote(self, venue: str, symbol: str, quote: Quote) -> None:
        """A subscribed book's level 1 changed."""

    def on_book(self, venue: str, symbol: str, bids: list, asks: list) -> None:
        """A subscribed book's depth snapshot: (price, qty) levels, best first."""

    def on_trade(self, trade: Trade) -> None:
        """A trade in a subscribed book (anyone's)."""

    def on_shock(self, shock) -> None:
        """A scenario shock started (panic, liquidity withdrawal, rates, ...)."""

    def report(self) -> dict:
        """Kind-specific columns for agents.parquet (numbers only)."""
        return {}
