"""The engine's venue gateway and ledger against their frozen pure-Python selves.

Two worlds with the same set-up, the engine's `Ledger` with two `Venue`s sharing it and
`tests.helpers.reference_gateway`'s copies of both as they were in commit 7fcf501 (on the simple
reference book and fee arithmetic of their own, so that a bug in the engine's book or fee code
shows as a difference) with accrued interest added, receive the same
random requests, good and bad: orders, cancels, modifications, halts, new days (each with its
session's accrued interest, and the cancellation of the resting buys it leaves uncovered, as
the simulation cancels them), settlement, deposits, withdrawals and transfers. Every answer must
be identical, and after every step so must every public balance, open order, pending
settlement, conservation report, band, lock quote and book top. Types count too (1, True and
np.int64(1) are not the same answer): the gateway and the ledger refuse amounts and ids that
are not Python ints, so a NumPy integer leaking out of the engine would break its callers.

Only the public API is read, so the engine's internals are free to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sim.market.fees import FeeSchedule, Tier
from sim.market.instrument import Instrument
from sim.market.ledger import MAX_TOTAL, Ledger, LedgerError
from sim.market.orders import INT64_MAX, Side, Status
from sim.market.venue import PriceBand, RiskLimits, Venue
from tests.helpers.reference_gateway import ReferenceLedger, ReferenceLedgerError, ReferenceVenue

STATEFUL = settings(max_examples=100, stateful_step_count=100, deadline=None)

# B1: a tick is worth 1 paise a unit, lot 1; B2: 50 paise a unit, lot 5. Both near par.
INSTRUMENTS = (
    Instrument("B1", Decimal("0.01"), 1, 100),
    Instrument("B2", Decimal("0.05"), 5, 1000),
)
SYMBOLS = tuple(i.symbol for i in INSTRUMENTS)
LOT = {i.symbol: i.lot_size for i in INSTRUMENTS}
CENTRE = {"B1": 10_000, "B2": 2_000}  # ticks
VENUES = ("NSE", "BSE")
# The last account's id is outside 0..2**32-1, so it may trade only as client 0.
ACCOUNTS = (1, 2, 3, 4, 2**33 + 7)
UNKNOWN_ACCOUNTS = (0, 6, 99, -1)
MAX_CLIENT = 2**31 - 1
LAG_NS = 1_000  # one "day" of settlement lag


def settlement_time(now: int, lag: int) -> int:
    return now + lag * LAG_NS


def _weighted(*pairs):
    """One of the strategies, each `weight` times as likely as one of weight 1 (repeating a
    strategy in `st.one_of` does not weight it)."""
    choices = [s for weight, s in pairs for _ in range(weight)]
    return st.integers(0, len(choices) - 1).flatmap(lambda i: choices[i])


# --- the set-up ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VenueSetup:
    name: str
    fees: FeeSchedule
    limits: RiskLimits | None
    price_band: PriceBand | None
    settlement_lag_days: int
    market_protection_pct: float
    stp: str
    references: dict
    tiers: dict
    account_limits: dict
    accrued: dict  # the first session's, by instrument


@dataclass(frozen=True)
class Setup:
    cash: dict
    units: dict
    venues: tuple[VenueSetup, ...]


# A session's accrued interest per unit (paise): none, a realistic amount (B1's unit is worth
# about 10_000 paise, B2's 100_000), and amounts no purse here covers, up to the ledger's bound.
ACCRUED = _weighted(
    (3, st.just(0)),
    (4, st.integers(1, 3_000)),
    (1, st.integers(3_000, 200_000)),
    (1, st.sampled_from([10**9, 2**40, MAX_TOTAL // 3, MAX_TOTAL])),
)

BPS = ("0", "0.1", "0.25", "0.5", "1", "2.5", "7.37", "30")


@st.composite
def fee_schedules(draw) -> FeeSchedule:
    taker = Decimal(draw(st.sampled_from((*BPS[1:], "0")), label="taker bps"))
    # Rebates (negative maker fees) no larger than the taker fee.
    rebates = st.sampled_from([b for b in map(Decimal, BPS) if b <= taker]).map(lambda b: -b)
    maker = draw(st.one_of(rebates, st.sampled_from([Decimal("0.2"), Decimal("1.5")])))
    tiers = {t: draw(rebates) for t in Tier if draw(st.booleans())}
    tiers[Tier.GOLD] = -taker  # the largest rebate there is
    return FeeSchedule(maker_bps=maker, taker_bps=taker, tier_maker_bps=tiers)


# Mostly limits that bind now and then, sometimes ones that bind at once.
RISK_LIMITS = st.builds(
    RiskLimits,
    max_position=_weighted((2, st.integers(300, 3_000)), (1, st.none()), (1, st.integers(0, 60))),
    max_open_notional=_weighted(
        (2, st.integers(2_000_000, 50_000_000)), (1, st.none()), (1, st.integers(0, 300_000))
    ),
)
PRICE_BANDS = st.one_of(
    st.none(),
    st.builds(
        PriceBand,
        limit_pct=st.just(10.0),
        halt_pct=st.just(5.0),
        halt_ns=st.integers(50, 800),
    ),
    st.builds(
        PriceBand,
        limit_pct=st.just(3.0),
        halt_pct=st.sampled_from([1.5, 3.0]),
        halt_ns=st.integers(50, 800),
    ),
)


@st.composite
def venue_setups(draw, name: str) -> VenueSetup:
    return VenueSetup(
        name=name,
        fees=draw(fee_schedules()),
        limits=draw(_weighted((4, st.none()), (1, RISK_LIMITS)), label="default limits"),
        price_band=draw(PRICE_BANDS, label="band"),
        settlement_lag_days=draw(st.sampled_from([0, 1]), label="lag"),
        market_protection_pct=draw(st.sampled_from([5.0, 2.5]), label="protection"),
        stp=draw(st.sampled_from(["cancel-newest", "cancel-oldest", "cancel-both"]), label="stp"),
        references={
            "B1": draw(st.integers(-40, 40).map(lambda d: CENTRE["B1"] + d), label="ref B1"),
            "B2": draw(
                _weighted(
                    (1, st.none()), (3, st.integers(-20, 20).map(lambda d: CENTRE["B2"] + d))
                ),
                label="ref B2",
            ),
        },
        tiers={
            a: draw(_weighted((2, st.none()), (1, st.sampled_from([*Tier, "silver"]))))
            for a in ACCOUNTS
        },
        account_limits={a: draw(_weighted((3, st.none()), (1, RISK_LIMITS))) for a in ACCOUNTS},
        accrued={s: draw(ACCRUED, label=f"{s} accrued") for s in SYMBOLS},
    )


# Rich first: Hypothesis's simplest draws take the first choice.
CASH = _weighted(
    (3, st.just(10**10)),
    (2, st.integers(1_000_000, 50_000_000)),
    (1, st.integers(1, 60_000)),
    (1, st.just(0)),
)


@st.composite
def setups(draw) -> Setup:
    cash = {a: draw(CASH, label=f"cash {a}") for a in ACCOUNTS}
    units = {}
    for a in ACCOUNTS:
        held = {}
        for s in SYMBOLS:
            lots = draw(
                _weighted((4, st.integers(20, 200)), (1, st.integers(1, 4)), (1, st.just(0)))
            )
            if a == ACCOUNTS[0]:
                lots = max(lots, 1)  # both instruments exist in the ledger from the start
            if lots:
                held[s] = lots * LOT[s]
        units[a] = held
    venues = tuple(draw(venue_setups(name)) for name in VENUES)
    return Setup(cash, units, venues)


class World:
    """A ledger and two venues over it, built from a `Setup` with the given classes."""

    def __init__(self, ledger_cls, venue_cls, error, setup: Setup) -> None:
        self.error = error
        self.journal: list[tuple] = []
        self.ledger = ledger_cls(journal=lambda *entry: self.journal.append(entry))
        for a in ACCOUNTS:
            self.ledger.open_account(a, cash=setup.cash[a], units=setup.units[a])
        self.venues = []
        for v in setup.venues:
            venue = venue_cls(
                v.name,
                self.ledger,
                fees=v.fees,
                limits=v.limits,
                price_band=v.price_band,
                settlement_lag_days=v.settlement_lag_days,
                market_protection_pct=v.market_protection_pct,
                stp=v.stp,
                settlement_time=settlement_time,
            )
            for instrument in INSTRUMENTS:
                venue.list_instrument(instrument, v.references[instrument.symbol])
            for a in ACCOUNTS:
                venue.register(a, tier=v.tiers[a], limits=v.account_limits[a])
            assert venue.new_day(v.accrued) == []  # no buy rests yet
            self.venues.append(venue)
        self.fee_accounts = tuple(venue.fee_account for venue in self.venues)

    def snapshot(self) -> dict:
        """Everything the public API says about the world."""
        ledger = self.ledger
        snap: dict = {
            "known": tuple(a in ledger.accounts for a in ACCOUNTS + UNKNOWN_ACCOUNTS),
            "fee accounts": self.fee_accounts,
        }
        for a in ACCOUNTS + self.fee_accounts:
            acct = ledger.account(a)
            snap[f"account {a}"] = (
                acct.cash,
                acct.cash_locked,
                acct.pending_cash,
                acct.free_cash,
                tuple(
                    (
                        acct.units[s],
                        acct.units_locked[s],
                        acct.pending_units[s],
                        acct.free_units(s),
                        acct.position(s),
                    )
                    for s in SYMBOLS
                ),
            )
        snap["unsettled"] = tuple(tuple(s) for s in ledger.unsettled)
        snap["check"] = ledger.check().to_dict()
        snap["journal"] = tuple(self.journal)
        for venue in self.venues:
            snap[f"{venue.name} halted"] = venue.halted
            snap[f"{venue.name} open"] = sorted(venue.open_orders())
            for a in (*ACCOUNTS, 99):
                snap[f"{venue.name} open {a}"] = sorted(venue.open_orders(a))
            for s in SYMBOLS:
                ref, lot = venue.reference_price(s), LOT[s]
                snap[f"{venue.name} {s}"] = (
                    ref,
                    venue.halted_until(s),
                    venue.price_limits(s),
                    venue.buy_lock(s, lot),
                    venue.buy_lock(s, 7 * lot, CENTRE[s]),
                    venue.buy_lock(s, 3 * lot, (ref or CENTRE[s]) + 3),
                    venue.book(s).top(),
                )
        return snap


def _typed(value) -> str:
    """`value` spelled out with the type of every part (1, True, 1.0, Side.BUY and
    np.int64(1) all differ), dicts in key order."""
    if isinstance(value, dict):
        return "{" + ", ".join(sorted(f"{k!r}: {_typed(v)}" for k, v in value.items())) + "}"
    return repr(value)


def assert_same(got, want) -> None:
    assert got == want
    assert _typed(got) == _typed(want)


# --- what requests are made of ---------------------------------------------------------------


GOOD_ACCOUNTS = st.sampled_from(ACCOUNTS)
ANY_ACCOUNT = _weighted((6, GOOD_ACCOUNTS), (1, st.sampled_from([*UNKNOWN_ACCOUNTS, "1", None])))
ANY_SYMBOL = _weighted((8, st.sampled_from(SYMBOLS)), (1, st.sampled_from(["ZZ", "b1", None, 5])))
GOOD_SIDES = st.sampled_from([1, -1, "buy", "sell", Side.BUY, Side.SELL, "B", " Sell "])
ANY_SIDE = _weighted(
    (6, GOOD_SIDES),
    (1, st.sampled_from([np.int64(1), np.int8(-1), 0, 2, "hold", None, 1.0, True, -1.0])),
)
GOOD_CLIENTS = _weighted((5, st.just(0)), (2, st.sampled_from([1, 2])))
ANY_CLIENT = _weighted(
    (6, GOOD_CLIENTS),
    (1, st.sampled_from([7, MAX_CLIENT, np.int64(2), np.int32(0)])),
    (1, st.sampled_from([-1, MAX_CLIENT + 1, 1.5, "3", None, True])),
)
TIFS = st.sampled_from(["GTC"] * 5 + ["IOC", "IOC", "FOK", "FOK", "ioc", "gtc", "DAY", ["GTC"]])
POST_ONLY = st.sampled_from([False] * 8 + [True, True, np.bool_(True), 1, 2, "yes"])
CLOCK = _weighted((3, st.just(0)), (4, st.integers(1, 60)), (2, st.integers(100, 1_200)))
AMOUNTS = _weighted(
    (4, st.integers(1, 2_000_000)),
    (1, st.sampled_from([0, -5, 1.5, np.int64(100), True, "100", None, 10**12])),
)


def good_qtys(symbol):
    return st.integers(1, 12).map(lambda q: q * LOT.get(symbol, 1))


def any_qtys(symbol):
    lot = LOT.get(symbol, 1)
    bad = [0, -lot, lot + 2, np.int64(2 * lot), np.uint16(lot), float(lot), "5", None, True]
    huge = [(2**53 // lot) * lot, (INT64_MAX // lot) * lot, INT64_MAX, 2**63, 10**30]
    return _weighted((8, good_qtys(symbol)), (1, st.sampled_from(bad)), (1, st.sampled_from(huge)))


def near_prices(centre):
    return _weighted(
        (4, st.integers(-12, 12).map(lambda d: centre + d)),
        # far enough to leave a 3% or 10% band, or to trip a 1.5% or 5% breaker
        (
            1,
            st.sampled_from([-11, -9, -6, -4, -2, 2, 4, 6, 9, 11]).map(
                lambda p: centre + centre * p // 100
            ),
        ),
    )


def bad_prices(centre):
    """Not prices, NumPy integers (which are), and prices beyond any band or any purse."""
    bad = [0, -1, float(centre), str(centre), True, None, 2**40, 2**62, 2**63]
    return st.sampled_from([*bad, np.int64(centre), np.int32(centre + 1)])


def any_prices(centre):
    return _weighted((8, near_prices(centre)), (2, st.none()), (1, bad_prices(centre)))


VENUE_INDEX = st.sampled_from([0, 1])
# How often each operation is picked: one rule draws them, rather than a rule each, because
# Hypothesis's swarm testing would otherwise spend many runs on one or two kinds of operation.
OPERATIONS = {
    "rest": 5,
    "take": 4,
    "submit": 4,
    "modify": 3,
    "cancel": 2,
    "settle_due": 2,
    "jump": 1,
    "session": 1,
    "new_day": 1,
    "deposit": 1,
    "withdraw": 1,
    "transfer": 1,
}
OPERATION = st.sampled_from([name for name, weight in OPERATIONS.items() for _ in range(weight)])


class GatewayComparison(RuleBasedStateMachine):
    @initialize(setup=setups())
    def start(self, setup):
        self.now = 0
        self.engine = World(Ledger, Venue, LedgerError, setup)
        self.ref = World(ReferenceLedger, ReferenceVenue, ReferenceLedgerError, setup)

    @rule(data=st.data())
    def step(self, data):
        getattr(self, data.draw(OPERATION, label="operation"))(data)

    # --- helpers ---------------------------------------------------------------------------

    def on_venues(self, v: int, method: str, *args, **kwargs):
        """The same request to venue `v` of both worlds; the answers must be identical."""
        got = getattr(self.engine.venues[v], method)(*args, **kwargs)
        want = getattr(self.ref.venues[v], method)(*args, **kwargs)
        assert_same(got, want)
        return got

    def on_ledgers(self, method: str, *args) -> None:
        """The same ledger operation in both worlds: both refuse it, or both give the same."""
        results = []
        for world in (self.engine, self.ref):
            try:
                results.append(("done", getattr(world.ledger, method)(*args)))
            except world.error:
                results.append(("refused", None))
        assert_same(results[0], results[1])

    def centre(self, v: int, symbol) -> int:
        if symbol not in CENTRE:
            return 100
        return self.ref.venues[v].reference_price(symbol) or CENTRE[symbol]

    def tick(self, data) -> int:
        """The clock, moved on by a random step (often none)."""
        self.now += data.draw(CLOCK, label="dt")
        return self.now

    # --- orders ----------------------------------------------------------------------------

    def submit(self, data):
        """Anything at all, good or bad."""
        v = data.draw(VENUE_INDEX, label="venue")
        account = data.draw(ANY_ACCOUNT, label="account")
        symbol = data.draw(ANY_SYMBOL, label="symbol")
        centre = self.centre(v, symbol)
        side = data.draw(ANY_SIDE, label="side")
        qty = data.draw(any_qtys(symbol), label="qty")
        price = data.draw(any_prices(centre), label="price")
        tif = data.draw(TIFS, label="tif")
        options = dict(
            post_only=data.draw(POST_ONLY, label="post_only"),
            stop_price=data.draw(
                _weighted(
                    (6, st.none()),
                    (2, near_prices(centre)),
                    (1, st.sampled_from([0, -3, 1.5, np.int64(centre)])),
                ),
                label="stop_price",
            ),
            display_qty=data.draw(
                _weighted(
                    (6, st.none()),
                    (2, st.integers(0, 3).map(lambda d: d * LOT.get(symbol, 1))),
                    (1, st.sampled_from([-1, 3, "1", 1.0])),
                ),
                label="display_qty",
            ),
            client=data.draw(ANY_CLIENT, label="client"),
        )
        now = self.tick(data)
        self.on_venues(v, "submit", account, symbol, side, qty, price, tif, now=now, **options)

    def rest(self, data):
        """Plain limit orders, so that the books fill up: one, or a few on alternate sides."""
        v = data.draw(VENUE_INDEX, label="venue")
        symbol = data.draw(st.sampled_from(SYMBOLS), label="symbol")
        side = data.draw(GOOD_SIDES, label="side")
        client = data.draw(GOOD_CLIENTS, label="client")
        now = self.tick(data)
        for _ in range(data.draw(st.integers(1, 3), label="orders")):
            account = data.draw(GOOD_ACCOUNTS, label="account")
            qty = data.draw(good_qtys(symbol), label="qty")
            price = data.draw(near_prices(self.centre(v, symbol)), label="price")
            self.on_venues(v, "submit", account, symbol, side, qty, price, now=now, client=client)
            side = -Side.parse(side)

    def take(self, data):
        """An order that meets the other side: at market, or a limit through the touch."""
        v = data.draw(VENUE_INDEX, label="venue")
        account = data.draw(GOOD_ACCOUNTS, label="account")
        symbol = data.draw(st.sampled_from(SYMBOLS), label="symbol")
        side = data.draw(st.sampled_from([Side.BUY, Side.SELL]), label="side")
        bid, _, ask, _ = self.ref.venues[v].book(symbol).top()
        if (ask if side is Side.BUY else bid) is None:
            side = Side(-side)  # where the liquidity is, if anywhere
        touch = ask if side is Side.BUY else bid
        qty = data.draw(good_qtys(symbol), label="qty")
        if touch is None or data.draw(st.booleans(), label="market?"):
            price = None
        else:
            price = touch + side * data.draw(st.integers(0, 3), label="through")
        tif = data.draw(st.sampled_from(["GTC", "IOC", "FOK"]), label="tif")
        client = data.draw(GOOD_CLIENTS, label="client")
        now = self.tick(data)
        self.on_venues(v, "submit", account, symbol, side, qty, price, tif, now=now, client=client)

    def jump(self, data):
        """A trade far from the reference, which may trip the circuit breaker: an order rests
        some percent away and an IOC sweeps the book up to it."""
        v = data.draw(VENUE_INDEX, label="venue")
        symbol = data.draw(st.sampled_from(SYMBOLS), label="symbol")
        direction = data.draw(st.sampled_from([Side.BUY, Side.SELL]), label="direction")
        centre = self.centre(v, symbol)
        price = centre + direction * (centre * data.draw(st.sampled_from([2, 4, 6, 9])) // 100)
        maker = data.draw(GOOD_ACCOUNTS, label="maker")
        taker = data.draw(st.sampled_from([a for a in ACCOUNTS if a != maker]), label="taker")
        qty = data.draw(good_qtys(symbol), label="qty")
        now = self.tick(data)
        self.on_venues(v, "submit", maker, symbol, -direction, qty, price, now=now)
        bids, asks = self.ref.venues[v].book(symbol).depth(1_000)
        levels = asks if direction is Side.BUY else bids
        sweep = sum(q for p, q in levels if (p - price) * direction <= 0)
        if sweep:
            self.on_venues(v, "submit", taker, symbol, direction, sweep, price, "IOC", now=now)

    def pick_order(self, data, v):
        """(account, symbol, order id, open order): mostly the owner's own open order,
        sometimes another account's, the wrong instrument's, an id never issued or not an id
        at all."""
        orders = sorted(self.ref.venues[v].open_orders())
        kind = data.draw(
            st.sampled_from(["own"] * 6 + ["other", "symbol", "unknown", "bad", "bad_account"]),
            label="which",
        )
        if not orders or kind == "unknown":
            account = data.draw(ANY_ACCOUNT, label="account")
            symbol = data.draw(ANY_SYMBOL, label="symbol")
            oid = data.draw(st.sampled_from([0, -3, 10**6, 2**63]), label="id")
            return account, symbol, oid, None
        order = data.draw(st.sampled_from(orders), label="order")
        account, symbol, oid = order.account, order.instrument, order.order_id
        if kind == "bad_account":  # the owner's id, but not as an int64
            account = data.draw(st.sampled_from([str(account), account + 0.5, None, 2**64]))
        elif kind == "other":
            account = data.draw(st.sampled_from([a for a in ACCOUNTS if a != account]))
        elif kind == "symbol":
            symbol = data.draw(st.sampled_from([s for s in SYMBOLS if s != symbol] + ["ZZ"]))
        elif kind == "bad":
            oid = data.draw(st.sampled_from([np.int64(oid), str(oid), float(oid), None, True]))
        return account, symbol, oid, order

    def cancel(self, data):
        v = data.draw(VENUE_INDEX, label="venue")
        account, symbol, oid, _ = self.pick_order(data, v)
        now = self.tick(data)
        self.on_venues(v, "cancel", account, symbol, oid, now=now)

    def modify(self, data):
        """One or two modifications: new quantities (smaller, larger, much larger, bad) and
        prices (near, far, bad)."""
        v = data.draw(VENUE_INDEX, label="venue")
        now = self.tick(data)
        for _ in range(data.draw(st.integers(1, 2), label="modifications")):
            account, symbol, oid, order = self.pick_order(data, v)
            lot = LOT.get(symbol, 1)
            bad = [0, -lot, lot + 1, 1.0, "3", np.int64(3 * lot), 2**62]
            grown = st.integers(2, 60).map((order.qty if order else lot).__mul__)
            qty = data.draw(
                _weighted(
                    (3, good_qtys(symbol)), (2, st.none()), (1, grown), (1, st.sampled_from(bad))
                ),
                label="qty",
            )
            centre = self.centre(v, symbol)
            price = data.draw(
                _weighted((3, near_prices(centre)), (2, st.none()), (1, bad_prices(centre))),
                label="price",
            )
            self.on_venues(v, "modify", account, symbol, oid, qty, price, now=now)

    # --- the venues' days ------------------------------------------------------------------

    def session(self, data):
        """A venue-wide halt, its end, or a new day."""
        what = data.draw(st.sampled_from(["halt", "resume", "resume", "new day", "new day"]))
        if what == "new day":
            self.new_day(data)
            return
        v = data.draw(VENUE_INDEX, label="venue")
        for world in (self.engine, self.ref):
            getattr(world.venues[v], what)()

    def new_day(self, data):
        """A new day on one venue: references move to the last trades, and trades settle with
        the new session's accrued interest, which resting buys must lock too. Those whose
        accounts cannot cover it come back, and the simulation cancels them on their owners'
        behalf at once."""
        v = data.draw(VENUE_INDEX, label="venue")
        args = (self.new_accrued(data),)
        if args == (None,) and data.draw(st.booleans(), label="no argument?"):
            args = ()
        uncovered = self.engine.venues[v].new_day(*args)
        assert_same(uncovered, self.ref.venues[v].new_day(*args))
        self.same_world()  # the top-ups, before the cancels hide what was locked for the rest
        for account, symbol, order_id in uncovered:
            response = self.on_venues(v, "cancel", account, symbol, order_id, now=self.now)
            assert response.status is Status.CANCELLED

    def new_accrued(self, data) -> dict | None:
        """Accrued interest for a new session: None (0 for every instrument), or some
        instruments' (the others 0), sometimes with one the venue does not list."""
        if not data.draw(_weighted((1, st.just(False)), (4, st.just(True))), label="accrued?"):
            return None
        accrued = {}
        for s in SYMBOLS:
            if data.draw(st.booleans(), label=f"{s} named?"):
                accrued[s] = data.draw(ACCRUED, label=f"{s} accrued")
        if data.draw(_weighted((5, st.just(False)), (1, st.just(True))), label="unlisted?"):
            accrued["ZZ"] = data.draw(ACCRUED, label="ZZ accrued")
        return accrued

    # --- the ledger ------------------------------------------------------------------------

    def settle_due(self, data):
        """Time passes, sometimes to just before or exactly when a trade is due to settle or
        a circuit breaker's halt ends, and the trades due settle."""
        deadlines = {s.settle_at for s in self.ref.ledger.unsettled}
        deadlines |= {v.halted_until(s) for v in self.ref.venues for s in SYMBOLS}
        deadlines = sorted(t for t in deadlines if t > self.now)
        if deadlines and data.draw(st.booleans(), label="to a deadline?"):
            deadline = data.draw(st.sampled_from(deadlines), label="deadline")
            self.now = deadline - data.draw(st.sampled_from([0, 0, 1]), label="early by")
        else:
            self.tick(data)
        self.on_ledgers("settle_due", self.now)

    def ledger_account(self, data):
        fee_accounts = st.sampled_from(self.ref.fee_accounts)
        unknown = st.sampled_from(UNKNOWN_ACCOUNTS)
        return data.draw(_weighted((6, GOOD_ACCOUNTS), (1, fee_accounts), (1, unknown)))

    def deposit(self, data):
        account = self.ledger_account(data)
        self.on_ledgers("deposit", account, data.draw(AMOUNTS, label="amount"))

    def withdraw(self, data):
        account = self.ledger_account(data)
        amount = data.draw(AMOUNTS, label="amount")
        if account in self.ref.ledger.accounts and data.draw(st.booleans(), label="all?"):
            free = self.ref.ledger.account(account).free_cash
            amount = data.draw(st.sampled_from([free, free + 1]), label="all of it")
        self.on_ledgers("withdraw", account, amount)

    def transfer(self, data):
        source, target = self.ledger_account(data), self.ledger_account(data)
        what = data.draw(st.sampled_from(["cash", "units", "both"]), label="what")
        cash = 0 if what == "units" else data.draw(st.one_of(st.just(0), AMOUNTS), label="cash")
        instrument, qty = "", 0
        if what != "cash":
            instrument = data.draw(st.sampled_from(SYMBOLS), label="instrument")
            qty = data.draw(
                _weighted(
                    (4, st.integers(1, 30)),
                    (1, st.sampled_from([-1, 1.0, np.int64(2), True, 10**9])),
                ),
                label="units",
            )
        self.on_ledgers("transfer", source, target, cash, instrument, qty)

    # --- after every step ------------------------------------------------------------------

    @invariant()
    def same_world(self):
        if not hasattr(self, "engine"):
            return
        got, want = self.engine.snapshot(), self.ref.snapshot()
        assert want["check"]["ok"], want["check"]["problems"]
        assert_same(got, want)


GatewayComparison.TestCase.settings = STATEFUL
TestGatewayDifferential = GatewayComparison.TestCase
