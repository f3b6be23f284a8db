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
            self.size = ctx.params.get("size", 10)      # its parameters
            self.order_id = None
            ctx.set_timer(60 * 10**9)
        def on_timer(self, ctx):
            q = ctx.quote("NSE", "BOND")
            if q.bid is None:
                return
            if self.order_id is None and ctx.position("BOND") < 100:
                ctx.submit("NSE", "BOND", "buy", self.size * self.lot, q.bid)
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

What the context offers:

    market data    quote (L1, as it reached the strategy), book (the last L2 snapshot that
                   reached it), trades (those in its markets that reached it, latest last),
                   valuation (the published evaluated price of a bond with its breakdown:
                   risk-free price, rating spread, credit adjustment, and a liquidity premium
                   from what the strategy sees of the book), forecast (the bond's T+7 clean
                   price with its 10-90% interval and drivers, `sim.strategy.forecasts`, from
                   its closes the strategy saw), instrument (static data: tick and lot size,
                   face value), terms (issuer, sector, rating, coupon, dates), price_limits
                   (a venue's price band), trades_on (whether a bond still trades)
    its account    position, positions, free_units, cash, free_cash, open_orders
    time           now (ns), day (the trading day), session (a day's open and close),
                   trading_days (the run's dates), trading_date, set_timer (calls `on_timer`
                   every interval of trading time)
    its own        params (read-only), markets (the (venue, symbol) it was given), log (a line
                   for the run's strategy log and the `bondlab.strategy` logger), walk_forward
                   (the train and test windows of a walk-forward backtest, or None)
    acting         submit (with an optional ``decision``: why, recorded with the order in
                   `decisions.parquet`), cancel, modify, route (smart order routing: splits an
                   order across its venues, `sim.strategy.routing`, and sends the children)

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

import json
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sim.engine.participant import Participant
from sim.market.messages import Quote, Response
from sim.market.orders import Reason, Status
from sim.pricing import Liquidity, liquidity_premium_bp
from sim.pricing.curves import cashflow_times, price_cashflows
from sim.strategy.forecasts import FORECAST_DAYS, Forecast, forecast
from sim.strategy.routing import RoutePlan, VenueView, route, taken_levels
from sim.strategy.walk_forward import WalkForward
from sim.units import NS_PER_DAY

if TYPE_CHECKING:
    from sim.market.instrument import Instrument
    from sim.market.messages import Trade

HANDLERS = ("on_start", "on_timer", "on_quote", "on_order", "on_fill", "on_stop")
TRADES_KEPT = 1_000  # per market: the latest trades a context holds
DEPTH_LEVELS = 5  # the levels a liquidity premium's depth counts, each side
LOGGER = logging.getLogger("bondlab.strategy")


@dataclass(frozen=True)
class Book:
    """A depth snapshot as it reached the strategy: (price ticks, qty units) levels, best
    first, and the time it reached it."""

    time: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Component:
    """One step of a valuation's breakdown: the spread it adds over the step before (bp) and
    its effect on the clean price (per 100 face)."""

    name: str
    spread_bp: float
    price_effect: float


@dataclass(frozen=True)
class Valuation:
    """A bond's evaluated price as published, per 100 face, with its breakdown (the liquidity
    premium when asked for).

    ``clean`` and ``accrued`` are the published valuation (to the settlement date of a trade
    now); ``ytm`` and ``spread_bp`` its yield and credit spread (None when the value is not a
    bond's spread over a curve: a bond in default, a mean-reverting value). ``risk_free_clean``
    is the price off the risk-free curve alone, and ``components`` the steps from it to the
    evaluated price (``rating_spread``, ``credit_adjustment``: the credit factor and any spread
    shock), whose effects sum to ``clean - risk_free_clean``; then ``liquidity_premium``, the
    pricing engine's premium (`sim.pricing.liquidity_premium_bp`) for the liquidity the
    strategy sees (quoted spread, depth in the best levels, days since a trade), which the
    evaluated price leaves out: ``liquidity_adjusted_clean`` is the price with it."""

    symbol: str
    time: int
    clean: float
    accrued: float
    ytm: float | None
    spread_bp: float | None
    risk_free_clean: float | None
    components: tuple[Component, ...]
    liquidity: Liquidity | None

    @property
    def liquidity_adjusted_clean(self) -> float:
        return self.clean + sum(c.price_effect for c in self.components[2:])


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
        decision: Mapping[str, Any] | None = None,
        **options,
    ) -> None:
        """Send a new order; a `decision` (why) is recorded with it in decisions.parquet."""

    def cancel(self, venue: str, symbol: str, order_id: int) -> None: ...

    def plan_route(
        self, symbol: str, side, qty: int, limit: int | None = None, policy: str = "cheapest"
    ) -> RoutePlan:
        """How `route` would split an order, without sending anything."""

    def route(
        self,
        symbol: str,
        side,
        qty: int,
        limit: int | None = None,
        policy: str = "cheapest",
        decision: Mapping[str, Any] | None = None,
    ) -> RoutePlan:
        """Split an order across the venues of its markets that list `symbol` and send the
        children; returns the plan (`sim.strategy.routing.RoutePlan`)."""

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

    def book(self, venue: str, symbol: str) -> Book | None:
        """The last depth snapshot of one of its markets that reached it (None before one)."""

    def trades(self, venue: str, symbol: str) -> tuple[Trade, ...]:
        """The trades in one of its markets that reached it, oldest first (the latest ones)."""

    def valuation(self, symbol: str, liquidity: bool = False) -> Valuation:
        """The published evaluated price with its breakdown (`Valuation`); with `liquidity`,
        the liquidity premium the strategy sees too."""

    def forecast(self, symbol: str, horizon_days: int = FORECAST_DAYS) -> Forecast | None:
        """The bond's clean price `horizon_days` ahead with its interval and drivers; None
        before enough closes (`sim.strategy.forecasts`)."""

    def instrument(self, symbol: str) -> Instrument:
        """The instrument's static data: tick size, lot size, unit face value, tick value."""

    def terms(self, symbol: str) -> dict:
        """Its terms: issuer, sector, rating (at issue), coupon, issue, maturity, frequency,
        day_count (None where the scenario gives none)."""

    def price_limits(self, venue: str, symbol: str) -> tuple[int, int] | None:
        """The venue's price band for it now, ticks (None without one)."""

    def trades_on(self, symbol: str, day: int | None = None) -> bool:
        """Whether it trades on a trading day (default: today): a bond stops once its trades
        would settle on or after its maturity, and has no valuation from then on."""

    def position(self, symbol: str) -> int: ...

    def free_units(self, symbol: str) -> int:
        """Units it may sell now: settled, and not offered by its open orders."""

    def positions(self) -> dict[str, int]:
        """Units owned of every instrument it holds, pending trades included."""

    def cash(self) -> int:
        """Paise owned, pending trades included."""

    def free_cash(self) -> int: ...

    def open_orders(self, venue: str | None = None) -> list: ...

    @property
    def day(self) -> int:
        """The trading day now (0-based)."""

    def session(self, day: int) -> tuple[int, int]:
        """A trading day's open and close (ns)."""

    def trading_date(self, day: int | None = None) -> date:
        """The calendar date of a trading day (default: today's)."""

    @property
    def trading_days(self) -> tuple[date, ...]:
        """The run's trading dates, in order: its length is the run's."""

    def set_timer(self, interval_ns: int) -> None: ...

    @property
    def params(self) -> Mapping[str, Any]:
        """Its parameters (read-only)."""

    @property
    def markets(self) -> tuple[tuple[str, str], ...]:
        """The (venue, symbol) it trades, subscribed to from the start."""

    @property
    def walk_forward(self) -> WalkForward | None:
        """A walk-forward backtest's windows (`sim.strategy.walk_forward`): a learning
        strategy fits at each test window's start on its training window only; None
        otherwise."""

    def log(self, message: str, **fields) -> None:
        """A line for the run's strategy log, with the time and any fields (JSON values)."""

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


def send_route(ctx, symbol: str, side, plan: RoutePlan, decision=None) -> None:
    """Send each child of `plan` through `ctx.submit`, with the plan in its decision (and
    `decision`, if given): immediate-or-cancel when it is expected to fill in full,
    good-till-cancelled when part of it is meant to rest."""
    why = {**dict(decision or {}), "route": plan.to_row()}
    for child in plan.children:
        tif = "IOC" if child.expected_fill == child.qty else "GTC"
        ctx.submit(child.venue, symbol, side, child.qty, child.limit, tif, decision=why)


class StrategyParticipant(Participant):
    """A market participant that runs a `Strategy`: the simulation side of the Strategy API."""

    kind = "strategy"

    def __init__(
        self,
        market,
        rng,
        latency,
        strategy,
        markets: list[tuple[str, str]],
        params: Mapping[str, Any] | None = None,
        walk_forward: WalkForward | None = None,
    ) -> None:
        super().__init__(market, rng, latency)
        self.strategy = strategy
        self.markets = tuple(markets)
        self.params = MappingProxyType(dict(params or {}))
        self.walk_forward = walk_forward
        self._timer_ns: int | None = None
        self._handlers = {name: getattr(strategy, name, None) for name in HANDLERS}
        self._books: dict[tuple[str, str], Book] = {}
        self._trades = {m: deque(maxlen=TRADES_KEPT) for m in self.markets}
        self.log_lines = 0
        # Decisions of orders on their way, by request, oldest first: (decided at, JSON).
        self._decided: dict[tuple, deque[tuple[int, str]]] = {}
        self._closes: dict[str, list[tuple]] = {}  # symbol -> its daily history, for forecasts

    # --- the context ----------------------------------------------------------------------
    # now, submit, cancel, modify, quote, position, free_cash and open_orders are the
    # participant's own.

    def instrument(self, symbol: str) -> Instrument:
        """The listed instrument's static data (raises KeyError for one the run does not list)."""
        return self.market.instrument(symbol)

    def book(self, venue: str, symbol: str) -> Book | None:
        """The last depth snapshot of one of its markets that reached it (None before one)."""
        return self._books.get((venue, symbol))

    def trades(self, venue: str, symbol: str) -> tuple[Trade, ...]:
        """The trades in one of its markets that reached it, oldest first (the latest
        `TRADES_KEPT`)."""
        return tuple(self._trades.get((venue, symbol), ()))

    def valuation(self, symbol: str, liquidity: bool = False) -> Valuation:
        """The published evaluated price of `symbol` with its breakdown (`Valuation`); with
        `liquidity`, the liquidity premium measured over the venues of its markets in
        `symbol` too (two yield solves and a pricing: asked for, not given by default)."""
        market = self.market
        clean, accrued = market.valuation(symbol)
        detail = market.valuation_detail(symbol)
        if detail is None:
            return Valuation(symbol, self.now, clean, accrued, None, None, None, (), None)
        steps = [Component(c.name, c.spread_bp, c.price_effect) for c in detail.components]
        rating, adjustment = (
            steps[0],
            Component(
                "credit_adjustment",
                sum(c.spread_bp for c in steps[1:]),
                sum(c.price_effect for c in steps[1:]),
            ),
        )
        components = [rating, adjustment]
        seen = self._liquidity(symbol, detail) if liquidity else None
        if seen is not None:
            premium = liquidity_premium_bp(seen, detail.inputs.liquidity_params)
            inputs = detail.inputs
            times, amounts = cashflow_times(inputs.bond, inputs.settle)
            spread = (detail.total_spread_bp + premium) / 1e4
            dirty = price_cashflows(inputs.curve, times, amounts, spread)
            components.append(Component("liquidity_premium", premium, dirty - detail.dirty_price))
        return Valuation(
            symbol,
            self.now,
            clean,
            accrued,
            detail.ytm,
            detail.total_spread_bp,
            detail.risk_free_clean_price,
            tuple(components),
            seen,
        )

    def forecast(self, symbol: str, horizon_days: int = FORECAST_DAYS) -> Forecast | None:
        """The bond's clean price `horizon_days` trading days ahead, with its 10% and 90%
        quantiles and drivers, from its closes as the strategy saw them
        (`sim.strategy.forecasts`); None before enough closes, or for a value that is not a
        bond's."""
        return forecast(symbol, self._closes.get(symbol, []), self.now, horizon_days)

    def _record_close(self, day: int) -> None:
        """Each of its bonds' history row at this close (`sim.strategy.forecasts`)."""
        market = self.market
        for symbol in dict.fromkeys(s for _, s in self.markets):
            detail = market.valuation_detail(symbol) if market.trades_on(symbol, day) else None
            if detail is None:
                continue
            inputs = detail.inputs
            tick = float(self.instrument(symbol).tick_size)
            mids = [q.mid for q in (self.quote(v, s) for v, s in self.markets if s == symbol)]
            mids = [m for m in mids if m is not None]
            clean = sum(mids) / len(mids) * tick if mids else detail.clean_price
            liquidity = self._liquidity(symbol, detail)
            curve = inputs.curve
            self._closes.setdefault(symbol, []).append((
                self.trading_date(day),
                symbol,
                clean,
                inputs.bond.yield_from_price(clean, inputs.settle),
                float(curve.zero_rate(10.0)),
                float(curve.zero_rate(10.0) - curve.zero_rate(1.0)),
                detail.components[0].spread_bp,
                0.0 if liquidity is None else liquidity.bid_ask_bp,
                detail.clean_price,
            ))  # fmt: skip

    def _liquidity(self, symbol: str, detail) -> Liquidity | None:
        """The liquidity the strategy sees of `symbol` over its venues: the tightest quoted
        spread in yield bp, the depth of the best levels in rupees of face, and calendar days
        since the last trade it heard of (since the start without one); None without a
        two-sided quote."""
        venues = [v for v, s in self.markets if s == symbol]
        quotes = [q for q in (self.quote(v, symbol) for v in venues) if q.bid and q.ask]
        if not quotes:
            return None
        tick = float(self.instrument(symbol).tick_size)
        bond, settle = detail.inputs.bond, detail.inputs.settle
        bid, ask = max(q.bid for q in quotes) * tick, min(q.ask for q in quotes) * tick
        spread_bp = max(bond.yield_from_price(bid, settle) - bond.yield_from_price(ask, settle), 0)
        face = self.instrument(symbol).unit_face_value
        depth = 0
        for venue in venues:
            book = self._books.get((venue, symbol))
            if book is not None:
                levels = book.bids[:DEPTH_LEVELS] + book.asks[:DEPTH_LEVELS]
                depth += sum(qty for _, qty in levels)
        heard = [t.time for v in venues for t in self._trades.get((v, symbol), ())]
        since = max(heard, default=self.market.session(0)[0])
        return Liquidity(spread_bp * 1e4, float(depth * face), (self.now - since) / NS_PER_DAY)

    def submit(
        self,
        venue: str,
        symbol: str,
        side,
        qty: int,
        price: int | None = None,
        tif: str = "GTC",
        decision: Mapping[str, Any] | None = None,
        **options,
    ) -> None:
        """Send a new order; with a `decision` (JSON values: the prediction, the threshold,
        the drivers...), recorded with the venue's order id once it answers."""
        if decision is not None:
            key = ("new", venue, symbol, side, qty, price, tif)
            details = json.dumps(decision, sort_keys=True, default=str)
            self._decided.setdefault(key, deque()).append((self.now, details))
        super().submit(venue, symbol, side, qty, price, tif, **options)

    def plan_route(
        self, symbol: str, side, qty: int, limit: int | None = None, policy: str = "cheapest"
    ) -> RoutePlan:
        """How `route` would split an order of `qty` units across the venues of its markets
        that list `symbol` (`sim.strategy.routing.route`: visible depth from its last depth
        snapshot, or the top of its quote before one, taker fees, price bands and halts),
        without sending anything."""
        instrument = self.instrument(symbol)
        views = [self._venue_view(venue, symbol, side) for venue, s in self.markets if s == symbol]
        return route(
            side, qty, views, tick_value=instrument.tick_value, limit=limit,
            lot_size=instrument.lot_size, policy=policy,
        )  # fmt: skip

    def route(
        self,
        symbol: str,
        side,
        qty: int,
        limit: int | None = None,
        policy: str = "cheapest",
        decision: Mapping[str, Any] | None = None,
    ) -> RoutePlan:
        """Split an order across venues (`plan_route`) and send each child (`send_route`)."""
        plan = self.plan_route(symbol, side, qty, limit, policy)
        send_route(self, symbol, side, plan, decision)
        return plan

    def _venue_view(self, venue: str, symbol: str, side) -> VenueView:
        """What the router sees of `venue`: the levels an order on `side` would take."""
        levels = taken_levels(side, self._books.get((venue, symbol)), self.quote(venue, symbol))
        return VenueView(
            venue,
            levels,
            taker_fee_bps=Decimal(self.taker_fee_rate(venue)) / 100,
            band=self.price_limits(venue, symbol),
            halted=self.halted_until(venue, symbol) > self.now,
        )

    def positions(self) -> dict[str, int]:
        """Units owned of every listed instrument it holds, pending trades included."""
        held = {s: self.position(s) for s in self.market.symbols()}
        return {s: q for s, q in held.items() if q}

    def cash(self) -> int:
        """Paise owned, pending trades included."""
        return self.cash_position()

    @property
    def day(self) -> int:
        """The trading day now (0-based)."""
        return self.market.day_index(self.now)

    def session(self, day: int) -> tuple[int, int]:
        """A trading day's open and close (ns)."""
        return self.market.session(day)

    def trading_date(self, day: int | None = None) -> date:
        """The calendar date of a trading day (default: today's)."""
        return self.market.trading_days()[self.day if day is None else day]

    @property
    def trading_days(self) -> tuple[date, ...]:
        """The run's trading dates, in order."""
        return self.market.trading_days()

    def terms(self, symbol: str) -> dict:
        """Its terms as the scenario lists them (`MarketAccess.terms`), the rating at issue."""
        return self.market.terms(symbol)

    def trades_on(self, symbol: str, day: int | None = None) -> bool:
        """Whether it trades on trading day `day` (default: today)."""
        return self.market.trades_on(symbol, self.day if day is None else day)

    def log(self, message: str, **fields) -> None:
        """A line for the run's strategy log (`strategy_log.parquet`) and the
        `bondlab.strategy` logger, with the time, the account and any `fields` (JSON)."""
        details = json.dumps(fields, sort_keys=True, default=str) if fields else ""
        self.log_lines += 1
        self.market.record_log(self, message, details)
        LOGGER.info("%d agent %d: %s %s", self.now, self.account, message, details)

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
            for channel in ("l1", "l2", "trades"):
                self.subscribe(venue, symbol, channel)
        self._call("on_start")

    def on_wake(self) -> None:
        self._call("on_timer")
        if self._timer_ns:
            self.wake_in(self._timer_ns)

    def on_quote(self, venue: str, symbol: str, quote: Quote) -> None:
        self._call("on_quote", venue, symbol, quote)

    def on_book(self, venue: str, symbol: str, bids: list, asks: list) -> None:
        self._books[(venue, symbol)] = Book(self.now, tuple(bids), tuple(asks))

    def on_trade(self, trade: Trade) -> None:
        self._trades[(trade.venue, trade.instrument)].append(trade)

    def on_response(self, request: tuple, response) -> None:
        waiting = self._decided.get(request)
        if waiting:
            decided_at, details = waiting.popleft()
            if not waiting:
                del self._decided[request]
            order_id = response.order_id if response.ok else 0
            self.market.record_decision(self, decided_at, request[1], request[2], order_id, details)
        self._call("on_order", request, response)

    def on_fill(self, trade: Trade, side: int) -> None:
        self._call("on_fill", trade, side)

    def on_session_close(self, day: int) -> None:
        self._record_close(day)

    def on_run_end(self) -> None:
        self._call("on_stop")
