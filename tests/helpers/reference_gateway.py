"""The venue gateway and ledger as they were in pure Python (commit 7fcf501), frozen, on
their own book and fee arithmetic.

`sim/venue.py` and `sim/ledger.py` as of that commit (now `sim.market.venue` and
`sim.market.ledger`), in one module with the classes renamed
(`ReferenceVenue`, `ReferenceLedger`, ...): the reference model of the differential tests
(tests/market/test_gateway_differential.py, test_gateway_kernels.py), which drive the engine's
`Venue` + `Ledger` and these with the same requests and demand identical answers and balances.
Do not "fix" or speed up anything here: its behaviour is the specification.

It shares no logic with the engine, so that a bug there shows as a difference:

- the books are `tests.helpers.reference_book.ReferenceBook`s, not `sim.market.book.OrderBook`s;
- fees are worked out here from the schedule's basis points (exact fractions, whole paise
  truncated toward zero), not by `sim.market.fees`;
- a tick's value in paise is worked out here from the instrument's tick size and face value;
- sides and integers are parsed here.

One addition since that commit, written here on its own: accrued interest. Bonds trade at a
clean price and the buyer pays the seller `qty * accrued` paise on top, at the per-unit rate
`new_day` set for the session; fees stay on the clean notional, and a buy's cash lock covers
the interest too. A buy still resting when a session with more interest opens is topped up to
its new worst case from its account's free cash, and `new_day` returns those the account
cannot cover, for the caller to cancel.

From `sim.market` it takes only value types: the `Side`, `Status` and `Reason` enums and the
`Cancel`, `Trade`, `Response` and `OpenOrder` records its answers are made of (compared with the
engine's, types included). The `Instrument`, `FeeSchedule`, `PriceBand` and `RiskLimits` it is
given may be `sim.market`'s: it only reads their attributes.
"""

from __future__ import annotations

import functools
import operator
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from sim.market.messages import OpenOrder, Response, Trade
from sim.market.orders import Cancel, Reason, Side, Status
from tests.helpers.reference_book import ReferenceBook, RefOutcome

__all__ = [
    "ReferenceAccount",
    "ReferenceConservationReport",
    "ReferenceLedger",
    "ReferenceLedgerError",
    "ReferencePriceBand",
    "ReferenceRiskLimits",
    "ReferenceSettlement",
    "ReferenceVenue",
    "reference_fee",
]

INT64_MAX = 2**63 - 1


def as_int64(value: object) -> int | None:
    """A Python int from an int or NumPy integer within +-(2**63 - 1); None for anything else,
    bools included."""
    if isinstance(value, bool):
        return None
    try:
        number = operator.index(value)  # ints and NumPy integers only: 1.0 is not one
    except TypeError:
        return None
    return number if -INT64_MAX <= number <= INT64_MAX else None


_SIDE_WORDS = {"buy": Side.BUY, "b": Side.BUY, "sell": Side.SELL, "s": Side.SELL}


def parse_side(value: object) -> Side | None:
    """'buy'/'sell'/'b'/'s' in any case and with spaces around, +1/-1 as an int or NumPy integer
    (not a bool, not a float); None for anything else."""
    if isinstance(value, str):
        return _SIDE_WORDS.get(value.strip().lower())
    number = as_int64(value)
    return {1: Side.BUY, -1: Side.SELL}.get(number)


# --- fees -----------------------------------------------------------------------------------

_TIERS = ("bronze", "silver", "gold", "platinum")
# A venue given no schedule: makers pay 0 bp, takers 1 bp; the tiers' makers earn rebates.
_DEFAULT_BPS = {
    "maker": Fraction(0),
    "taker": Fraction(1),
    "bronze": Fraction(0),
    "silver": Fraction("-0.1"),
    "gold": Fraction("-0.2"),
    "platinum": Fraction("-0.3"),
}


def reference_fee(notional: int, bps: Fraction) -> int:
    """The fee on `notional` paise at `bps` basis points: notional * bps / 10_000, as whole paise
    truncated toward zero (a rebate, bps < 0, is truncated toward zero too)."""
    return int(Fraction(notional) * bps / 10_000)  # int() of a Fraction truncates toward zero


def _tier_name(tier: object) -> str | None:
    """A market-maker tier's name ('bronze', ...), from the tier enum or its name; None for
    no tier."""
    if tier is None:
        return None
    name = getattr(tier, "value", tier)
    if name not in _TIERS:
        raise ValueError(f"{tier!r} is not a valid Tier")
    return name


class _FeeRates:
    """A fee schedule's rates in basis points, as exact fractions, read from its attributes
    (`maker_bps`, `taker_bps`, `tier_maker_bps`); None stands for the default schedule."""

    def __init__(self, schedule) -> None:
        if schedule is None:
            self.bps = dict(_DEFAULT_BPS)
        else:
            self.bps = {
                "maker": Fraction(str(schedule.maker_bps)),
                "taker": Fraction(str(schedule.taker_bps)),
            }
            for tier, bps in schedule.tier_maker_bps.items():
                self.bps[_tier_name(tier)] = Fraction(str(bps))
        # The largest fee any side of any trade can pay: what a buy's cash lock must cover.
        self.max_bps = max(self.bps.values())

    def rate(self, maker: bool, tier: str | None) -> Fraction:
        """A taker pays the taker rate; a maker its tier's rate if the schedule has one, else
        the plain maker rate."""
        if not maker:
            return self.bps["taker"]
        return self.bps.get(tier, self.bps["maker"])


# --- the book's answers, in the engine's value types -----------------------------------------


