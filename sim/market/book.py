"""The limit order book: one instrument, integer prices (ticks) and quantities (units).

A continuous double auction with strict price-time priority; trades print at the resting
order's price. The matching itself runs in numba (`sim.market._book_kernels`); this module is
the thin Python face that turns arguments into codes and codes back into `Outcome`s.

    book = OrderBook()
    out = book.submit(owner=7, side=Side.BUY, qty=10, price=1005)          # limit (GTC)
    out = book.submit(owner=8, side="sell", qty=4, price=None)             # market
    out = book.submit(owner=9, side="buy", qty=5, price=1004, tif="IOC")   # or "FOK"
    book.cancel(out.order_id); book.modify(order_id, qty=3, price=1006)
    fills = book.submit_many(msgs)                                         # whole stream, one call

No bad request raises: each gets an `Outcome` whose status and reason say what happened.
New orders get ids 1, 2, 3, ... in submission order, rejected ones included.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from sim.market import _book_kernels as book_kernels
from sim.market._kernel_support import entry_point, grown
from sim.market.orders import (
    INT64_MAX,
    Cancel,
    Fill,
    OrderState,
    OrderType,
    Outcome,
    Reason,
    Side,
    Status,
    as_int64,
    side_code_of,
)

__all__ = ["BATCH_DTYPE", "FILL_DTYPE", "OUTCOME_DTYPE", "OrderBook", "SelfTradePrevention", "Side"]


class SelfTradePrevention(IntEnum):
    """What happens when an incoming order meets a resting order of the same owner."""

    CANCEL_NEWEST = book_kernels.STP_CANCEL_NEWEST  # the incoming order's remainder is cancelled
    CANCEL_OLDEST = (
        book_kernels.STP_CANCEL_OLDEST
    )  # the resting order is cancelled; matching goes on
    CANCEL_BOTH = book_kernels.STP_CANCEL_BOTH

    @classmethod
    def parse(cls, value: object) -> SelfTradePrevention:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().upper().replace("-", "_")
            if key in cls.__members__:
                return cls[key]
        raise ValueError(
            f"unknown self-trade prevention mode {value!r}; "
            "expected 'cancel-newest', 'cancel-oldest' or 'cancel-both'"
        )


# Input of submit_many. The last three fields are optional in the array a caller passes.
BATCH_DTYPE = np.dtype(
    [
        ("action", "i1"),  # 0 new order, 1 cancel
        ("side", "i1"),  # +1 buy, -1 sell
        ("type", "i1"),  # 0 limit, 1 market, 2 IOC, 3 FOK
        ("price", "i8"),
        ("qty", "i8"),
        ("owner", "i8"),
        ("ref", "i8"),  # the order id a cancel refers to
        ("display_qty", "i8"),  # iceberg slice; 0 for a plain order
        ("stop_price", "i8"),  # 0 for no stop
        ("post_only", "i1"),
    ]
)
REQUIRED_BATCH_FIELDS = ("action", "side", "type", "price", "qty", "owner", "ref")
FILL_DTYPE = np.dtype(
    [
        ("maker_order_id", "i8"),
        ("taker_order_id", "i8"),
        ("maker_owner", "i8"),
        ("taker_owner", "i8"),
        ("price", "i8"),
        ("qty", "i8"),
    ]
)
OUTCOME_DTYPE = np.dtype(
    [("order_id", "i8"), ("status", "i1"), ("reason", "i1"), ("filled_qty", "i8")]
)

TIF_CODES = {
    spelling: int(order_type)
    for name, order_type in (
        ("GTC", OrderType.LIMIT),
        ("IOC", OrderType.IOC),
        ("FOK", OrderType.FOK),
    )
    for spelling in (name, name.lower())
}


def _flag(value: object) -> bool | None:
    """A yes/no option from a bool, a NumPy bool or 0/1; None for anything else."""
    if isinstance(value, np.bool_) or (type(value) is int and value in (0, 1)):
        return bool(value)
    return None


_STATUSES = tuple(Status)
_REASONS = {int(r): r for r in Reason}
# NamedTuple's generated __new__ is slow for a hot path; this builds the same tuple.
_new_outcome = tuple.__new__
# Stands for an unusable price or quantity: the kernels reject it with the matching reason.
# (-1 means "keep the current value" to modify.)
_BAD = -2


class _EntryPoints(NamedTuple):
    submit_one: Callable
    cancel_one: Callable
    modify_one: Callable


@functools.cache
def _entry_points() -> _EntryPoints:
    """The compiled kernels' own entry points, which skip numba's per-call type dispatch.

    Dispatch costs more than matching one order. The facade always passes the same types
    (the state arrays, Python ints and a bool), so the one compiled signature always applies.
    """
    scratch = book_kernels.new_state(1, 1, 1, book_kernels.STP_CANCEL_NEWEST)
    calls = (
        (book_kernels.submit_one, (*scratch, 1, 0, 1, 1, 0, 0, 0, False)),
        (book_kernels.cancel_one, (*scratch[:4], 1)),
        (book_kernels.modify_one, (*scratch, 1, -1, -1)),
    )
    return _EntryPoints(*(entry_point(kernel, args) for kernel, args in calls))


def _as_batch(msgs: np.ndarray) -> np.ndarray:
    """The messages in exactly `BATCH_DTYPE`, copied only when the caller's dtype differs."""
    names = getattr(getattr(msgs, "dtype", None), "names", None) or ()
    missing = [f for f in REQUIRED_BATCH_FIELDS if f not in names]
    if missing:
        raise ValueError(f"submit_many: the message array lacks field(s) {', '.join(missing)}")
    if msgs.dtype == BATCH_DTYPE and msgs.flags.c_contiguous:
        return msgs
    batch = np.zeros(len(msgs), BATCH_DTYPE)
    for name in BATCH_DTYPE.names:
        if name not in names:
            continue
        column, target = msgs[name], BATCH_DTYPE[name]
        # A silent cast would round prices or wrap sides; refuse instead.
        if column.dtype.kind not in "iub":
            raise ValueError(f"submit_many: field {name!r} must be integers, got {column.dtype}")
        info = np.iinfo(target)
        if len(column) and (column.min() < info.min or column.max() > info.max):
            raise ValueError(f"submit_many: field {name!r} has values outside {target}")
        batch[name] = column
    return batch


