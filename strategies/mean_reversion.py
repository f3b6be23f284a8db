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
free cash pays for (clean price and accrued interest, `strategies.execution.FEE_MARGIN` of the
budget left for fees) and no more units than it holds free of open orders and unsettled trades
(`ctx.free_units`): nothing rests on a book, so nothing goes stale. One order per bond is on
its way at a time, and each order is a line of its log with the numbers behind it. Parameters:

    entry_bp          edge over fair value, net of half the spread, to enter or sell (default 5)
    exit_bp           the gap at the mid under which it exits, 0 to entry_bp (default 0)
    max_position      units of each bond it may hold beyond its start (default 100)
    interval_seconds  trading seconds between looks (default 300)

Its execution (`strategies.execution`) is shared with the momentum and stat-arb strategies.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.units import NS_PER_SECOND
from strategies.execution import TargetTrader, best_touch


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
