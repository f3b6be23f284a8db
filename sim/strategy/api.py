"""The Strategy API: one interface for strategies in simulation and, later, live.

A strategy is a plain object with event handlers; it trades only through the `Context` it is
handed, which is the whole of what it may know and do. In a simulation the context is a
`StrategyParticipant` (a market participant with latency, accounts and fills); the live
adapter will provide the same context over the exchange service, so a strategy that passes
the backtest runs unchanged against the live venue (the NautilusTrader split: one strategy,
different clients at the edge).

    class JoinTheBid:
        def on_start(self, ctx):
            self.lot = ctx.instrument("BOND").lot_size   # static data: tick size, lot size, ...
            self.order_id = None
            ctx.set_timer(60 * 10**9)
        def on_timer(self, ctx):
            q = ctx.quote("NSE", "BOND")
            if q.bid is None:
                return
            if self.order_id is None and ctx.position("BOND") < 100:
                ctx.submit("NSE", "BOND", "buy", 10 * self.lot, q.bid)
            elif self.order_id is not None:
                ctx.modify("NSE", "BOND", self.order_id, price=q.bid)   # follow the bid
        def on_quote(self, ctx, venue, symbol, quote): ...
        def on_order(self, ctx, request, response):   # the venue's answer to a request
            if request[0] == "new" and response.ok:
                self.order_id = response.order_id
        def on_fill(self, ctx, fill, side):
            if self.order_id not in {o.order_id for _, o in ctx.open_orders()}:
                self.order_id = None                   # filled in full: bid again next time
        def on_stop(self, ctx): ...

Handlers a strategy does not define are simply not called. Every request (`submit`, `cancel`,
`modify`) is answered through `on_order(ctx, request, response)` (one sent too late to reach
the venue before the last close is answered MARKET_CLOSED), and `on_stop` comes last, once
nothing is on its way. `request` is the tuple of the action and its arguments as sent,

    ("new", venue, symbol, side, qty, price, tif)
    ("cancel", venue, symbol, order_id)
    ("modify", venue, symbol, order_id, qty, price)

and `response` the venue's `Response` (order id, status, reason, fills). A request the
strategy's own controls stop before it leaves (`refuse`, `refuse_modify`; see
`sim.strategy.guardrails`) is answered at once with a REJECTED response carrying their reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sim.engine.participant import Participant
from sim.market.messages import Quote, Response
from sim.market.orders import Reason, Status

if TYPE_CHECKING:
    from sim.market.instrument import Instrument
    from sim.market.messages import Trade

HANDLERS = ("on_start", "on_timer", "on_quote", "on_order", "on_fill", "on_stop")


class Context(Protocol):
    """What a strategy can see and do."""

    @property
    def now(self) -> int: ...

    def submit(
        self,
        venue: str,
        symbol: str,
        side,
        qty: int,
        price: int | None = None,
        tif: str = "GTC",
        **options,
    ) -> None: ...

    def cancel(self, venue: str, symbol: str, order_id: int) -> None: ...

    def modify(
        self,
        venue: str,
        symbol: str,
        order_id: int,
        qty: int | None = None,
        price: int | None = None,
    ) -> None:
        """Change an open order's remaining quantity and/or its price (None: unchanged)."""

    def quote(self, venue: str, symbol: str) -> Quote: ...

    def instrument(self, symbol: str) -> Instrument:
        """The instrument's static data: tick size, lot size, unit face value, tick value."""

    def position(self, symbol: str) -> int: ...

    def free_cash(self) -> int: ...

    def open_orders(self, venue: str | None = None) -> list: ...

    def set_timer(self, interval_ns: int) -> None: ...

    def refuse(
        self, venue: str, symbol: str, side, qty: int, price: int | None, tif: str, reason: Reason
    ) -> None:
        """Stop a new order before it leaves: recorded, and answered to the strategy as
        rejected with `reason`."""

    def refuse_modify(
        self,
        venue: str,
        symbol: str,
        order_id: int,
        qty: int | None,
        price: int | None,
        reason: Reason,
    ) -> None:
        """Stop a modify before it leaves: recorded with `reason` and answered to the
        strategy as rejected."""


@runtime_checkable
class Strategy(Protocol):
    """Any object with some of the handlers: on_start, on_timer, on_quote, on_order, on_fill,
    on_stop."""

    def on_start(self, ctx: Context) -> None: ...


class StrategyParticipant(Participant):
    """A market participant that runs a `Strategy`: the simulation side of the Strategy API."""

    kind = "strategy"

    def __init__(self, market, rng, latency, strategy, markets: list[tuple[str, str]]) -> None:
        super().__init__(market, rng, latency)
        self.strategy = strategy
        self.markets = markets
        self._timer_ns: int | None = None
        self._handlers = {name: getattr(strategy, name, None) for name in HANDLERS}

    # --- the context ----------------------------------------------------------------------
    # now, submit, cancel, modify, quote, position, free_cash and open_orders are the
    # participant's own.

    def instrument(self, symbol: str) -> Instrument:
        """The listed instrument's static data (raises KeyError for one the run does not list)."""
        return self.market.instrument(symbol)

    def set_timer(self, interval_ns: int) -> None:
        """Call the strategy's `on_timer` every `interval_ns` of trading time from now on."""
        first = self._timer_ns is None
        self._timer_ns = int(interval_ns)
        if first:
            self.wake_in(self._timer_ns)

    def refuse(
        self, venue: str, symbol: str, side, qty: int, price: int | None, tif: str, reason: Reason
    ) -> None:
        """An order stopped before it left (by a guardrail): it is recorded like any refused
        order, and the strategy hears `on_order` with a REJECTED answer at once."""
        request = ("new", venue, symbol, side, qty, price, tif)
        self.record_refusal(request, reason)
        self._call("on_order", request, Response(symbol, 0, Status.REJECTED, reason))

    def refuse_modify(
        self,
        venue: str,
        symbol: str,
        order_id: int,
        qty: int | None,
        price: int | None,
        reason: Reason,
    ) -> None:
        """A modify stopped before it left (by a guardrail): recorded like any refused
        request, and the strategy hears `on_order` with a REJECTED answer at once."""
        request = ("modify", venue, symbol, order_id, qty, price)
        self.record_refusal(request, reason)
        self._call("on_order", request, Response(symbol, order_id, Status.REJECTED, reason))

    # --- participant hooks, forwarded -----------------------------------------------------

    def _call(self, name: str, *args) -> None:
        handler = self._handlers[name]
        if handler is not None:
            handler(self, *args)

    def on_start(self) -> None:
        for venue, symbol in self.markets:
            self.subscribe(venue, symbol)
        self._call("on_start")

    def on_wake(self) -> None:
        self._call("on_timer")
        if self._timer_ns:
            self.wake_in(self._timer_ns)

    def on_quote(self, venue: str, symbol: str, quote: Quote) -> None:
        self._call("on_quote", venue, symbol, quote)

    def on_response(self, request: tuple, response) -> None:
        self._call("on_order", request, response)

    def on_fill(self, trade: Trade, side: int) -> None:
        self._call("on_fill", trade, side)

    def on_run_end(self) -> None:
        self._call("on_stop")
