"""Order value types shared by the book, the venues and (later) the live adapter.

Everything here is small and immutable. The integer values of the enums are the codes the numba
kernels and the result files use, so they never change once released.
"""

from __future__ import annotations

import operator
from enum import IntEnum
from typing import NamedTuple

INT64_MAX = 2**63 - 1


class Side(IntEnum):
    BUY = 1
    SELL = -1

    @classmethod
    def parse(cls, value: object) -> Side | None:
        """Side from 'buy'/'sell' (any case), +1/-1 or a Side; None when it is neither."""
        if isinstance(value, str):
            return _SIDE_NAMES.get(value.strip().lower())
        if isinstance(value, bool):
            return None
        try:
            number = operator.index(value)  # ints only: 1.0 is not a side
        except TypeError:
            return None
        return cls(number) if number in (1, -1) else None


# The common spellings, looked up without parsing (Side.BUY == 1 and Side.SELL == -1, so the
# enum members hit the integer keys).
_SIDE_CODES = {1: 1, -1: -1, "buy": 1, "sell": -1, "BUY": 1, "SELL": -1, "Buy": 1, "Sell": -1}
_PLAIN_SIDE_TYPES = (int, str, Side)


def side_code_of(side: object) -> int:
    """+1 or -1 for anything `Side.parse` reads as a side, else 0 (refused as BAD_SIDE)."""
    if type(side) in _PLAIN_SIDE_TYPES:
        code = _SIDE_CODES.get(side)
        if code is not None:
            return code
    try:
        parsed = Side.parse(side)
    except (TypeError, ValueError):
        return 0
    return 0 if parsed is None else int(parsed)


def as_int64(value: object) -> int | None:
    """A Python int from an int or NumPy integer within int64 (the range every price, quantity
    and id is stored in); None for anything else, bools included."""
    if isinstance(value, bool):
        return None
    try:
        number = operator.index(value)
    except TypeError:
        return None
    return number if -INT64_MAX <= number <= INT64_MAX else None


_SIDE_NAMES = {"buy": Side.BUY, "b": Side.BUY, "sell": Side.SELL, "s": Side.SELL}


class OrderType(IntEnum):
    """How an order treats the part it cannot fill at once."""

    LIMIT = 0  # rests (good till cancelled)
    MARKET = 1  # no price limit; the remainder is cancelled
    IOC = 2  # immediate or cancel, optionally with a price limit
    FOK = 3  # fill or kill: all of it at once, or nothing


class Status(IntEnum):
    """State of an order after a request. ACCEPTED and PARTIALLY_FILLED orders are open."""

    ACCEPTED = 0
    PARTIALLY_FILLED = 1
    FILLED = 2
    CANCELLED = 3
    REJECTED = 4


class Reason(IntEnum):
    """Why an order was rejected or cancelled (NONE when it was not)."""

    NONE = 0
    # order book
    BAD_QUANTITY = 1
    BAD_PRICE = 2
    UNKNOWN_ORDER = 3
    POST_ONLY_WOULD_CROSS = 4
    FOK_NOT_FILLABLE = 5
    HALTED = 6
    SELF_TRADE = 7
    UNFILLED_REMAINDER = 8
    BAD_SIDE = 9
    BAD_ORDER_TYPE = 10
    BAD_DISPLAY_QUANTITY = 11
    BAD_STOP_PRICE = 12
    NOT_MODIFIABLE = 13
    CANCELLED_BY_OWNER = 14
    BAD_OWNER = 15
    # venue gateway
    UNKNOWN_INSTRUMENT = 20
    UNKNOWN_ACCOUNT = 21
    PRICE_BAND = 22
    POSITION_LIMIT = 23
    NOTIONAL_LIMIT = 24
    INSUFFICIENT_CASH = 25
    INSUFFICIENT_UNITS = 26
    VENUE_HALTED = 27
    NO_REFERENCE_PRICE = 28
    BAD_CLIENT = 29
    DELISTED = 33  # the instrument's listing ended: it matured
    # a strategy's own guardrails, before the order left it
    GUARDRAIL_POSITION = 30
    GUARDRAIL_VAR = 31
    KILL_SWITCH = 32
    # the simulation: sent too late to reach the venue before its last session closed
    MARKET_CLOSED = 40

    @property
    def message(self) -> str:
        return _REASON_MESSAGES[self]


