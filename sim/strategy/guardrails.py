"""Guardrails around any strategy: a position limit, a VaR limit and a drawdown kill switch.

`Guardrails` wraps a strategy written against the Strategy API (`sim.strategy.api`) and hands it a
`GuardedContext`: the real context, with every order checked first. Being written only against
the `Context`, it guards a strategy in a simulation (the AI agent, `agents.ai`) and, later,
through the live adapter alike. The context's `submit` checks, in order:

    kill switch     once tripped, every order of the strategy is refused
    position limit  q = units held - units held at the start (the starting holding is what
                    funds sells, so limits apply to what the strategy changed); worst case =
                    q + open and in-flight orders on the order's side + the order; refused
                    when |worst case| > max_position and the order adds exposure
    VaR limit       VaR at `var_confidence` (99%) over `var_horizon_seconds` (one session) of
                    the worst-case position, summed over markets (no diversification credit);
                    refused when above `var_limit_rupees` and the order adds exposure. From
                    the mid returns r_i sampled at every timer, dt_i seconds apart, scaled to
                    the horizon H by sqrt(H / dt_i) (zero mean):
                      parametric  VaR = z_c * sqrt(mean(r_i^2 / dt_i) * H) * |q| * mid * tick_value
                      historical  VaR = -quantile_(1-c)(q * mid * tick_value * r_i * sqrt(H / dt_i))
                    Until `min_var_returns` returns are seen the risk is unknown and orders that
                    add exposure are refused.
    drawdown        equity = cash from own fills + units from own fills * mid * tick_value,
                    checked at every timer, quote and fill: the strategy's mark-to-market P&L,
                    net of the starting holding like the limits above, and counted from fills
                    so that cash and units move together (free cash leaves out locked cash and
                    unsettled proceeds). When its drawdown from the peak exceeds
                    `max_drawdown_rupees` the switch trips for the rest of the run: open orders
                    are cancelled and the position is flattened back to the starting holding
                    with IOCs at the far touch, retried at every timer until flat.

A `modify` that raises an open order's quantity adds exposure: the added units go through the
same checks as a new order of that many units on the order's side (kill switch, position, VaR).
A modify that only lowers the quantity and/or changes the price adds none and always goes,
but once the kill switch has tripped only a pure reduction goes (a lower quantity at the same
price): any other modify is refused. Before the trip, a modify of an order the guard cannot
see open (already done, or never there) adds nothing and is left to the venue to answer.

Refusals are counted per guardrail and go through the context's `refuse` (a new order) or
`refuse_modify` (a modify): recorded in the run's orders with their reason code and answered to
the strategy as rejected at once. The tick value of each market
(paise per tick and unit, for VaR and equity) comes from the context's `instrument` at start.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Integral, Real
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

from sim.market.orders import Reason, Side, as_int64
from sim.strategy.api import HANDLERS, send_route
from sim.units import NS_PER_SECOND

VAR_METHODS = ("parametric", "historical")


def value_at_risk(
    position: float,
    mid_ticks: float,
    tick_value: float,
    returns,
    seconds,
    horizon_seconds: float,
    method: str = "parametric",
    confidence: float = 0.99,
) -> float:
    """VaR in rupees of `position` units at `mid_ticks` (`tick_value` paise per tick and unit)
    over `horizon_seconds`, from mid returns observed over `seconds` each (zero-mean,
    square-root-of-time scaling; see the module docstring)."""
    returns, seconds = np.asarray(returns, float), np.asarray(seconds, float)
    if method not in VAR_METHODS:
        raise ValueError(f"unknown VaR method {method!r}; expected one of {VAR_METHODS}")
    value = position * mid_ticks * tick_value / 100  # rupees
    if method == "parametric":
        sigma = math.sqrt(float(np.mean(returns**2 / seconds)) * horizon_seconds)
        return NormalDist().inv_cdf(confidence) * sigma * abs(value)
    pnl = value * returns * np.sqrt(horizon_seconds / seconds)
    return max(-float(np.quantile(pnl, 1 - confidence)), 0.0)


@dataclass
class _Market:
    """What the guard has observed of one market."""

    venue: str
    tick_value: int = 0  # paise per tick and unit, from the instrument at start
    start_units: int = 0
    mid: float | None = None
    last_sample: tuple[float, int] | None = None  # (mid, time) at the last timer
    returns: deque | None = None  # (return, seconds)


class _Sent(NamedTuple):
    """A request the guard let through, until its answer comes back."""

    request: tuple  # as the answer will quote it: ("new", ...) or ("modify", ...)
    by_guard: bool  # the guard's own flattening order
    side: Side | None  # of the order (None: not a side, the venue will reject it)
    added: int  # units it may add on that side: a new order's quantity, a modify's increase


def _check_arguments(**arguments) -> None:
    """The guard's limits, each checked; one ValueError names every bad one."""
    problems = []
    for name in ("max_position", "var_window", "min_var_returns"):
        value = arguments[name]
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
            problems.append(f"{name} must be a non-negative integer (got {value!r})")
    for name in ("var_limit_rupees", "max_drawdown_rupees", "var_horizon_seconds"):
        value = arguments[name]
        if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
            problems.append(f"{name} must be a positive number (got {value!r})")
    if arguments["var_method"] not in VAR_METHODS:
        problems.append(
            f"var_method must be one of {VAR_METHODS} (got {arguments['var_method']!r})"
        )
    confidence = arguments["var_confidence"]
    if isinstance(confidence, bool) or not isinstance(confidence, Real) or not 0.5 < confidence < 1:
        problems.append(f"var_confidence must be a number in (0.5, 1) (got {confidence!r})")
    if problems:
        raise ValueError("Guardrails: " + "; ".join(problems))


