"""Market makers: Avellaneda–Stoikov quoting around the evaluated price, with inventory limits,
tier obligations and a withdrawal rule for stress.

Every `requote_seconds` a maker cancels its quotes and posts a bid and an ask around the
Avellaneda–Stoikov reservation price

    r = s - q * gamma * sigma^2 * (T - t)
    spread = max(gamma * sigma^2 * (T - t) + (2 / gamma) * ln(1 + gamma / k), min width)

with s the price it quotes around (ticks): the published fair value (the evaluated price,
around which bond dealers quote) blended with the observed mid, ``w * fair + (1 - w) * mid``
with w = `fair_value_weight`, so that order flow moves its quotes without carrying them away
from value (w = 0: the mid alone). The min width is `min_spread_bp` of the bond's rating grade,
in bp of s: dealers quote lower-rated bonds wider. q is its inventory in clips of `quote_size`
away from its starting holding, sigma^2 the variance per second of s, the price its inventory
is valued at (estimated online at each requote, each sample capped at `max_sigma_ticks`^2 so
that one gap in the book cannot run away; with w > 0 a thin book's jumping mid moves it little),
T - t the seconds to the end of its horizon (`horizon_seconds`, or the session's close if
sooner), gamma its risk aversion (per tick) and k the order-arrival decay
(per tick). The reservation price stays within `max_spread_ticks` of s. At the inventory limit
it only quotes the side that reduces inventory. When the estimated volatility exceeds
`stress_sigma_ticks` it widens its spread by `stress_widen`, or pulls its quotes if
`stress_pull`; a `liquidity_withdrawal` shock does the same to each maker with probability
`fraction` when it strikes (until the shock has faded to nothing at an open). On top of
that, every maker that still quotes multiplies its spread (the minimum width included) by
``1 + (spread_multiplier - 1) x f``, with f the shock's path fraction on the day (the
largest if several shocks), and moves its reservation price ``lean_bp x f`` of s down: in a
market of sellers, dealers short of balance sheet price to sell, not to buy (Kargar et al.,
RFS 2021), so a seller's immediacy costs more than a buyer's. With `post_only` its quotes never
cross the quote it observes (a bid stays below the best ask it sees, an ask above the best
bid): a skewed reservation price moves its quotes to the touch, not through it. It sees the
quote one latency late, so a quote may still meet an order that arrived since (the venue's own
post-only flag is not used). It measures its tier obligations at every requote: spread within
`max_spread_ticks`, each side at least `min_size`, and the share of checks it met (presence).
"""

from __future__ import annotations

import math

from pydantic import Field, field_validator

from agents.common import (
    GRADES,
    PopulationParams,
    build_population,
    grade,
    grade_table,
    observed_price,
)
from sim.engine.latency import latency_from
from sim.engine.participant import Participant
from sim.scenario.registry import AgentKind
from sim.scenario.shocks import LiquidityWithdrawalShock
from sim.units import NS_PER_SECOND


class MarketMakerParams(PopulationParams):
    count: int = Field(2, ge=0, le=1000)
    units: int = Field(1000, ge=0)
    tier: str | None = Field("gold", description="bronze, silver, gold, platinum or none")
    gamma: float = Field(0.1, gt=0, description="risk aversion, per tick")
    k: float = Field(0.3, gt=0, description="order arrival decay, per tick")
    initial_sigma_ticks: float = Field(0.2, gt=0, description="per-second sd before estimates")
    max_sigma_ticks: float = Field(5.0, gt=0, description="cap on each per-second sd sample")
    horizon_seconds: float = Field(300.0, gt=0, description="inventory horizon T - t at most")
    quote_size: int = Field(100, ge=1, description="units per side")
    max_inventory: int = Field(2000, ge=0, description="units, long or short of the start")
    requote_seconds: float = Field(5.0, gt=0)
    max_spread_ticks: int = Field(20, ge=1, description="tier obligation")
    min_size: int = Field(50, ge=1, description="tier obligation, units per side")
    stress_sigma_ticks: float = Field(2.0, gt=0, description="per-second sd that means stress")
    stress_widen: float = Field(3.0, ge=1)
    stress_pull: bool = False
    post_only: bool = Field(
        False,
        description="quotes never cross the quote it observes (one latency late): a bid stays "
        "below the best ask it sees, an ask above the best bid",
    )
    fair_value_weight: float = Field(
        0.0,
        ge=0,
        le=1,
        description="weight of the published fair value in the price it quotes around; the "
        "rest is the observed mid",
    )
    min_spread_bp: dict[str, float] = Field(
        default_factory=lambda: dict.fromkeys(GRADES, 0.0),
        description="narrowest quoted spread, bid to ask, in bp of price, by rating grade "
        "(AAA, AA, A, BBB, BIG; unrated bonds count as BIG)",
    )

    @field_validator("min_spread_bp")
    @classmethod
    def _every_grade(cls, widths: dict[str, float]) -> dict[str, float]:
        return grade_table(widths, "min_spread_bp", 10_000)