class _BookOutcome(NamedTuple):
    order_id: int
    status: Status
    reason: Reason
    fills: tuple  # (maker id, taker id, maker owner, taker owner, price, qty)
    filled_qty: int
    cancelled: tuple[Cancel, ...]

    @property
    def ok(self) -> bool:
        return self.status is not Status.REJECTED


def _answer(out: RefOutcome) -> _BookOutcome:
    """The reference book's outcome (statuses and reasons spelled as strings) as enums."""
    return _BookOutcome(
        out.order_id,
        Status[out.status.upper()],
        Reason[out.reason.upper()],
        tuple(out.fills),
        out.filled_qty,
        tuple(Cancel(oid, qty, Reason[why.upper()]) for oid, qty, why in out.cancelled),
    )


# --- the ledger (sim/market/ledger.py) ------------------------------------------------------------

# NamedTuple's generated __new__ is slow for the hot path; this builds the same tuple.
_new_settlement = tuple.__new__


class ReferenceLedgerError(ValueError):
    """A ledger operation that would break an account's invariants."""


@dataclass
class ReferenceAccount:
    account_id: int
    cash: int = 0  # settled cash, paise
    cash_locked: int = 0  # reserved for open orders or owed to unsettled trades
    units: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    units_locked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # What unsettled trades will bring (positive) or take (negative).
    pending_cash: int = 0
    pending_units: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def free_cash(self) -> int:
        return self.cash - self.cash_locked

    def free_units(self, instrument: str) -> int:
        return self.units[instrument] - self.units_locked[instrument]

    def position(self, instrument: str) -> int:
        """Units owned once every pending trade has settled."""
        return self.units[instrument] + self.pending_units[instrument]


class ReferenceSettlement(NamedTuple):
    """One trade's obligations: the buyer pays, the seller delivers, the venue collects fees."""

    trade_id: int
    settle_at: int  # ns
    instrument: str
    buyer: int
    seller: int
    qty: int
    notional: int  # paise
    buyer_fee: int  # paise, negative for a rebate
    seller_fee: int
    fee_account: int
    accrued: int = 0  # paise of interest, the whole trade's, on top of the notional

    @property
    def buyer_pays(self) -> int:
        return self.notional + self.accrued + self.buyer_fee

    @property
    def seller_receives(self) -> int:
        return self.notional + self.accrued - self.seller_fee


@dataclass(frozen=True)
class ReferenceConservationReport:
    ok: bool
    cash_total: int
    cash_expected: int
    units_total: dict[str, int]
    units_expected: dict[str, int]
    unsettled_trades: int
    problems: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "cash_total_paise": self.cash_total,
            "cash_expected_paise": self.cash_expected,
            "units_total": dict(self.units_total),
            "units_expected": dict(self.units_expected),
            "unsettled_trades": self.unsettled_trades,
            "problems": list(self.problems),
        }