class Guardrails:
    """Position limit, VaR limit and drawdown kill-switch around any strategy.

    markets : {symbol: venue} the guard watches.
    """

    def __init__(
        self,
        strategy,
        markets: dict[str, str],
        max_position: int,
        var_limit_rupees: float,
        max_drawdown_rupees: float,
        var_horizon_seconds: float,
        var_method: str = "parametric",
        var_confidence: float = 0.99,
        var_window: int = 500,
        min_var_returns: int = 20,
    ) -> None:
        _check_arguments(
            max_position=max_position,
            var_limit_rupees=var_limit_rupees,
            max_drawdown_rupees=max_drawdown_rupees,
            var_horizon_seconds=var_horizon_seconds,
            var_method=var_method,
            var_confidence=var_confidence,
            var_window=var_window,
            min_var_returns=min_var_returns,
        )
        self.strategy = strategy
        self.markets = {
            s: _Market(venue, returns=deque(maxlen=var_window)) for s, venue in markets.items()
        }
        self.max_position = max_position
        self.var_limit_rupees = var_limit_rupees
        self.max_drawdown_rupees = max_drawdown_rupees
        self.var_horizon_seconds = var_horizon_seconds
        self.var_method = var_method
        self.var_confidence = var_confidence
        self.min_var_returns = min_var_returns
        self.refused: Counter = Counter()  # by guardrail: position, var, kill_switch
        self.tripped_at: int | None = None
        self.max_drawdown = 0.0  # rupees
        self._cash = 0  # paise, from own fills
        self._units: Counter = Counter()  # from own fills
        self._peak: float | None = None  # paise
        self._in_flight: list[_Sent] = []
        # Set while a refusal is being answered: that answer comes back through `on_order` at
        # once and must not be taken for the answer to an identical request in flight.
        self._refusing = False
        self._cancelled: set[int] = set()
        self._handlers = {name: getattr(strategy, name, None) for name in HANDLERS}

    # --- what the guard measures ---------------------------------------------------------------

    def exposure(self, ctx, symbol: str) -> int:
        """Units held beyond the starting holding."""
        return ctx.position(symbol) - self.markets[symbol].start_units

    def var(self, positions: dict[str, int]) -> float | None:
        """VaR (rupees) of net positions by symbol; None while a needed estimate is missing."""
        total = 0.0
        for symbol, position in positions.items():
            if not position:
                continue
            market = self.markets[symbol]
            if market.mid is None or len(market.returns) < self.min_var_returns:
                return None
            returns, seconds = zip(*market.returns, strict=True)
            total += value_at_risk(
                position,
                market.mid,
                market.tick_value,
                returns,
                seconds,
                self.var_horizon_seconds,
                self.var_method,
                self.var_confidence,
            )
        return total

    def equity(self) -> float | None:
        """Mark-to-market equity (paise) of the strategy's own fills; None before every
        market has shown a mid."""
        value = float(self._cash)
        for symbol, market in self.markets.items():
            if market.mid is None:
                return None
            value += self._units[symbol] * market.mid * market.tick_value
        return value

    # --- the check on every order of the strategy -----------------------------------------------

    def refusal(self, ctx, symbol: str, side: int, qty: int) -> str | None:
        """The guardrail that refuses this order, or None when it may go."""
        if self.tripped_at is not None:
            return "kill_switch"
        if symbol not in self.markets:
            return "position"  # a market the guard does not watch has no limits to check
        now = {s: self.exposure(ctx, s) for s in self.markets}
        worst = now[symbol] + side * (self._pending(ctx, symbol, side) + qty)
        if abs(worst) <= abs(now[symbol]):
            return None  # reducing exposure is always allowed
        if abs(worst) > self.max_position:
            return "position"
        var_after = self.var({**now, symbol: worst})
        if var_after is None or var_after > self.var_limit_rupees:
            return "var"
        return None

    def modify_refusal(self, ctx, symbol: str, order, qty, price) -> str | None:
        """The guardrail that refuses this modify of `order` (an `OpenOrder`, None when the
        guard cannot see it open), or None when it may go."""
        added = _added(order, qty)
        if added:
            return self.refusal(ctx, symbol, int(order.side), added)
        if self.tripped_at is not None and not _reduces(order, qty, price):
            return "kill_switch"
        return None

    def _pending(self, ctx, symbol: str, side: int) -> int:
        """Units of open and in-flight orders on one side of one market (conservative: an order
        that reached the venue counts twice until its answer comes back, and so does the
        increase of an in-flight modify)."""
        resting = sum(
            o.qty for _, o in ctx.open_orders() if o.instrument == symbol and int(o.side) == side
        )
        flying = sum(s.added for s in self._in_flight if s.request[2] == symbol and s.side == side)
        return resting + flying

    @contextmanager
    def refusing(self):
        """While a refusal is answered (see `on_order`)."""
        outer, self._refusing = self._refusing, True
        try:
            yield
        finally:
            self._refusing = outer

    def send(self, ctx, venue, symbol, side, qty, price, tif, options, by_guard=False) -> None:
        request = ("new", venue, symbol, side, qty, price, tif)
        self._in_flight.append(_Sent(request, by_guard, Side.parse(side), qty))
        ctx.submit(venue, symbol, side, qty, price, tif, **options)

    def send_modify(self, ctx, venue, symbol, order_id, qty, price, order) -> None:
        request = ("modify", venue, symbol, order_id, qty, price)
        side = None if order is None else order.side
        self._in_flight.append(_Sent(request, False, side, _added(order, qty)))
        ctx.modify(venue, symbol, order_id, qty, price)

    # --- handlers: observe, guard, then forward ------------------------------------------------

    def _forward(self, name: str, ctx, *args) -> None:
        handler = self._handlers[name]
        if handler is not None:
            handler(GuardedContext(self, ctx), *args)

    def on_start(self, ctx) -> None:
        for symbol, market in self.markets.items():
            market.tick_value = ctx.instrument(symbol).tick_value
            market.start_units = ctx.position(symbol)
        self._forward("on_start", ctx)

    def on_timer(self, ctx) -> None:
        for symbol, market in self.markets.items():
            quote = ctx.quote(market.venue, symbol)
            if quote.mid is not None:
                self._sample(market, quote.mid, ctx.now)
        self._check_drawdown(ctx)
        if self.tripped_at is not None:
            self._wind_down(ctx)
        self._forward("on_timer", ctx)

    def on_quote(self, ctx, venue, symbol, quote) -> None:
        market = self.markets.get(symbol)
        if market is not None and quote.mid is not None:
            market.mid = quote.mid
            self._check_drawdown(ctx)
        self._forward("on_quote", ctx, venue, symbol, quote)

    def on_order(self, ctx, request, response) -> None:
        if self._refusing:  # the answer to a refusal, not to anything in flight
            self._forward("on_order", ctx, request, response)
            return
        for i, sent in enumerate(self._in_flight):
            if sent.request == tuple(request):
                del self._in_flight[i]
                if sent.by_guard:
                    return  # the guard's own flattening orders are not the strategy's business
                break
        self._forward("on_order", ctx, request, response)

    def on_fill(self, ctx, fill, side: int) -> None:
        taker = side == int(fill.aggressor_side)
        self._cash -= side * fill.consideration + (fill.taker_fee if taker else fill.maker_fee)
        self._units[fill.instrument] += side * fill.qty
        self._check_drawdown(ctx)
        self._forward("on_fill", ctx, fill, side)

    def on_stop(self, ctx) -> None:
        self._forward("on_stop", ctx)

    def _sample(self, market: _Market, mid: float, now: int) -> None:
        market.mid = mid
        if market.last_sample is not None and now > market.last_sample[1]:
            last_mid, last_time = market.last_sample
            market.returns.append((mid / last_mid - 1, (now - last_time) / NS_PER_SECOND))
        market.last_sample = (mid, now)

    def _check_drawdown(self, ctx) -> None:
        equity = self.equity()
        if equity is None:
            return
        self._peak = equity if self._peak is None else max(self._peak, equity)
        drawdown = (self._peak - equity) / 100
        self.max_drawdown = max(self.max_drawdown, drawdown)
        if self.tripped_at is None and drawdown > self.max_drawdown_rupees:
            self.tripped_at = ctx.now
            self._wind_down(ctx)

    def _wind_down(self, ctx) -> None:
        """After the trip: cancel what is open, then flatten with IOCs at the far touch."""
        for venue, order in ctx.open_orders():
            if order.order_id not in self._cancelled:
                self._cancelled.add(order.order_id)
                ctx.cancel(venue, order.instrument, order.order_id)
        if any(sent.by_guard for sent in self._in_flight):
            return  # one flattening order at a time: its answer shows what is left
        for symbol, market in self.markets.items():
            excess = self.exposure(ctx, symbol)
            quote = ctx.quote(market.venue, symbol)
            price = quote.bid if excess > 0 else quote.ask
            if excess and price is not None:
                side = "sell" if excess > 0 else "buy"
                self.send(ctx, market.venue, symbol, side, abs(excess), price, "IOC", {}, True)


