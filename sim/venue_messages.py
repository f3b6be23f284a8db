"""What a venue tells its clients: priced trades, answers to requests, open-order snapshots.

Small immutable records, the same for every venue. Prices are integer ticks, quantities integer
units, money (notional, fees, locks) integer paise and times integer ns.
"""

from __future__ import annotations

from typing import NamedTuple

from sim.orders import Cancel, Reason, Side, Status


class Trade(NamedTuple):
    """One execution, priced and charged."""

    time: int
    venue: str
    instrument: str
    price: int  # ticks
    qty: int  # units
    maker_order_id: int
    taker_order_id: int
    maker_account: int
    taker_account: int
    aggressor_side: Side
    notional: int  # paise
    maker_fee: int  # paise, negative for a rebate
    taker_fee: int
    settle_at: int
    maker_client: int = 0
    taker_client: int = 0


class Response(NamedTuple):
    """The venue's answer to a request: the book's outcome plus the priced trades."""

    instrument: str
    order_id: int  # the book's id; 0 when the gateway refused the request
    status: Status
    reason: Reason
    filled_qty: int = 0
    trades: tuple[Trade, ...] = ()
    cancelled: tuple[Cancel, ...] = ()
    client: int = 0  # the request's client code (a cancel's or modify's: the order's)

    @property
    def ok(self) -> bool:
        return self.status is not Status.REJECTED


class OpenOrder(NamedTuple):
    """A snapshot of an open order as the venue tracks it."""

    instrument: str
    order_id: int
    account: int
    side: Side
    limit: int  # ticks; the protection price for market and stop orders
    qty: int
    cash_locked: int  # paise
    units_locked: int
    client: int = 0