class ReferenceLedger:
    """All accounts of a run. Amounts are ints (paise, units); anything else is refused."""

    def __init__(self, journal: Callable | None = None) -> None:
        """`journal(kind, source, target, cash, instrument, qty)`, if given, hears of every
        movement that is not a trade: deposits, withdrawals, issues and transfers."""
        self.accounts: dict[int, ReferenceAccount] = {}
        self.journal = journal
        self._pending: list[ReferenceSettlement] = []
        self._next_trade_id = 1
        self._external_cash = 0
        self._external_units: dict[str, int] = defaultdict(int)

    # --- accounts and money from outside -------------------------------------------------

    def open_account(self, account_id: int, cash: int = 0, units: dict[str, int] | None = None):
        if account_id in self.accounts:
            raise ReferenceLedgerError(f"account {account_id} already exists")
        # Validate everything first, so that a refused opening leaves no account behind.
        if cash:
            _check_amount("deposit", cash)
        for qty in (units or {}).values():
            _check_amount("unit issue", qty)
        self.accounts[account_id] = ReferenceAccount(account_id)
        if cash:
            self.deposit(account_id, cash)
        for instrument, qty in (units or {}).items():
            self.issue_units(account_id, instrument, qty)
        return self.accounts[account_id]

    def account(self, account_id: int) -> ReferenceAccount:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise ReferenceLedgerError(f"no account {account_id}") from None

    def deposit(self, account_id: int, amount: int) -> None:
        """Cash from outside the system (a SIP contribution, an initial endowment)."""
        _check_amount("deposit", amount)
        self.account(account_id).cash += amount
        self._external_cash += amount
        self._note("deposit", None, account_id, amount, None, 0)

    def withdraw(self, account_id: int, amount: int) -> None:
        _check_amount("withdrawal", amount)
        acct = self.account(account_id)
        if amount > acct.free_cash:
            raise ReferenceLedgerError(
                f"account {account_id}: withdrawal of {amount} paise exceeds free cash "
                f"{acct.free_cash}"
            )
        acct.cash -= amount
        self._external_cash -= amount
        self._note("withdrawal", account_id, None, amount, None, 0)

    def issue_units(self, account_id: int, instrument: str, qty: int) -> None:
        """Units from outside the system (an allotment, an initial holding)."""
        _check_amount("unit issue", qty)
        self.account(account_id).units[instrument] += qty
        self._external_units[instrument] += qty
        self._note("issue", None, account_id, 0, instrument, qty)

    def transfer(
        self, source: int, target: int, cash: int = 0, instrument: str = "", qty: int = 0
    ) -> None:
        """An immediate bilateral exchange off the book (e.g. a buffer buying an early exit):
        `source` pays `cash` to `target`, and `target` delivers `qty` of `instrument` to
        `source`."""
        _check_amount("transfer cash", cash, allow_zero=True)
        _check_amount("transfer units", qty, allow_zero=True)
        payer, payee = self.account(source), self.account(target)
        if cash > payer.free_cash:
            raise ReferenceLedgerError(f"account {source}: transfer of {cash} exceeds free cash")
        if qty and qty > payee.free_units(instrument):
            raise ReferenceLedgerError(
                f"account {target}: delivery of {qty} {instrument} exceeds free units"
            )
        payer.cash -= cash
        payee.cash += cash
        if qty:
            payee.units[instrument] -= qty
            payer.units[instrument] += qty
        self._note("transfer", source, target, cash, instrument or None, qty)

    def _note(self, kind, source, target, cash, instrument, qty) -> None:
        if self.journal is not None:
            self.journal(kind, source, target, cash, instrument, qty)

    # --- reservations --------------------------------------------------------------------

    def lock_cash(self, account_id: int, amount: int) -> None:
        _check_amount("cash lock", amount, allow_zero=True)
        acct = self.account(account_id)
        if amount > acct.free_cash:
            raise ReferenceLedgerError(
                f"account {account_id}: needs {amount} paise, has {acct.free_cash}"
            )
        acct.cash_locked += amount

    def unlock_cash(self, account_id: int, amount: int) -> None:
        _check_amount("cash unlock", amount, allow_zero=True)
        acct = self.account(account_id)
        if amount > acct.cash_locked:
            raise ReferenceLedgerError(
                f"account {account_id}: unlocks {amount}, only {acct.cash_locked}"
            )
        acct.cash_locked -= amount

    def lock_units(self, account_id: int, instrument: str, qty: int) -> None:
        _check_amount("unit lock", qty, allow_zero=True)
        acct = self.account(account_id)
        if qty > acct.free_units(instrument):
            raise ReferenceLedgerError(
                f"account {account_id}: needs {qty} {instrument}, has {acct.free_units(instrument)}"
            )
        acct.units_locked[instrument] += qty

    def unlock_units(self, account_id: int, instrument: str, qty: int) -> None:
        _check_amount("unit unlock", qty, allow_zero=True)
        acct = self.account(account_id)
        if qty > acct.units_locked[instrument]:
            raise ReferenceLedgerError(
                f"account {account_id}: unlocks {qty} {instrument}, too many"
            )
        acct.units_locked[instrument] -= qty

    # --- trades and settlement -----------------------------------------------------------

    def book_trade(
        self,
        *,
        instrument: str,
        buyer: int,
        seller: int,
        qty: int,
        notional: int,
        buyer_fee: int,
        seller_fee: int,
        fee_account: int,
        settle_at: int,
        now: int,
        accrued: int = 0,
    ) -> ReferenceSettlement:
        """Record a trade whose cash (buyer) and units (seller) are already locked: the buyer
        pays the seller `accrued` paise of interest on top of the (clean) `notional`.

        The locks stay until settlement; with `settle_at <= now` it settles at once.
        """
        _check_amount("quantity", qty)
        _check_amount("notional", notional)
        _check_amount("accrued interest", accrued, allow_zero=True)
        if notional < seller_fee:
            raise ReferenceLedgerError(f"seller fee {seller_fee} exceeds the notional {notional}")
        record = _new_settlement(
            ReferenceSettlement,
            (self._next_trade_id, settle_at, instrument, buyer, seller, qty, notional,
             buyer_fee, seller_fee, fee_account, accrued),
        )  # fmt: skip
        self._next_trade_id += 1
        buy, sell = self.account(buyer), self.account(seller)
        self.account(fee_account)
        pays, receives = notional + accrued + buyer_fee, notional + accrued - seller_fee
        buy.pending_cash -= pays
        buy.pending_units[instrument] += qty
        sell.pending_cash += receives
        sell.pending_units[instrument] -= qty
        if settle_at <= now:
            self._settle(record)  # T+0: no need to queue it
        else:
            self._pending.append(record)
        return record

    def settle_due(self, now: int) -> int:
        """Settle, in booking order, every trade due by `now`. Returns how many settled."""
        due = [s for s in self._pending if s.settle_at <= now]
        if not due:
            return 0
        self._pending = [s for s in self._pending if s.settle_at > now]
        for s in due:
            self._settle(s)
        return len(due)

    def _settle(self, s: ReferenceSettlement) -> None:
        """Cash to the seller, units to the buyer and fees to the venue: the pending amounts
        and the locks they stood in for are released."""
        (_, _, instrument, buyer, seller, qty, notional, buyer_fee, seller_fee, fee_account,
         accrued) = s  # fmt: skip
        pays, receives = notional + accrued + buyer_fee, notional + accrued - seller_fee
        buy, sell = self.accounts[buyer], self.accounts[seller]
        buy.cash -= pays
        buy.cash_locked -= pays
        buy.pending_cash += pays
        buy.units[instrument] += qty
        buy.pending_units[instrument] -= qty
        sell.units[instrument] -= qty
        sell.units_locked[instrument] -= qty
        sell.pending_units[instrument] += qty
        sell.cash += receives
        sell.pending_cash -= receives
        self.accounts[fee_account].cash += buyer_fee + seller_fee

    @property
    def unsettled(self) -> tuple[ReferenceSettlement, ...]:
        return tuple(self._pending)

    # --- the end-of-run proof ------------------------------------------------------------

    def check(self) -> ReferenceConservationReport:
        """Conservation of cash and units, and every account's invariants."""
        problems = []
        cash_total = sum(a.cash for a in self.accounts.values())
        if cash_total != self._external_cash:
            problems.append(f"cash total {cash_total} != deposits net {self._external_cash}")
        units_total: dict[str, int] = defaultdict(int)
        for acct in self.accounts.values():
            for instrument, qty in acct.units.items():
                units_total[instrument] += qty
        for instrument in set(units_total) | set(self._external_units):
            if units_total[instrument] != self._external_units[instrument]:
                problems.append(
                    f"{instrument}: {units_total[instrument]} units held, "
                    f"{self._external_units[instrument]} issued"
                )
        owed_cash: dict[int, int] = defaultdict(int)
        owed_units: dict[tuple[int, str], int] = defaultdict(int)
        for s in self._pending:
            owed_cash[s.buyer] += s.buyer_pays
            owed_units[s.seller, s.instrument] += s.qty
        for acct in self.accounts.values():
            who = f"account {acct.account_id}"
            if acct.cash < 0:
                problems.append(f"{who}: negative cash {acct.cash}")
            if not 0 <= acct.cash_locked <= max(acct.cash, 0):
                problems.append(f"{who}: locked cash {acct.cash_locked} outside [0, {acct.cash}]")
            if acct.cash_locked < owed_cash[acct.account_id]:
                problems.append(f"{who}: locked cash below what unsettled trades owe")
            for instrument, qty in acct.units.items():
                locked = acct.units_locked[instrument]
                if qty < 0 or not 0 <= locked <= qty:
                    problems.append(f"{who}: {instrument} units {qty}, locked {locked}")
                if locked < owed_units[acct.account_id, instrument]:
                    problems.append(f"{who}: locked {instrument} below what trades owe")
        return ReferenceConservationReport(
            ok=not problems,
            cash_total=cash_total,
            cash_expected=self._external_cash,
            units_total=dict(units_total),
            units_expected=dict(self._external_units),
            unsettled_trades=len(self._pending),
            problems=tuple(problems),
        )


