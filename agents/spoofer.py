"""A planted spoofer: large orders shown on one side of a book, a trade on the other, the show
cancelled seconds later (market abuse, planted for `sim.analytics.surveillance` to find).

Every `interval_seconds` (exponential) it picks one of its markets and a side it wants to trade,
buy or sell at even odds. It then:

1. posts `levels` resting limit orders of `layer_qty` units each on the *other* side, the first
   `first_level_ticks` behind that side's best price and the rest `level_gap_ticks` apart, so
   that the book looks heavy against the way it wants to trade (several levels: layering);
2. `trade_delay_seconds` later sends an IOC order for `trade_qty` units on the side it wants,
   at the far side of the quote it then sees;
3. `cancel_after_seconds` after posting, cancels every order it still has open.

Layers the venue's price band would refuse are not sent. It sells only units it holds and buys
only what its free cash pays for, as the honest kinds do (`Participant.affordable`).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from agents.common import PopulationParams, build_population, round_to_lot
from sim.engine.latency import latency_from
from sim.engine.participant import Participant
from sim.scenario.registry import AgentKind
from sim.units import NS_PER_SECOND


class SpooferParams(PopulationParams):
    cash_rupees: float = Field(10_000_000.0, ge=0, description="starting cash of each agent")
    units: int = Field(5000, ge=0, description="starting units of every instrument")
    interval_seconds: float = Field(300.0, gt=0, description="mean gap between episodes")
    levels: int = Field(3, ge=1, le=20, description="layers posted per episode")
    layer_qty: int = Field(500, ge=1, description="units of each layer")
    first_level_ticks: int = Field(2, ge=0, description="first layer behind its side's best")
    level_gap_ticks: int = Field(1, ge=1, description="ticks between layers")
    trade_qty: int = Field(20, ge=1, description="units of the trade on the other side")
    trade_delay_seconds: float = Field(1.0, gt=0, description="from posting to the trade")
    cancel_after_seconds: float = Field(3.0, gt=0, description="from posting to the cancels")

    @model_validator(mode="after")
    def _trade_before_cancel(self):
        if self.trade_delay_seconds >= self.cancel_after_seconds:
            raise ValueError("trade_delay_seconds must be shorter than cancel_after_seconds")
        return self


class Spoofer(Participant):
    kind = "spoofer"

    def __init__(self, market, params: SpooferParams, rng) -> None:
        super().__init__(market, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        self._markets = market.listings()
        self._episode: tuple[str, str, int] | None = None  # (venue, symbol, side it trades)
        self._next = self._post
        self.episodes = 0
        self.layers_posted = 0

    def on_start(self) -> None:
        self._schedule_episode()

    def on_session_open(self, day: int) -> None:
        self._markets = self.market.listings(day)  # matured bonds no longer trade

    def _schedule_episode(self) -> None:
        self._next = self._post
        self.wake_in(int(self.draws.exponential(self.params.interval_seconds) * NS_PER_SECOND))

    def on_wake(self) -> None:
        self._next()

    def _post(self) -> None:
        """Show size against the side it wants to trade."""
        p = self.params
        if not self._markets:
            return
        venue, symbol = self._markets[self.draws.integers(len(self._markets))]
        side = 1 if self.draws.random() < 0.5 else -1  # the side it wants to trade
        quote = self.quote(venue, symbol)
        best = quote.ask if side > 0 else quote.bid  # the shown side's best price
        if best is None or quote.bid is None or quote.ask is None:
            self._schedule_episode()
            return
        lot = self.market.lot_size(symbol)
        qty = round_to_lot(p.layer_qty, lot)
        band = self.price_limits(venue, symbol)
        units, cash = self.free_units(symbol), self.free_cash()
        posted = 0
        for level in range(p.levels):
            # The shown side is the other one: asks above the best ask to buy, bids below.
            price = best + side * (p.first_level_ticks + level * p.level_gap_ticks)
            if price <= 0 or (band is not None and not band[0] <= price <= band[1]):
                continue
            if side > 0:  # sells shown: units it holds
                if units < qty:
                    break
                units -= qty
            else:  # buys shown: cash it has
                cost = self.buy_cost(venue, symbol, qty, price)
                if cost is None or cost > cash:
                    break
                cash -= cost
            self.submit(venue, symbol, -side, qty, price)
            posted += 1
        if not posted:
            self._schedule_episode()
            return
        self.episodes += 1
        self.layers_posted += posted
        self._episode = (venue, symbol, side)
        self._next = self._trade
        self.wake_in(int(p.trade_delay_seconds * NS_PER_SECOND))

    def _trade(self) -> None:
        """Trade on the side it wanted, at the far side of the quote."""
        p = self.params
        venue, symbol, side = self._episode
        quote = self.quote(venue, symbol)
        far = quote.ask if side > 0 else quote.bid
        lot = self.market.lot_size(symbol)
        qty = round_to_lot(p.trade_qty, lot)
        if side < 0:
            qty = min(qty, self.free_units(symbol)) // lot * lot
        elif far is not None:
            qty = min(qty, self.affordable(venue, symbol, far, self.free_cash()) // lot * lot)
        if far is not None and qty >= lot:
            self.submit(venue, symbol, side, qty, far, "IOC")
        self._next = self._cancel
        self.wake_in(int((p.cancel_after_seconds - p.trade_delay_seconds) * NS_PER_SECOND))

    def _cancel(self) -> None:
        """Take the show down."""
        venue, symbol, _ = self._episode
        for _, order in self.open_orders(venue):
            if order.instrument == symbol:
                self.cancel(venue, symbol, order.order_id)
        self._episode = None
        self._schedule_episode()

    def report(self) -> dict:
        return {"spoof_episodes": self.episodes, "spoof_layers": self.layers_posted}


def build(market, params: SpooferParams, seeds):
    return build_population(Spoofer, market, params, seeds)


KIND = AgentKind("spoofer", SpooferParams, build)