def _positive_or_bad(value: object) -> int:
    number = as_int64(value)
    return number if number is not None and number > 0 else _BAD


class OrderBook:
    """A price-time priority limit order book for one instrument.

    Parameters
    ----------
    tick : prices must be multiples of this many ticks (1: every integer price is valid).
    lot : quantities must be multiples of this many units.
    stp : self-trade prevention mode: 'cancel-newest' (default), 'cancel-oldest', 'cancel-both'.
    capacity : initial room for orders; the arrays grow on demand.
    """

    def __init__(
        self,
        tick: int = 1,
        lot: int = 1,
        stp: str | SelfTradePrevention = SelfTradePrevention.CANCEL_NEWEST,
        capacity: int = 1024,
    ) -> None:
        for name, value in (("tick", tick), ("lot", lot), ("capacity", capacity)):
            if as_int64(value) is None or value <= 0:
                raise ValueError(f"OrderBook {name} must be a positive integer, got {value!r}")
        self.stp = SelfTradePrevention.parse(stp)
        state = book_kernels.new_state(capacity, tick, lot, int(self.stp))
        self._orders, self._levels, self._stops, self._meta, self._fills, self._cancels = state
        self._kernels = _entry_points()

    # --- requests ------------------------------------------------------------------------

    def submit(
        self,
        owner: int,
        side: Side | str | int,
        qty: int,
        price: int | None = None,
        tif: str = "GTC",
        post_only: bool = False,
        stop_price: int | None = None,
        display_qty: int | None = None,
    ) -> Outcome:
        """Enter a new order. `price=None` means a market order (or IOC/FOK with no limit).

        `stop_price` makes it a stop (market) or stop-limit order that waits for the last trade
        price to reach it; `display_qty` makes a limit order an iceberg.
        """
        codes = self.new_order(owner, side, qty, price, tif, post_only, stop_price, display_qty)
        oid, status, reason, filled, n_fills, n_cancels = codes
        if n_fills or n_cancels:
            return self._outcome(oid, status, reason, filled, n_fills, n_cancels)
        return _new_outcome(Outcome, (oid, _STATUSES[status], _REASONS[reason], (), filled, ()))

    def new_order(
        self,
        owner,
        side,
        qty,
        price=None,
        tif="GTC",
        post_only=False,
        stop_price=None,
        display_qty=None,
    ) -> tuple[int, int, int, int, int, int]:
        """`submit` as codes: (order id, status, reason, filled qty, fills, cancels), the
        fills and cancels left in `fills` and `cancels` until the next request."""
        plain = type(side) is int and (side == 1 or side == -1)  # as agents send it
        side_code = side if plain else side_code_of(side)
        order_type = TIF_CODES.get(tif, -1) if isinstance(tif, str) else -1
        if price is None:
            limit = 0
            if order_type == book_kernels.T_LIMIT:
                order_type = book_kernels.T_MARKET
        elif type(price) is int and 0 < price <= book_kernels.MAX_VALUE:
            limit = price
        else:
            limit = _positive_or_bad(price)
        if not (type(qty) is int and 0 < qty <= book_kernels.MAX_VALUE):
            qty = _positive_or_bad(qty)
        if type(owner) is not int or not -INT64_MAX <= owner <= INT64_MAX:
            owner = as_int64(owner)
            if owner is None:
                owner = book_kernels.BAD_OWNER
        display = 0 if display_qty is None else _positive_or_bad(display_qty)
        stop = 0 if stop_price is None else _positive_or_bad(stop_price)
        if type(post_only) is not bool:
            post_only = _flag(post_only)
            if post_only is None:
                order_type = -1  # rejected as an inconsistent order type
        while True:
            codes = self._kernels.submit_one(
                self._orders, self._levels, self._stops, self._meta, self._fills, self._cancels,
                side_code, order_type, limit, qty, owner, display, stop, post_only,
            )  # fmt: skip
            if codes[0] != book_kernels.NEED_ROOM:
                return codes
            self._grow(1)

    def cancel(self, order_id: int) -> Outcome:
        """Cancel an open order (also while halted)."""
        oid = order_id if type(order_id) is int else as_int64(order_id)
        if oid is None or not -book_kernels.MAX_VALUE <= oid <= book_kernels.MAX_VALUE:
            return Outcome(order_id, Status.REJECTED, Reason.UNKNOWN_ORDER)
        reason, filled = self.cancel_codes(oid)
        if reason:
            return Outcome(oid, Status.REJECTED, _REASONS[reason])
        return _new_outcome(Outcome, (oid, Status.CANCELLED, Reason.NONE, (), filled, ()))

    def cancel_codes(self, order_id: int) -> tuple[int, int]:
        """`cancel` of an int64 order id as codes: (reason, 0 if cancelled; filled qty)."""
        return self._kernels.cancel_one(
            self._orders, self._levels, self._stops, self._meta, order_id
        )

    def modify(self, order_id: int, qty: int | None = None, price: int | None = None) -> Outcome:
        """Change an open order's remaining quantity and/or its price.

        Reducing the quantity keeps time priority; a price change or an increase loses it (and
        the order may trade at its new price).
        """
        oid = as_int64(order_id)
        if oid is None:
            return Outcome(order_id, Status.REJECTED, Reason.UNKNOWN_ORDER)
        result, status, reason, filled, n_fills, n_cancels = self.modify_codes(oid, qty, price)
        if result:
            return Outcome(oid, Status.REJECTED, _REASONS[result])
        return self._outcome(oid, status, reason, filled, n_fills, n_cancels)

    def modify_codes(self, order_id: int, qty=None, price=None) -> tuple[int, ...]:
        """`modify` of an int64 order id as codes: (0 or the refusal's reason, status,
        reason, filled qty, fills, cancels)."""
        new_qty = -1 if qty is None else _positive_or_bad(qty)
        new_price = -1 if price is None else _positive_or_bad(price)
        while True:
            codes = self._kernels.modify_one(
                self._orders, self._levels, self._stops, self._meta, self._fills, self._cancels,
                order_id, new_qty, new_price,
            )  # fmt: skip
            if codes[0] != book_kernels.NEED_ROOM:
                return codes
            self._grow(0)

    def submit_many(self, msgs: np.ndarray, outcomes: bool = False):
        """Process a structured array of requests (see `BATCH_DTYPE`) in one compiled call.

        Returns the fills as a `FILL_DTYPE` array; with `outcomes=True`, also one
        `OUTCOME_DTYPE` row per message.
        """
        msgs = _as_batch(msgs)
        out = np.zeros(len(msgs) if outcomes else 0, OUTCOME_DTYPE)
        fills = []
        start = 0
        self._meta[book_kernels.M_NFILLS] = 0
        self._meta[book_kernels.M_NCANCELS] = 0
        while True:
            start = book_kernels.submit_batch(
                self._orders, self._levels, self._stops, self._meta, self._fills, self._cancels,
                msgs, start, out,
            )  # fmt: skip
            if start == len(msgs):
                break
            # Out of room: keep what was filled so far, then make room for the rest.
            fills.append(self._fills[: self._meta[book_kernels.M_NFILLS]].copy())
            self._meta[book_kernels.M_NFILLS] = 0
            self._meta[book_kernels.M_NCANCELS] = 0
            self._grow(len(msgs) - start)
        fills.append(self._fills[: self._meta[book_kernels.M_NFILLS]])
        rows = np.concatenate(fills) if len(fills) > 1 else fills[0]
        result = rows.view(FILL_DTYPE).reshape(len(rows)).copy()
        return (result, out) if outcomes else result

    def _grow(self, new_orders: int) -> None:
        """Make room for `new_orders` more ids and for the worst case of the next request."""
        meta = self._meta
        need = meta[book_kernels.M_NEXT_ID] + new_orders
        if need >= book_kernels.MAX_ORDERS:
            raise OverflowError(
                f"an order book holds at most {book_kernels.MAX_ORDERS - 1:,} order ids"
            )
        if need >= len(self._orders):
            # No row past the id limit: the kernels check for room against the length alone.
            self._orders = grown(self._orders, need + 1, most=book_kernels.MAX_ORDERS)
        need_levels = (
            max(meta[book_kernels.M_NLEV], meta[book_kernels.M_NLEV + 1])
            + 1
            + meta[book_kernels.M_NSTOPS]
        )
        if need_levels > self._levels.shape[1]:
            shape = (2, max(need_levels, 2 * self._levels.shape[1]), book_kernels.N_LEVEL_FIELDS)
            levels = np.zeros(shape, np.int64)
            levels[:, : self._levels.shape[1]] = self._levels
            self._levels = levels
        if meta[book_kernels.M_NSTOPS] >= len(self._stops):
            self._stops = grown(self._stops, meta[book_kernels.M_NSTOPS] + 1)
        self._fills = grown(self._fills, meta[book_kernels.M_NEED_FILLS])
        self._cancels = grown(self._cancels, meta[book_kernels.M_NEED_CANCELS])

    def _outcome(self, oid, status, reason, filled, n_fills, n_cancels) -> Outcome:
        fills = ()
        if n_fills:
            fills = tuple(Fill(*row) for row in self._fills[:n_fills].tolist())
        cancelled = self.cancelled(n_cancels)
        return Outcome(oid, _STATUSES[status], _REASONS[reason], fills, filled, cancelled)

    @property
    def state(self) -> tuple[np.ndarray, ...]:
        """(orders, levels, stops, meta, fills, cancels): the arrays, for a compiled caller
        that matches in a call of its own (`sim.market._gateway_kernels.new_order`). Growing the
        book replaces them."""
        return self._orders, self._levels, self._stops, self._meta, self._fills, self._cancels

    def make_room(self) -> None:
        """Grow the arrays for one more order whatever it triggers, after a compiled caller
        found them too small (as this book's own requests do)."""
        self._grow(1)

    def cancelled(self, n: int) -> tuple[Cancel, ...]:
        """The first `n` orders the last request cancelled as a side effect."""
        if not n:
            return ()
        rows = self._cancels[:n].tolist()
        return tuple(Cancel(order_id, qty, _REASONS[why]) for order_id, qty, why in rows)

    @property
    def fills(self) -> np.ndarray:
        """The last request's fills are its first rows (`sim.market._book_kernels.F_*` columns)."""
        return self._fills

    @property
    def cancels(self) -> np.ndarray:
        """The last request's side-effect cancels are its first rows (order id, qty, reason)."""
        return self._cancels

    # --- market state --------------------------------------------------------------------

    def best_bid(self) -> tuple[int, int] | None:
        """(price, visible qty) of the best bid, or None."""
        return self._best(0)

    def best_ask(self) -> tuple[int, int] | None:
        """(price, visible qty) of the best ask, or None."""
        return self._best(1)

    def _best(self, s: int) -> tuple[int, int] | None:
        n = self._meta[book_kernels.M_NLEV + s]
        if n == 0:
            return None
        key, qty = self._levels[s, n - 1, : book_kernels.L_QTY + 1].tolist()
        return (key if s == 0 else -key), qty

    def top(self) -> tuple[int | None, int, int | None, int]:
        """(bid, bid qty, ask, ask qty) of level 1; None and 0 for an empty side."""
        # `item` reads one element as a Python int: the cheapest way out of an array, and
        # this runs after every request.
        meta, levels, key, qty = self._meta, self._levels, book_kernels.L_KEY, book_kernels.L_QTY
        n_bids, n_asks = meta.item(book_kernels.M_NLEV), meta.item(book_kernels.M_NLEV + 1)
        bid, bid_qty, ask, ask_qty = None, 0, None, 0
        if n_bids:
            bid, bid_qty = levels.item(0, n_bids - 1, key), levels.item(0, n_bids - 1, qty)
        if n_asks:
            ask, ask_qty = -levels.item(1, n_asks - 1, key), levels.item(1, n_asks - 1, qty)
        return bid, bid_qty, ask, ask_qty

    def depth(self, n: int = 5) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks): up to n levels a side of (price, visible qty), best first."""
        sides = []
        for s, sign in ((0, 1), (1, -1)):
            count = self._meta[book_kernels.M_NLEV + s]
            rows = self._levels[s, max(0, count - n) : count, : book_kernels.L_QTY + 1][
                ::-1
            ].tolist()
            sides.append([(sign * key, qty) for key, qty in rows])
        return sides[0], sides[1]

    def queue(self, side: Side | str | int, price: int) -> list[int]:
        """Order ids resting at one price, in time priority."""
        parsed = Side.parse(side)
        if parsed is None:
            raise ValueError(f"side must be 'buy' or 'sell' (or +1/-1), got {side!r}")
        s = 0 if parsed is Side.BUY else 1
        key = price if s == 0 else -price
        count = self._meta[book_kernels.M_NLEV + s]
        found = np.flatnonzero(self._levels[s, :count, book_kernels.L_KEY] == key)
        ids: list[int] = []
        if len(found):
            oid = int(self._levels[s, found[0], book_kernels.L_HEAD])
            while oid:
                ids.append(oid)
                oid = int(self._orders["next"][oid])
        return ids

    @property
    def last_price(self) -> int | None:
        """Price of the last trade, or None before the first."""
        return int(self._meta[book_kernels.M_LAST_PRICE]) or None

    @property
    def next_order_id(self) -> int:
        return int(self._meta[book_kernels.M_NEXT_ID])

    def order(self, order_id: int) -> OrderState:
        """The book's record of an order; raises KeyError for an id it never issued."""
        oid = as_int64(order_id)
        if oid is None or not 0 < oid < self._meta[book_kernels.M_NEXT_ID]:
            raise KeyError(f"order id {order_id!r} was never issued by this book")
        o = self._orders[oid]
        side, otype, status, flags = int(o["side"]), int(o["type"]), int(o["status"]), o["flags"]
        return OrderState(
            order_id=oid,
            owner=int(o["owner"]),
            side=Side(side) if side else None,
            type=OrderType(otype) if otype >= 0 else None,
            price=int(o["price"]),
            open_qty=int(o["qty"] + o["hidden"]),
            visible_qty=int(o["qty"]),
            filled_qty=int(o["filled"]),
            status=_STATUSES[status],
            reason=_REASONS[int(o["reason"])],
            stop_price=int(o["stop"]),
            stop_pending=bool(flags & book_kernels.FLAG_STOP_PENDING),
            post_only=bool(flags & book_kernels.FLAG_POST_ONLY),
        )

    def open_orders(self) -> Iterable[int]:
        """Ids of every open order (resting or pending stop), ascending."""
        statuses = self._orders["status"][1 : self._meta[book_kernels.M_NEXT_ID]]
        return (np.flatnonzero(statuses <= Status.PARTIALLY_FILLED) + 1).tolist()

    # --- trading state -------------------------------------------------------------------

    @property
    def halted(self) -> bool:
        return bool(self._meta[book_kernels.M_HALTED])

    def halt(self) -> None:
        """Stop trading: new orders and modifications are rejected; cancels still work."""
        self._meta[book_kernels.M_HALTED] = 1

    def resume(self) -> None:
        self._meta[book_kernels.M_HALTED] = 0