def _check_amount(what: str, amount: object, allow_zero: bool = False) -> None:
    if type(amount) is not int or amount < 0 or (amount == 0 and not allow_zero):
        raise ReferenceLedgerError(
            f"{what} must be a {'non-negative' if allow_zero else 'positive'} "
            f"whole number of paise/units, got {amount!r}"
        )


# --- the venue gateway (sim/market/venue.py) ----------------------------------------------------

NS_PER_DAY = 86_400 * 10**9
_OPEN = (Status.ACCEPTED, Status.PARTIALLY_FILLED)
_INT_SIDES = {1: Side.BUY, -1: Side.SELL}
# NamedTuple's generated __new__ is slow for the hot path; these build the same tuples.
_new_response = _new_trade = _new_open_order = tuple.__new__
MAX_CLIENT = 2**31 - 1
_CLIENT_SHIFT = 32  # owner key of client c > 0 in the book: account + c * 2**32


@dataclass(frozen=True)
class ReferencePriceBand:
    """Orders priced more than `limit_pct` from the reference price are rejected; a trade
    more than `halt_pct` away halts the instrument for `halt_ns`, after which trading resumes
    around the halting price."""

    limit_pct: float = 10.0
    halt_pct: float = 5.0
    halt_ns: int = 15 * 60 * 10**9

    def __post_init__(self) -> None:
        if not 0 < self.halt_pct <= self.limit_pct < 100:
            raise ValueError(
                f"price band needs 0 < halt_pct <= limit_pct < 100, got halt_pct="
                f"{self.halt_pct}, limit_pct={self.limit_pct}"
            )
        if type(self.halt_ns) is not int or self.halt_ns <= 0:
            raise ValueError(f"halt_ns must be a positive integer, got {self.halt_ns!r}")


@dataclass(frozen=True)
class ReferenceRiskLimits:
    """Per-account pre-trade limits (None: no limit).

    max_position : |units held (settled or pending) + this order + the account's other open
        orders on the same side| per instrument: the position if every one of them filled.
    max_open_notional : paise of notional in the account's open orders on this venue,
        this order included.
    """

    max_position: int | None = None
    max_open_notional: int | None = None


@dataclass(slots=True)
class _OpenOrder:
    account: int
    side: Side
    limit: int  # ticks; the protection price for market and stop orders
    qty: int  # open quantity
    cash_locked: int
    units_locked: int
    client: int = 0


def _paise_per_tick(instrument) -> int:
    """What one tick of price is worth on one unit: a tick is `tick_size` rupees per 100 rupees
    of face, so on a unit of `unit_face_value` rupees it is tick_size * face / 100 rupees,
    that is tick_size * face paise."""
    paise = Decimal(str(instrument.tick_size)) * instrument.unit_face_value
    if paise != paise.to_integral_value():
        raise ValueError(f"{instrument.symbol}: a tick is {paise} paise a unit, not whole paise")
    return int(paise)


@dataclass
class _Listing:
    instrument: object  # read for its symbol and lot size
    tick_value: int  # paise per tick per unit
    book: ReferenceBook
    reference: int | None  # ticks
    halted_until: int = 0
    open: dict[int, _OpenOrder] = field(default_factory=dict)
    accrued: int = 0  # paise of interest per unit that the session's trades settle with


