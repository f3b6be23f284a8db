"""What a venue tells its clients: priced trades, answers to requests, open-order snapshots,
level-1 quotes.

Small immutable records, the same for every venue. Prices are integer ticks, quantities integer
units, money (notional, fees, locks) integer paise and times integer ns.
"""

from __future__ import annotations

from typing import NamedTuple

from sim.market.orders import Cancel, Reason, Side, Status


class Codes(NamedTuple):
    """A venue's answer to one request as plain ints (`Venue.new_order`, `cancel_order`,
    `modify_order`): enough to record it; `Venue.answer` builds the `Response` from it."""

    order_id: int  # 0 when the gateway refused the request
    status: int  # a `Status`
    reason: int  # a `Reason`
    filled: int  # units
    n_fills: int  # this request's trades, in `Venue.trade_rows`
    n_cancels: int  # orders the request cancelled (self-trade prevention, IOC remainders)
    client: int


class TradeRow(NamedTuple):
    """One of a request's trades as the compiled gateway wrote it (`Venue.trade_rows`): ticks,
    units, ids, accounts, the aggressor's side (+1 buy, -1 sell), paise, client codes and the
    accrued interest (paise)."""

    price: int
    qty: int
    maker_order_id: int
    taker_order_id: int
    maker_account: int
    taker_account: int
    aggressor: int
    notional: int
    maker_fee: int
    taker_fee: int
    maker_client: int
    taker_client: int
    accrued: int  # paise of interest on top of the notional, the whole trade


class Trade(NamedTuple):
    """One execution, priced and charged: at a clean price, settled with accrued interest."""

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
    accrued: int = 0  # paise of interest the buyer pays the seller on top of the notional

    @property
    def consideration(self) -> int:
        """Paise the buyer pays and the seller receives before fees: notional plus accrued."""
        return self.notional + self.accrued


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


class Quote(NamedTuple):
    """Level 1 of one book as a participant sees it (None for an empty side)."""

    time: int
    bid: int | None
    bid_qty: int
    ask: int | None
    ask_qty: int

    @property
    def mid(self) -> float | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2

    @property
    def spread(self) -> int | None:
        if self.bid is None or self.ask is None:
            return None
        return self.ask - self.bid
