"""Retail investors: zero-intelligence traders with Poisson arrivals and a panic switch.

Each investor arrives at random (exponential gaps in trading time), picks a listed bond,
a side and a size, and sends either a market order or a limit order placed at a random
distance around the price it observes. Resting orders older than `order_lifetime_minutes`
are cancelled at the next arrival. In stress a `panic` shock raises the chance of selling
and of selling aggressively (market orders), and it fades along the shock's path.
"""

from __future__ import annotations

from pydantic import Field

from agents.common import (
    NS_PER_SECOND,
    PopulationParams,
    build_population,
    listings,
    observed_price,
    round_to_lot,
)
from sim.latency import latency_from
from sim.participant import Participant
from sim.registry import AgentKind


class RetailParams(PopulationParams):
    arrivals_per_day: float = Field(1.0, gt=0, description="mean orders per investor per day")
    min_qty: int = Field(1, ge=1, description="smallest order, units")
    max_qty: int = Field(10, ge=1, description="largest order, units")
    market_order_share: float = Field(0.2, ge=0, le=1, description="share of market orders")
    max_offset_ticks: int = Field(20, ge=0, description="limit orders rest up to this far away")
    cross_ticks: int = Field(2, ge=0, description="limit orders may cross by up to this much")
    order_lifetime_minutes: float = Field(60.0, gt=0, description="resting orders live this long")
    panic_sell_share: float = Field(0.9, ge=0.5, le=1, description="sell chance at full panic")


class RetailInvestor(Participant):
    kind = "retail"

    def __init__(self, sim, params: RetailParams, rng) -> None:
        super().__init__(sim, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        self.panic = 0.0
        self._markets = listings(sim)
        open_ns, close_ns = sim.calendar.session(0)
        self._session_seconds = (close_ns - open_ns) / NS_PER_SECOND
        self._sent_at: dict[tuple[str, str, int], int] = {}  # (venue, symbol, id) -> time

    def on_start(self) -> None:
        self._schedule_next()

    def _schedule_next(self) -> None:
        mean_gap = self._session_seconds / self.params.arrivals_per_day
        self.wake_in(int(self.agent_rng.exponential(mean_gap) * NS_PER_SECOND))

    def on_wake(self) -> None:
        self._cancel_stale()
        self.trade()
        self._schedule_next()

    def sell_probability(self) -> float:
        return 0.5 + (self.params.panic_sell_share - 0.5) * self.panic

    def market_probability(self) -> float:
        p = self.params.market_order_share
        return p + (1 - p) * self.panic

    def trade(self) -> None:
        p = self.params
        venue, symbol = self._markets[self.agent_rng.integers(len(self._markets))]
        lot = self.sim.instruments[symbol].lot_size
        side = -1 if self.agent_rng.random() < self.sell_probability() else 1
        qty = round_to_lot(self.agent_rng.integers(p.min_qty, p.max_qty + 1), lot)
        if side < 0:
            qty = min(qty, self.position(symbol) - self._units_resting(symbol))
            if qty < lot:
                return
        if self.agent_rng.random() < self.market_probability():
            self.submit(venue, symbol, side, qty, None)
            return
        offset = self.agent_rng.integers(-p.cross_ticks, p.max_offset_ticks + 1)
        price = round(observed_price(self, venue, symbol)) - side * offset
        self.submit(venue, symbol, side, qty, max(price, 1))

    def _units_resting(self, symbol: str) -> int:
        return sum(o.qty for _, o in self.open_orders() if o.instrument == symbol and o.side < 0)

    def _cancel_stale(self) -> None:
        horizon = self.now - int(self.params.order_lifetime_minutes * 60 * NS_PER_SECOND)
        still_open = {}
        for venue, order in self.open_orders():
            key = (venue, order.instrument, order.order_id)
            sent = self._sent_at.get(key, self.now)
            if sent <= horizon:
                self.cancel(venue, order.instrument, order.order_id)
            else:
                still_open[key] = sent
        self._sent_at = still_open

    def on_response(self, request, response) -> None:
        action, venue, symbol = request[:3]
        if action == "new" and response.ok:
            self._sent_at[venue, symbol, response.order_id] = self.now

    def on_shock(self, shock) -> None:
        if shock.kind == "panic":
            self.panic = shock.intensity

    def on_session_open(self, day: int) -> None:
        # Panic fades day by day along the shocks' paths.
        self.panic = self.sim.panic_level(day)

    def report(self) -> dict:
        return {"panic": self.panic}


def build(sim, params: RetailParams, seeds):
    return build_population(RetailInvestor, sim, params, seeds)


KIND = AgentKind("retail", RetailParams, build)