class ReferenceVenue:
    """One venue's gateway and books over a shared ledger.

    `settlement_time(now, lag_days)` maps a trade time to its settlement time; the simulator
    passes its trading calendar's. The default adds whole calendar days.
    """

    def __init__(
        self,
        name: str,
        ledger: ReferenceLedger,
        fees=None,
        limits: ReferenceRiskLimits | None = None,
        price_band: ReferencePriceBand | None = None,
        settlement_lag_days: int = 0,
        market_protection_pct: float = 5.0,
        fee_account: int | None = None,
        stp: str = "cancel-newest",
        settlement_time=None,
    ) -> None:
        if type(settlement_lag_days) is not int or not 0 <= settlement_lag_days <= 5:
            raise ValueError(f"settlement_lag_days must be 0..5, got {settlement_lag_days!r}")
        if not 0 < market_protection_pct < 100:
            raise ValueError(
                f"market_protection_pct must be in (0, 100), got {market_protection_pct}"
            )
        self.name = name
        self.ledger = ledger
        self._fee_rates = _FeeRates(fees)
        self.default_limits = limits or ReferenceRiskLimits()
        self.price_band = price_band
        self.settlement_lag_days = settlement_lag_days
        self.market_protection_pct = market_protection_pct
        self.stp = stp
        # Negative, so that it never clashes with an agent's account, and stable across runs.
        self.fee_account = -1 - zlib.crc32(name.encode()) if fee_account is None else fee_account
        if self.fee_account not in ledger.accounts:
            ledger.open_account(self.fee_account)
        self._settlement_time = settlement_time or (lambda now, lag: now + lag * NS_PER_DAY)
        self._listings: dict[str, _Listing] = {}
        # The same open orders by account, for the per-account limits and views.
        self._open_by_account: dict[int, dict[tuple[str, int], _OpenOrder]] = {}
        self._tiers: dict[int, str | None] = {}
        self._rates: dict[int, tuple[Fraction, Fraction]] = {}  # bps
        self._limits: dict[int, ReferenceRiskLimits] = {}
        self.halted = False

    # --- set-up --------------------------------------------------------------------------

    def list_instrument(self, instrument, reference_price: int | None = None) -> None:
        """List a bond; `reference_price` (ticks) anchors its price band until the first trade."""
        if instrument.symbol in self._listings:
            raise ValueError(f"{self.name}: {instrument.symbol} is already listed")
        book = ReferenceBook(lot=instrument.lot_size, stp=self.stp)
        self._listings[instrument.symbol] = _Listing(
            instrument, _paise_per_tick(instrument), book, reference_price
        )

    def register(self, account: int, tier=None, limits: ReferenceRiskLimits | None = None) -> None:
        """Admit a ledger account to trade here, optionally as a market maker of a tier."""
        self.ledger.account(account)
        self._tiers[account] = tier = _tier_name(tier)
        # (maker, taker) fee rates, looked up for both sides of every fill
        rates = self._fee_rates
        self._rates[account] = (rates.rate(True, tier), rates.rate(False, tier))
        if limits is not None:
            self._limits[account] = limits

    def instrument(self, symbol: str):
        return self._listings[symbol].instrument

    def book(self, symbol: str) -> ReferenceBook:
        return self._listings[symbol].book

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._listings)

    def open_orders(self, account: int | None = None) -> list[OpenOrder]:
        """The venue's open orders (optionally one account's) with what each holds locked."""
        if account is None:
            orders = [((s, i), o) for s, lst in self._listings.items() for i, o in lst.open.items()]
        else:
            orders = self._open_by_account.get(account, {}).items()
        fields = (
            (
                symbol,
                oid,
                o.account,
                o.side,
                o.limit,
                o.qty,
                o.cash_locked,
                o.units_locked,
                o.client,
            )
            for (symbol, oid), o in orders
        )
        return [_new_open_order(OpenOrder, row) for row in fields]

    def reference_price(self, symbol: str) -> int | None:
        return self._listings[symbol].reference

    def price_limits(self, symbol: str) -> tuple[int, int] | None:
        """The lowest and highest prices (ticks) orders may carry now: public information, as
        exchanges publish their bands. None when the instrument has no band."""
        if self.price_band is None:
            return None
        return self._band(self._listings[symbol], self.price_band.limit_pct)

    def buy_lock(self, symbol: str, qty: int, price: int | None = None) -> int | None:
        """Paise a buy of `qty` at `price` (None: a market order) would lock if it arrived
        now: the notional at its worst price plus the largest fee. Public rules on public
        prices (the band, the last trade), so a broker can hold the same for its client.
        None when a market order has no reference price to be protected against."""
        listing = self._listings[symbol]
        limit, _, _ = self._protected(listing, Side.BUY, price, "GTC", None)
        return None if limit is None else self._cash_needed(listing, qty, limit)

    def halted_until(self, symbol: str) -> int:
        """Time (ns) until which the instrument's circuit breaker halts it; 0 if never."""
        return self._listings[symbol].halted_until

    def halt(self) -> None:
        """Venue-wide halt: new orders and modifications are refused, cancels still work."""
        self.halted = True

    def resume(self) -> None:
        self.halted = False

    def new_day(self, accrued: dict[str, int] | None = None) -> list[tuple[int, str, int]]:
        """Start a session: each instrument's reference becomes its last trade price, and its
        trades settle with `accrued[symbol]` paise of interest per unit (0 if not named).

        Each resting buy (instrument by instrument in listing order, then by order id) then
        locks what it needs at the new interest, from its account's free cash. Returns
        (account, symbol, order id) for each one whose account has too little, which is left
        as it was: the caller cancels it."""
        accrued = accrued or {}
        for symbol in self._listings:
            interest = accrued.get(symbol, 0)
            # Python ints up to the ledger's bound on totals (2**62), bools and NumPy excluded
            if type(interest) is not int or not 0 <= interest <= 2**62:
                raise ValueError(f"{self.name}: {symbol}: accrued interest {interest!r} paise")
        for symbol, listing in self._listings.items():
            listing.reference = listing.book.last_price or listing.reference
            listing.accrued = accrued.get(symbol, 0)
        uncovered = []
        for symbol, listing in self._listings.items():
            for order_id in sorted(listing.open):
                order = listing.open[order_id]
                if order.side is not Side.BUY:
                    continue
                more = self._cash_needed(listing, order.qty, order.limit) - order.cash_locked
                if more <= 0:  # less interest than before: it keeps what it holds
                    continue
                try:
                    self.ledger.lock_cash(order.account, more)
                except ReferenceLedgerError:
                    uncovered.append((order.account, symbol, order_id))
                    continue
                order.cash_locked += more
        return uncovered

    # --- requests ------------------------------------------------------------------------

    def submit(
        self,
        account: int,
        symbol: str,
        side: Side | str | int,
        qty: int,
        price: int | None = None,
        tif: str = "GTC",
        post_only: bool = False,
        stop_price: int | None = None,
        display_qty: int | None = None,
        now: int = 0,
        client: int = 0,
    ) -> Response:
        """A new order through the gateway, for one of the account's clients (0: the account
        itself); never raises for a bad request."""
        listing = self._listings.get(symbol) if isinstance(symbol, str) else None
        code = client if type(client) is int and 0 <= client <= MAX_CLIENT else _client(client)
        if listing is None:
            return _refused(symbol, Reason.UNKNOWN_INSTRUMENT, client=code or 0)
        if account not in self._tiers:
            return _refused(symbol, Reason.UNKNOWN_ACCOUNT, client=code or 0)
        owner = _owner_key(account, code)
        if owner is None:
            return _refused(symbol, Reason.BAD_CLIENT, client=code or 0)
        if self.halted:
            return _refused(symbol, Reason.VENUE_HALTED, client=code)
        if listing.halted_until:
            self._resume_if_due(listing, now)
        # Plain ints, as agents send them, skip the general parsing.
        parsed_side = _INT_SIDES.get(side) if type(side) is int else parse_side(side)
        if parsed_side is None:
            return _refused(symbol, Reason.BAD_SIDE, client=code)
        qty = _positive_int(qty)
        if qty is None or qty % listing.instrument.lot_size:
            return _refused(symbol, Reason.BAD_QUANTITY, client=code)
        if price is not None and (price := _positive_int(price)) is None:
            return _refused(symbol, Reason.BAD_PRICE, client=code)
        if stop_price is not None and (stop_price := _positive_int(stop_price)) is None:
            return _refused(symbol, Reason.BAD_STOP_PRICE, client=code)
        if listing.book.halted:
            return _refused(symbol, Reason.HALTED, client=code)
        if price is not None and not self._inside_band(listing, price):
            return _refused(symbol, Reason.PRICE_BAND, client=code)
        if price is not None:
            limit, book_price, book_tif = price, price, tif
        else:
            limit, book_price, book_tif = self._protected(
                listing, parsed_side, price, tif, stop_price
            )
            if limit is None:
                return _refused(symbol, Reason.NO_REFERENCE_PRICE, client=code)
        limits = self._limits.get(account, self.default_limits)
        if limits.max_position is not None or limits.max_open_notional is not None:
            reason = self._check_limits(limits, listing, account, parsed_side, qty, limit)
            if reason is not Reason.NONE:
                return _refused(symbol, reason, client=code)
        cash, units = 0, 0
        try:
            if parsed_side is Side.BUY:
                cash = self._cash_needed(listing, qty, limit)
                self.ledger.lock_cash(account, cash)
            else:
                units = qty
                self.ledger.lock_units(account, symbol, units)
        except ReferenceLedgerError:
            reason = (
                Reason.INSUFFICIENT_CASH if parsed_side is Side.BUY else Reason.INSUFFICIENT_UNITS
            )
            return _refused(symbol, reason, client=code)
        out = _answer(
            listing.book.submit(
                owner, parsed_side, qty, book_price, book_tif, post_only, stop_price, display_qty
            )
        )
        if out.status is not Status.REJECTED:
            order = _OpenOrder(account, parsed_side, limit, qty, cash, units, code)
            listing.open[out.order_id] = order
            self._open_by_account.setdefault(account, {})[symbol, out.order_id] = order
        elif cash or units:
            self._unlock(account, symbol, cash, units)
        return self._settle_outcome(listing, out, now, code)

    def cancel(self, account: int, symbol: str, order_id: int, now: int = 0) -> Response:
        """Cancel one of the account's open orders, whichever its client (allowed during
        halts)."""
        listing = self._listings.get(symbol) if isinstance(symbol, str) else None
        if listing is None:
            return _refused(symbol, Reason.UNKNOWN_INSTRUMENT)
        order = listing.open.get(order_id) if type(order_id) is int else None
        if order is None or order.account != account:
            return Response(symbol, order_id, Status.REJECTED, Reason.UNKNOWN_ORDER)
        return self._settle_outcome(
            listing, _answer(listing.book.cancel(order_id)), now, order.client
        )

    def modify(
        self,
        account: int,
        symbol: str,
        order_id: int,
        qty: int | None = None,
        price: int | None = None,
        now: int = 0,
    ) -> Response:
        """Change an open order's quantity and/or price, with the same checks as a new one."""
        listing = self._listings.get(symbol) if isinstance(symbol, str) else None
        if listing is None:
            return _refused(symbol, Reason.UNKNOWN_INSTRUMENT)
        order = listing.open.get(order_id) if type(order_id) is int else None
        if order is None or order.account != account:
            return Response(symbol, order_id, Status.REJECTED, Reason.UNKNOWN_ORDER)
        client = order.client
        if self.halted:
            return _refused(symbol, Reason.VENUE_HALTED, order_id, client)
        if listing.halted_until:
            self._resume_if_due(listing, now)
        if qty is not None and (qty := _positive_int(qty)) is None:
            return _refused(symbol, Reason.BAD_QUANTITY, order_id, client)
        if price is not None and (price := _positive_int(price)) is None:
            return _refused(symbol, Reason.BAD_PRICE, order_id, client)
        new_limit = order.limit if price is None else price
        new_qty = order.qty if qty is None else qty
        if price is not None and not self._inside_band(listing, price):
            return _refused(symbol, Reason.PRICE_BAND, order_id, client)
        limits = self._limits.get(account, self.default_limits)
        if limits.max_position is not None or limits.max_open_notional is not None:
            reason = self._check_limits(
                limits, listing, account, order.side, new_qty, new_limit, replacing=order
            )
            if reason is not Reason.NONE:
                return _refused(symbol, reason, order_id, client)
        # Lock for the order as modified before the book sees it; give back the excess after.
        cash, units = 0, 0
        try:
            if order.side is Side.BUY:
                cash = max(self._cash_needed(listing, new_qty, new_limit) - order.cash_locked, 0)
                self.ledger.lock_cash(account, cash)
            else:
                units = max(new_qty - order.units_locked, 0)
                self.ledger.lock_units(account, symbol, units)
        except ReferenceLedgerError:
            reason = (
                Reason.INSUFFICIENT_CASH if order.side is Side.BUY else Reason.INSUFFICIENT_UNITS
            )
            return _refused(symbol, reason, order_id, client)
        out = _answer(listing.book.modify(order_id, qty, price))
        if not out.ok:
            self._unlock(account, symbol, cash, units)
            return Response(symbol, order_id, out.status, out.reason, client=order.client)
        order.cash_locked += cash
        order.units_locked += units
        order.limit, order.qty = new_limit, new_qty
        response = self._settle_outcome(listing, out, now, order.client)
        if order_id in listing.open:
            self._release_excess(listing, order)
        return response

    # --- gateway rules -------------------------------------------------------------------

    def _resume_if_due(self, listing: _Listing, now: int) -> None:
        if listing.book.halted and listing.halted_until and now >= listing.halted_until:
            listing.book.resume()
            listing.halted_until = 0

    def _band(self, listing: _Listing, pct: float, centre: int | None = None):
        centre = listing.reference if centre is None else centre
        return None if centre is None else _band_edges(centre, pct)

    def _inside_band(self, listing: _Listing, price: int) -> bool:
        if self.price_band is None:
            return True
        band = self._band(listing, self.price_band.limit_pct)
        return band is None or band[0] <= price <= band[1]

    def _protected(self, listing, side, price, tif, stop_price):
        """(worst price the order can trade at, price for the book, tif for the book).

        Market orders become IOC limits and stops become stop-limits at the protection price;
        the worst price is None when there is nothing to protect against (no reference)."""
        if price is not None:
            return price, price, tif
        if stop_price is not None:
            band = self._band(listing, self.market_protection_pct, centre=stop_price)
        elif self.price_band is not None and listing.reference is not None:
            band = self._band(listing, self.price_band.limit_pct)
        else:
            centre = listing.book.last_price or listing.reference
            band = self._band(listing, self.market_protection_pct, centre=centre)
        if band is None:
            return None, None, tif
        worst = max(band[1] if side is Side.BUY else band[0], 1)
        return worst, worst, "GTC" if stop_price is not None else ("IOC" if tif == "GTC" else tif)

    def _check_limits(
        self, limits: ReferenceRiskLimits, listing, account, side, qty, limit, replacing=None
    ) -> Reason:
        """The account's `limits` with this order (`qty` at `limit`) working, in place of
        `replacing` when it modifies an open order."""
        symbol = listing.instrument.symbol
        if limits.max_position is not None:
            # The worst case on the order's side: every open order of that side fills.
            worst = self.ledger.account(account).position(symbol) + side * qty
            for (other_symbol, _), order in self._open_by_account.get(account, {}).items():
                if other_symbol == symbol and order.side == side and order is not replacing:
                    worst += side * order.qty
            if abs(worst) > limits.max_position:
                return Reason.POSITION_LIMIT
        if limits.max_open_notional is not None:
            open_notional = sum(
                o.qty * o.limit * self._listings[other_symbol].tick_value
                for (other_symbol, _), o in self._open_by_account.get(account, {}).items()
                if o is not replacing
            )
            notional = qty * limit * listing.tick_value
            if open_notional + notional > limits.max_open_notional:
                return Reason.NOTIONAL_LIMIT
        return Reason.NONE

    def _cash_needed(self, listing: _Listing, qty: int, limit: int) -> int:
        """Cash that covers `qty` at `limit` or better and the session's accrued interest on
        them, plus the largest fee it could pay (on the clean notional)."""
        notional = qty * limit * listing.tick_value
        return notional + qty * listing.accrued + reference_fee(notional, self._fee_rates.max_bps)

    def _release_excess(self, listing: _Listing, order: _OpenOrder) -> None:
        """Give back what an open order's locks hold beyond its remaining worst case."""
        if order.side is Side.BUY:
            excess = order.cash_locked - self._cash_needed(listing, order.qty, order.limit)
            if excess > 0:
                self._unlock(order.account, listing.instrument.symbol, excess, 0)
                order.cash_locked -= excess
        elif order.units_locked > order.qty:
            excess = order.units_locked - order.qty
            self._unlock(order.account, listing.instrument.symbol, 0, excess)
            order.units_locked -= excess

    def _unlock(self, account: int, symbol: str, cash: int, units: int) -> None:
        if cash:
            self.ledger.unlock_cash(account, cash)
        if units:
            self.ledger.unlock_units(account, symbol, units)

    # --- after the book ------------------------------------------------------------------

    def _settle_outcome(
        self, listing: _Listing, out: _BookOutcome, now: int, client: int = 0
    ) -> Response:
        """Price and book the fills, release what finished orders no longer need, and trip the
        circuit breaker if the last trade went too far. `client`: the request's, for the answer."""
        symbol = listing.instrument.symbol
        fills, cancelled, status = out.fills, out.cancelled, out.status
        if not fills and not cancelled and status in _OPEN:
            # Nothing traded and nothing finished: most requests (a resting order, a modify).
            return _new_response(
                Response, (symbol, out.order_id, status, out.reason, out.filled_qty, (), (), client)
            )
        # Orders that are done: cancelled as a side effect, the request's own order if it is
        # no longer open, and any order whose whole quantity has now traded.
        finished = {c.order_id for c in cancelled}
        if status not in _OPEN:
            finished.add(out.order_id)
        trades = []
        if fills:
            value = listing.tick_value
            open_orders, rates, book_trade = listing.open, self._rates, self.ledger.book_trade
            name, fee_account = self.name, self.fee_account
            settle_at = self._settlement_time(now, self.settlement_lag_days)
            for maker_id, taker_id, _, _, price, qty in fills:
                maker, taker = open_orders[maker_id], open_orders[taker_id]
                notional = qty * price * value  # at the clean price: what fees are charged on
                accrued = qty * listing.accrued
                maker_fee = reference_fee(notional, rates[maker.account][0])
                taker_fee = reference_fee(notional, rates[taker.account][1])
                if maker.side is Side.BUY:
                    buyer, seller, buyer_fee, seller_fee = maker, taker, maker_fee, taker_fee
                else:
                    buyer, seller, buyer_fee, seller_fee = taker, maker, taker_fee, maker_fee
                # A buy's lock covers its fills (`new_day` tops it up when the accrued interest
                # rises under it): should it not, stop there, not let its cash go negative.
                pays = notional + accrued + buyer_fee
                if pays > buyer.cash_locked:
                    raise AssertionError(
                        f"{name}: {symbol}: order {maker_id if buyer is maker else taker_id} "
                        f"locks {buyer.cash_locked} paise, its fill costs {pays}"
                    )
                # What the fill consumes of each side's locks moves on to the trade's settlement.
                buyer.cash_locked -= pays
                seller.units_locked -= qty
                maker.qty -= qty
                taker.qty -= qty
                if not maker.qty:
                    finished.add(maker_id)
                if not taker.qty:
                    finished.add(taker_id)
                book_trade(
                    instrument=symbol,
                    buyer=buyer.account,
                    seller=seller.account,
                    qty=qty,
                    notional=notional,
                    accrued=accrued,
                    buyer_fee=buyer_fee,
                    seller_fee=seller_fee,
                    fee_account=fee_account,
                    settle_at=settle_at,
                    now=now,
                )
                trade = (
                    now, name, symbol, price, qty, maker_id, taker_id, maker.account,
                    taker.account, taker.side, notional, maker_fee, taker_fee, settle_at,
                    maker.client, taker.client, accrued,
                )  # fmt: skip
                trades.append(_new_trade(Trade, trade))
        for order_id in finished:
            order = listing.open.pop(order_id, None)
            if order is not None:
                self._unlock(order.account, symbol, order.cash_locked, order.units_locked)
                del self._open_by_account[order.account][symbol, order_id]
        if trades:
            self._trip_breaker(listing, trades[-1].price, now)
        return _new_response(
            Response,
            (symbol, out.order_id, status, out.reason, out.filled_qty, tuple(trades), cancelled,
             client),
        )  # fmt: skip

    def _trip_breaker(self, listing: _Listing, last: int, now: int) -> None:
        if listing.reference is None:
            listing.reference = last
            return
        if self.price_band is None:
            return
        low, high = self._band(listing, self.price_band.halt_pct)
        if not low <= last <= high:
            listing.book.halt()
            listing.halted_until = now + self.price_band.halt_ns
            listing.reference = last


