"""Execution shared by the strategies that trade toward a target holding (mean reversion,
momentum, stat arb): the best bid and ask over the venues quoting a bond, the size of an order
within its cash and free units, and `TargetTrader`, which sends one immediate-or-cancel order
per bond at the far touch toward its target and logs it.
"""

from __future__ import annotations

from typing import NamedTuple

from strategies.buy_and_hold import units_for

FEE_MARGIN = 0.001  # of a buy's budget, for the taker fee (1 to 1.5 bp on the baseline's venues)


class Touch(NamedTuple):
    """The best bid and ask of a bond over the venues quoting it, and where each is."""

    bid: int | None
    bid_venue: str | None
    ask: int | None
    ask_venue: str | None

    @property
    def mid(self) -> float | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2


def best_touch(ctx, venues: tuple[tuple[str, str], ...]) -> Touch:
    """The highest bid and lowest ask over `venues` ((venue, symbol) of one bond), as quoted
    to the strategy; the first venue listed wins a tie."""
    bid = ask = bid_venue = ask_venue = None
    for venue, symbol in venues:
        quote = ctx.quote(venue, symbol)
        if quote.bid is not None and (bid is None or quote.bid > bid):
            bid, bid_venue = quote.bid, venue
        if quote.ask is not None and (ask is None or quote.ask < ask):
            ask, ask_venue = quote.ask, venue
    return Touch(bid, bid_venue, ask, ask_venue)


def order_qty(target: int, held: int, free_units: int, affordable: int, lot: int) -> int:
    """Units to buy (positive) or sell (negative) to move a holding of `held` toward `target`:
    whole lots, a buy at most the `affordable` units, a sale at most the `free_units`."""
    if target > held:
        return min(target - held, affordable) // lot * lot
    if target < held:
        return -(min(held - target, free_units) // lot * lot)
    return 0


class TargetTrader:
    """Moves each bond's holding toward a target with immediate-or-cancel orders at the far
    touch, one order per bond on its way at a time.

    The holding is counted beyond the units held at the start (`begin`): the starting
    endowment is never sold, so the strategy sells only what it bought and never shorts. Buys
    on their way hold back their cost (clean price and accrued interest) from the free cash the
    next buy may spend: the venue locks it only once the order arrives."""

    def __init__(self) -> None:
        self.venues: dict[str, tuple[tuple[str, str], ...]] = {}  # symbol -> its markets
        self.start: dict[str, int] = {}
        self.waiting: dict[str, int] = {}  # bonds with an order on its way -> paise held back

    def begin(self, ctx) -> None:
        """Note the markets of each bond and the units held at the start."""
        by_symbol: dict[str, list[tuple[str, str]]] = {}
        for venue, symbol in ctx.markets:
            by_symbol.setdefault(symbol, []).append((venue, symbol))
        self.venues = {symbol: tuple(markets) for symbol, markets in by_symbol.items()}
        self.start = {symbol: ctx.position(symbol) for symbol in self.venues}

    def holding(self, ctx, symbol: str) -> int:
        """Units held beyond the start (pending trades included)."""
        return max(ctx.position(symbol) - self.start[symbol], 0)

    def trade_toward(self, ctx, symbol: str, target: int, touch: Touch, **why) -> None:
        """Send the order that moves `symbol` toward `target` units beyond the start, if any,
        and log it with `why` (the numbers behind the decision)."""
        if symbol in self.waiting:
            return
        instrument = ctx.instrument(symbol)
        lot = instrument.lot_size
        target = target // lot * lot
        held = self.holding(ctx, symbol)
        held_back = 0
        if target > held and touch.ask is not None:
            budget = max(ctx.free_cash() * (1 - FEE_MARGIN) - sum(self.waiting.values()), 0)
            accrued = ctx.valuation(symbol).accrued
            affordable = units_for(budget, touch.ask, instrument, accrued)
            qty = order_qty(target, held, 0, affordable, lot)
            side, venue, price = "buy", touch.ask_venue, touch.ask
            held_back = qty * (price * instrument.tick_value + accrued * instrument.unit_face_value)
        elif target < held and touch.bid is not None:
            qty = -order_qty(target, held, ctx.free_units(symbol), 0, lot)
            side, venue, price = "sell", touch.bid_venue, touch.bid
        else:
            return
        if qty <= 0:
            return
        ctx.submit(venue, symbol, side, qty, price, "IOC")
        self.waiting[symbol] = held_back
        ctx.log(
            f"{side} {symbol}",
            venue=venue,
            qty=qty,
            price=price,
            held=held,
            target=target,
            **why,
        )

    def answered(self, request: tuple) -> None:
        """The venue answered a request: its bond may trade again."""
        if request[0] == "new":
            self.waiting.pop(request[2], None)
