"""Guardrails around any strategy: a position limit, a VaR limit and a drawdown kill switch.

`Guardrails` wraps a strategy written against the Strategy API (`sim.strategy`) and hands it a
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

Refusals are counted per guardrail and go through the context's `refuse`: recorded in the
run's orders with their reason code, and answered to the strategy as rejected orders.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from sim.calendar import NS_PER_SECOND
from sim.orders import Reason, Side
from sim.strategy import HANDLERS


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
    tick_value: int
    start_units: int = 0
    mid: float | None = None
    last_sample: tuple[float, int] | None = None  # (mid, time) at the last timer
    returns: deque | None = None  # (return, seconds)


class Guardrails:
    """Position limit, VaR limit and drawdown kill-switch around any strategy.

    markets : {symbol: (venue, tick value in paise per tick and unit)} the guard watches.
    """

    def __init__(
        self,
        strategy,
        markets: dict[str, tuple[str, int]],
        max_position: int,
        var_limit_rupees: float,
        max_drawdown_rupees: float,
        var_horizon_seconds: float,
        var_method: str = "parametric",
        var_confidence: float = 0.99,
        var_window: int = 500,
        min_var_returns: int = 20,
    ) -> None:
        self.strategy = strategy
        self.markets = {
            s: _Market(venue, tv, returns=deque(maxlen=var_window))
            for s, (venue, tv) in markets.items()
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
        self._in_flight: list[tuple[tuple, bool]] = []  # (request, sent by the guard)
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

    def _pending(self, ctx, symbol: str, side: int) -> int:
        """Units of open and in-flight orders on one side of one market (conservative: an order
        that reached the venue counts twice until its answer comes back)."""
        resting = sum(
            o.qty for _, o in ctx.open_orders() if o.instrument == symbol and int(o.side) == side
        )
        flying = sum(
            r[4] for r, _ in self._in_flight if r[2] == symbol and Side.parse(r[3]) == side
        )
        return resting + flying

    def send(self, ctx, venue, symbol, side, qty, price, tif, options, by_guard=False) -> None:
        request = ("new", venue, symbol, side, qty, price, tif)
        self._in_flight.append((request, by_guard))
        ctx.submit(venue, symbol, side, qty, price, tif, **options)

    # --- handlers: observe, guard, then forward ------------------------------------------------

    def _forward(self, name: str, ctx, *args) -> None:
        handler = self._handlers[name]
        if handler is not None:
            handler(GuardedContext(self, ctx), *args)

    def on_start(self, ctx) -> None:
        for symbol, market in self.markets.items():
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
        for i, (sent, by_guard) in enumerate(self._in_flight):
            if sent == tuple(request):
                del self._in_flight[i]
                if by_guard:
                    return  # the guard's own flattening orders are not the strategy's business
                break
        self._forward("on_order", ctx, request, response)

    def on_fill(self, ctx, fill, side: int) -> None:
        taker = side == int(fill.aggressor_side)
        self._cash -= side * fill.notional + (fill.taker_fee if taker else fill.maker_fee)
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
        if any(by_guard for _, by_guard in self._in_flight):
            return  # one flattening order at a time: its answer shows what is left
        for symbol, market in self.markets.items():
            excess = self.exposure(ctx, symbol)
            quote = ctx.quote(market.venue, symbol)
            price = quote.bid if excess > 0 else quote.ask
            if excess and price is not None:
                side = "sell" if excess > 0 else "buy"
                self.send(ctx, market.venue, symbol, side, abs(excess), price, "IOC", {}, True)


REFUSAL_REASONS = {
    "position": Reason.GUARDRAIL_POSITION,
    "var": Reason.GUARDRAIL_VAR,
    "kill_switch": Reason.KILL_SWITCH,
}


class GuardedContext:
    """The context a guarded strategy sees: the real one, with `submit` checked first."""

    def __init__(self, guard: Guardrails, ctx) -> None:
        self._guard = guard
        self._ctx = ctx

    @property
    def now(self) -> int:
        return self._ctx.now

    def submit(self, venue, symbol, side, qty, price=None, tif="GTC", **options) -> None:
        """Send the order if every guardrail lets it through; otherwise count the refusal."""
        sign = Side.parse(side)
        if sign is not None:  # a bad side is the venue's to reject, with its reason code
            rule = self._guard.refusal(self._ctx, symbol, int(sign), int(qty))
            if rule is not None:
                self._guard.refused[rule] += 1
                self._ctx.refuse(venue, symbol, side, qty, price, tif, REFUSAL_REASONS[rule])
                return
        self._guard.send(self._ctx, venue, symbol, side, qty, price, tif, options)

    def cancel(self, venue: str, symbol: str, order_id: int) -> None:
        self._ctx.cancel(venue, symbol, order_id)

    def quote(self, venue: str, symbol: str):
        return self._ctx.quote(venue, symbol)

    def position(self, symbol: str) -> int:
        return self._ctx.position(symbol)

    def free_cash(self) -> int:
        return self._ctx.free_cash()

    def open_orders(self, venue: str | None = None) -> list:
        return self._ctx.open_orders(venue)

    def set_timer(self, interval_ns: int) -> None:
        self._ctx.set_timer(interval_ns)

    def refuse(self, venue, symbol, side, qty, price, tif, reason) -> None:
        self._ctx.refuse(venue, symbol, side, qty, price, tif, reason)