@functools.lru_cache(maxsize=4096)  # a few centres a day; Decimal arithmetic is slow
def _band_edges(centre: int, pct: float) -> tuple[int, int]:
    """The ticks within `pct` percent of `centre`, edges rounded inwards."""
    width = centre * Decimal(str(pct)) / 100
    return int((centre - width).to_integral_value(rounding="ROUND_CEILING")), int(
        (centre + width).to_integral_value(rounding="ROUND_FLOOR")
    )


def _positive_int(value: object) -> int | None:
    """A positive Python int from an int or NumPy integer; None for anything else."""
    if type(value) is int:  # what agents send: no conversion needed
        return value if 0 < value <= INT64_MAX else None
    number = as_int64(value)
    return number if number is not None and number > 0 else None


def _refused(symbol, reason: Reason, order_id: int = 0, client: int = 0) -> Response:
    return Response(symbol, order_id, Status.REJECTED, reason, client=client)


def _client(value: object) -> int | None:
    """A client code (a Python int in 0..MAX_CLIENT) from an int or NumPy integer; None for
    anything else."""
    code = as_int64(value)
    return code if code is not None and 0 <= code <= MAX_CLIENT else None


def _owner_key(account: int, client: int | None) -> int | None:
    """The book's owner of an order, the key self-trade prevention compares: the account
    itself for client 0, else ``account + client * 2**32``, which no account id in 0..2**32-1
    (every agent's is) can equal. None for a bad client code, or a code other than 0 from an
    account outside that range."""
    if client == 0:
        return account
    if client is None or type(account) is not int or not 0 <= account < 1 << _CLIENT_SHIFT:
        return None
    return account + (client << _CLIENT_SHIFT)
