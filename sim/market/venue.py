"""A trading venue: listed instruments, one order book each, and the gateway in front of them.

The gateway applies the pre-trade checks before a request reaches a book: the instrument and
account exist, the venue and instrument are not halted, quantity and price are valid, the price
is inside the instrument's band, the account's position and notional limits hold, and the
account has the cash (buys) or units (sells) to cover the order, which it then locks in the
ledger. After matching it prices each fill in paise, charges maker and taker fees (market
makers get their tier's rebate), books the trade for settlement and releases what a finished
order no longer needs. A trade beyond the instrument's circuit-breaker threshold halts it for a
while; the simulator may halt instruments too (`halt_instruments`) and change the band's
settings (`set_price_band`). Several venues may list the same instrument; each has its own books
and fees and all share one ledger.

Market orders are protected: a market order enters its book as an IOC limit at the edge of the
price band (or `market_protection_pct` from the reference price when the instrument has no
band), and a stop order (triggered later, at an unknown price) becomes a stop-limit at that
distance from its stop price, as exchanges do with "stop with protection". That bounds what an
order can cost, which is what the cash lock covers.

An account may trade for many clients (a broker's omnibus account, as under SEBI's unique
client codes): each order may carry a `client` code, self-trade prevention applies per
(account, client), and the ledger books everything to the account. Client 0 is the account
itself, so an account that never sends a code behaves as if codes did not exist.

Bonds trade at a clean price. The buyer pays the seller the accrued interest to the settlement
date on top: a whole number of paise per unit, the same for every trade of a session (the
simulator sets it at each open with `new_day`). Fees are charged on the clean notional.

What the venue answers with (trades, responses, open-order snapshots) is in `sim.market.messages`.
"""

from __future__ import annotations

import functools
import operator
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from sim.market import _gateway_kernels as gateway_kernels
from sim.market._kernel_support import entry_point, grown
from sim.market.book import TIF_CODES, OrderBook
from sim.market.fees import MICROS, FeeSchedule, Tier, fee
from sim.market.instrument import Instrument
from sim.market.ledger import MAX_TOTAL, Ledger
from sim.market.messages import Codes, OpenOrder, Response, Trade, TradeRow
from sim.market.orders import INT64_MAX, Reason, Side, Status, as_int64, side_code_of
from sim.units import NS_PER_DAY, NS_PER_MINUTE

# Instruments and fees are defined in modules of their own; a venue's users get them here too.
__all__ = [
    "MICROS",
    "FeeSchedule",
    "Instrument",
    "PriceBand",
    "RiskLimits",
    "Tier",
    "Venue",
    "fee",
]

_INT_SIDES = {1: Side.BUY, -1: Side.SELL}
_STATUSES = tuple(Status)
_REASONS = {int(r): r for r in Reason}
# NamedTuple's generated __new__ is slow for the hot path; these build the same tuples.
_new_response = _new_trade = _new_open_order = _new_codes = _new_trade_row = tuple.__new__
MAX_CLIENT = 2**31 - 1
_PLAIN_TIFS = frozenset(TIF_CODES)  # the order types gateway_kernels.new_order takes
_CLIENT_SHIFT = 32  # owner key of client c > 0 in the book: account + c * 2**32


@dataclass(frozen=True)
class PriceBand:
    """Orders priced more than `limit_pct` from the reference price are rejected; a trade
    more than `halt_pct` away halts the instrument for `halt_ns`. The reference is the
    evaluated price the venue is given (`Venue.new_day`, `Venue.recentre`), which trades
    cannot move; without one, the last trade price of the previous session, and after a halt
    the halting price."""

    limit_pct: float = 10.0
    halt_pct: float = 5.0
    halt_ns: int = 15 * NS_PER_MINUTE

    def __post_init__(self) -> None:
        if not 0 < self.halt_pct <= self.limit_pct < 100:
            raise ValueError(
                f"price band needs 0 < halt_pct <= limit_pct < 100, got halt_pct="
                f"{self.halt_pct}, limit_pct={self.limit_pct}"
            )
        if type(self.halt_ns) is not int or self.halt_ns <= 0:
            raise ValueError(f"halt_ns must be a positive integer, got {self.halt_ns!r}")


@dataclass(frozen=True)
class RiskLimits:
    """Per-account pre-trade limits (None: no limit).

    max_position : |units held (settled or pending) + this order + the account's other open
        orders on the same side| per instrument: the position if every one of them filled.
    max_open_notional : paise of notional in the account's open orders on this venue,
        this order included.
    """

    max_position: int | None = None
    max_open_notional: int | None = None


