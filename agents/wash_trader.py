"""A planted wash trader: one beneficial owner trading with itself under two client codes
(market abuse, planted for `sim.analytics.surveillance` to find).

The venue applies self-trade prevention per (account, client code), as an omnibus account of
many clients needs (`sim.market.venue`), and the ledger books both legs to the one account:
this owner's two codes are not two investors, so each of its trades moves nothing but the
printed volume and the last price.

Every `interval_seconds` (exponential) it picks one of its markets and, when the spread is at
least two ticks, rests a limit order inside it under its first client code, then
`cross_delay_seconds` later sends an IOC order at the same price on the other side under its
second code, and as long again later cancels whatever of the resting order is left. The sides
alternate, so its holding stays where it started.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from agents.common import PopulationParams, build_population, round_to_lot
from sim.engine.latency import latency_from
from sim.engine.participant import Participant
from sim.scenario.registry import AgentKind
from sim.units import NS_PER_SECOND


class WashTraderParams(PopulationParams):
    cash_rupees: float = Field(10_000_000.0, ge=0, description="starting cash of each agent")
    units: int = Field(2000, ge=0, description="starting units of every instrument")
    interval_seconds: float = Field(240.0, gt=0, description="mean gap between wash trades")
    min_qty: int = Field(20, ge=1)
    max_qty: int = Field(60, ge=1)
    cross_delay_seconds: float = Field(0.5, gt=0, description="from resting to crossing")
    resting_client: int = Field(1, ge=1, le=2**31 - 1, description="client code that rests")
    crossing_client: int = Field(2, ge=1, le=2**31 - 1, description="client code that crosses")

    @model_validator(mode="after")
    def _two_codes(self):
        if self.resting_client == self.crossing_client:
            raise ValueError("resting_client and crossing_client must differ")
        return self


class WashTrader(Participant):
    kind = "wash_trader"

    def __init__(self, market, params: WashTraderParams, rng) -> None:
        super().__init__(market, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        self._markets = market.listings()
        self._side = 1 if rng.random() < 0.5 else -1  # the resting order's side next time
        self._wash: tuple[str, str, int, int, int] | None = None  # venue, symbol, side, qty, px
        self._next = self._rest
        self.washes = 0

    def on_start(self) -> None:
        self._schedule_next()

    def on_session_open(self, day: int) -> None:
        self._markets = self.market.listings(day)  # matured bonds no longer trade

    def _schedule_next(self) -> None:
        self._next = self._rest
        self.wake_in(int(self.draws.exponential(self.params.interval_seconds) * NS_PER_SECOND))

    def on_wake(self) -> None:
        self._next()

    def _rest(self) -> None:
        """Rest one leg inside the spread under the first client code."""
        p = self.params
        if not self._markets:
            return
        venue, symbol = self._markets[self.draws.integers(len(self._markets))]
        quote = self.quote(venue, symbol)
        lot = self.market.lot_size(symbol)
        qty = round_to_lot(self.draws.integers(p.min_qty, p.max_qty + 1), lot)
        if quote.bid is None or quote.ask is None or quote.ask - quote.bid < 2:
            self._schedule_next()
            return
        price = (quote.bid + quote.ask) // 2  # strictly inside: nobody else's order is there
        side = self._side
        seller_units = self.free_units(symbol)
        buyer_cost = self.buy_cost(venue, symbol, qty, price)
        if qty > seller_units or buyer_cost is None or buyer_cost > self.free_cash():
            self._schedule_next()  # both legs must be covered: the sell's units, the buy's cash
            return
        self.submit(venue, symbol, side, qty, price, client=p.resting_client)
        self._wash = (venue, symbol, side, qty, price)
        self._next = self._cross
        self.wake_in(int(p.cross_delay_seconds * NS_PER_SECOND))

    def _cross(self) -> None:
        """Take the resting leg with the other client code."""
        p = self.params
        venue, symbol, side, qty, price = self._wash
        self.submit(venue, symbol, -side, qty, price, "IOC", client=p.crossing_client)
        self.washes += 1
        self._side = -side
        self._next = self._clean_up
        self.wake_in(int(p.cross_delay_seconds * NS_PER_SECOND))

    def _clean_up(self) -> None:
        """Cancel what is left of the resting leg (someone else may have taken part)."""
        venue, symbol, *_ = self._wash
        for _, order in self.open_orders(venue):
            if order.instrument == symbol:
                self.cancel(venue, symbol, order.order_id)
        self._wash = None
        self._schedule_next()

    def report(self) -> dict:
        return {"washes": self.washes}


def build(market, params: WashTraderParams, seeds):
    return build_population(WashTrader, market, params, seeds)


KIND = AgentKind("wash_trader", WashTraderParams, build)
