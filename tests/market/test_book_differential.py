"""The engine's book against the simple reference book, on random request sequences.

Every outcome (status, reason, fills, cancellations), and after every step the whole book
(levels, queues, open quantities), must agree. Batches through `submit_many` must agree too.
"""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sim.market.book import BATCH_DTYPE, OrderBook
from sim.market.orders import Reason, Status
from tests.helpers.reference_book import ReferenceBook

STATEFUL = settings(max_examples=60, stateful_step_count=40, deadline=None)
OWNERS = st.integers(1, 3)
SIDES = st.sampled_from(["buy", "sell"])
PRICES = st.integers(96, 104)
QTYS = st.integers(1, 12)


def _flavour(stp: str, tick: int, lot: int):
    """A state machine class for one book configuration."""

    class BookComparison(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.book = OrderBook(tick=tick, lot=lot, stp=stp, capacity=2)
            self.ref = ReferenceBook(tick=tick, lot=lot, stp=stp)

        def check(self, got, want):
            assert got.order_id == want.order_id
            assert got.status is Status[want.status.upper()], (got, want)
            assert got.reason is Reason[want.reason.upper()], (got, want)
            assert [tuple(f) for f in got.fills] == want.fills
            assert got.filled_qty == want.filled_qty
            assert [(c.order_id, c.qty, c.reason.name.lower()) for c in got.cancelled] == (
                want.cancelled
            )

        def known_id(self, data):
            return data.draw(st.integers(0, self.ref.next_id), label="order id")

        @rule(
            owner=OWNERS,
            side=SIDES,
            qty=st.one_of(QTYS.map(lambda q: q * lot), st.integers(-2, 13)),
            price=st.one_of(st.none(), PRICES.map(lambda p: p * tick), st.integers(-1, 105)),
            tif=st.sampled_from(["GTC", "GTC", "GTC", "IOC", "FOK", "DAY", "ioc", "fok", ["GTC"]]),
            post_only=st.one_of(st.booleans(), st.sampled_from([0, 1, 2, "yes", np.bool_(True)])),
            stop=st.one_of(st.none(), st.none(), st.none(), PRICES.map(lambda p: p * tick)),
            display=st.one_of(st.none(), st.none(), st.integers(0, 4).map(lambda d: d * lot)),
        )
        def submit(self, owner, side, qty, price, tif, post_only, stop, display):
            kwargs = dict(
                owner=owner,
                side=side,
                qty=qty,
                price=price,
                tif=tif,
                post_only=post_only,
                stop_price=stop,
                display_qty=display,
            )
            self.check(self.book.submit(**kwargs), self.ref.submit(**kwargs))

        @rule(owner=OWNERS, side=SIDES, qty=QTYS, price=PRICES)
        def passive(self, owner, side, qty, price):
            # Plain resting orders, so that books get deep enough to be interesting.
            kwargs = dict(owner=owner, side=side, qty=qty * lot, price=price * tick)
            self.check(self.book.submit(**kwargs), self.ref.submit(**kwargs))

        @rule(data=st.data())
        def cancel(self, data):
            oid = self.known_id(data)
            self.check(self.book.cancel(oid), self.ref.cancel(oid))

        @rule(
            data=st.data(),
            qty=st.one_of(st.none(), QTYS.map(lambda q: q * lot), st.integers(-1, 3)),
            price=st.one_of(st.none(), PRICES.map(lambda p: p * tick), st.integers(-1, 2)),
        )
        def modify(self, data, qty, price):
            oid = self.known_id(data)
            self.check(
                self.book.modify(oid, qty=qty, price=price), self.ref.modify(oid, qty, price)
            )

        @rule(halt=st.booleans())
        def halt_or_resume(self, halt):
            if halt:
                self.book.halt()
            else:
                self.book.resume()
            self.ref.halted = halt

        @precondition(lambda self: not self.ref.halted)
        @rule(data=st.data(), n=st.integers(1, 6))
        def batch(self, data, n):
            msgs = np.zeros(n, BATCH_DTYPE)
            for k in range(n):
                if data.draw(st.booleans(), label="cancel?"):
                    msgs[k]["action"] = 1
                    msgs[k]["ref"] = data.draw(st.integers(0, self.ref.next_id + k))
                else:
                    msgs[k]["side"] = data.draw(st.sampled_from([1, -1]))
                    msgs[k]["type"] = data.draw(st.sampled_from([0, 0, 1, 2, 3]))
                    msgs[k]["price"] = data.draw(PRICES) * tick
                    msgs[k]["qty"] = data.draw(QTYS) * lot
                    msgs[k]["owner"] = data.draw(OWNERS)
            fills, outcomes = self.book.submit_many(msgs, outcomes=True)
            want_fills = []
            kinds = {0: "GTC", 1: "GTC", 2: "IOC", 3: "FOK"}
            for m, got in zip(msgs, outcomes, strict=True):
                if m["action"] == 1:
                    want = self.ref.cancel(int(m["ref"]))
                else:
                    price = None if m["type"] == 1 else int(m["price"])
                    want = self.ref.submit(
                        int(m["owner"]), int(m["side"]), int(m["qty"]), price, kinds[int(m["type"])]
                    )
                assert got["order_id"] == want.order_id
                assert got["status"] == Status[want.status.upper()]
                assert got["reason"] == Reason[want.reason.upper()]
                assert got["filled_qty"] == want.filled_qty
                want_fills += [(f[0], f[1], f[4], f[5]) for f in want.fills]
            got_fills = list(
                zip(
                    fills["maker_order_id"].tolist(),
                    fills["taker_order_id"].tolist(),
                    fills["price"].tolist(),
                    fills["qty"].tolist(),
                    strict=True,
                )
            )
            assert got_fills == want_fills

        @invariant()
        def same_book(self):
            if not hasattr(self, "book"):
                return
            bids, asks = self.book.depth(1000)
            assert bids == self.ref.levels(1)
            assert asks == self.ref.levels(-1)
            for side_name, side in (("buy", 1), ("sell", -1)):
                for price, ids in self.ref.queues[side].items():
                    assert self.book.queue(side_name, price) == ids
            assert self.book.next_order_id == self.ref.next_id
            assert self.book.last_price == (self.ref.last_price or None)
            for oid, order in self.ref.orders.items():
                state = self.book.order(oid)
                assert state.status is Status[order.status.upper()]
                assert state.visible_qty == order.qty
                assert state.open_qty == order.qty + order.hidden
                assert state.filled_qty == order.filled
                assert state.stop_pending == order.stop_pending

        @invariant()
        def never_crossed(self):
            if hasattr(self, "book") and self.book.best_bid() and self.book.best_ask():
                assert self.book.best_bid()[0] < self.book.best_ask()[0]

    BookComparison.__name__ = f"BookComparison_{stp}_{tick}_{lot}"
    BookComparison.TestCase.settings = STATEFUL
    return BookComparison


TestCancelNewest = _flavour("cancel-newest", 1, 1).TestCase
TestCancelOldest = _flavour("cancel-oldest", 1, 1).TestCase
TestCancelBoth = _flavour("cancel-both", 1, 1).TestCase
TestTickAndLot = _flavour("cancel-newest", 5, 2).TestCase
