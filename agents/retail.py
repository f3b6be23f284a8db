"""Retail investors: zero-intelligence traders with Poisson arrivals and a panic switch, held as
one cohort agent with NumPy arrays per investor, so that 100k investors cost arrays, not objects.

Each investor arrives at random (a Poisson process of `arrivals_per_day` per session, in
trading time), picks a listed (venue, bond), a side and a size, and sends either a market order
or a limit order placed at a random distance around the price it observes. In stress a `panic`
shock raises the chance of selling and of selling aggressively (market orders), and a
participation shock thins the arrivals; both fade day by day along the shocks' paths. An
investor never sells more than it owns less what its working sells already offer, and cancels
its resting orders older than `order_lifetime_minutes` at its next arrival. Each investor is
checked as the ledger checked the account each used to have: a buy needs free cash for the
venue's lock (cash less what working buys hold and less sale proceeds not yet settled), a sell
needs free units (units less what working sells offer and less purchases not yet settled); an
order that fails the check is not sent (`refused_*`).

The superposition of N independent Poisson processes of rate λ is one Poisson process of rate
Nλ whose arrivals belong to investors drawn uniformly: the cohort wakes once per arrival and
draws whose it is. It is one ledger account (the platform's omnibus) that trades for its
investors under client codes: investor i sends as client i + 1, so the venue applies
self-trade prevention per investor and two investors of the cohort may trade with each other.
Every fill is attributed to its investor through the trade's client code, so per-investor cash
and units add up to the omnibus account exactly once every answer has arrived (`reconcile`).
"""

from __future__ import annotations

import heapq
import math

import numpy as np
from pydantic import Field

from agents.common import GradeChoiceParams, MarketPicker, observed_price, round_to_lot
from sim.engine.latency import latency_from
from sim.engine.participant import Participant
from sim.market.orders import Reason, Status
from sim.scenario.registry import AgentKind
from sim.scenario.shocks import PanicShock, ParticipationShock
from sim.units import NS_PER_SECOND

_OPEN = (Status.ACCEPTED, Status.PARTIALLY_FILLED)


class RetailParams(GradeChoiceParams):
    """``[retail]``: a population of retail investors; cash and units are each investor's."""

    count: int = Field(
        1, ge=0, le=1_000_000, description="number of retail investors (one cohort agent)"
    )
    arrivals_per_day: float = Field(1.0, gt=0, description="mean orders per investor per day")
    min_qty: int = Field(1, ge=1, description="smallest order, units")
    max_qty: int = Field(10, ge=1, description="largest order, units")
    market_order_share: float = Field(0.2, ge=0, le=1, description="share of market orders")
    max_offset_ticks: int = Field(20, ge=0, description="limit orders rest up to this far away")
    cross_ticks: int = Field(2, ge=0, description="limit orders may cross by up to this much")
    order_lifetime_minutes: float = Field(60.0, gt=0, description="resting orders live this long")
    panic_sell_share: float = Field(0.9, ge=0.5, le=1, description="sell chance at full panic")


class _Order:
    """One working order of one investor, as the cohort keeps its own books."""

    __slots__ = (
        "cancelled",
        "cancelling",
        "column",
        "filled",
        "held",
        "investor",
        "qty",
        "sent_at",
        "side",
        "spent",
    )

    def __init__(self, investor, side, column, qty, held, sent_at) -> None:
        self.investor = investor
        self.side = side
        self.column = column  # the instrument's column in `units`
        self.qty = qty
        self.held = held  # paise held for a buy (the venue's lock), units for a sell
        self.sent_at = sent_at
        self.filled = 0  # units whose fills have arrived
        self.spent = 0  # paise those fills took from the hold (buys)
        self.cancelled: int | None = None  # units that will never fill, once known
        self.cancelling = False

    @property
    def done(self) -> bool:
        """Every unit is accounted for: filled (and heard of) or cancelled."""
        return self.filled + (self.cancelled or 0) == self.qty


