"""A deliberately simple order book, written from the rules, to test `sim.market.book` against.

It shares no code with the engine: plain dicts and lists, linear scans, and a copy of the whole
book to decide whether a fill-or-kill order can fill. Slow and obviously right is the point.
Statuses and reasons are spelled as strings here and mapped to the engine's enums in the tests.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

MAX_VALUE = 2**53
# Times in force as the book takes them: the upper- or the lower-case name, nothing else.
TIFS = {"GTC": "limit", "IOC": "ioc", "FOK": "fok", "gtc": "limit", "ioc": "ioc", "fok": "fok"}


def _flag(value) -> bool | None:
    """A yes/no option: a bool, a NumPy bool, or the int 0 or 1; None for anything else."""
    if isinstance(value, bool | np.bool_) or (type(value) is int and value in (0, 1)):
        return bool(value)
    return None


@dataclass
class RefOrder:
    oid: int
    owner: int
    side: int  # +1 buy, -1 sell
    kind: str  # "limit", "market", "ioc", "fok"
    price: int  # 0 = no limit
    qty: int  # visible when resting, whole remainder while matching
    hidden: int = 0
    display: int = 0
    stop: int = 0
    post_only: bool = False
    filled: int = 0
    status: str = "accepted"
    reason: str = "none"
    stop_pending: bool = False


@dataclass
class RefOutcome:
    order_id: int
    status: str
    reason: str
    fills: list = field(default_factory=list)  # (maker, taker, maker_owner, taker_owner, px, qty)
    filled_qty: int = 0
    cancelled: list = field(default_factory=list)  # (order id, qty, reason)


class ReferenceBook:
    def __init__(self, tick: int = 1, lot: int = 1, stp: str = "cancel-newest") -> None:
        self.tick, self.lot, self.stp = tick, lot, stp
        self.orders: dict[int, RefOrder] = {}
        self.queues: dict[int, dict[int, list[int]]] = {1: {}, -1: {}}  # side -> price -> ids
        self.stops: list[int] = []
        self.next_id = 1
        self.last_price = 0
        self.halted = False
        self.fills: list = []
        self.cancels: list = []

    # --- requests ------------------------------------------------------------------------

    def submit(
        self,
        owner,
        side,
        qty,
        price=None,
        tif="GTC",
        post_only=False,
        stop_price=None,
        display_qty=None,
    ) -> RefOutcome:
        oid = self.next_id
        self.next_id += 1
        self.fills, self.cancels = [], []
        kind = TIFS.get(tif) if isinstance(tif, str) else None
        if kind == "limit" and price is None:
            kind = "market"
        post_only = _flag(post_only)
        if post_only is None:  # neither yes nor no: an inconsistent order type
            kind, post_only = None, False
        side_code = {"buy": 1, "sell": -1, 1: 1, -1: -1}.get(side, 0)
        order = RefOrder(
            oid,
            owner,
            side_code,
            kind or "bad",
            price or 0,
            qty,
            display=display_qty or 0,
            stop=stop_price or 0,
            post_only=post_only,
        )
        self.orders[oid] = order
        reason = self._check(side_code, kind, price, qty, post_only, stop_price, display_qty)
        if reason == "none" and self.halted:
            reason = "halted"
        if reason == "none" and post_only and self._would_cross(side_code, price):
            reason = "post_only_would_cross"
        if reason != "none":
            order.status, order.reason, order.qty = "rejected", reason, 0
            return RefOutcome(oid, "rejected", reason)
        if order.stop and not self._stop_hit(order):
            order.stop_pending = True
            self.stops.append(oid)
            return RefOutcome(oid, "accepted", "none")
        self._process(order, triggered=False)
        self._trigger_stops()
        return self._outcome(order)

    def cancel(self, oid) -> RefOutcome:
        self.fills, self.cancels = [], []
        order = self.orders.get(oid)
        if order is None or order.status not in ("accepted", "partially_filled"):
            return RefOutcome(oid, "rejected", "unknown_order")
        if order.stop_pending:
            self.stops.remove(oid)
            order.stop_pending = False
        else:
            self._remove(order)
        order.qty = order.hidden = 0
        order.status, order.reason = "cancelled", "cancelled_by_owner"
        return RefOutcome(oid, "cancelled", "none", filled_qty=order.filled)

    def modify(self, oid, qty=None, price=None) -> RefOutcome:
        self.fills, self.cancels = [], []
        order = self.orders.get(oid)
        if order is None or order.status not in ("accepted", "partially_filled"):
            return RefOutcome(oid, "rejected", "unknown_order")
        if order.stop_pending:
            return RefOutcome(oid, "rejected", "not_modifiable")
        if self.halted:
            return RefOutcome(oid, "rejected", "halted")
        total = order.qty + order.hidden
        if qty is not None and not self._good_qty(qty):
            return RefOutcome(oid, "rejected", "bad_quantity")
        if price is not None and not self._good_price(price):
            return RefOutcome(oid, "rejected", "bad_price")
        new_qty = total if qty is None else qty
        new_price = order.price if price is None else price
        if new_price == order.price and new_qty <= total:
            cut = total - new_qty
            from_hidden = min(cut, order.hidden)
            order.hidden -= from_hidden
            order.qty -= cut - from_hidden
            return self._outcome(order)
        if order.post_only and self._would_cross(order.side, new_price):
            return RefOutcome(oid, "rejected", "post_only_would_cross")
        self._remove(order)
        order.price, order.qty, order.hidden = new_price, new_qty, 0
        self._process(order, triggered=False)
        self._trigger_stops()
        return self._outcome(order)

    def halt(self) -> None:
        self.halted = True

    def resume(self) -> None:
        self.halted = False

    # --- views ---------------------------------------------------------------------------

    def levels(self, side: int) -> list[tuple[int, int]]:
        """(price, visible qty) per level, best first."""
        prices = sorted(self.queues[side], reverse=(side == 1))
        return [(p, sum(self.orders[i].qty for i in self.queues[side][p])) for p in prices]

    def depth(self, n: int = 5) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks): up to n levels a side, best first."""
        return self.levels(1)[:n], self.levels(-1)[:n]

    def top(self) -> tuple[int | None, int, int | None, int]:
        """(bid, bid qty, ask, ask qty); None and 0 for an empty side."""
        return (*self._best(1), *self._best(-1))

    def _best(self, side: int) -> tuple[int | None, int]:
        queues = self.queues[side]
        if not queues:
            return None, 0
        price = max(queues) if side == 1 else min(queues)
        return price, sum(self.orders[i].qty for i in queues[price])

    # --- rules ---------------------------------------------------------------------------

    def _good_qty(self, qty) -> bool:
        return isinstance(qty, int) and 0 < qty <= MAX_VALUE and qty % self.lot == 0

    def _good_price(self, price) -> bool:
        return isinstance(price, int) and 0 < price <= MAX_VALUE and price % self.tick == 0

    def _check(self, side, kind, price, qty, post_only, stop, display) -> str:
        if side == 0:
            return "bad_side"
        if kind is None:
            return "bad_order_type"
        if post_only and (kind != "limit" or stop is not None):
            return "bad_order_type"
        if stop is not None and kind in ("ioc", "fok"):
            return "bad_order_type"
        if not self._good_qty(qty):
            return "bad_quantity"
        if kind != "market" and price is not None and not self._good_price(price):
            return "bad_price"
        if display is not None and (kind != "limit" or not self._good_qty(display)):
            return "bad_display_quantity"
        if stop is not None and not self._good_price(stop):
            return "bad_stop_price"
        return "none"

    def _would_cross(self, side, price) -> bool:
        opposite = self.queues[-side]
        if not opposite:
            return False
        best = min(opposite) if side == 1 else max(opposite)
        return best <= price if side == 1 else best >= price

    def _stop_hit(self, order) -> bool:
        if not self.last_price:
            return False
        return self.last_price >= order.stop if order.side == 1 else self.last_price <= order.stop

    def _remove(self, order) -> None:
        queue = self.queues[order.side][order.price]
        queue.remove(order.oid)
        if not queue:
            del self.queues[order.side][order.price]

    def _rest(self, order) -> None:
        self.queues[order.side].setdefault(order.price, []).append(order.oid)

    def _process(self, order, triggered: bool) -> None:
        if order.kind == "fok" and not self._fok_fills(order):
            qty, order.qty, order.reason = order.qty, 0, "fok_not_fillable"
            order.status = "cancelled" if triggered else "rejected"
            if triggered:
                self.cancels.append((order.oid, qty, "fok_not_fillable"))
            return
        stp_hit = self._match(order)
        remaining = order.qty
        if remaining == 0:
            order.status, order.reason = "filled", "none"
        elif order.kind == "limit" and not stp_hit:
            if 0 < order.display < remaining:
                order.qty, order.hidden = order.display, remaining - order.display
            order.status = "partially_filled" if order.filled else "accepted"
            order.reason = "none"
            self._rest(order)
        else:
            order.qty, order.status = 0, "cancelled"
            order.reason = "self_trade" if stp_hit else "unfilled_remainder"
            if triggered:
                self.cancels.append((order.oid, remaining, order.reason))

    def _fok_fills(self, order) -> bool:
        trial = copy.deepcopy(self)
        trial._match(trial.orders[order.oid])
        return trial.orders[order.oid].qty == 0

    def _match(self, order) -> bool:
        """Trade `order` against the other side; True when self-trade prevention stopped it."""
        book = self.queues[-order.side]
        while order.qty > 0 and book:
            price = min(book) if order.side == 1 else max(book)
            if order.price and (price > order.price if order.side == 1 else price < order.price):
                break
            maker = self.orders[book[price][0]]
            if maker.owner == order.owner:
                if self.stp in ("cancel-oldest", "cancel-both"):
                    qty = maker.qty + maker.hidden
                    self._remove(maker)
                    maker.qty = maker.hidden = 0
                    maker.status, maker.reason = "cancelled", "self_trade"
                    self.cancels.append((maker.oid, qty, "self_trade"))
                if self.stp in ("cancel-newest", "cancel-both"):
                    return True
                continue
            qty = min(order.qty, maker.qty)
            self.fills.append((maker.oid, order.oid, maker.owner, order.owner, price, qty))
            order.qty -= qty
            order.filled += qty
            maker.qty -= qty
            maker.filled += qty
            self.last_price = price
            maker.status = "partially_filled"
            if maker.qty == 0:
                self._remove(maker)
                if maker.hidden:
                    refill = min(maker.display, maker.hidden)
                    maker.hidden -= refill
                    maker.qty = refill
                    self._rest(maker)
                else:
                    maker.status = "filled"
        return False

    def _trigger_stops(self) -> None:
        while True:
            hit = [oid for oid in self.stops if self._stop_hit(self.orders[oid])]
            if not hit:
                return
            oid = min(hit)
            self.stops.remove(oid)
            order = self.orders[oid]
            order.stop_pending = False
            self._process(order, triggered=True)

    def _outcome(self, order) -> RefOutcome:
        return RefOutcome(
            order.oid,
            order.status,
            order.reason,
            list(self.fills),
            order.filled,
            list(self.cancels),
        )