class _Listing:
    """One instrument on this venue: its book, where it sits in the arrays, its price band's
    state, and `slot_of[order_id]`, the slot of each of its open orders (0: not open)."""

    __slots__ = (
        "accrued",
        "anchored",
        "book",
        "column",
        "delisted",
        "halted_until",
        "index",
        "instrument",
        "reference",
        "slot_of",
        "tick_value",
    )

    def __init__(self, instrument: Instrument, book: OrderBook, reference, index, column):
        self.instrument = instrument
        self.book = book
        self.reference: int | None = reference  # ticks
        self.halted_until = 0
        self.index = index
        self.column = column  # in the ledger's holdings
        self.tick_value = instrument.tick_value  # paise per tick per unit
        self.accrued = 0  # paise of interest per unit a trade now settles with
        self.anchored = False  # the reference is an evaluated price, not a trade
        self.delisted = False  # matured: orders refused, cancels still taken
        self.slot_of = np.zeros(1024, np.int64)


class Venue:
    """One venue's gateway and books over a shared ledger.

    `settlement_time(now, lag_days)` maps a trade time to its settlement time under T+n
    (n >= 1; T+0 trades settle at their time); the simulator passes its trading calendar's.
    The default adds whole calendar days. On a T+n venue it is asked at every order and
    modify, with the request's `now`.
    """

    def __init__(
        self,
        name: str,
        ledger: Ledger,
        fees: FeeSchedule | None = None,
        limits: RiskLimits | None = None,
        price_band: PriceBand | None = None,
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
        self._fees = fees or FeeSchedule()
        self.default_limits = limits or RiskLimits()
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
        self._symbols: list[str] = []  # by listing index
        self._tiers: dict[int, Tier | None] = {}
        self._limits: dict[int, RiskLimits] = {}
        # Open orders and fee rates in arrays (`sim.market._gateway_kernels`), by ledger row.
        self._slots, self._heads, self._venue_meta, self._rates = gateway_kernels.new_venue_state(
            16
        )
        self._trades = np.zeros((64, gateway_kernels.N_TRADE_FIELDS), np.int64)
        self._max_rate = self._fees.max_rate
        self._fee_row = ledger.row(self.fee_account)
        self._settle = _settle_request()
        self._new_order, self._modify_order, self._cancel_order = _one_call_kernels()
        self._traded_at = (0, 0)  # (time, settlement time) of the last request that traded
        self.halted = False
        # (time, symbol, until) of each circuit-breaker trip: the run's records and audit
        # trail show them as halts.
        self.breaker_halts: list[tuple[int, str, int]] = []

    # --- set-up --------------------------------------------------------------------------

    def list_instrument(self, instrument: Instrument, reference_price: int | None = None) -> None:
        """List a bond; `reference_price` (ticks) anchors its price band until the first trade."""
        if instrument.symbol in self._listings:
            raise ValueError(f"{self.name}: {instrument.symbol} is already listed")
        book = OrderBook(lot=instrument.lot_size, stp=self.stp)
        column = self.ledger.column(instrument.symbol)
        listing = _Listing(instrument, book, reference_price, len(self._symbols), column)
        self._listings[instrument.symbol] = listing
        self._symbols.append(instrument.symbol)

    def register(
        self, account: int, tier: Tier | None = None, limits: RiskLimits | None = None
    ) -> None:
        """Admit a ledger account to trade here, optionally as a market maker of a tier."""
        row = self.ledger.row(account)
        self._tiers[account] = None if tier is None else Tier(tier)
        if row >= len(self._heads):
            self._heads = grown(self._heads, 2 * row + 1)
            self._rates = grown(self._rates, 2 * row + 1)
        # (maker, taker) fee rates, looked up for both sides of every fill
        tier = self._tiers[account]
        self._rates[row] = (self.fees.rate(True, tier), self.fees.rate(False, tier))
        if limits is not None:
            self._limits[account] = limits

    @property
    def fees(self) -> FeeSchedule:
        """The venue's fee schedule, fixed when it opens (each account's rates are worked out
        from it once, when the account is admitted)."""
        return self._fees

    def instrument(self, symbol: str) -> Instrument:
        return self._listings[symbol].instrument

    def book(self, symbol: str) -> OrderBook:
        return self._listings[symbol].book

    def level1(self, symbol: str) -> tuple[int | None, int, int | None, int] | None:
        """The book's level 1 (`OrderBook.top`), or None when the venue does not list
        `symbol` (a request may name anything)."""
        listing = self._listings.get(symbol) if isinstance(symbol, str) else None
        return None if listing is None else listing.book.top()

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._listings)

    def open_orders(self, account: int | None = None) -> list[OpenOrder]:
        """The venue's open orders (optionally one account's, in the order it sent them) with
        what each holds locked."""
        rows = self._slots
        if account is None:
            slots = [
                slot
                for listing in self._listings.values()
                for slot in listing.slot_of[: listing.book.next_order_id].tolist()
                if slot
            ]
            return [self._open_order_tuple(rows[slot].tolist()) for slot in slots]
        row = self.ledger.rows.get(account) if account in self._tiers else None
        if row is None:
            return []
        return [self._open_order_tuple(rows[slot].tolist()) for slot in self._account_slots(row)]

    def _open_order_tuple(self, o: list[int]) -> OpenOrder:
        """An `OpenOrder` from a slot's fields."""
        return _new_open_order(
            OpenOrder,
            (self._symbols[o[gateway_kernels.O_LISTING]], o[gateway_kernels.O_ORDER_ID],
             o[gateway_kernels.O_ACCOUNT], _INT_SIDES[o[gateway_kernels.O_SIDE]],
             o[gateway_kernels.O_LIMIT], o[gateway_kernels.O_QTY], o[gateway_kernels.O_CASH],
             o[gateway_kernels.O_UNITS], o[gateway_kernels.O_CLIENT]),
        )  # fmt: skip

    def _account_slots(self, row: int) -> list[int]:
        """The slots of the account's open orders, in the order it sent them."""
        slots, heads = self._slots, self._heads
        found = []
        slot = heads.item(row, 0)
        while slot:
            found.append(slot)
            slot = slots.item(slot, gateway_kernels.O_NEXT)
        return found

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
        """Time (ns) until which the instrument is halted, by its circuit breaker or
        `halt_instruments`; 0 if never, or since its first request at or after that time
        resumed it."""
        return self._listings[symbol].halted_until

    def halt_instruments(self, until: int, symbols: Iterable[str] | None = None) -> None:
        """Halt trading in `symbols` (default: every listing) until `until` (ns), as the
        circuit breaker halts one: new orders and modifications are refused (`Reason.HALTED`),
        resting orders stay and may be cancelled, and the first request at or after `until`
        resumes trading. A halt already running past `until` keeps its end."""
        if type(until) is not int or until <= 0:
            raise ValueError(f"{self.name}: halt until {until!r}: not a positive time in ns")
        listings = []
        for symbol in self._symbols if symbols is None else symbols:
            if symbol not in self._listings:
                raise ValueError(f"{self.name}: {symbol}: not listed here")
            listings.append(self._listings[symbol])
        for listing in listings:
            listing.book.halt()
            listing.halted_until = max(listing.halted_until, until)

    def set_price_band(self, band: PriceBand) -> None:
        """New circuit-breaker settings from now on: orders are checked against `band`'s limit
        and trades against its halt threshold, around the same reference prices. A venue
        without a band gets one; a halt already running keeps its end."""
        self.price_band = band

    def halt(self) -> None:
        """Venue-wide halt: new orders and modifications are refused, cancels still work."""
        self.halted = True

    def resume(self) -> None:
        self.halted = False

    def new_day(
        self,
        accrued: Mapping[str, int] | None = None,
        references: Mapping[str, int] | None = None,
    ) -> list[tuple[int, str, int]]:
        """Start a session. `references` (ticks, by instrument) centre the price bands on an
        evaluated price, which trades cannot move; an instrument without one takes its last
        trade price. `accrued` gives the interest per unit (paise) the buyer pays the seller on
        top of the clean price in the session's trades (by instrument; 0 for those not named).

        Resting buys lock the new accrued interest too, from their accounts' free cash.
        Returns the (account, symbol, order id) of those whose account cannot cover it: the
        caller cancels them (on the owner's behalf, so that the owner hears of it)."""
        accrued = accrued or {}
        interest = {symbol: accrued.get(symbol, 0) for symbol in self._listings}
        for symbol, paise in interest.items():
            if type(paise) is not int or not 0 <= paise <= MAX_TOTAL:
                raise ValueError(f"{self.name}: {symbol}: accrued interest {paise!r} paise")
        references = self._checked_references(references or {})
        for symbol, listing in self._listings.items():
            listing.reference = listing.book.last_price or listing.reference
            listing.anchored = False
            listing.accrued = interest[symbol]
        self.recentre(references)
        return self._cover_resting_buys()

    def _cover_resting_buys(self) -> list[tuple[int, str, int]]:
        """Top up what each resting buy locks to its worst case at the session's accrued
        interest; the (account, symbol, order id) of those whose account's free cash falls
        short."""
        short = []
        slots, balances = self._slots, self.ledger.balances
        for listing in self._listings.values():
            open_ids = np.flatnonzero(listing.slot_of[: listing.book.next_order_id])
            for slot in listing.slot_of[open_ids].tolist():
                o = slots[slot].tolist()
                if o[gateway_kernels.O_SIDE] != 1:
                    continue
                needed = self._cash_needed(
                    listing, o[gateway_kernels.O_QTY], o[gateway_kernels.O_LIMIT]
                )
                extra = needed - o[gateway_kernels.O_CASH]
                if extra <= 0:
                    continue
                row = o[gateway_kernels.O_ROW]
                if extra <= self._free_cash(row):
                    balances[row, gateway_kernels.B_LOCKED] += extra
                    slots[slot, gateway_kernels.O_CASH] += extra
                else:
                    symbol = listing.instrument.symbol
                    short.append(
                        (o[gateway_kernels.O_ACCOUNT], symbol, o[gateway_kernels.O_ORDER_ID])
                    )
        return short

    def recentre(self, references: Mapping[str, int]) -> None:
        """Centre the named instruments' price bands on evaluated prices (ticks), as at the
        open and again when a shock re-marks them."""
        for symbol, price in self._checked_references(references).items():
            listing = self._listings[symbol]
            listing.reference = price
            listing.anchored = True

    def delist(self, symbol: str) -> list[tuple[int, str, int]]:
        """End an instrument's listing (it matured): from now on new orders and modifications
        are refused (`Reason.DELISTED`) and cancels still taken. Returns the (account, symbol,
        order id) of its open orders: the caller cancels them on their owners' behalf, so that
        the owners hear of it."""
        listing = self._listings.get(symbol)
        if listing is None:
            raise ValueError(f"{self.name}: {symbol}: not listed here")
        listing.delisted = True
        orders = self.open_orders()
        return [(o.account, symbol, o.order_id) for o in orders if o.instrument == symbol]

    def _checked_references(self, references: Mapping[str, int]) -> Mapping[str, int]:
        """`references`, each a listed symbol's positive price in ticks (all checked before
        anything changes)."""
        for symbol, price in references.items():
            if symbol not in self._listings:
                raise ValueError(f"{self.name}: {symbol}: not listed here")
            if type(price) is not int or price <= 0:
                raise ValueError(f"{self.name}: {symbol}: reference price {price!r} ticks")
        return references

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
        codes = self.new_order(
            account, symbol, side, qty, price, tif, post_only, stop_price, display_qty, now, client
        )
        return self.answer(symbol, codes)

    def cancel(self, account: int, symbol: str, order_id: int, now: int = 0) -> Response:
        """Cancel one of the account's open orders, whichever its client (allowed during
        halts)."""
        return self.answer(symbol, self.cancel_order(account, symbol, order_id, now))

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
        return self.answer(symbol, self.modify_order(account, symbol, order_id, qty, price, now))

    # Each request's codes: `submit`, `cancel` and `modify` as `Codes`, for a caller that
    # reads the trades from `trade_rows` and builds the `answer` only when it wants one.

    def new_order(
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
    ) -> Codes:
        """`submit`, answered with codes."""
        listing = self._listings.get(symbol) if isinstance(symbol, str) else None
        code = client if type(client) is int and 0 <= client <= MAX_CLIENT else _client(client)
        if listing is None:
            return _refused(Reason.UNKNOWN_INSTRUMENT, client=code or 0)
        if listing.delisted:
            return _refused(Reason.DELISTED, client=code or 0)
        if account not in self._tiers:
            return _refused(Reason.UNKNOWN_ACCOUNT, client=code or 0)
        owner = _owner_key(account, code)
        if owner is None:
            return _refused(Reason.BAD_CLIENT, client=code or 0)
        if self.halted:
            return _refused(Reason.VENUE_HALTED, client=code)
        if listing.halted_until:
            self._resume_if_due(listing, now)
        # Plain ints, as agents send them, skip the general parsing (None: not a side).
        parsed_side = _INT_SIDES.get(side if type(side) is int else side_code_of(side))
        if parsed_side is None:
            return _refused(Reason.BAD_SIDE, client=code)
        qty = _positive_int(qty)
        if qty is None or qty % listing.instrument.lot_size:
            return _refused(Reason.BAD_QUANTITY, client=code)
        if price is not None and (price := _positive_int(price)) is None:
            return _refused(Reason.BAD_PRICE, client=code)
        if stop_price is not None and (stop_price := _positive_int(stop_price)) is None:
            return _refused(Reason.BAD_STOP_PRICE, client=code)
        if (
            price is not None
            and post_only is False
            and stop_price is None
            and display_qty is None
            and isinstance(tif, str)
            and tif in _PLAIN_TIFS
            # int64 in the kernel: no ledger balance reaches 2**62, and fees are under 1%
            and qty * (price * listing.tick_value + listing.accrued) <= MAX_TOTAL
        ):
            limits = self._limits.get(account, self.default_limits)
            if limits.max_position is None and limits.max_open_notional is None:
                return self._plain_order(
                    listing, account, parsed_side, qty, price, tif, now, owner, code
                )
        if listing.book.halted:
            return _refused(Reason.HALTED, client=code)
        if price is not None and not self._inside_band(listing, price):
            return _refused(Reason.PRICE_BAND, client=code)
        if price is not None:
            limit, book_price, book_tif = price, price, tif
        else:
            limit, book_price, book_tif = self._protected(
                listing, parsed_side, price, tif, stop_price
            )
            if limit is None:
                return _refused(Reason.NO_REFERENCE_PRICE, client=code)
        row = self.ledger.rows[account]
        limits = self._limits.get(account, self.default_limits)
        if limits.max_position is not None or limits.max_open_notional is not None:
            reason = self._check_limits(limits, listing, row, parsed_side, qty, limit)
            if reason is not Reason.NONE:
                return _refused(reason, client=code)
        # The order's worst case must be free now; it is locked once the book has taken it.
        cash, units = 0, 0
        if parsed_side is Side.BUY:
            cash = self._cash_needed(listing, qty, limit)
            if cash > self._free_cash(row):
                return _refused(Reason.INSUFFICIENT_CASH, client=code)
        else:
            units = qty
            if units > self._free_units(row, listing.column):
                return _refused(Reason.INSUFFICIENT_UNITS, client=code)
        codes = listing.book.new_order(
            owner, parsed_side, qty, book_price, book_tif, post_only, stop_price, display_qty
        )
        request = (
            gateway_kernels.REQ_NEW,
            row,
            account,
            parsed_side,
            limit,
            qty,
            cash,
            units,
            code,
        )
        return self._after_book(listing, request, codes, now, code)

    def _plain_order(self, listing, account, side, qty, price, tif, now, owner, client) -> Codes:
        """A limit order without options from an account without limits, its arguments
        checked: the rest of the gateway's checks, the book and the booking in one compiled
        call (`gateway_kernels.new_order`), refusing as `new_order` would."""
        low, high = self._band_limits(listing)
        settle_at = self._settle_at(now)
        book, ledger = listing.book, self.ledger
        while True:
            result = self._new_order(
                ledger.balances, ledger.holdings, ledger.settlements, ledger.meta,
                self._slots, self._heads, self._venue_meta, listing.slot_of, self._rates,
                self._trades, *book.state, ledger.rows[account], account, side,
                TIF_CODES[tif], price, price, qty, owner, client, low, high, listing.index,
                listing.column, listing.tick_value, listing.accrued, self._max_rate, self._fee_row,
                settle_at, now,
            )  # fmt: skip
            code, order_id, _, _, _, n_fills, _, last = result
            if not self._retry(code, listing, order_id, n_fills):
                break
        if code:
            return _refused(code, client=client)
        return self._booked(listing, order_id, result[2:7], last, settle_at, now, client)

    def _plain_modify(self, listing, account, order_id, qty, price, now) -> Codes | None:
        """A modify from an account without limits on a venue and instrument not halted, its
        arguments checked, in one compiled call (`gateway_kernels.modify_order`), refusing as
        `modify_order` would; None when it is too large for that call's int64 arithmetic."""
        low, high = self._band_limits(listing)
        settle_at = self._settle_at(now)
        book, ledger = listing.book, self.ledger
        while True:
            result = self._modify_order(
                ledger.balances, ledger.holdings, ledger.settlements, ledger.meta,
                self._slots, self._heads, self._venue_meta, listing.slot_of, self._rates,
                self._trades, *book.state, account, order_id, -1 if qty is None else qty,
                -1 if price is None else price, low, high, listing.index, listing.column,
                listing.tick_value, listing.accrued, self._max_rate, self._fee_row, settle_at,
                now,
            )  # fmt: skip
            code, status, _, _, n_fills, _, last, client = result
            if not self._retry(code, listing, status, n_fills):  # NEED_ROOM: status is the id
                break
        if code == gateway_kernels.TOO_LARGE:
            return None
        if code:
            return _refused(code, order_id, client)
        return self._booked(listing, order_id, result[1:6], last, settle_at, now, client)

    def _band_limits(self, listing: _Listing) -> tuple[int, int]:
        """The prices the band lets orders carry now (every price when there is no band)."""
        band = self._band(listing, self.price_band.limit_pct) if self.price_band else None
        return band or (0, INT64_MAX)

    def _settle_at(self, now: int) -> int:
        """When a trade now would settle: at once under T+0, else when the settlement calendar
        says (coerced, so that a calendar answering with a float fails here instead of being
        truncated by the kernel). The one-call paths ask before they know whether the request
        will trade."""
        lag = self.settlement_lag_days
        return operator.index(self._settlement_time(now, lag)) if lag else now

    def _retry(self, code: int, listing: _Listing, order_id: int, most_fills: int) -> bool:
        """Whether a one-call kernel must run again after growing what it lacked (its
        NEED_ROOM answer names the order and the most fills it may make)."""
        if code == gateway_kernels.NEED_BOOK_ROOM:
            listing.book.make_room()
        elif code == gateway_kernels.NEED_ROOM:
            self._make_room(listing, order_id, most_fills)
        elif code == gateway_kernels.NOT_OURS:
            raise _not_ours(self.name, listing.instrument.symbol)
        else:
            return False
        return True

    def _booked(self, listing, order_id, outcome, last, settle_at, now, client) -> Codes:
        """The codes of a request the book took: `outcome` is (status, reason, filled, fills,
        cancels); a trade may trip the circuit breaker."""
        status, reason, filled, n_fills, n_cancels = outcome
        if n_fills:
            self._traded_at = (now, settle_at)
            self._trip_breaker(listing, last, now)
        return _new_codes(Codes, (order_id, status, reason, filled, n_fills, n_cancels, client))

    def cancel_order(self, account: int, symbol: str, order_id: int, now: int = 0) -> Codes:
        """`cancel`, answered with codes."""
        listing = self._listings.get(symbol) if isinstance(symbol, str) else None
        if listing is None:
            return _refused(Reason.UNKNOWN_INSTRUMENT)
        account = _int64_account(account)
        if account is None or type(order_id) is not int or not 0 < order_id < len(listing.slot_of):
            return _refused(Reason.UNKNOWN_ORDER, order_id)
        ledger = self.ledger
        code, status, reason, filled, client = self._cancel_order(
            ledger.balances, ledger.holdings, self._slots, self._heads, self._venue_meta,
            listing.slot_of, *listing.book.state[:4], account, order_id, listing.column,
        )  # fmt: skip
        if code:
            return _refused(code, order_id)
        return _new_codes(Codes, (order_id, status, reason, filled, 0, 0, client))

    def modify_order(
        self,
        account: int,
        symbol: str,
        order_id: int,
        qty: int | None = None,
        price: int | None = None,
        now: int = 0,
    ) -> Codes:
        """`modify`, answered with codes."""
        listing = self._listings.get(symbol) if isinstance(symbol, str) else None
        if listing is None:
            return _refused(Reason.UNKNOWN_INSTRUMENT)
        if listing.delisted:
            return _refused(Reason.DELISTED, order_id)
        account = _int64_account(account)
        if account is None:
            return _refused(Reason.UNKNOWN_ORDER, order_id)
        if (
            not self.halted
            and not listing.halted_until
            and (qty is None or (type(qty) is int and 0 < qty <= INT64_MAX))
            and (price is None or (type(price) is int and 0 < price <= INT64_MAX))
            and type(order_id) is int
            and 0 < order_id < len(listing.slot_of)
        ):
            limits = self._limits.get(account, self.default_limits)
            if limits.max_position is None and limits.max_open_notional is None:
                codes = self._plain_modify(listing, account, order_id, qty, price, now)
                if codes is not None:
                    return codes
        order = self._open_order(listing, account, order_id)
        if order is None:
            return _refused(Reason.UNKNOWN_ORDER, order_id)
        row, side, client = (
            order[gateway_kernels.O_ROW],
            order[gateway_kernels.O_SIDE],
            order[gateway_kernels.O_CLIENT],
        )
        if self.halted:
            return _refused(Reason.VENUE_HALTED, order_id, client)
        if listing.halted_until:
            self._resume_if_due(listing, now)
        if qty is not None and (qty := _positive_int(qty)) is None:
            return _refused(Reason.BAD_QUANTITY, order_id, client)
        if price is not None and (price := _positive_int(price)) is None:
            return _refused(Reason.BAD_PRICE, order_id, client)
        new_limit = order[gateway_kernels.O_LIMIT] if price is None else price
        new_qty = order[gateway_kernels.O_QTY] if qty is None else qty
        if price is not None and not self._inside_band(listing, price):
            return _refused(Reason.PRICE_BAND, order_id, client)
        limits = self._limits.get(account, self.default_limits)
        if limits.max_position is not None or limits.max_open_notional is not None:
            reason = self._check_limits(
                limits, listing, row, side, new_qty, new_limit, replacing=order_id
            )
            if reason is not Reason.NONE:
                return _refused(reason, order_id, client)
        # The order as modified must be covered before the book sees it; the kernel locks the
        # difference and gives back any excess after.
        cash, units = 0, 0
        if side == Side.BUY:
            cash = max(
                self._cash_needed(listing, new_qty, new_limit) - order[gateway_kernels.O_CASH], 0
            )
            if cash > self._free_cash(row):
                return _refused(Reason.INSUFFICIENT_CASH, order_id, client)
        else:
            units = max(new_qty - order[gateway_kernels.O_UNITS], 0)
            if units > self._free_units(row, listing.column):
                return _refused(Reason.INSUFFICIENT_UNITS, order_id, client)
        codes = listing.book.modify_codes(order_id, qty, price)
        if codes[0]:
            return _refused(codes[0], order_id, client)
        codes = (order_id, *codes[1:])
        request = (
            gateway_kernels.REQ_MODIFY,
            row,
            account,
            side,
            new_limit,
            new_qty,
            cash,
            units,
            client,
        )
        return self._after_book(listing, request, codes, now, client)

    def _open_order(self, listing: _Listing, account: int, order_id) -> list[int] | None:
        """The slot fields (`gateway_kernels.O_*`) of one of the account's open orders on the
        listing."""
        slot_of = listing.slot_of
        if type(order_id) is not int or not 0 < order_id < len(slot_of):
            return None
        slot = slot_of.item(order_id)
        if not slot or self._slots.item(slot, gateway_kernels.O_ACCOUNT) != account:
            return None
        return self._slots[slot].tolist()

    def _free_cash(self, row: int) -> int:
        balances = self.ledger.balances
        return balances.item(row, gateway_kernels.B_CASH) - balances.item(
            row, gateway_kernels.B_LOCKED
        )

    def _free_units(self, row: int, column: int) -> int:
        holdings = self.ledger.holdings
        return holdings.item(row, column, gateway_kernels.H_UNITS) - holdings.item(
            row, column, gateway_kernels.H_LOCKED
        )

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
        self, limits: RiskLimits, listing, row, side, qty, limit, replacing=None
    ) -> Reason:
        """The account's `limits` with this order (`qty` at `limit`) working, in place of
        the open order `replacing` (an id on the listing) when it modifies one."""
        symbol = listing.instrument.symbol
        others = [
            o
            for o in self._slots[self._account_slots(row)].tolist()
            if not (
                o[gateway_kernels.O_LISTING] == listing.index
                and o[gateway_kernels.O_ORDER_ID] == replacing
            )
        ]
        if limits.max_position is not None:
            # The worst case on the order's side: every open order of that side fills.
            worst = (
                self.ledger.holding(
                    row, symbol, gateway_kernels.H_UNITS, gateway_kernels.H_PENDING, 1
                )
                + side * qty
            )
            for o in others:
                if (
                    o[gateway_kernels.O_LISTING] == listing.index
                    and o[gateway_kernels.O_SIDE] == side
                ):
                    worst += side * o[gateway_kernels.O_QTY]
            if abs(worst) > limits.max_position:
                return Reason.POSITION_LIMIT
        if limits.max_open_notional is not None:
            listings = list(self._listings.values())
            open_notional = sum(
                o[gateway_kernels.O_QTY]
                * o[gateway_kernels.O_LIMIT]
                * listings[o[gateway_kernels.O_LISTING]].instrument.tick_value
                for o in others
            )
            notional = qty * limit * listing.instrument.tick_value
            if open_notional + notional > limits.max_open_notional:
                return Reason.NOTIONAL_LIMIT
        return Reason.NONE

    def _cash_needed(self, listing: _Listing, qty: int, limit: int) -> int:
        """Cash that covers `qty` at `limit` or better with the session's accrued interest,
        plus the largest fee it could pay (fees are charged on the clean notional)."""
        notional = qty * limit * listing.instrument.tick_value
        return notional + qty * listing.accrued + fee(notional, self._max_rate)

    # --- after the book ------------------------------------------------------------------

    def _after_book(
        self, listing: _Listing, request: tuple, codes: tuple, now: int, client: int
    ) -> Codes:
        """Book what the book did (`codes`: order id, status, reason, filled qty, fills,
        cancels) for the `request` (`gateway_kernels.REQ_*`, row, account, side, limit, qty, cash,
        units, client): register or update its order, price and book the fills, release what
        finished orders no longer need, and trip the circuit breaker if the last trade went
        too far. `client`: the request's, for the answer."""
        order_id, status, reason, filled, n_fills, n_cancels = codes
        symbol = listing.instrument.symbol
        # Coerced, so that a settlement calendar answering with a float fails here instead of
        # being truncated by the kernel.
        settle_at = self._settle_at(now) if n_fills else now
        book, ledger = listing.book, self.ledger
        while True:
            last = self._settle(
                ledger.balances, ledger.holdings, ledger.settlements, ledger.meta,
                self._slots, self._heads, self._venue_meta, listing.slot_of, self._rates,
                book.fills, n_fills, book.cancels, n_cancels, self._trades,
                *request, order_id, status, listing.index, listing.column,
                listing.tick_value, listing.accrued, self._max_rate, self._fee_row, settle_at,
                now,
            )  # fmt: skip
            if last >= 0:
                break
            if last == gateway_kernels.NOT_OURS:
                raise _not_ours(self.name, symbol)
            self._make_room(listing, order_id, n_fills)
        if n_fills:
            self._traded_at = (now, settle_at)
            self._trip_breaker(listing, last, now)
        return _new_codes(Codes, (order_id, status, reason, filled, n_fills, n_cancels, client))

    # --- answers -------------------------------------------------------------------------

    def answer(self, symbol: str, codes: Codes) -> Response:
        """The `Response` to the venue's last request, from its `codes` (only until the venue's
        next request, whose trades and cancels replace these)."""
        order_id, status, reason, filled, n_fills, n_cancels, client = codes
        trades = (
            tuple(self.trade(symbol, row) for row in self.trade_rows(n_fills)) if n_fills else ()
        )
        cancelled = self._listings[symbol].book.cancelled(n_cancels) if n_cancels else ()
        return _new_response(
            Response,
            (symbol, order_id, _STATUSES[status], _REASONS[reason], filled, trades, cancelled,
             client),
        )  # fmt: skip

    def trade_rows(self, n: int) -> list[TradeRow]:
        """The last request's first `n` trades (the compiled gateway's `T_*` columns)."""
        if not n:
            return []
        return [_new_trade_row(TradeRow, row) for row in self._trades[:n].tolist()]

    def trade(self, symbol: str, row: TradeRow) -> Trade:
        """One of the last request's trades (a row of `trade_rows`) on `symbol`."""
        (price, qty, maker_id, taker_id, maker, taker, aggressor, notional, maker_fee, taker_fee,
         maker_client, taker_client, accrued) = row  # fmt: skip
        now, settle_at = self._traded_at
        return _new_trade(
            Trade,
            (now, self.name, symbol, price, qty, maker_id, taker_id, maker, taker,
             _INT_SIDES[aggressor], notional, maker_fee, taker_fee, settle_at, maker_client,
             taker_client, accrued),
        )  # fmt: skip

    def _make_room(self, listing: _Listing, order_id: int, n_fills: int) -> None:
        """Grow the arrays the settlement kernel writes to, so that one request fits."""
        meta = self._venue_meta
        if not meta[gateway_kernels.VM_FREE] and meta[gateway_kernels.VM_USED] == len(self._slots):
            self._slots = grown(self._slots, 2 * len(self._slots))
        if order_id >= len(listing.slot_of):
            listing.slot_of = grown(listing.slot_of, 2 * order_id)
        if n_fills > len(self._trades):
            self._trades = grown(self._trades, 2 * n_fills)
        self.ledger.reserve_settlements(n_fills)

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
            self.breaker_halts.append((now, listing.instrument.symbol, listing.halted_until))
            if not listing.anchored:
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