class RetailCohort(Participant):
    """The omnibus account of a population of retail investors (state: arrays per investor)."""

    kind = "retail"

    def __init__(self, market, params: RetailParams, rng) -> None:
        super().__init__(market, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        self.panic = 0.0
        self.away = 0.0  # the share of arrivals that stay away (a participation shock)
        self.symbols = market.symbols()
        self._column = {s: k for k, s in enumerate(self.symbols)}
        self._picker = MarketPicker(params.grade_weights)
        self._picker.refresh(market, market.listings(), 0)
        self._lots = [market.lot_size(s) for _, s in self._picker.markets]
        n = params.count
        open_ns, close_ns = market.session(0)
        # Mean gap between arrivals of the whole population, seconds of trading time.
        rate = params.arrivals_per_day * n
        self._mean_gap = (close_ns - open_ns) / NS_PER_SECOND / rate if rate else math.inf
        self._lifetime_ns = int(params.order_lifetime_minutes * 60 * NS_PER_SECOND)
        cash = round(params.cash_rupees * 100)
        self.cash = np.full(n, cash, np.int64)  # paise attributed, settled or not
        self.units = np.full((n, len(self.symbols)), params.units, np.int64)
        self.cash_held = np.zeros(n, np.int64)  # paise working buys hold
        self.units_held = np.zeros((n, len(self.symbols)), np.int64)  # units working sells offer
        self.cash_unsettled = np.zeros(n, np.int64)  # sale proceeds not settled yet
        self.units_unsettled = np.zeros((n, len(self.symbols)), np.int64)  # purchases, likewise
        self.units_sold_unsettled = np.zeros((n, len(self.symbols)), np.int64)  # still of record
        # (settle at, investor, column, units, paise) of fills not settled yet, a heap.
        self._settlements: list[tuple[int, int, int, int, int]] = []
        self.initial_cash = cash
        self._start_values = np.zeros(len(self.symbols), np.int64)  # unit values at the open
        self.orders_by_investor = np.zeros(n, np.int64)
        self.fills_by_investor = np.zeros(n, np.int64)
        self.fees_by_investor = np.zeros(n, np.int64)
        # Orders sent and not yet answered: (investor, venue, symbol, side, qty, price) ->
        # [(sent at, held)], oldest first (an investor rarely has two alike in flight).
        self._in_flight: dict[tuple, list[tuple[int, int]]] = {}
        self._orders: dict[tuple[str, str, int], _Order] = {}  # (venue, symbol, id) -> working
        self._by_investor: dict[int, list[tuple[str, str, int]]] = {}
        # What was heard of an order before its answer: (venue, symbol, id) -> _Order stub.
        self._early: dict[tuple[str, str, int], _Order] = {}
        self.refused_cash = 0  # buys not sent: the investor's free cash did not cover them
        self.refused_units = 0  # sells not sent: its units were not settled yet
        self.rejected = 0

    # --- arrivals ------------------------------------------------------------------------

    def on_start(self) -> None:
        # Endowments are valued as the run values every account's: at the first valuation.
        self._start_values = self._unit_values()
        if len(self.cash):
            self._schedule_next()

    def _unit_values(self) -> np.ndarray:
        return np.array([self.market.unit_value(s) for s in self.symbols], np.int64)

    def _schedule_next(self) -> None:
        gap = self.draws.exponential(self._mean_gap) / (1.0 - self.away)
        self.wake_in(int(gap * NS_PER_SECOND))

    def on_wake(self) -> None:
        investor = self.draws.integers(len(self.cash))
        self._settle_due()
        self._cancel_stale(investor)
        self.trade(investor)
        self._schedule_next()

    def sell_probability(self) -> float:
        return 0.5 + (self.params.panic_sell_share - 0.5) * self.panic

    def market_probability(self) -> float:
        p = self.params.market_order_share
        return p + (1 - p) * self.panic

    def trade(self, investor: int | None = None) -> None:
        """One arrival of `investor` (drawn at random when None): choose and send an order."""
        p, rng, picker = self.params, self.draws, self._picker
        if not picker.markets:
            return  # every bond has matured
        i = rng.integers(len(self.cash)) if investor is None else investor
        m = picker.pick(rng)
        if m is None:
            return  # no bond of a grade it buys is left
        venue, symbol = picker.markets[m]
        lot, col = self._lots[m], self._column[symbol]
        side = -1 if rng.random() < self.sell_probability() else 1
        qty = round_to_lot(rng.integers(p.min_qty, p.max_qty + 1), lot)
        if side < 0:
            own = int(self.units[i, col] - self.units_held[i, col])
            # Capping each investor caps the omnibus: summed over investors, units less offers
            # less unsettled purchases (refused below) never exceed the omnibus's free units at
            # the venue, as whatever is on its way (requests, answers, fills) only lowers the
            # investors' side and the ledger settles at each open before anyone trades. (The
            # ledger's position less these offers would count a sale twice until its fill
            # arrives: the ledger drops it at once.)
            qty = min(qty, own)
            qty -= qty % lot
            if qty < lot:
                return
        if rng.random() < self.market_probability():
            price = None
        else:
            offset = rng.integers(-p.cross_ticks, p.max_offset_ticks + 1)
            price = max(round(observed_price(self, venue, symbol)) - side * offset, 1)
        request = ("new", venue, symbol, side, qty, price, "GTC")
        if side < 0 and qty > own - self.units_unsettled[i, col]:
            self.refused_units += 1
            self.record_refusal(request, Reason.INSUFFICIENT_UNITS, client=i + 1)
            return
        if side > 0:
            # What the venue will lock (a market buy has no reference price yet: it will be
            # refused, and holds nothing meanwhile).
            held = self.buy_cost(venue, symbol, qty, price) or 0
            if self.cash[i] - self.cash_unsettled[i] - self.cash_held[i] < held:
                self.refused_cash += 1
                self.record_refusal(request, Reason.INSUFFICIENT_CASH, client=i + 1)
                return
            self.cash_held[i] += held
        else:
            held = qty
            self.units_held[i, col] += qty
        self._in_flight.setdefault((i, venue, symbol, side, qty, price), []).append(
            (self.now, held)
        )
        self.orders_by_investor[i] += 1
        self.submit(venue, symbol, side, qty, price, client=i + 1)

    def _settle_due(self, before: int | None = None) -> None:
        """Fills whose settlement time has come (or, with `before`, came before it) become the
        investors' to use."""
        pending = self._settlements
        last = self.now if before is None else before - 1
        while pending and pending[0][0] <= last:
            _, i, col, units, cash = heapq.heappop(pending)  # units: + bought, - sold
            if units > 0:
                self.units_unsettled[i, col] -= units
            else:
                self.units_sold_unsettled[i, col] += units
            self.cash_unsettled[i] -= cash

    def on_payment(self, payment) -> None:
        """Each investor gets the coupon or redemption on its units of record: those the ledger
        held for it before the morning's settlements (bought and settled, or sold and not
        settled yet). Redeemed units leave it."""
        col = self._column.get(payment.symbol)
        if col is None:
            return
        self._settle_due(before=self.now)  # the ledger settles this morning's after paying
        of_record = (
            self.units[:, col] - self.units_unsettled[:, col] + self.units_sold_unsettled[:, col]
        )
        self.cash += of_record * payment.per_unit
        if payment.kind == "redemption":
            self.units[:, col] -= of_record

    def _cancel_stale(self, investor: int) -> None:
        horizon = self.now - self._lifetime_ns
        for key in self._by_investor.get(investor, ()):
            order = self._orders[key]
            # (An order whose cancellation is known only waits for the news of its fills.)
            if order.sent_at <= horizon and not order.cancelling and order.cancelled is None:
                order.cancelling = True
                self.cancel(*key)

    # --- answers and fills ---------------------------------------------------------------

    def on_response(self, request, response) -> None:
        action, venue, symbol = request[:3]
        if action == "new":
            self._answered(venue, symbol, request[3:6], response)
        elif action == "cancel" and response.ok:  # what had not traded never will
            self._cancelled(venue, symbol, request[3], None, response.filled_qty)
        for c in response.cancelled:  # self-trade prevention took older orders of the client
            self._cancelled(venue, symbol, c.order_id, c.qty, None)

    def _answered(self, venue, symbol, request, response) -> None:
        side, qty, price = request
        i = response.client - 1
        flight_key = (i, venue, symbol, side, qty, price)
        waiting = self._in_flight[flight_key]
        sent_at, held = waiting.pop(0)
        if not waiting:
            del self._in_flight[flight_key]
        order = _Order(i, side, self._column[symbol], qty, held, sent_at)
        key = (venue, symbol, response.order_id)
        early = self._early.pop(key, None) if response.order_id else None
        if early is not None:
            order.filled, order.spent, order.cancelled = early.filled, early.spent, early.cancelled
        if not response.ok:
            self.rejected += 1
        if response.status not in _OPEN:
            order.cancelled = qty - response.filled_qty
        if order.done:
            self._release(order)
            return
        self._orders[key] = order
        self._by_investor.setdefault(i, []).append(key)

    def on_fill(self, trade, side: int) -> None:
        taker = side == trade.aggressor_side
        i = (trade.taker_client if taker else trade.maker_client) - 1
        paid_fee = trade.taker_fee if taker else trade.maker_fee
        col = self._column[trade.instrument]
        qty = trade.qty
        spent = received = 0
        if side > 0:
            spent = trade.consideration + paid_fee
            self.cash[i] -= spent
            self.cash_held[i] -= spent
            self.units[i, col] += qty
        else:
            received = trade.consideration - paid_fee
            self.units[i, col] -= qty
            self.units_held[i, col] -= qty
            self.cash[i] += received
        if trade.settle_at > self.now:
            # What the fill brings is the investor's only once it settles (units bought stay
            # unsellable, proceeds unspendable); what it takes stays held until then.
            if side > 0:
                self.units_unsettled[i, col] += qty
            else:
                self.cash_unsettled[i] += received
                self.units_sold_unsettled[i, col] += qty
            heapq.heappush(self._settlements, (trade.settle_at, i, col, side * qty, received))
        self.fills_by_investor[i] += 1
        self.fees_by_investor[i] += paid_fee
        order_id = trade.taker_order_id if taker else trade.maker_order_id
        order = self._order(trade.venue, trade.instrument, order_id, i, side)
        order.filled += qty
        order.spent += spent
        self._finish_if_done(trade.venue, trade.instrument, order_id, order)

    def _cancelled(self, venue, symbol, order_id, qty, filled) -> None:
        """`qty` units of an order will never fill (or all but its `filled` units)."""
        order = self._orders.get((venue, symbol, order_id)) or self._early.setdefault(
            (venue, symbol, order_id), _Order(-1, 0, 0, 0, 0, 0)
        )
        order.cancelled = qty if filled is None else order.qty - filled
        self._finish_if_done(venue, symbol, order_id, order)

    def _order(self, venue, symbol, order_id, investor, side) -> _Order:
        """The working order a fill belongs to, or a stub until its answer arrives."""
        key = (venue, symbol, order_id)
        order = self._orders.get(key)
        if order is None:
            order = self._early.setdefault(key, _Order(investor, side, 0, 0, 0, 0))
        return order

    def _finish_if_done(self, venue, symbol, order_id, order: _Order) -> None:
        key = (venue, symbol, order_id)
        if order.done and self._orders.get(key) is order:
            del self._orders[key]
            self._by_investor[order.investor].remove(key)
            if not self._by_investor[order.investor]:
                del self._by_investor[order.investor]
            self._release(order)

    def _release(self, order: _Order) -> None:
        """Give back what a finished order still holds: fills have taken the rest."""
        if order.side > 0:
            self.cash_held[order.investor] -= order.held - order.spent
        else:
            unfilled = order.held - order.filled
            self.units_held[order.investor, order.column] -= unfilled

    # --- shocks --------------------------------------------------------------------------

    def on_shock(self, shock) -> None:
        # The day's panic and absence along the shocks' paths: a ramp starts from nothing.
        if isinstance(shock, PanicShock | ParticipationShock):
            market = self.market
            self._read_shocks(market.day_index(market.now()))

    def on_session_open(self, day: int) -> None:
        # Panic and absence fade day by day along the shocks' paths.
        self._read_shocks(day)
        # Matured bonds no longer trade, and ratings migrate.
        self._picker.refresh(self.market, self.market.listings(day), day)
        self._lots = [self.market.lot_size(s) for _, s in self._picker.markets]

    def _read_shocks(self, day: int) -> None:
        self.panic = self.market.shock_level(PanicShock, day)
        self.away = self.market.shock_level(ParticipationShock, day)

    # --- state and reporting -------------------------------------------------------------

    @property
    def working_orders(self) -> int:
        """Orders sent and not yet finished, as the cohort knows them."""
        return len(self._orders) + sum(len(w) for w in self._in_flight.values())

    def investor_pnl(self) -> np.ndarray:
        """Each investor's PnL in paise: cash plus units at the published valuation (accrued
        interest included), less the endowment at the first valuation (the same rule as
        every agent's `pnl` in agents.parquet)."""
        start = self.initial_cash + self.params.units * int(self._start_values.sum())
        return self.cash + self.units @ self._unit_values() - start

    def reconcile(self) -> list[str]:
        """Where the omnibus account and its investors disagree (empty when they agree).
        Fills and answers still on their way make them differ until they arrive."""
        problems = []
        locked = np.zeros_like(self.units_held)  # what the venues lock for each investor's sells
        for _, order in self.open_orders():
            locked[order.client - 1, self._column[order.instrument]] += order.units_locked
        if (locked != self.units_held).any():
            problems.append("what investors offer is not what the venues lock for them")
        if self.cash_position() != int(self.cash.sum()):
            problems.append(f"cash {self.cash_position()} != investors {self.cash.sum()}")
        for col, symbol in enumerate(self.symbols):
            held = int(self.units[:, col].sum())
            if self.position(symbol) != held:
                problems.append(f"{symbol}: {self.position(symbol)} units != investors {held}")
        if (self.units < 0).any():
            problems.append(f"{int((self.units < 0).any(axis=1).sum())} investors hold < 0 units")
        if (self.units_held > self.units).any() or (self.units_held < 0).any():
            problems.append("an investor offers units it does not hold")
        if (self.cash_held < 0).any():
            problems.append("an investor holds negative cash for its buys")
        return problems

    def report(self) -> dict:
        """Columns for agents.parquet: investors, orders per investor, holdings, refusals."""
        return {
            "panic": self.panic,
            "investors": len(self.cash),
            "investors_traded": int((self.fills_by_investor > 0).sum()),
            "investors_holding": int((self.units > 0).any(axis=1).sum()),
            "units_owned": int(self.units.sum()),
            "working_orders": self.working_orders,
            "orders_refused_cash": self.refused_cash,
            "orders_refused_units": self.refused_units,
            "orders_rejected": self.rejected,
        }

    @staticmethod
    def population_metrics(cohorts) -> dict:
        """Group "retail": the spread of PnL over every investor of every cohort, in paise."""
        pnl = np.concatenate([c.investor_pnl() for c in cohorts])
        traded = sum(int((c.fills_by_investor > 0).sum()) for c in cohorts)
        quantiles = np.quantile(pnl, [0.05, 0.25, 0.5, 0.75, 0.95])
        return {
            "retail": {
                "investors": len(pnl),
                "investors_traded": traded,
                "pnl_mean": float(pnl.mean()),
                "pnl_std": float(pnl.std()),
                **{
                    f"pnl_{name}": float(q)
                    for name, q in zip(
                        ("p05", "p25", "median", "p75", "p95"), quantiles, strict=True
                    )
                },
                "share_with_loss": float((pnl < 0).mean()),
            }
        }


def build(market, params: RetailParams, seeds):
    """One cohort holding all `count` investors, its omnibus account endowed with the sum of
    their cash and units."""
    if not params.count:
        return []
    cohort = RetailCohort(market, params, np.random.default_rng(seeds))
    units = {s: params.units * params.count for s in market.symbols()} if params.units else {}
    market.open_account(cohort, cash=round(params.cash_rupees * 100) * params.count, units=units)
    return [cohort]


KIND = AgentKind("retail", RetailParams, build)
