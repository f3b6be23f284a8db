"""The market participant: a mesa agent that acts only through venue gateways, and knows of
its run only what its `MarketAccess` tells it.

Everything a participant does goes through the kernel with latency: a request reaches the
venue after the participant's outbound latency, and the venue's answer, its fills and the
market data it subscribed to come back as events after the inbound latency. It reads quotes
as they were when they could have reached it (`quote()` is the book's L1 delayed by the
participant's market-data latency), never the live book. That separation is what lets the
same decision code run against a live venue later.

A participant reaches the run through nothing else. Its own methods act (`submit`, `cancel`,
`modify`, `wake_in`/`wake_at`, `subscribe`, `record_refusal`), read its own account
(`position`, `free_units`, `free_cash`, `cash_position`, `open_orders`) and apply the venue's
own rules to its orders (`quote`, `price_limits`, `buy_cost`, `affordable`, `taker_fee_rate`);
`market` (a `sim.engine.access.MarketAccess`, the one its kind's `build` was handed) answers
what the market knows (time, calendar, static data, fair values, shock levels, the mark) and
offers the platform's services (accounts, deposits, off-book transfers). Neither hands out the
ledger, a venue, a book or the simulation. Units: time in ns, prices in ticks, quantities in
units, money in paise.

Subclasses override the `on_*` hooks they need. All their randomness comes from
`self.agent_rng`, a generator spawned from the run's seed sequence for this agent alone: array
draws from it directly, scalar draws through `self.draws`, which takes them from it in blocks
(`sim.engine.draws`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.engine.access import MarketAccess
from sim.engine.draws import ScalarDraws

if TYPE_CHECKING:
    from sim.engine.latency import Latency
    from sim.market.messages import OpenOrder, Quote, Response, Trade


class Participant(mesa.Agent):
    """Base class of every trading agent. Its ledger account id is its mesa `unique_id`."""

    kind = "participant"

    def __init__(self, market: MarketAccess, rng: np.random.Generator, latency: Latency) -> None:
        if not isinstance(market, MarketAccess):
            raise TypeError(f"a participant takes a MarketAccess, not {type(market).__name__}")
        ports = market._ports()
        super().__init__(ports.model)
        self._market = market
        self._ports = ports
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
    def market(self) -> MarketAccess:
        """What the market knows and the platform offers (`sim.engine.access`)."""
        return self._market

    @property
    def now(self) -> int:
        """Simulated time now, ns."""
        return self._ports.now()

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
        self._ports.send(self, "new", venue, symbol, (side, qty, price, tif), options)

    def cancel(self, venue: str, symbol: str, order_id: int) -> None:
        self._ports.send(self, "cancel", venue, symbol, (order_id,), {})

    def modify(
        self,
        venue: str,
        symbol: str,
        order_id: int,
        qty: int | None = None,
        price: int | None = None,
    ) -> None:
        self._ports.send(self, "modify", venue, symbol, (order_id, qty, price), {})

    def wake_in(self, delay_ns: int) -> None:
        """Call `on_wake` after `delay_ns` of trading time (overnight gaps are skipped)."""
        ports = self._ports
        ports.wake(self, ports.now() + int(delay_ns))

    def wake_at(self, time_ns: int) -> None:
        self._ports.wake(self, int(time_ns))

    def subscribe(self, venue: str, symbol: str, channel: str = "l1") -> None:
        """Market data of one book, each event after this participant's latency:
        "l1" calls `on_quote` on every level-1 change, "l2" calls `on_book` with a depth
        snapshot at the recording interval, "trades" calls `on_trade` for every trade."""
        self._ports.subscribe(self, venue, symbol, channel)

    def record_refusal(self, request: tuple, reason, client: int = 0) -> None:
        """A request this participant's own controls stopped before it was sent (a broker's
        check of its client, a guardrail): recorded with its `Reason` like any refused
        request. `request` is what `on_response` would have been given: a new order's
        ``("new", venue, symbol, side, qty, price, tif)``, a cancel's
        ``("cancel", venue, symbol, order_id)`` or a modify's
        ``("modify", venue, symbol, order_id, qty, price)``."""
        self._ports.record_refusal(self, request, reason, client)

    # --- seeing ---------------------------------------------------------------------------

    def quote(self, venue: str, symbol: str) -> Quote:
        """Level 1 of a book as it was one market-data latency ago."""
        ports = self._ports
        return ports.delayed_quote(venue, symbol, ports.now() - self.latency.sample(self.draws))

    def price_limits(self, venue: str, symbol: str) -> tuple[int, int] | None:
        """The venue's published price band for the instrument, ticks (None if it has none)."""
        return self._ports.venues[venue].price_limits(symbol)

    def halted_until(self, venue: str, symbol: str) -> int:
        """Time (ns) until which the venue halted the instrument (0: not halted since it last
        resumed): public, as exchanges announce their halts."""
        return self._ports.venues[venue].halted_until(symbol)

    def buy_cost(self, venue: str, symbol: str, qty: int, price: int | None) -> int | None:
        """Paise the venue would lock for a buy of `qty` units at `price` ticks (None: a market
        order) if it arrived now: the notional at its worst price plus the largest fee, by the
        venue's own rule. None for a market order with no price to be protected against."""
        return self._ports.venues[venue].buy_lock(symbol, qty, price)

    def affordable(self, venue: str, symbol: str, price: int, cash: int) -> int:
        """The most units a buy at `price` ticks can be for `cash` paise: the largest qty whose
        `buy_cost` is at most `cash` (0 when not even one unit's is). Not rounded to lots."""
        lock = self._ports.venues[venue].buy_lock
        unit = lock(symbol, 1, price)
        if unit is None or unit > cash:
            return 0
        # At most this many: fee rates are not negative, so an order's fee is at least the sum
        # of its units' fees, each rounded down.
        qty = cash // unit
        cost = lock(symbol, qty, price)
        if cost <= cash:
            return qty
        qty = cash * qty // cost  # near the answer: the whole order's cost per unit
        while lock(symbol, qty, price) > cash:
            qty -= 1
        while lock(symbol, qty + 1, price) <= cash:
            qty += 1
        return qty

    def taker_fee_rate(self, venue: str) -> int:
        """The venue's fee on an order that takes liquidity, millionths of its notional."""
        return self._ports.venues[venue].fees.rate(False, None)

    def position(self, symbol: str) -> int:
        """Units owned once pending trades settle."""
        return self._ports.account(self.unique_id).position(symbol)

    def free_units(self, symbol: str) -> int:
        """Units that may be sold or delivered now: settled, and not offered by open orders."""
        return self._ports.account(self.unique_id).free_units(symbol)

    def free_cash(self) -> int:
        """Paise that may be spent now: settled, and not held for open buys or owed to
        unsettled trades."""
        return self._ports.account(self.unique_id).free_cash

    def cash_position(self) -> int:
        """Paise owned once pending trades settle."""
        account = self._ports.account(self.unique_id)
        return account.cash + account.pending_cash

    def open_orders(self, venue: str | None = None) -> list[tuple[str, OpenOrder]]:
        """(venue, order) for each of this participant's open orders: its own order book
        keeping, as any trading system has."""
        venues, account = self._ports.venues, self.unique_id
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

    def on_payment(self, payment) -> None:
        """A bond paid its holders of record a coupon, or redeemed their units (a
        `sim.engine.cashflows.Payment` of kind "coupon" or "redemption"); what this account
        received is in its cash already, and redeemed units have left it."""

    def on_shock(self, shock) -> None:
        """A scenario shock started (panic, liquidity withdrawal, rates, ...)."""

    def report(self) -> dict:
        """Kind-specific columns for agents.parquet (numbers only)."""
        return {}
