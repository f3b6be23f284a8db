"""Mean reversion on the fair-value gap: buy a bond the market prices under its evaluated price,
sell it back once the gap has closed.

Every `interval_seconds` of trading time it looks at each bond of its markets: its evaluated
price F (`ctx.valuation(symbol).clean` in ticks) and the best bid B and ask A over the venues
listing it (the delayed quotes it sees), mid M = (B + A) / 2. In basis points of F,

    gap        = (F - M) / F * 1e4        the market's discount to fair value at the mid
    buy edge   = (F - A) / F * 1e4        the gap net of half the quoted spread, the cost of
    sell edge  = (B - F) / F * 1e4        crossing it: what a buy at the ask (a sell at the bid)
                                          gains against fair value

and sets the bond's target holding (units beyond those it started with, which it never sells):

    buy edge  > entry_bp   ->  max_position              cheap: buy up to the limit
    sell edge > entry_bp   ->  0                         rich: sell what it bought
    gap       < exit_bp    ->  0                         the gap has closed: exit
    otherwise              ->  what it holds             wait

It trades toward the target with one immediate-or-cancel order at the far touch (the best ask
to buy, the best bid to sell, on the venue showing it), in whole lots, for no more than its
free cash pays for (clean price and accrued interest, `FEE_MARGIN` of the budget left for fees)
and no more units than it holds free of open orders and unsettled trades (`ctx.free_units`):
nothing rests on a book, so nothing goes stale. One order per bond is on its way at a time, and
each order is a line of its log with the numbers behind it. Parameters:

    entry_bp          edge over fair value, net of half the spread, to enter or sell (default 5)
    exit_bp           the gap at the mid under which it exits, 0 to entry_bp (default 0)
    max_position      units of each bond it may hold beyond its start (default 100)
    interval_seconds  trading seconds between looks (default 300)

The execution here (`best_touch`, `order_qty`, `TargetTrader`) is shared by the momentum and
statistical-arbitrage strategies.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.units import NS_PER_SECOND
from strategies.buy_and_hold import units_for

FEE_MARGIN = 0.001  # of a buy's budget, for the taker fee (1 to 1.5 bp on the baseline's venues)


class MeanReversion:
    """Buys bonds quoted under fair value by more than a threshold and sells as the gap closes."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        entry_bp: float = Field(5.0, gt=0, le=1000, description="edge to enter, bp of fair value")
        exit_bp: float = Field(0.0, ge=0, description="gap at the mid to exit under, bp")
        max_position: int = Field(100, ge=1, description="units per bond beyond its start")
        interval_seconds: float = Field(300.0, gt=0, description="trading seconds between looks")

        @model_validator(mode="after")
        def _exit_inside_entry(self):
            if self.exit_bp > self.entry_bp:
                raise ValueError(
                    f"exit_bp ({self.exit_bp}) must not exceed entry_bp ({self.entry_bp})"
                )
            return self

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or self.Params()
        self.trader = TargetTrader()

    def on_start(self, ctx) -> None:
        self.trader.begin(ctx)
        ctx.set_timer(int(self.params.interval_seconds * NS_PER_SECOND))

    def on_timer(self, ctx) -> None:
        p = self.params
        for symbol, venues in self.trader.venues.items():
            touch = best_touch(ctx, venues)
            if touch.bid is None or touch.ask is None:
                continue
            fair = ctx.valuation(symbol).clean / float(ctx.instrument(symbol).tick_size)
            gap = fair_value_gap(fair, touch.bid, touch.ask)
            held = self.trader.holding(ctx, symbol)
            target = target_position(gap, held, p.entry_bp, p.exit_bp, p.max_position)
            self.trader.trade_toward(
                ctx,
                symbol,
                target,
                touch,
                fair_ticks=round(fair, 2),
                gap_bp=round(gap.mid_bp, 2),
                buy_edge_bp=round(gap.buy_edge_bp, 2),
                sell_edge_bp=round(gap.sell_edge_bp, 2),
            )

    def on_order(self, ctx, request, response) -> None:
        self.trader.answered(request)


class Gap(NamedTuple):
    """A bond's market against its evaluated price, bp of the evaluated price."""

    mid_bp: float  # (fair - mid) / fair: positive when the market is cheap
    buy_edge_bp: float  # (fair - ask) / fair
    sell_edge_bp: float  # (bid - fair) / fair


def fair_value_gap(fair_ticks: float, bid: int, ask: int) -> Gap:
    """The gap at the mid, and the edges of crossing to the ask or to the bid."""
    mid = (bid + ask) / 2
    return Gap(
        (fair_ticks - mid) / fair_ticks * 1e4,
        (fair_ticks - ask) / fair_ticks * 1e4,
        (bid - fair_ticks) / fair_ticks * 1e4,
    )


def target_position(gap: Gap, held: int, entry_bp: float, exit_bp: float, limit: int) -> int:
    """Units to hold beyond the start: the limit when cheap, none when rich or once the gap has
    closed, else what it holds (the rule in the module docstring)."""
    if gap.buy_edge_bp > entry_bp:
        return limit
    if gap.sell_edge_bp > entry_bp or gap.mid_bp < exit_bp:
        return 0
    return held


# --- execution, shared with the momentum and stat-arb strategies ----------------------------


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