def reservation_price(mid: float, inventory: float, gamma: float, sigma2: float,
                      horizon: float) -> float:  # fmt: skip
    """Avellaneda–Stoikov reservation price."""
    return mid - inventory * gamma * sigma2 * horizon


def optimal_spread(gamma: float, sigma2: float, horizon: float, k: float) -> float:
    """Avellaneda–Stoikov optimal total spread (bid to ask)."""
    return gamma * sigma2 * horizon + (2 / gamma) * math.log(1 + gamma / k)


class MarketMaker(Participant):
    kind = "market_maker"

    def __init__(self, market, params: MarketMakerParams, rng) -> None:
        super().__init__(market, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        self._markets = market.listings()
        self._last_mid: dict[tuple[str, str], tuple[float, int]] = {}
        self._sigma2 = {m: params.initial_sigma_ticks**2 for m in self._markets}
        self._min_width = dict.fromkeys(market.symbols(), 0.0)  # share of price, by rating
        self.withdrawn = False
        self.spread_factor = 1.0  # the day's liquidity-withdrawal widening
        self.lean = 0.0  # and its lean below value, a share of the price
        self.checks = 0
        self.checks_met = 0
        self.spread_sum = 0.0

    def on_start(self) -> None:
        self.wake_in(int(self.draws.uniform(0, self.params.requote_seconds) * NS_PER_SECOND))

    def on_wake(self) -> None:
        live = {}
        for venue, order in self.open_orders():
            key = (venue, order.instrument, order.side)
            if key in live:  # one quote a side: a stray second one goes
                self.cancel(venue, order.instrument, order.order_id)
            else:
                live[key] = order
        for venue, symbol in self._markets:
            self.requote(venue, symbol, live)
        self.wake_in(int(self.params.requote_seconds * NS_PER_SECOND))

    def _update_sigma(self, market, mid: float) -> float:
        now = self.now  # a property through the run's clock: read once
        last = self._last_mid.get(market)
        if last is not None and now > last[1]:
            seconds = (now - last[1]) / NS_PER_SECOND
            sample = min((mid - last[0]) ** 2 / seconds, self.params.max_sigma_ticks**2)
            self._sigma2[market] = 0.9 * self._sigma2[market] + 0.1 * sample
        self._last_mid[market] = (mid, now)
        return self._sigma2[market]

    def quotes(self, venue: str, symbol: str) -> tuple[int | None, int | None]:
        """(bid, ask) to post now, None for a side not quoted."""
        p = self.params
        book = self.quote(venue, symbol)
        mid = observed_price(self, venue, symbol, book)
        now, market = self.now, self.market
        w = p.fair_value_weight
        centre = w * market.fair_value(symbol) + (1 - w) * mid if w else mid
        # The risk of holding inventory is the risk of the price it is valued at, the centre:
        # a thin book's jumping mid is not what an inventory marked at value would lose.
        sigma2 = self._update_sigma((venue, symbol), centre)
        to_close = (market.session(market.day_index(now))[1] - now) / NS_PER_SECOND
        horizon = max(min(to_close, p.horizon_seconds), 1.0)
        inventory = (self.position(symbol) - p.units) / p.quote_size
        r = reservation_price(centre, inventory, p.gamma, sigma2, horizon)
        r = min(max(r, centre - p.max_spread_ticks), centre + p.max_spread_ticks)
        r -= centre * self.lean
        spread = max(
            optimal_spread(p.gamma, sigma2, horizon, p.k), centre * self._min_width[symbol]
        )
        stressed = math.sqrt(sigma2) > p.stress_sigma_ticks or self.withdrawn
        if stressed and p.stress_pull:
            return None, None
        if stressed:
            spread *= p.stress_widen
        spread *= self.spread_factor
        bid = max(math.floor(r - spread / 2), 1)
        ask = max(math.ceil(r + spread / 2), bid + 1)
        if p.post_only:
            if book.ask is not None:
                bid = min(bid, book.ask - 1)
            if book.bid is not None:
                ask = max(ask, book.bid + 1)
        band = self.price_limits(venue, symbol)
        if band is not None:  # quotes the venue would refuse are not worth sending
            bid = bid if band[0] <= bid <= band[1] else None
            ask = ask if band[0] <= ask <= band[1] else None
        excess = self.position(symbol) - p.units
        return (
            bid if bid is not None and excess < p.max_inventory else None,
            ask if ask is not None and -excess < p.max_inventory else None,
        )

    def requote(self, venue: str, symbol: str, live: dict) -> None:
        """Bring this market's quotes to what the model wants, touching only what changed."""
        p = self.params
        bid, ask = self.quotes(venue, symbol)
        size = p.quote_size
        if ask is not None and self.position(symbol) < size:
            ask = None
        for side, price in ((1, bid), (-1, ask)):
            order = live.get((venue, symbol, side))
            if order is None:
                if price is not None:
                    self.submit(venue, symbol, side, size, price)
            elif price is None:
                self.cancel(venue, symbol, order.order_id)
            elif order.limit != price or order.qty != size:
                self.modify(venue, symbol, order.order_id, qty=size, price=price)
        self.checks += 1
        met = bid is not None and ask is not None and ask - bid <= p.max_spread_ticks
        self.checks_met += bool(met and size >= p.min_size)
        if bid is not None and ask is not None:
            self.spread_sum += ask - bid

    def on_shock(self, shock) -> None:
        if isinstance(shock, LiquidityWithdrawalShock):
            self.withdrawn = self.draws.random() < shock.fraction

    def on_session_open(self, day: int) -> None:
        market = self.market
        self.withdrawn = self.withdrawn and market.shock_level(LiquidityWithdrawalShock, day) > 0
        self.spread_factor = 1.0 + market.shock_level(
            LiquidityWithdrawalShock, day, size=_spread_added
        )
        self.lean = market.shock_level(LiquidityWithdrawalShock, day, size=_lean) / 10_000
        self._markets = market.listings(day)  # matured bonds no longer trade
        widths = self.params.min_spread_bp
        for symbol in self._min_width:  # ratings migrate
            rating = grade(market.rating(symbol, day))
            self._min_width[symbol] = widths.get(rating, widths["BIG"]) / 10_000

    def report(self) -> dict:
        quoted = max(self.checks_met, 1)
        return {
            "presence": self.checks_met / self.checks if self.checks else None,
            "mean_quoted_spread_ticks": self.spread_sum / quoted if self.checks_met else None,
            "inventory": sum(self.position(s) - self.params.units for _, s in self._markets),
        }

    @staticmethod
    def population_metrics(makers) -> dict:
        return {"market_makers": {
            f"maker_{m.account}_presence": (m.checks_met / m.checks if m.checks else None)
            for m in makers
        }}  # fmt: skip


def _spread_added(shock: LiquidityWithdrawalShock) -> float:
    """A withdrawal's full widening of the spreads still quoted, as a multiple of them."""
    return shock.spread_multiplier - 1.0


def _lean(shock: LiquidityWithdrawalShock) -> float:
    """A withdrawal's full lean of the quotes below value, in bp."""
    return shock.lean_bp


def build(market, params: MarketMakerParams, seeds):
    return build_population(MarketMaker, market, params, seeds, tier=params.tier)


KIND = AgentKind("market_maker", MarketMakerParams, build)
