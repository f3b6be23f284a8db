"""Buy and hold: the benchmark a strategy has to beat, and the default of a ``[strategy]``
population.

At its first timer (`delay_seconds` after the first open, once quotes have formed) it spends
`invest` of its free cash in equal parts on the bonds of its markets, each at the best ask of
the first venue listing it, with an immediate-or-cancel order of whole lots it can pay for
(clean price and accrued interest, at the evaluated accrual); then it holds. Parameters:

    invest          share of its free cash to spend, 0 to 1 (default 0.5)
    delay_seconds   trading seconds after the open before it buys (default 300)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sim.units import NS_PER_SECOND


class BuyAndHold:
    """Buys an equal-weight portfolio of its markets once, then holds it."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        invest: float = Field(0.5, ge=0, le=1, description="share of free cash to spend")
        delay_seconds: float = Field(300.0, gt=0, description="after the first open")

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or self.Params()
        self.bought = False

    def on_start(self, ctx) -> None:
        ctx.set_timer(int(self.params.delay_seconds * NS_PER_SECOND))

    def on_timer(self, ctx) -> None:
        if self.bought:
            return
        self.bought = True
        venues: dict[str, str] = {}  # symbol -> the first venue listing it
        for venue, symbol in ctx.markets:
            venues.setdefault(symbol, venue)
        budget = self.params.invest * ctx.free_cash() / max(len(venues), 1)
        for symbol, venue in venues.items():
            ask = ctx.quote(venue, symbol).ask
            if ask is None:
                continue
            qty = units_for(budget, ask, ctx.instrument(symbol), ctx.valuation(symbol).accrued)
            if qty:
                ctx.submit(venue, symbol, "buy", qty, ask, "IOC")


def units_for(budget_paise: float, ask_ticks: int, instrument, accrued_per_100: float) -> int:
    """The whole lots of `instrument` that `budget_paise` pays for at `ask_ticks`, accrued
    interest included (fees are left to the budget's margin)."""
    face = instrument.unit_face_value
    unit_cost = ask_ticks * instrument.tick_value + accrued_per_100 * face
    lots = int(budget_paise // (unit_cost * instrument.lot_size)) if unit_cost > 0 else 0
    return lots * instrument.lot_size
