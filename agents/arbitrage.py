"""Arbitrageurs: cross-venue and fair-value deviation traders, fast by construction.

An arbitrageur subscribes to level 1 of every (venue, symbol) that trades and decides in
`on_quote`, so what it can capture depends on its latency: quotes reach it after its inbound
latency and its orders reach a venue after the venue's. It trades only with IOC orders at the
prices it saw, so a stale opportunity simply does not fill.

Two rules, checked on every quote it receives:

- **Cross-venue.** When the best bid of a bond on venue A exceeds its best ask on venue B by
  more than both taker fees plus `min_edge_ticks`, it buys on B at that ask and sells on A at
  that bid, in the same size: the smaller of the two quotes' sizes, its order size, the units
  it holds free to sell and the room left under `max_position`.
- **Fair value.** When a venue's ask plus the taker fee is more than `fv_threshold_ticks`
  below the published valuation (`MarketAccess.fair_value`: the fair value as of
  the open, re-marked after shocks, as a valuation agency publishes it) it buys there; when
  its bid less the fee is that far above, it sells. It never sees the fundamental itself.

It never sells short: it sells only settled units it holds (its `units` endowment and what it
bought earlier), net of the sells it has in flight. While orders in a bond are in flight it
does not fire again in that bond, so one opportunity is taken once.

Accounting: an opportunity is *seen* when a quote shows one (the same prices are counted
once) and *taken* when orders are sent for it. Each fill's realised edge is measured against
the opportunity's reference price (the midpoint of the crossing bid and ask, or the
published fair value), net of its fee: a cross filled on both legs realises exactly
(bid - ask) x qty x tick value - fees; a leg filled alone realises half of that spread.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import NamedTuple

from pydantic import Field

from agents.common import PopulationParams, build_population
from sim.engine.latency import latency_from
from sim.engine.participant import Participant
from sim.market.fees import MICROS
from sim.market.messages import Quote
from sim.scenario.registry import AgentKind


class ArbitrageParams(PopulationParams):
    cash_rupees: float = Field(10_000_000.0, ge=0, description="starting cash of each agent")
    units: int = Field(1000, ge=0, description="starting units of every instrument (to sell)")
    latency_us: float = Field(20.0, ge=0, description="one-way latency to venues, microseconds")
    latency_jitter_us: float = Field(5.0, ge=0, description="mean extra latency (exponential)")
    min_edge_ticks: int = Field(1, ge=0, description="cross-venue edge required beyond fees")
    fv_threshold_ticks: float = Field(30.0, gt=0, description="fair-value deviation to trade")
    max_order_qty: int = Field(100, ge=1, description="units per order")
    max_position: int = Field(2000, ge=0, description="most units held of any instrument")
    cross_venue: bool = Field(True, description="trade cross-venue crosses")
    fair_value: bool = Field(True, description="trade deviations from published fair value")


class Order(NamedTuple):
    """One IOC order an opportunity calls for (side +1 buy, -1 sell)."""

    venue: str
    side: int
    qty: int
    price: int


class Opportunity(NamedTuple):
    """What a quote shows: the kind ("cross" or "fair_value"), the orders it calls for (sized
    by the quotes only), and the reference price its edge is measured against (ticks)."""

    kind: str
    orders: tuple[Order, ...]
    reference: float


def cross_venue_opportunity(
    quotes: dict[str, Quote], taker_rates: dict[str, int], min_edge_ticks: int
) -> Opportunity | None:
    """The best cross of one bond over its venues' quotes, or None.

    `taker_rates` are each venue's taker fee in millionths of notional. The highest bid must
    exceed the lowest ask (on another venue) by more than the fees of both legs plus
    `min_edge_ticks`; compared in integers (millionths of a tick), so fees are exact.
    """
    bids = [(q.bid, v) for v, q in quotes.items() if q.bid is not None and q.bid_qty > 0]
    asks = [(q.ask, v) for v, q in quotes.items() if q.ask is not None and q.ask_qty > 0]
    if not bids or not asks:
        return None
    best = None
    for bid, sell_venue in bids:
        for ask, buy_venue in asks:
            if sell_venue == buy_venue:
                continue
            fees = bid * taker_rates[sell_venue] + ask * taker_rates[buy_venue]
            edge = (bid - ask - min_edge_ticks) * MICROS - fees
            if edge > 0 and (best is None or edge > best[0]):
                best = (edge, bid, sell_venue, ask, buy_venue)
    if best is None:
        return None
    _, bid, sell_venue, ask, buy_venue = best
    qty = min(quotes[sell_venue].bid_qty, quotes[buy_venue].ask_qty)
    orders = (Order(buy_venue, 1, qty, ask), Order(sell_venue, -1, qty, bid))
    return Opportunity("cross", orders, (bid + ask) / 2)


def fair_value_opportunity(
    venue: str, quote: Quote, fair: float, taker_rate: int, threshold_ticks: float
) -> Opportunity | None:
    """Buy an ask that is, after its taker fee, more than `threshold_ticks` below the
    fair value (ticks), or sell a bid that far above it; None when neither is."""
    if quote.ask is not None and quote.ask_qty > 0:
        cost = quote.ask * (1 + taker_rate / MICROS)
        if cost < fair - threshold_ticks:
            return Opportunity("fair_value", (Order(venue, 1, quote.ask_qty, quote.ask),), fair)
    if quote.bid is not None and quote.bid_qty > 0:
        proceeds = quote.bid * (1 - taker_rate / MICROS)
        if proceeds > fair + threshold_ticks:
            return Opportunity("fair_value", (Order(venue, -1, quote.bid_qty, quote.bid),), fair)
    return None


class Arbitrageur(Participant):
    kind = "arbitrage"

    def __init__(self, market, params: ArbitrageParams, rng) -> None:
        super().__init__(market, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        markets = market.listings()
        self._taker_rates = {venue: self.taker_fee_rate(venue) for venue, _ in markets}
        self._quotes: dict[str, dict[str, Quote]] = defaultdict(dict)  # symbol -> venue -> quote
        self._last_seen: dict[tuple[str, str], tuple[tuple, bool]] = {}
        # Orders sent but not answered yet: how many per bond (no new ones in a bond until all
        # are answered, so sizing never has its own orders on the way), the cash their buys
        # commit (across bonds) and each one's reference price.
        self._in_flight: dict[str, int] = defaultdict(int)
        self._cash_committed = 0
        self._references: dict[tuple, deque] = defaultdict(deque)
        self.inventory: dict[str, int] = {}
        self._matured: set[str] = set()  # bonds that no longer trade
        self.seen = {"cross": 0, "fair_value": 0}
        self.taken = {"cross": 0, "fair_value": 0}
        self.edge = {"cross": 0.0, "fair_value": 0.0}  # paise
        self.units_traded = 0
        for venue, symbol in markets:
            self.subscribe(venue, symbol)

    def on_start(self) -> None:
        self.inventory = {s: self.position(s) for s in self.market.symbols()}

    # --- deciding ---------------------------------------------------------------------------

    def on_session_open(self, day: int) -> None:
        self._matured = {s for s in self.market.symbols() if not self.market.trades_on(s, day)}

    def on_payment(self, payment) -> None:
        if payment.kind == "redemption":
            redeemed = sum(q for account, q, _ in payment.paid if account == self.account)
            self.inventory[payment.symbol] -= redeemed

    def on_quote(self, venue: str, symbol: str, quote: Quote) -> None:
        if symbol in self._matured:
            return  # its book emptied as its listing ended
        self._quotes[symbol][venue] = quote
        p = self.params
        candidates = []
        if p.cross_venue:
            candidates.append(
                cross_venue_opportunity(self._quotes[symbol], self._taker_rates, p.min_edge_ticks)
            )
        if p.fair_value:
            fair = self.market.fair_value(symbol)
            candidates.append(
                fair_value_opportunity(
                    venue, quote, fair, self._taker_rates[venue], p.fv_threshold_ticks
                )
            )
        for opportunity in candidates:
            if opportunity is not None and self._consider(symbol, opportunity):
                return

    def _consider(self, symbol: str, opportunity: Opportunity) -> bool:
        """Count an opportunity the first time its prices show and take it unless it was
        taken already; True when orders were sent."""
        signature = tuple((o.venue, o.side, o.price) for o in opportunity.orders)
        key = (opportunity.kind, symbol)
        last = self._last_seen.get(key)
        if last is None or last[0] != signature:
            self.seen[opportunity.kind] += 1
        elif last[1]:
            return False
        taken = self.take(symbol, opportunity)
        self._last_seen[key] = (signature, taken)
        return taken

    def size(self, symbol: str, opportunity: Opportunity) -> int:
        """Units to trade on every order of the opportunity within this agent's limits."""
        qty = min(self.params.max_order_qty, *(o.qty for o in opportunity.orders))
        for order in opportunity.orders:
            if order.side > 0:
                room = self.params.max_position - self.position(symbol)
                cash = self.free_cash() - self._cash_committed
                qty = min(qty, room, self.affordable(order.venue, symbol, order.price, cash))
            else:
                qty = min(qty, self.free_units(symbol))
        lot = self.market.lot_size(symbol)
        return max(qty, 0) // lot * lot

    def take(self, symbol: str, opportunity: Opportunity) -> bool:
        """Send the opportunity's IOC orders at its prices, sized by `size`; False when
        orders in this bond are still in flight or the size is nil."""
        if self._in_flight[symbol]:
            return False
        qty = self.size(symbol, opportunity)
        if qty <= 0:
            return False
        for order in opportunity.orders:
            key = (order.venue, symbol, order.side, qty, order.price)
            self._references[key].append((opportunity.kind, opportunity.reference))
            self._in_flight[symbol] += 1
            if order.side > 0:
                self._cash_committed += self.buy_cost(order.venue, symbol, qty, order.price)
            self.submit(order.venue, symbol, order.side, qty, order.price, tif="IOC")
        self.taken[opportunity.kind] += 1
        return True

    # --- hearing back -----------------------------------------------------------------------

    def on_response(self, request: tuple, response) -> None:
        action, venue, symbol, side, qty, price, _ = request
        if action != "new":
            return
        kind, reference = self._references[venue, symbol, side, qty, price].popleft()
        value = self.market.tick_value(symbol)
        self._in_flight[symbol] -= 1
        if side > 0:
            self._cash_committed -= self.buy_cost(venue, symbol, qty, price)
        for trade in response.trades:
            self.inventory[symbol] += side * trade.qty
            self.units_traded += trade.qty
            self.edge[kind] += (
                side * (reference - trade.price) * trade.qty * value - trade.taker_fee
            )

    # --- reporting --------------------------------------------------------------------------

    def report(self) -> dict:
        return {
            "arb_opportunities_seen": sum(self.seen.values()),
            "arb_opportunities_taken": sum(self.taken.values()),
            "arb_realised_edge_paise": round(sum(self.edge.values())),
            "arb_units_traded": self.units_traded,
            "arb_inventory_units": sum(self.inventory.values()),
        }

    @staticmethod
    def population_metrics(agents) -> dict:
        group = {}
        for kind in ("cross", "fair_value"):
            group[f"{kind}_seen"] = sum(a.seen[kind] for a in agents)
            group[f"{kind}_taken"] = sum(a.taken[kind] for a in agents)
            group[f"{kind}_realised_edge_paise"] = round(sum(a.edge[kind] for a in agents))
        group["opportunities_seen"] = group["cross_seen"] + group["fair_value_seen"]
        group["opportunities_taken"] = group["cross_taken"] + group["fair_value_taken"]
        group["realised_edge_paise"] = (
            group["cross_realised_edge_paise"] + group["fair_value_realised_edge_paise"]
        )
        group["units_traded"] = sum(a.units_traded for a in agents)
        return {"arbitrage": group}


def build(market, params: ArbitrageParams, seeds):
    return build_population(Arbitrageur, market, params, seeds)


KIND = AgentKind("arbitrage", ArbitrageParams, build)