_REASON_MESSAGES = {
    Reason.NONE: "",
    Reason.BAD_QUANTITY: "quantity must be a positive whole multiple of the lot size",
    Reason.BAD_PRICE: "price must be a positive whole number of ticks on the price grid",
    Reason.UNKNOWN_ORDER: "no open order with this id",
    Reason.POST_ONLY_WOULD_CROSS: "post-only order would take liquidity",
    Reason.FOK_NOT_FILLABLE: "fill-or-kill order cannot be filled in full",
    Reason.HALTED: "trading in this instrument is halted",
    Reason.SELF_TRADE: "self-trade prevention: the order met one of the same owner's",
    Reason.UNFILLED_REMAINDER: "the part that could not be filled at once was cancelled",
    Reason.BAD_SIDE: "side must be 'buy' or 'sell'",
    Reason.BAD_ORDER_TYPE: "unknown or inconsistent order type / time in force",
    Reason.BAD_DISPLAY_QUANTITY: "display quantity must be a positive multiple of the lot, "
    "on a limit order",
    Reason.BAD_STOP_PRICE: "stop price must be a positive whole number of ticks on the grid",
    Reason.NOT_MODIFIABLE: "a pending stop order cannot be modified; cancel it instead",
    Reason.CANCELLED_BY_OWNER: "cancelled at the owner's request",
    Reason.BAD_OWNER: "owner must be an integer id within int64",
    Reason.UNKNOWN_INSTRUMENT: "the venue does not list this instrument",
    Reason.UNKNOWN_ACCOUNT: "no such account at this venue",
    Reason.PRICE_BAND: "price outside the instrument's price band",
    Reason.POSITION_LIMIT: "the order would breach the account's position limit",
    Reason.NOTIONAL_LIMIT: "the order would breach the account's notional limit",
    Reason.INSUFFICIENT_CASH: "not enough free cash to cover the order",
    Reason.INSUFFICIENT_UNITS: "not enough free units to cover the sale",
    Reason.VENUE_HALTED: "the venue is halted",
    Reason.NO_REFERENCE_PRICE: "no reference price yet to protect a market order against",
    Reason.BAD_CLIENT: "client code must be an integer in 0..2**31-1, and an account that "
    "uses codes other than 0 must have an id in 0..2**32-1",
    Reason.DELISTED: "the instrument is no longer listed: it has matured",
    Reason.GUARDRAIL_POSITION: "the strategy's position guardrail refused the order",
    Reason.GUARDRAIL_VAR: "the strategy's value-at-risk guardrail refused the order",
    Reason.KILL_SWITCH: "the strategy's drawdown kill switch has tripped",
    Reason.MARKET_CLOSED: "sent too late to reach the venue before its last session closed",
}


class Fill(NamedTuple):
    """One execution: the maker's resting order met the taker's incoming one."""

    maker_order_id: int
    taker_order_id: int
    maker_owner: int
    taker_owner: int
    price: int
    qty: int


class Cancel(NamedTuple):
    """An order cancelled as a side effect of someone else's request (STP, a triggered stop)."""

    order_id: int
    qty: int
    reason: Reason


class Outcome(NamedTuple):
    """The explicit answer to every request: nothing is dropped silently."""

    order_id: int
    status: Status
    reason: Reason
    fills: tuple[Fill, ...] = ()
    filled_qty: int = 0  # cumulative quantity this order has executed
    cancelled: tuple[Cancel, ...] = ()  # other orders this request cancelled

    @property
    def ok(self) -> bool:
        return self.status is not Status.REJECTED


class OrderState(NamedTuple):
    """A snapshot of one order, as the book holds it."""

    order_id: int
    owner: int
    side: Side | None  # None for an order rejected for its side
    type: OrderType | None  # None for an order rejected for its type
    price: int  # limit price in ticks; 0 for market orders
    open_qty: int  # visible plus hidden quantity still working
    visible_qty: int
    filled_qty: int
    status: Status
    reason: Reason
    stop_price: int  # 0 when not a stop order
    stop_pending: bool
    post_only: bool

    @property
    def is_open(self) -> bool:
        return self.status in (Status.ACCEPTED, Status.PARTIALLY_FILLED)
