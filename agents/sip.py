"""SIP investors and the platform's liquidity-recycling pool, as one cohort agent.

A `SipCohort` is the platform's omnibus account for a whole population of SIP investors, held
as NumPy arrays per investor, so that 100k investors cost arrays, not objects. Each investor
has one chosen bond, a contribution per SIP date (drawn once, lognormal around
`monthly_contribution_rupees`), the units and cash attributed to them inside the omnibus, and
an early-exit state. SIP dates are every `sip_interval_days` trading days from day 0, or day 0
and the first trading day of each month when it is 0. Once a day, `trade_after_minutes` after
the open (when the books have quotes), the cohort:

1. draws early exits: each active investor asks to exit with the probability
   1 - exp(-h (1 + stress_multiplier * panic) (1 + wave) / 252), h = `exit_hazard_per_year`,
   panic the day's panic level and wave the day's redemption-wave level
   (``hazard_multiplier - 1`` times the path's fraction; `MarketAccess.shock_level`), and
   wants to sell every unit it holds;
2. on a SIP date, deposits the active investors' contributions into the omnibus (money
   entering the system) and moves `buffer_fraction` of that inflow to the pool;
3. offers every open exit to the pool, which buys at fair value (the published valuation,
   `MarketAccess.fair_value`) less `haircut_bp` (rounded down to a tick), plus the accrued
   interest of that valuation, with an off-book transfer (the platform's
   `MarketAccess.transfer`) while its free cash lasts; when it cannot take everything, each
   bond gets the same share of its exits;
4. on a SIP date with `recycle`, lets the investors' new cash buy the pool's inventory of their
   bond at fair value (rounded to a tick) plus accrued interest before it goes to the book:
   the recycling;
5. sends the rest to the book as IOC limit orders `cross_ticks` through the best delayed quote
   of the venue that shows the best price: sells for exits the pool did not take, and buys
   with the active investors' uninvested cash, as many whole units as each can afford; the
   buys are offered again every `buy_interval_minutes` while they still find sellers.

Every fill, absorption and recycled lot is split back over the investors pro rata by the
largest-remainder rule, so per-investor units and paise add up to the omnibus exactly
(`reconcile`). Exits the book does not fill stay open and are offered again the next day;
cash the buys did not spend is offered again the next day. Exit proceeds stay in the omnibus
as the exited investor's cash: paying them out happens outside the market.

The pool is a second ledger account, owned by a small `SipPool` participant (kind
"sip_pool") rather than a bare account id: the kernel then gives it a unique id, lists it in
agents.parquet and covers it in the conservation check. It never trades on a venue. Its
capital is its seed (`cash_rupees`) plus every kept inflow; what it has paid for exits less
what recycling paid it is the cost of the inventory it still holds, so
``pool cash + paid for exits - recycled proceeds - coupons received == capital`` to the paisa.
Coupons on the omnibus's units are split over the bond's investors pro rata to their
attributed units (largest remainder): units bought in the last settlement cycle before a
record date count as held, so within the cohort a coupon can go to the buyer rather than the
seller of such units (the omnibus account itself receives exactly what the ledger pays).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field, field_validator

from agents.common import PopulationParams
from sim.engine.latency import latency_from
from sim.engine.participant import Participant
from sim.errors import ConfigurationError
from sim.scenario.registry import AgentKind
from sim.scenario.shocks import PanicShock, RedemptionWaveShock
from sim.units import NS_PER_SECOND

TRADING_DAYS_PER_YEAR = 252
_INT64_MAX = np.iinfo(np.int64).max


class SipParams(PopulationParams):
    """``[sip]``: a cohort of SIP investors and its platform pool."""

    count: int = Field(1, ge=0, le=100, description="cohorts, each with its own pool")
    cash_rupees: float = Field(0.0, ge=0, description="seed capital of each cohort's pool")
    investors: int = Field(10_000, ge=1, le=10_000_000, description="SIP investors per cohort")
    bonds: tuple[str, ...] | None = Field(
        None, min_length=1, description="symbols SIP investors choose from (default: all)"
    )
    monthly_contribution_rupees: float = Field(
        5_000.0, gt=0, description="mean contribution per investor and SIP date"
    )
    contribution_sigma: float = Field(0.5, ge=0, le=3, description="sd of log contributions")
    sip_interval_days: int = Field(
        5, ge=0, description="trading days between SIP dates; 0: each month's first trading day"
    )
    trade_after_minutes: float = Field(
        30.0, ge=0, le=240, description="the daily cycle runs this long after the open"
    )
    buffer_fraction: float = Field(0.2, ge=0, le=1, description="share of inflows the pool keeps")
    haircut_bp: float = Field(
        50.0, ge=0, lt=10_000, description="the pool buys exits at fair value less this"
    )
    exit_hazard_per_year: float = Field(
        0.1, ge=0, le=1_000, description="early-exit requests per active investor-year, calm"
    )
    stress_multiplier: float = Field(
        5.0, ge=0, description="the hazard is multiplied by 1 + this * panic level"
    )
    recycle: bool = Field(True, description="SIP inflows buy the pool's inventory first")
    cross_ticks: int = Field(5, ge=0, description="IOC orders go this far through the quote")
    buy_interval_minutes: float = Field(
        30.0, ge=0, description="cash not yet invested is offered again this often (0: daily)"
    )

    @field_validator("units")
    @classmethod
    def _no_units(cls, units: int) -> int:
        if units:
            raise ValueError("must be 0: SIP investors start without units and buy them")
        return units


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split the whole number `total` over non-negative integer `weights` in proportion
    (largest remainder, ties to the earlier index): the parts sum to `total` exactly and each
    is within one of its exact share, so none exceeds its weight when `total <= sum(weights)`."""
    weights = np.asarray(weights, dtype=np.int64)
    whole = int(weights.sum())
    if total == 0 or whole == 0:
        return np.zeros(len(weights), dtype=np.int64)
    if int(weights.max()) <= _INT64_MAX // total:
        product = weights * total
    else:
        product = weights.astype(object) * total  # exact Python ints past 2**63, slower
    parts = (product // whole).astype(np.int64)
    short = total - int(parts.sum())
    parts[np.argsort(-(product % whole), kind="stable")[:short]] += 1
    return parts


def exit_probability(
    hazard_per_year: float, panic: float, stress_multiplier: float, wave: float = 0.0
) -> float:
    """Chance that an active investor asks to exit on one trading day, at the day's `panic`
    level and redemption-`wave` level (the hazard added, as a multiple of the calm one)."""
    daily = hazard_per_year * (1 + stress_multiplier * panic) * (1 + wave) / TRADING_DAYS_PER_YEAR
    return -math.expm1(-daily)


def pool_price(fair_ticks: float, haircut_bp: float) -> int:
    """Ticks the pool pays per unit of an early exit: fair value less the haircut, rounded down
    (in the pool's favour), at least one tick."""
    return max(math.floor(fair_ticks * (1 - haircut_bp / 10_000)), 1)


def sip_days(trading_days, interval: int) -> frozenset[int]:
    """Indices of the SIP dates: every `interval` trading days from day 0, or (interval 0) day 0
    and each month's first trading day."""
    if interval:
        return frozenset(range(0, len(trading_days), interval))
    return frozenset(
        [0]
        + [
            d
            for d in range(1, len(trading_days))
            if trading_days[d].month != trading_days[d - 1].month
        ]
    )


class SipPool(Participant):
    """The platform's liquidity-recycling pool: a ledger account that the cohort pays into and
    trades with off the book."""

    kind = "sip_pool"


class SipCohort(Participant):
    """The omnibus account of a population of SIP investors (state: one array per field)."""

    kind = "sip"

    def __init__(
        self, market, params: SipParams, bonds: tuple[str, ...], pool: SipPool, rng
    ) -> None:
        super().__init__(market, rng, latency_from(params.latency_us, params.latency_jitter_us))
        self.params = params
        self.pool = pool
        self.bonds = bonds
        self._tick_values = np.array([market.tick_value(s) for s in bonds], np.int64)
        listed = market.listings()
        self._bond_venues = [[v for v, symbol in listed if symbol == s] for s in bonds]
        self._sip_days = sip_days(market.trading_days(), params.sip_interval_days)
        n = params.investors
        mean_paise = params.monthly_contribution_rupees * 100
        sigma = params.contribution_sigma
        draws = rng.lognormal(math.log(mean_paise) - sigma**2 / 2, sigma, n)
        self.monthly = np.maximum(np.rint(draws), 1).astype(np.int64)  # paise per SIP date
        self.bond = rng.integers(len(bonds), size=n)  # index into `bonds`
        self._members = [np.flatnonzero(self.bond == b) for b in range(len(bonds))]
        self.units = np.zeros(n, np.int64)  # attributed, settled or not
        self.cash = np.zeros(n, np.int64)  # paise attributed, settled or not
        self.contributed = np.zeros(n, np.int64)
        self.exit_day = np.full(n, -1, np.int32)  # -1: still investing
        self.matured = np.zeros(n, bool)  # their bond was redeemed: their plan ended with it
        self.exit_requested = np.zeros(n, np.int64)  # units held when asking to exit
        self.exit_fair_ticks = np.zeros(n, np.int64)  # fair value when asking, for values
        self.exit_absorbed = np.zeros(n, np.int64)  # units the pool bought
        self.exit_sold = np.zeros(n, np.int64)  # units sold on the book
        self.pool_capital = round(params.cash_rupees * 100)
        self.pool_paid = 0  # paise the pool paid for exits
        self.recycled_units = 0
        self.recycled_paise = 0  # paise investors paid the pool for recycled units
        self.pool_coupons = 0  # paise of coupons the pool's inventory received
        self.pool_redemptions = 0  # paise its inventory was redeemed for at maturity
        self.sip_log: list[tuple[int, int, int]] = []  # (day, deposited, kept by the pool)
        self.rejected = 0
        self.book_exit_value_at_fair = 0.0  # paise: exit units sold on the book, at fair value
        self.book_exit_notional = 0  # paise those units sold for: clean, before fees
        self.pool_idle_paise_days = 0  # the pool's free cash, summed over the closes
        self._exit_fair: dict[str, float] = {}  # paise a unit, when its exit sell was sent
        self._in_flight: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        self._cycle_day = -1  # the last day whose daily cycle has run
        self._utilisation: list[float] = []
        self._idle: list[float] = []

    # --- the daily cycle -----------------------------------------------------------------

    def on_session_open(self, day: int) -> None:
        self.wake_in(int(self.params.trade_after_minutes * 60 * NS_PER_SECOND))

    def on_wake(self) -> None:
        day = self.market.day_index(self.now)
        if day == self._cycle_day:
            self._buy_round()
            return
        self._cycle_day = day
        fair = np.array([self.market.fair_value(s) for s in self.bonds])
        self.draw_exits(day, fair)
        sip_date = day in self._sip_days
        if sip_date:
            self.contribute(day)
        self.absorb_exits(fair)
        if sip_date and self.params.recycle:
            self.recycle(fair)
        self.sell_exits(fair)
        self._buy_round()

    def _buy_round(self) -> None:
        """Offer the investors' uninvested cash to the book, and again after
        `buy_interval_minutes` while some is left: a SIP's inflow is far larger than what
        the books show at any one time, so it is worked in over the day (and following days)."""
        sent = self.buy()
        interval = int(self.params.buy_interval_minutes * 60 * NS_PER_SECOND)
        close = self.market.session(self._cycle_day)[1]
        if sent and interval and self.now + interval < close:
            self.wake_in(interval)

    def draw_exits(self, day: int, fair: np.ndarray) -> None:
        """Active investors ask to exit at the day's hazard; each wants to sell all its units."""
        p, market = self.params, self.market
        chance = exit_probability(
            p.exit_hazard_per_year,
            market.shock_level(PanicShock, day),
            p.stress_multiplier,
            market.shock_level(RedemptionWaveShock, day),
        )
        # One draw per investor every day keeps the random stream independent of exits so far.
        leaving = np.flatnonzero((self.agent_rng.random(len(self.units)) < chance) & self.active)
        self.exit_day[leaving] = day
        self.exit_requested[leaving] = self.units[leaving]
        self.exit_fair_ticks[leaving] = np.rint(fair[self.bond[leaving]]).astype(np.int64)

    def contribute(self, day: int) -> None:
        """Deposit the active investors' contributions; the pool keeps its share of them."""
        amounts = np.where(self.active, self.monthly, 0)
        deposit = int(amounts.sum())
        if not deposit:
            return
        kept = int(deposit * self.params.buffer_fraction)
        # Both shares are capital from outside, so neither counts as anyone's profit.
        if deposit > kept:
            self.market.deposit(self, deposit - kept)
        if kept:
            self.market.deposit(self.pool, kept)
        self.contributed += amounts
        self.cash += amounts - allocate(kept, amounts)
        self.pool_capital += kept
        self.sip_log.append((day, deposit, kept))

    def absorb_exits(self, fair: np.ndarray) -> None:
        """The pool buys open exits at fair value less the haircut, as far as its cash goes."""
        left = self.exits_open
        # Per unit: the clean price less the haircut, plus the interest accrued, as a trade on
        # the book would settle.
        costs = [
            pool_price(f, self.params.haircut_bp) * int(tv) + self.market.accrued_interest(s)
            for f, tv, s in zip(fair, self._tick_values, self.bonds, strict=True)
        ]
        wanted = [int(left[m].sum()) for m in self._members]
        value = sum(q * c for q, c in zip(wanted, costs, strict=True))
        if not value:
            return
        free = self.pool.free_cash()
        for b, symbol in enumerate(self.bonds):
            # The same share of every bond's exits; Python ints, as products pass 2**63.
            take = wanted[b] if free >= value else wanted[b] * free // value
            take = min(take, self.free_units(symbol))
            if not take:
                continue
            unit_paise = costs[b]
            self.market.transfer(self.pool, self, cash=take * unit_paise, symbol=symbol, qty=take)
            idx = self._members[b][left[self._members[b]] > 0]
            parts = allocate(take, left[idx])
            self.exit_absorbed[idx] += parts
            self.units[idx] -= parts
            self.cash[idx] += parts * unit_paise
            self.pool_paid += take * unit_paise

    def recycle(self, fair: np.ndarray) -> None:
        """Active investors buy the pool's inventory of their bond at fair value."""
        for b, symbol in enumerate(self.bonds):
            inventory = self.pool.free_units(symbol)
            if not inventory:
                continue
            clean = max(round(fair[b]), 1) * int(self._tick_values[b])
            unit_paise = clean + self.market.accrued_interest(symbol)
            idx, affordable = self._buyers(b, unit_paise)
            qty = min(inventory, int(affordable.sum()))
            if not qty:
                continue
            self.market.transfer(self, self.pool, cash=qty * unit_paise, symbol=symbol, qty=qty)
            parts = allocate(qty, affordable)
            self.units[idx] += parts
            self.cash[idx] -= parts * unit_paise
            self.recycled_units += qty
            self.recycled_paise += qty * unit_paise

    def sell_exits(self, fair: np.ndarray) -> None:
        """Exits the pool did not take go to the book as IOC sells through the best bid; the
        fair value (ticks, per bond) when each is sent is what its price impact is measured
        against."""
        left = self.exits_open
        for b, symbol in enumerate(self.bonds):
            idx = self._members[b][left[self._members[b]] > 0]
            qty = self._whole_lots(symbol, min(int(left[idx].sum()), self.free_units(symbol)))
            best = self._best(b, side=-1)
            if qty and best is not None:
                venue, bid = best
                self._exit_fair[symbol] = float(fair[b]) * int(self._tick_values[b])
                self._send(
                    venue, symbol, -1, qty, max(bid - self.params.cross_ticks, 1), idx, left[idx]
                )

    def buy(self) -> int:
        """Active investors' cash goes to the book as IOC buys through the best ask, for as many
        whole units as each investor can afford at the limit, fees included. Returns the number
        of orders sent."""
        sent = 0
        budget = self.free_cash()
        for b, symbol in enumerate(self.bonds):
            if (symbol, 1) in self._in_flight:  # the last buy's answer is still on its way
                continue
            best = self._best(b, side=1)
            if best is None:
                continue
            venue, ask = best
            limit = ask + self.params.cross_ticks
            most = self.affordable(venue, symbol, limit, budget)  # what the omnibus can pay for
            if not most:
                continue
            # That order's lock per unit, rounded up, is at least what any smaller buy at this
            # limit locks per unit (fees are rounded down on each order's notional): investors
            # who can each pay for their units at it can together pay for the order.
            unit_paise = -(-self.buy_cost(venue, symbol, most, limit) // most)
            idx, affordable = self._buyers(b, unit_paise)
            qty = self._whole_lots(symbol, min(int(affordable.sum()), most))
            if qty:
                budget -= self.buy_cost(venue, symbol, qty, limit)
                self._send(venue, symbol, 1, qty, limit, idx, affordable)
                sent += 1
        return sent

    # --- the book side -------------------------------------------------------------------

    def _send(self, venue, symbol, side, qty, limit, idx, weights) -> None:
        # IOC orders finish in the answer, and a bond gets one order per side a day, so the
        # answer to (symbol, side) finds its investors here.
        self._in_flight[symbol, side] = (idx, weights)
        self.submit(venue, symbol, side, qty, limit, "IOC")

    def on_response(self, request, response) -> None:
        _, _, symbol, side = request[:4]
        idx, weights = self._in_flight.pop((symbol, side))
        if not response.ok:
            self.rejected += 1
        qty = sum(t.qty for t in response.trades)
        if not qty:
            return
        parts = allocate(qty, weights)
        if side > 0:
            self.units[idx] += parts
            self.cash[idx] -= allocate(
                sum(t.consideration + t.taker_fee for t in response.trades), parts
            )
        else:
            self.units[idx] -= parts
            self.exit_sold[idx] += parts
            self.book_exit_value_at_fair += qty * self._exit_fair[symbol]
            self.book_exit_notional += sum(t.notional for t in response.trades)
            self.cash[idx] += allocate(
                sum(t.consideration - t.taker_fee for t in response.trades), parts
            )

    def _best(self, b: int, side: int) -> tuple[str, int] | None:
        """(venue, price) of the best delayed ask (side +1) or bid (side -1) of bond `b`."""
        quotes = [(v, self.quote(v, self.bonds[b])) for v in self._bond_venues[b]]
        prices = [(v, q.ask if side > 0 else q.bid) for v, q in quotes]
        prices = [(v, p) for v, p in prices if p is not None]
        if not prices:
            return None
        return min(prices, key=lambda vp: side * vp[1])

    def _buyers(self, b: int, unit_paise: int) -> tuple[np.ndarray, np.ndarray]:
        """Active investors in bond `b` who can afford a unit, and how many units each can."""
        members = self._members[b]
        affordable = np.where(self.active[members], self.cash[members] // unit_paise, 0)
        keep = affordable > 0
        return members[keep], affordable[keep]

    def _whole_lots(self, symbol: str, qty: int) -> int:
        return qty - qty % self.market.lot_size(symbol)

    # --- state and reporting -------------------------------------------------------------

    @property
    def active(self) -> np.ndarray:
        """Investors still investing (they have not asked to exit, and their bond has not
        matured)."""
        return (self.exit_day < 0) & ~self.matured

    @property
    def exits_open(self) -> np.ndarray:
        """Units each investor still wants to sell."""
        return self.exit_requested - self.exit_absorbed - self.exit_sold

    def on_session_close(self, day: int) -> None:
        if not self.pool_capital:
            return
        pool = self.pool
        inventory = sum(
            pool.position(s) * max(round(self.market.fair_value(s)), 1) * int(tv)
            for s, tv in zip(self.bonds, self._tick_values, strict=True)
        )
        self._utilisation.append(inventory / self.pool_capital)
        self._idle.append(pool.free_cash() / self.pool_capital)
        self.pool_idle_paise_days += pool.free_cash()

    def on_payment(self, payment) -> None:
        """Coupons and redemptions go to the investors in proportion to their units, and to
        the pool for its inventory. A plan whose bond is redeemed ends with it: its investors
        keep the cash and stop contributing, and the exits they had open are settled by it."""
        if payment.symbol not in self.bonds:
            return
        members = self._members[self.bonds.index(payment.symbol)]
        redeemed = payment.kind == "redemption"
        for account, _, paise in payment.paid:
            if account == self.account:
                self.cash[members] += allocate(paise, self.units[members])
            elif account == self.pool.account and redeemed:
                self.pool_redemptions += paise
            elif account == self.pool.account:
                self.pool_coupons += paise
        if redeemed:
            self.exit_requested[members] -= self.exits_open[members]
            self.units[members] = 0
            self.matured[members] = True

    def reconcile(self) -> list[str]:
        """Where the omnibus account and the investors' attributed cash and units disagree
        (empty when they agree; orders in flight make them differ until their answer)."""
        problems = []
        if self.cash_position() != int(self.cash.sum()):
            problems.append(f"cash {self.cash_position()} != investors {self.cash.sum()}")
        for b, symbol in enumerate(self.bonds):
            held = int(self.units[self._members[b]].sum())
            if self.position(symbol) != held:
                problems.append(f"{symbol}: {self.position(symbol)} units != investors {held}")
        return problems

    def report(self) -> dict:
        """Columns for agents.parquet, in paise, units and shares.

        absorption_rate_units, absorption_rate_value: share of the early-exit volume the pool
        bought, in units and in value at each request's fair value (None without exits).
        buffer_utilisation: the pool's inventory at fair value over its capital; idle_cash: its
        free cash over its capital; each the mean over the day's closes once it has capital
        (idle cash passes 1 when haircuts and recycling have earned money). pool_capital_paise:
        seed plus kept inflows; pool_paid_paise, recycled_paise: what the pool paid for exits
        and what recycling paid it; pool_coupons_paise, pool_redemptions_paise: the coupons its
        inventory received, and what it was redeemed for.
        exit_units_requested/absorbed/sold: the rest is still open.
        exit_book_value_at_fair_paise, exit_book_notional_paise: the exit units sold on the
        book, at the fair value when each sell was sent and at the prices they traded (clean,
        before fees): their volume-weighted price impact is ``(value at fair - notional) /
        value at fair`` (`book_exit_shortfall_bp`), undefined when none traded.
        pool_idle_cash_paise_days: the pool's free cash summed over the closes (paise x
        trading days): times a carry rate / 252, the carry the idle buffer forwent.
        """
        tick_values = self._tick_values[self.bond]
        out = {
            "investors": len(self.units),
            "active_investors": int(self.active.sum()),
            "contributions_paise": int(self.contributed.sum()),
            "exits": int((self.exit_day >= 0).sum()),
            "exit_units_requested": int(self.exit_requested.sum()),
            "exit_units_absorbed": int(self.exit_absorbed.sum()),
            "exit_units_sold": int(self.exit_sold.sum()),
            "exit_value_requested_paise": int(
                (self.exit_requested * self.exit_fair_ticks * tick_values).sum()
            ),
            "exit_value_absorbed_paise": int(
                (self.exit_absorbed * self.exit_fair_ticks * tick_values).sum()
            ),
            "pool_capital_paise": self.pool_capital,
            "pool_cash_paise": self.pool.cash_position(),  # it never trades: all settled
            "pool_paid_paise": self.pool_paid,
            "recycled_units": self.recycled_units,
            "recycled_paise": self.recycled_paise,
            "pool_coupons_paise": self.pool_coupons,
            "pool_redemptions_paise": self.pool_redemptions,
            "orders_rejected": self.rejected,
            "exit_book_value_at_fair_paise": round(self.book_exit_value_at_fair),
            "exit_book_notional_paise": self.book_exit_notional,
            "pool_idle_cash_paise_days": self.pool_idle_paise_days,
            "buffer_utilisation": float(np.mean(self._utilisation)) if self._utilisation else None,
            "idle_cash": float(np.mean(self._idle)) if self._idle else None,
        }
        return {**out, **_absorption(out)}

    @staticmethod
    def population_metrics(cohorts) -> dict:
        """Group "sip": sums over the cohorts, absorption pooled, utilisation and idle cash
        averaged over the cohorts."""
        reports = [c.report() for c in cohorts]
        totals = {key: sum(r[key] for r in reports) for key in _ADDITIVE}
        for key in ("buffer_utilisation", "idle_cash"):
            values = [r[key] for r in reports if r[key] is not None]
            totals[key] = float(np.mean(values)) if values else None
        return {"sip": {**totals, **_absorption(totals)}}


_ADDITIVE = (
    "investors",
    "active_investors",
    "contributions_paise",
    "exits",
    "exit_units_requested",
    "exit_units_absorbed",
    "exit_units_sold",
    "exit_value_requested_paise",
    "exit_value_absorbed_paise",
    "pool_capital_paise",
    "pool_cash_paise",
    "pool_paid_paise",
    "recycled_units",
    "recycled_paise",
    "orders_rejected",
    "exit_book_value_at_fair_paise",
    "exit_book_notional_paise",
    "pool_idle_cash_paise_days",
)


def _absorption(totals: dict) -> dict:
    """Share of the early-exit volume the pool absorbed, in units and in value at the fair
    value of the request (None without exits)."""
    units, value = totals["exit_units_requested"], totals["exit_value_requested_paise"]
    return {
        "absorption_rate_units": totals["exit_units_absorbed"] / units if units else None,
        "absorption_rate_value": totals["exit_value_absorbed_paise"] / value if value else None,
    }


def book_exit_shortfall_bp(totals: dict) -> float | None:
    """The volume-weighted price impact of the exits sold on the book, from a report's or the
    population's sums: bp below the fair value when they were sent (None when none traded).
    Not a metric itself, so that every metric stays defined."""
    fair = totals["exit_book_value_at_fair_paise"]
    notional = totals["exit_book_notional_paise"]
    return (fair - notional) / fair * 10_000 if fair else None


def build(market, params: SipParams, seeds):
    """One cohort and its pool per `count`, each with its own ledger account."""
    symbols = market.symbols()
    bonds = params.bonds or symbols
    unknown = [s for s in bonds if s not in symbols]
    if unknown:
        raise ConfigurationError(f"bonds: unknown instruments {unknown} (known: {list(symbols)})")
    open_ns, close_ns = market.session(0)
    if params.trade_after_minutes * 60 * NS_PER_SECOND >= close_ns - open_ns:
        raise ConfigurationError("trade_after_minutes: must be shorter than a session")
    latency = latency_from(params.latency_us, params.latency_jitter_us)
    cohorts = []
    for seed in seeds.spawn(params.count):
        cohort_seed, pool_seed = seed.spawn(2)
        pool = SipPool(market, np.random.default_rng(pool_seed), latency)
        market.open_account(pool, cash=round(params.cash_rupees * 100))
        cohort = SipCohort(market, params, bonds, pool, np.random.default_rng(cohort_seed))
        market.open_account(cohort)
        cohorts.append(cohort)
    return cohorts


KIND = AgentKind("sip", SipParams, build)
