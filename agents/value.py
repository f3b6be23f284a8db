"""Value investors: noisy observers of the fundamental (as ABIDES' value agents).

At each arrival an investor observes the fundamental with noise, updates a running Bayesian
estimate of the value it mean-reverts to (the ABIDES update: the prior is advanced by the mean-
reversion rate for the time since the last observation, widened by the variance the value
itself gains meanwhile (`value_vol_ticks`, ABIDES' shock variance), then combined with the new
observation by their variances; a Kalman filter) and trades toward the estimate: buy below it,
sell above. A participation shock thins its arrivals. Its one order stays working: a resting
order on the same side is re-priced (a modify, which loses time priority like a cancel and a
new order would, in one request), any other is cancelled.

Pricing: a share of orders are aggressive at random (priced at the far side of the quote). With
`take_edge_ticks` set, an investor whose estimate is at least that far beyond the far side of
the quote takes liquidity: it bids up to its estimate less the edge (offers down to the estimate
plus the edge), taking every level on the way. The rest rest passively up to
`depth_spread_ticks` behind their own side of the quote, and, with `band_ticks` set, no further
than that from the estimate (a quote far from the estimate is undercut, not joined).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from pydantic import Field

from agents.common import GradeChoiceParams, MarketPicker, build_population, round_to_lot
from sim.engine.latency import latency_from
from sim.engine.participant import Participant
from sim.scenario.registry import AgentKind
from sim.scenario.shocks import ParticipationShock
from sim.units import NS_PER_SECOND


class ValueParams(GradeChoiceParams):
    arrival_interval_seconds: float = Field(175.0, gt=0, description="mean gap between arrivals")
    observation_noise: float = Field(10.0, ge=0, description="sd of observations, in ticks")
    kappa_per_second: float = Field(1.67e-6, ge=0, lt=1, description="assumed mean reversion")
    prior_sd: float = Field(10.0, gt=0, description="sd of the first estimate, ticks")
    value_vol_ticks: float = Field(
        0.0,
        ge=0,
        description="sd per sqrt(second) of the value's own moves as the investor believes them, "
        "ticks: the prior widens by this variance as time passes, so older observations count "
        "for less (0: the value only mean-reverts and every observation counts alike)",
    )
    aggressive_share: float = Field(0.1, ge=0, le=1, description="share of crossing orders")
    depth_spread_ticks: int = Field(2, ge=0, description="passive orders rest up to this deep")
    take_edge_ticks: float | None = Field(
        None,
        ge=0,
        description="an estimate this many ticks or more beyond the far side of the quote takes "
        "liquidity, bidding up to the estimate less this edge (offering down to it plus the "
        "edge); None: only the random aggressive_share crosses",
    )
    band_ticks: float | None = Field(
        None,
        ge=0,
        description="a passive order rests no further than this from the estimate (a buy no "
        "lower, a sell no higher), undercutting a quote further off; None: no bound",
    )
    min_qty: int = Field(20, ge=1)
    max_qty: int = Field(50, ge=1)


def variance_gain(kappa: float, seconds: float) -> float:
    """Variance a value gains over `seconds`, per unit of variance rate, when it mean-reverts
    at `kappa` per second as the prior does: sum over the seconds of (1 - kappa)^(2i)."""
    step, norm = _gain_constants(kappa)
    return seconds if not step else math.expm1(step * seconds) / norm


@functools.lru_cache(maxsize=64)  # an investor asks at every arrival, with its one kappa
def _gain_constants(kappa: float) -> tuple[float, float]:
    step = math.log1p(-kappa) * 2  # log of (1 - kappa)^2; 0 when kappa is
    return step, math.expm1(step)


class ValueInvestor(Participant):
    kind = "value"

    def __init__(self, market, params: ValueParams, rng) -> None:
        super().__init__(market, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        self._picker = MarketPicker(params.grade_weights)
        self._picker.refresh(market, market.listings(), 0)
        self._lots = [market.lot_size(symbol) for _, symbol in self._picker.markets]
        self._references = {s: market.reference_price(s) for _, s in self._picker.markets}
        self._estimates: dict[str, tuple[float, float, int]] = {}  # symbol -> (mean, var, t)
        self.away = 0.0  # the share of arrivals that stay away (a participation shock)

    def on_start(self) -> None:
        self._schedule_next()

    def on_shock(self, shock) -> None:
        if isinstance(shock, ParticipationShock):  # a ramp starts from nothing
            self.away = self.market.shock_level(ParticipationShock, self.market.day_index(self.now))

    def on_session_open(self, day: int) -> None:
        self.away = self.market.shock_level(ParticipationShock, day)
        # Matured bonds no longer trade, and ratings migrate.
        self._picker.refresh(self.market, self.market.listings(day), day)
        self._lots = [self.market.lot_size(symbol) for _, symbol in self._picker.markets]

    def _schedule_next(self) -> None:
        gap = self.draws.exponential(self.params.arrival_interval_seconds) / (1.0 - self.away)
        self.wake_in(int(gap * NS_PER_SECOND))

    def estimate(self, symbol: str) -> float:
        """Update and return the estimate of the value the fundamental reverts to."""
        p, now = self.params, self.now
        r_bar = self._references[symbol]
        observed = self.market.observe_fundamental(symbol, p.observation_noise, self.draws)
        estimate = self._estimates.get(symbol)
        mean, var, last = (float(r_bar), p.prior_sd**2, now) if estimate is None else estimate
        # Advance the prior by mean reversion over the elapsed time (and widen it by what the
        # value may have moved meanwhile), then combine.
        elapsed = (now - last) / NS_PER_SECOND
        decay = (1 - p.kappa_per_second) ** elapsed
        mean = (1 - decay) * r_bar + decay * mean
        var = decay**2 * var
        if p.value_vol_ticks:
            var += p.value_vol_ticks**2 * variance_gain(p.kappa_per_second, elapsed)
        noise_var = p.observation_noise**2
        if noise_var == 0:
            mean, var = observed, 0.0
        else:
            mean = (noise_var * mean + var * observed) / (noise_var + var)
            var = var * noise_var / (var + noise_var)
        self._estimates[symbol] = (mean, var, now)
        return mean

    def on_wake(self) -> None:
        resting = self.open_orders()
        order = self.decide()
        keep = None
        for venue, old in resting:
            same_market = order is not None and (venue, old.instrument) == order[:2]
            if keep is None and same_market and old.side == order[2]:
                keep = old  # re-priced below instead of cancelled and sent again
            else:
                self.cancel(venue, old.instrument, old.order_id)
        if order is not None:
            venue, symbol, side, qty, price = order
            if keep is None:
                self.submit(venue, symbol, side, qty, price)
            elif (keep.limit, keep.qty) != (price, qty):
                self.modify(venue, symbol, keep.order_id, qty=qty, price=price)
        self._schedule_next()

    def decide(self) -> tuple[str, str, int, int, int] | None:
        """(venue, symbol, side, qty, price) of the order to have working now, or None."""
        p = self.params
        market = self._picker.pick(self.draws)
        if market is None:
            return None  # every bond it would buy has matured
        venue, symbol = self._picker.markets[market]
        value = self.estimate(symbol)
        quote = self.quote(venue, symbol)
        lot = self._lots[market]
        qty = round_to_lot(self.draws.integers(p.min_qty, p.max_qty + 1), lot)
        mid = quote.mid  # a property: computed once
        if mid is None:
            mid = value
        side = 1 if value > mid else -1
        if side < 0:
            qty = min(qty, self.position(symbol))
        if qty < lot:
            return None
        aggressive = self.draws.random() < p.aggressive_share
        far, near = (quote.ask, quote.bid) if side > 0 else (quote.bid, quote.ask)
        edge = p.take_edge_ticks
        if edge is not None and far is not None and side * (value - far) >= edge:
            # The quote is far enough off the estimate: take up to the estimate less the edge.
            price = math.floor(value - edge) if side > 0 else math.ceil(value + edge)
        elif aggressive and far is not None:
            price = far
        else:
            anchor = near if near is not None else round(mid)
            price = anchor - side * self.draws.integers(0, p.depth_spread_ticks + 1)
            if p.band_ticks is not None:  # no further off the estimate than the band,
                if side > 0:  # and still passive: never at or through the far side
                    price = max(price, math.floor(value - p.band_ticks))
                    price = price if far is None else min(price, far - 1)
                else:
                    price = min(price, math.ceil(value + p.band_ticks))
                    price = price if far is None else max(price, far + 1)
        return venue, symbol, side, qty, max(int(price), 1)

    def report(self) -> dict:
        means = [m for m, _, _ in self._estimates.values()]
        return {"mean_estimate": float(np.mean(means)) if means else None}


def build(market, params: ValueParams, seeds):
    return build_population(ValueInvestor, market, params, seeds)


KIND = AgentKind("value", ValueParams, build)