def _added(order, qty) -> int:
    """Units a modify to `qty` adds to an open order: 0 for a reduction, a price change, an
    order not seen open, or a quantity that is not a positive integer (the venue's to reject)."""
    new_qty = None if order is None or qty is None else as_int64(qty)
    return max(new_qty - order.qty, 0) if new_qty is not None else 0


def _reduces(order, qty, price) -> bool:
    """Whether a modify only lowers an open order's quantity, at the same price."""
    new_qty = None if order is None or qty is None else as_int64(qty)
    return new_qty is not None and 0 < new_qty < order.qty and price in (None, order.limit)


REFUSAL_REASONS = {
    "position": Reason.GUARDRAIL_POSITION,
    "var": Reason.GUARDRAIL_VAR,
    "kill_switch": Reason.KILL_SWITCH,
}


class GuardedContext:
    """The context a guarded strategy sees: the real one, with `submit` and `modify` checked
    first."""

    def __init__(self, guard: Guardrails, ctx) -> None:
        self._guard = guard
        self._ctx = ctx

    def submit(self, venue, symbol, side, qty, price=None, tif="GTC", **options) -> None:
        """Send the order if every guardrail lets it through; otherwise count the refusal."""
        sign = Side.parse(side)
        if sign is not None:  # a bad side is the venue's to reject, with its reason code
            rule = self._guard.refusal(self._ctx, symbol, int(sign), int(qty))
            if rule is not None:
                self._guard.refused[rule] += 1
                self.refuse(venue, symbol, side, qty, price, tif, REFUSAL_REASONS[rule])
                return
        self._guard.send(self._ctx, venue, symbol, side, qty, price, tif, options)

    def modify(self, venue, symbol, order_id, qty=None, price=None) -> None:
        """Send the modify if it adds no exposure, or if every guardrail lets the units it adds
        through; otherwise count the refusal."""
        order = next(
            (o for _, o in self._ctx.open_orders(venue) if o.order_id == order_id
             and o.instrument == symbol),
            None,
        )  # fmt: skip
        rule = self._guard.modify_refusal(self._ctx, symbol, order, qty, price)
        if rule is not None:
            self._guard.refused[rule] += 1
            self.refuse_modify(venue, symbol, order_id, qty, price, REFUSAL_REASONS[rule])
            return
        self._guard.send_modify(self._ctx, venue, symbol, order_id, qty, price, order)

    def route(self, symbol, side, qty, limit=None, policy="cheapest", decision=None):
        """Plan as the real context would, and send each child through the guardrails."""
        plan = self._ctx.plan_route(symbol, side, qty, limit, policy)
        send_route(self, symbol, side, plan, decision)
        return plan

    def __getattr__(self, name: str):
        # Everything else (market data, its account, time, cancel, ...) is the real context's:
        # only orders that add exposure are guarded.
        return getattr(self._ctx, name)

    def refuse(self, venue, symbol, side, qty, price, tif, reason) -> None:
        with self._guard.refusing():
            self._ctx.refuse(venue, symbol, side, qty, price, tif, reason)

    def refuse_modify(self, venue, symbol, order_id, qty, price, reason) -> None:
        with self._guard.refusing():
            self._ctx.refuse_modify(venue, symbol, order_id, qty, price, reason)
