"""Momentum traders: a moving-average crossover on the mid they observe, marketable orders.

Every `interval_seconds` (with exponential jitter) a trader samples the mid; once it has
`long_window` samples it buys when the short average is above the long one and sells when
below, with an IOC order priced at the far side of the quote so it takes liquidity. It never
sends more than it can cover: a sell at most its units (settled or not: under T+n the venue may
still refuse a sale of units not yet delivered), a buy at most what its free cash pays for at
that price by the venue's own rule (`Participant.affordable`: the notional and the largest fee).
"""

from __future__ import annotations

from collections import deque

from pydantic import Field, model_validator

from agents.common import PopulationParams, build_population, round_to_lot
from sim.engine.latency import latency_from
from sim.engine.participant import Participant
from sim.scenario.registry import AgentKind
from sim.units import NS_PER_SECOND


class MomentumParams(PopulationParams):
    interval_seconds: float = Field(37.0, gt=0, description="mean gap between samples")
    short_window: int = Field(20, ge=1)
    long_window: int = Field(50, ge=2)
    min_qty: int = Field(1, ge=1)
    max_qty: int = Field(10, ge=1)

    @model_validator(mode="after")
    def _windows(self):
        if self.short_window >= self.long_window:
            raise ValueError("short_window must be smaller than long_window")
        return self


class MomentumTrader(Participant):
    kind = "momentum"

    def __init__(self, market, params: MomentumParams, rng) -> None:
        super().__init__(market, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        markets = market.listings()
        self.venue, self.symbol = markets[rng.integers(len(markets))]
        self._lot = market.lot_size(self.symbol)
        self._mids: deque[float] = deque(maxlen=params.long_window)
        # The windows' running sums, updated as mids arrive instead of summed at every wake-up.
        # Exact: a mid is a whole number of half ticks, so no sum of them is ever rounded while
        # long_window * 2 * price stays below 2**53 (prices below about 10**13 ticks).
        self._long_sum = 0.0
        self._short_sum = 0.0

    def on_start(self) -> None:
        self._schedule_next()

    def _schedule_next(self) -> None:
        self.wake_in(int(self.draws.exponential(self.params.interval_seconds) * NS_PER_SECOND))

    @property
    def mids(self) -> tuple[float, ...]:
        """The mids in the long window, oldest first."""
        return tuple(self._mids)

    def observe(self, mid: float) -> None:
        """Add a sampled mid to the moving windows."""
        mids, short_window = self._mids, self.params.short_window
        if len(mids) == mids.maxlen:
            self._long_sum -= mids[0]  # about to drop out of the long window
        if len(mids) >= short_window:
            self._short_sum -= mids[-short_window]  # about to drop out of the short one
        mids.append(mid)
        self._long_sum += mid
        self._short_sum += mid

    def signal(self) -> int:
        """+1 buy, -1 sell, 0 not enough history."""
        if len(self._mids) < self.params.long_window:
            return 0
        short = self._short_sum / self.params.short_window
        long = self._long_sum / len(self._mids)
        return (short > long) - (short < long)

    def on_wake(self) -> None:
        quote = self.quote(self.venue, self.symbol)
        mid = quote.mid
        if mid is not None:
            self.observe(mid)
        side = self.signal()
        far = quote.ask if side > 0 else quote.bid
        if side and far is not None:
            p = self.params
            lot = self._lot
            qty = round_to_lot(self.draws.integers(p.min_qty, p.max_qty + 1), lot)
            if side < 0:
                qty = min(qty, self.position(self.symbol))
            else:
                cash = self.free_cash()
                qty = min(qty, self.affordable(self.venue, self.symbol, far, cash) // lot * lot)
            if qty >= lot:
                self.submit(self.venue, self.symbol, side, qty, far, "IOC")
        self._schedule_next()


def build(market, params: MomentumParams, seeds):
    return build_population(MomentumTrader, market, params, seeds)


KIND = AgentKind("momentum", MomentumParams, build)
