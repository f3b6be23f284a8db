"""A planted close marker: aggressive buying in the last minutes of every session, to lift the
closing price its holding is valued at (market abuse, planted for `sim.analytics.surveillance`
to find).

It keeps to one market, drawn when it is built. From `window_minutes` before each close it
sends an IOC buy every `interval_seconds` (exponential) of `min_qty..max_qty` units, priced
`through_ticks` above the best ask it sees so that it takes more than the best level, and
stops a second before the close. It trades at no other time and never sells. It buys only
what its free cash pays for (`Participant.affordable`) and within the venue's price band.
"""

from __future__ import annotations

from pydantic import Field

from agents.common import PopulationParams, build_population, round_to_lot
from sim.engine.latency import latency_from
from sim.engine.participant import Participant
from sim.scenario.registry import AgentKind
from sim.units import NS_PER_MINUTE, NS_PER_SECOND


class CloseMarkerParams(PopulationParams):
    cash_rupees: float = Field(20_000_000.0, ge=0, description="starting cash of each agent")
    window_minutes: float = Field(8.0, gt=0, description="buys this long before each close")
    interval_seconds: float = Field(40.0, gt=0, description="mean gap between its buys")
    min_qty: int = Field(40, ge=1)
    max_qty: int = Field(80, ge=1)
    through_ticks: int = Field(2, ge=0, description="bids this far above the best ask")


class CloseMarker(Participant):
    kind = "close_marker"

    def __init__(self, market, params: CloseMarkerParams, rng) -> None:
        super().__init__(market, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        markets = market.listings()
        self.venue, self.symbol = markets[rng.integers(len(markets))]
        self._close = 0  # this session's close, ns
        self.buys = 0

    def on_session_open(self, day: int) -> None:
        market = self.market
        if not market.trades_on(self.symbol, day):
            return  # matured
        self._close = market.session(day)[1]
        self.wake_at(self._close - int(self.params.window_minutes * NS_PER_MINUTE))

    def on_wake(self) -> None:
        p = self.params
        opens = self._close - int(p.window_minutes * NS_PER_MINUTE)
        if not opens <= self.now < self._close - NS_PER_SECOND:
            return  # outside its window (a wake carried past the close): done for the day
        venue, symbol = self.venue, self.symbol
        ask = self.quote(venue, symbol).ask
        if ask is not None:
            price = ask + p.through_ticks
            band = self.price_limits(venue, symbol)
            if band is not None:
                price = min(price, band[1])
            lot = self.market.lot_size(symbol)
            qty = round_to_lot(self.draws.integers(p.min_qty, p.max_qty + 1), lot)
            qty = min(qty, self.affordable(venue, symbol, price, self.free_cash()) // lot * lot)
            if qty >= lot and price >= ask:
                self.submit(venue, symbol, 1, qty, price, "IOC")
                self.buys += 1
        self.wake_in(int(self.draws.exponential(p.interval_seconds) * NS_PER_SECOND))

    def report(self) -> dict:
        return {"closing_buys": self.buys}


def build(market, params: CloseMarkerParams, seeds):
    return build_population(CloseMarker, market, params, seeds)


KIND = AgentKind("close_marker", CloseMarkerParams, build)