@functools.cache
def _settle_request():
    """The settlement kernel's compiled entry point, which skips numba's per-call type
    dispatch (it would cost more than the kernel: the face always passes the same types)."""
    ledger = Ledger()
    ledger.open_account(0)
    venue_state = gateway_kernels.new_venue_state(1)
    arrays = (ledger.balances, ledger.holdings, ledger.settlements, ledger.meta, *venue_state[:3],
              np.zeros(1, np.int64), venue_state[3], np.zeros((1, 6), np.int64), 0,
              np.zeros((1, 3), np.int64), 0,
              np.zeros((1, gateway_kernels.N_TRADE_FIELDS), np.int64))  # fmt: skip
    return entry_point(gateway_kernels.settle_request, (*arrays, *([0] * 19)))


def _not_ours(venue: str, symbol: str) -> RuntimeError:
    return RuntimeError(
        f"{venue}: a fill on {symbol} involves an order that did not come through the venue's "
        "gateway (only orders sent with Venue.submit can trade in its books)"
    )


@functools.cache
def _one_call_kernels():
    """The compiled entry points of the gateway kernels `new_order`, `modify_order` and
    `cancel_order` (see `_settle_request`)."""
    ledger = Ledger()
    ledger.open_account(0)
    slots, heads, venue_meta, rates = gateway_kernels.new_venue_state(1)
    book = OrderBook()
    slot_of, trades = np.zeros(1, np.int64), np.zeros((1, gateway_kernels.N_TRADE_FIELDS), np.int64)
    arrays = (ledger.balances, ledger.holdings, ledger.settlements, ledger.meta, slots, heads,
              venue_meta, slot_of, rates, trades, *book.state)  # fmt: skip
    cancel_arrays = (ledger.balances, ledger.holdings, slots, heads, venue_meta, slot_of,
                     *book.state[:4])  # fmt: skip
    calls = (
        (gateway_kernels.new_order, (*arrays, *([0] * 19))),
        (gateway_kernels.modify_order, (*arrays, *([0] * 14))),
        (gateway_kernels.cancel_order, (*cancel_arrays, 0, 0, 0)),
    )
    return tuple(entry_point(kernel, args) for kernel, args in calls)


def _int64_account(account: object) -> int | None:
    """An account id as the kernels take it (a Python int in int64); None for anything else,
    which owns no order."""
    if type(account) is int and -INT64_MAX <= account <= INT64_MAX:
        return account
    return as_int64(account)


def _refused(reason: Reason | int, order_id: int = 0, client: int = 0) -> Codes:
    return _new_codes(Codes, (order_id, Status.REJECTED, reason, 0, 0, 0, client))


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
