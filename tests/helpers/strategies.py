"""Strategies and contexts shared by the strategy, guardrail and AI-agent tests."""

from __future__ import annotations

from sim.market.instrument import Instrument
from sim.market.messages import OpenOrder, Quote


class FakeContext:
    """The Context, driven by hand: ABM's tick is worth one paisa on a unit."""

    def __init__(self, position: int = 1000) -> None:
        self.now = 0
        self.book = Quote(0, 9_999, 100, 10_001, 100)
        self.positions = {"ABM": position}
        self.orders: list[tuple[str, OpenOrder]] = []
        self.submitted: list[tuple] = []
        self.cancelled: list[int] = []
        self.refusals: list[tuple] = []
        self.modified: list[tuple] = []
        self.refused_modifies: list[tuple] = []
        self.timer: int | None = None

    def submit(self, venue, symbol, side, qty, price=None, tif="GTC", **options):
        self.submitted.append(("new", venue, symbol, side, qty, price, tif))

    def cancel(self, venue, symbol, order_id):
        self.cancelled.append(order_id)

    def modify(self, venue, symbol, order_id, qty=None, price=None):
        self.modified.append(("modify", venue, symbol, order_id, qty, price))

    def refuse(self, venue, symbol, side, qty, price, tif, reason):
        self.refusals.append((side, qty, reason))

    def refuse_modify(self, venue, symbol, order_id, qty, price, reason):
        self.refused_modifies.append((order_id, qty, price, reason))

    def quote(self, venue, symbol):
        return self.book

    def instrument(self, symbol):
        return Instrument(symbol, "0.01", 1, 100)

    def position(self, symbol):
        return self.positions[symbol]

    def free_cash(self):
        return 10**9

    def open_orders(self, venue=None):
        return list(self.orders)

    def set_timer(self, interval_ns):
        self.timer = interval_ns


class RestAndModify:
    """Rest a buy of 5 far under the bid; once the venue has it, send the modifies of `plan`
    ((qty, ticks to move the price or None) each), one on each answer to the one before."""

    def __init__(self, plan):
        self.plan = list(plan)
        self.answers = []
        self.instrument = None
        self.order_id = None
        self.price = None

    def on_start(self, ctx):
        self.instrument = ctx.instrument("ABM")
        ctx.set_timer(60 * 10**9)

    def on_timer(self, ctx):
        quote = ctx.quote("EXCH", "ABM")
        if self.order_id is None and self.price is None and quote.bid is not None:
            self.price = quote.bid - 500
            ctx.submit("EXCH", "ABM", "buy", 5, self.price)

    def on_order(self, ctx, request, response):
        self.answers.append((request, response))
        if request[0] == "new":
            if not response.ok:  # refused (by a guardrail): try again at the next timer
                self.price = None
                return
            self.order_id = response.order_id
        if self.plan:
            qty, move = self.plan.pop(0)
            price = None if move is None else self.price + move
            ctx.modify("EXCH", "ABM", self.order_id, qty, price)
