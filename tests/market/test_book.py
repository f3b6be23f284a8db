"""Explicit unit tests of the limit order book: one small hand-built scenario per rule.

`tests/market/test_book_differential.py` compares the book with a reference on random request
sequences; this file pins each rule down by name, with the exact fills and outcomes a reader
can check by hand. Owners are small integers: 1 and 2 are distinct traders, so self-trade
prevention only applies where a test says so.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.order_flow import random_flow
from sim.market import _book_kernels as book_kernels
from sim.market.book import BATCH_DTYPE, FILL_DTYPE, OUTCOME_DTYPE, OrderBook, SelfTradePrevention
from sim.market.orders import Cancel, Fill, OrderType, Outcome, Reason, Side, Status

BUY, SELL = "buy", "sell"


# --- helpers -----------------------------------------------------------------------------


def rest(book: OrderBook, owner: int, side: str, qty: int, price: int, **kwargs) -> int:
    """Submit an order that must rest without trading; return its id."""
    out = book.submit(owner, side, qty, price, **kwargs)
    assert out.status is Status.ACCEPTED and out.fills == (), out
    return out.order_id


def trades(out: Outcome) -> list[tuple[int, int, int, int]]:
    """The fills of an outcome as (maker id, taker id, price, qty)."""
    return [(f.maker_order_id, f.taker_order_id, f.price, f.qty) for f in out.fills]


def snapshot(book: OrderBook) -> dict:
    """Everything a request that must leave the book untouched could change."""
    bids, asks = book.depth(100)
    queues = {
        (side, price): book.queue(side, price)
        for side, levels in ((BUY, bids), (SELL, asks))
        for price, _ in levels
    }
    return {
        "depth": (bids, asks),
        "queues": queues,
        "last_price": book.last_price,
        "open_orders": book.open_orders(),
        "orders": {oid: book.order(oid) for oid in range(1, book.next_order_id)},
    }


def assert_untouched(book: OrderBook, before: dict) -> None:
    """The book and every order that existed at `before` are as they were."""
    now = snapshot(book)
    now["orders"] = {oid: now["orders"][oid] for oid in before["orders"]}
    assert now == before


def ask_ladder(book: OrderBook, owner: int = 2) -> tuple[int, int, int]:
    """Asks 5@100, 5@101, 5@102 from one owner; returns their ids."""
    return tuple(rest(book, owner, SELL, 5, price) for price in (100, 101, 102))


def print_trade(book: OrderBook, price: int, buyer: int = 8, seller: int = 9) -> None:
    """Make the last trade price `price` with a one-unit trade between two bystanders."""
    rest(book, seller, SELL, 1, price)
    out = book.submit(buyer, BUY, 1, price, tif="IOC")
    assert out.status is Status.FILLED and book.last_price == price, out


# --- limit (GTC) orders ------------------------------------------------------------------


def test_limit_order_rests_when_not_marketable():
    book = OrderBook()
    out = book.submit(1, BUY, 5, 100)
    assert out == Outcome(1, Status.ACCEPTED, Reason.NONE)
    assert book.best_bid() == (100, 5)
    state = book.order(1)
    assert (state.type, state.side, state.price, state.open_qty) == (
        OrderType.LIMIT,
        Side.BUY,
        100,
        5,
    )
    assert state.is_open and not state.post_only and not state.stop_pending


def test_limit_buy_trades_at_resting_price_so_the_taker_gets_the_improvement():
    book = OrderBook()
    rest(book, 2, SELL, 5, 100)
    out = book.submit(1, BUY, 8, 105)
    assert trades(out) == [(1, 2, 100, 5)]
    assert (out.status, out.filled_qty) == (Status.PARTIALLY_FILLED, 5)
    assert book.best_bid() == (105, 3)  # the remainder rests at its own limit
    assert book.best_ask() is None


def test_limit_sell_trades_at_resting_price_so_the_taker_gets_the_improvement():
    book = OrderBook()
    rest(book, 2, BUY, 5, 100)
    out = book.submit(1, SELL, 5, 90)
    assert trades(out) == [(1, 2, 100, 5)]
    assert out.status is Status.FILLED and out.reason is Reason.NONE


def test_limit_sweeps_best_price_first_then_time_priority_and_stops_at_its_limit():
    book = OrderBook()
    a101 = rest(book, 2, SELL, 5, 101)
    a100_first = rest(book, 3, SELL, 4, 100)
    a100_second = rest(book, 4, SELL, 4, 100)
    a102 = rest(book, 5, SELL, 5, 102)
    out = book.submit(1, BUY, 20, 101)
    taker = out.order_id
    assert trades(out) == [
        (a100_first, taker, 100, 4),
        (a100_second, taker, 100, 4),
        (a101, taker, 101, 5),
    ]
    assert book.best_ask() == (102, 5) and book.order(a102).open_qty == 5
    assert book.best_bid() == (101, 7)


# --- market orders -----------------------------------------------------------------------


def test_market_order_remainder_is_cancelled_as_unfilled_remainder():
    book = OrderBook()
    a100, a101 = rest(book, 2, SELL, 5, 100), rest(book, 2, SELL, 5, 101)
    out = book.submit(1, BUY, 15, None)
    assert trades(out) == [(a100, 3, 100, 5), (a101, 3, 101, 5)]
    assert (out.status, out.reason, out.filled_qty) == (
        Status.CANCELLED,
        Reason.UNFILLED_REMAINDER,
        10,
    )
    assert book.depth() == ([], [])  # nothing rests
    assert not book.order(3).is_open


def test_market_order_into_empty_book_is_cancelled_without_fills():
    book = OrderBook()
    out = book.submit(1, SELL, 5, None)
    assert out == Outcome(1, Status.CANCELLED, Reason.UNFILLED_REMAINDER)
    assert book.last_price is None and book.depth() == ([], [])


def test_market_order_filled_in_full_is_filled():
    book = OrderBook()
    rest(book, 2, BUY, 5, 100)
    out = book.submit(1, SELL, 5, None)
    assert (out.status, out.reason, out.filled_qty) == (Status.FILLED, Reason.NONE, 5)
    assert book.order(2).type is OrderType.MARKET and book.order(2).price == 0


# --- immediate-or-cancel -----------------------------------------------------------------


def test_ioc_with_price_limit_takes_up_to_its_limit_and_cancels_the_rest():
    book = OrderBook()
    ask_ladder(book)
    out = book.submit(1, BUY, 12, 101, tif="IOC")
    assert trades(out) == [(1, 4, 100, 5), (2, 4, 101, 5)]
    assert (out.status, out.reason, out.filled_qty) == (
        Status.CANCELLED,
        Reason.UNFILLED_REMAINDER,
        10,
    )
    assert book.best_bid() is None  # an IOC never rests
    assert book.best_ask() == (102, 5)


def test_ioc_without_price_limit_sweeps_like_a_market_order():
    book = OrderBook()
    ask_ladder(book)
    out = book.submit(1, BUY, 12, None, tif="IOC")
    assert trades(out) == [(1, 4, 100, 5), (2, 4, 101, 5), (3, 4, 102, 2)]
    assert (out.status, out.reason) == (Status.FILLED, Reason.NONE)
    assert book.best_ask() == (102, 3)


def test_ioc_that_cannot_trade_is_cancelled_and_leaves_book_untouched():
    book = OrderBook()
    ask_ladder(book)
    before = snapshot(book)
    out = book.submit(1, BUY, 5, 99, tif="ioc")
    assert out == Outcome(4, Status.CANCELLED, Reason.UNFILLED_REMAINDER)
    assert_untouched(book, before)


# --- fill-or-kill ------------------------------------------------------------------------


def test_fok_fills_in_full_across_several_levels():
    book = OrderBook()
    ask_ladder(book)
    out = book.submit(1, BUY, 15, 102, tif="FOK")
    assert trades(out) == [(1, 4, 100, 5), (2, 4, 101, 5), (3, 4, 102, 5)]
    assert (out.status, out.filled_qty) == (Status.FILLED, 15)
    assert book.best_ask() is None


def test_fok_that_cannot_fill_in_full_is_rejected_and_leaves_book_untouched():
    book = OrderBook()
    ask_ladder(book)
    before = snapshot(book)
    short_by_one = book.submit(1, BUY, 16, None, tif="FOK")
    beyond_limit = book.submit(1, BUY, 11, 101, tif="FOK")
    for out in (short_by_one, beyond_limit):
        assert (out.status, out.reason, out.fills, out.filled_qty) == (
            Status.REJECTED,
            Reason.FOK_NOT_FILLABLE,
            (),
            0,
        )
    assert_untouched(book, before)
    # ...and exactly what is available within the limit does fill.
    assert book.submit(1, BUY, 10, 101, tif="FOK").status is Status.FILLED


def test_fok_counts_only_the_levels_the_book_still_has():
    # Removing the worse ask level shifts the best down a slot and leaves a stale copy of it
    # past the last level: a fillability count that started one slot too high would see it.
    book = OrderBook()
    rest(book, 2, SELL, 5, 101)
    worse = rest(book, 3, SELL, 5, 102)
    book.cancel(worse)
    out = book.submit(1, BUY, 10, 101, tif="FOK")
    assert (out.status, out.reason, out.filled_qty) == (
        Status.REJECTED,
        Reason.FOK_NOT_FILLABLE,
        0,
    )
    assert book.best_ask() == (101, 5)


def test_fok_counts_iceberg_hidden_quantity():
    book = OrderBook()
    iceberg = rest(book, 2, SELL, 30, 100, display_qty=5)
    assert book.best_ask() == (100, 5)
    out = book.submit(1, BUY, 30, 100, tif="FOK")
    assert out.status is Status.FILLED
    assert trades(out) == [(iceberg, 2, 100, 5)] * 6


def test_fok_cancel_newest_counts_only_quantity_ahead_of_own_order():
    book = OrderBook(stp="cancel-newest")
    rest(book, 2, SELL, 5, 100)
    own = rest(book, 1, SELL, 5, 100)
    rest(book, 2, SELL, 5, 101)
    before = snapshot(book)
    rejected = book.submit(1, BUY, 6, 101, tif="FOK")
    assert (rejected.status, rejected.reason) == (Status.REJECTED, Reason.FOK_NOT_FILLABLE)
    assert_untouched(book, before)
    filled = book.submit(1, BUY, 5, 101, tif="FOK")
    assert trades(filled) == [(1, filled.order_id, 100, 5)]
    assert filled.cancelled == () and book.order(own).is_open


def test_fok_cancel_newest_does_not_count_iceberg_refills_queued_behind_own_order():
    book = OrderBook(stp="cancel-newest")
    rest(book, 2, SELL, 10, 100, display_qty=5)  # refills would queue behind the next order
    rest(book, 1, SELL, 5, 100)
    out = book.submit(1, BUY, 10, 100, tif="FOK")
    assert (out.status, out.reason) == (Status.REJECTED, Reason.FOK_NOT_FILLABLE)
    assert book.queue(SELL, 100) == [1, 2]


def test_fok_cancel_oldest_skips_own_orders_and_cancels_them_when_it_fills():
    book = OrderBook(stp="cancel-oldest")
    own = rest(book, 1, SELL, 5, 100)
    other = rest(book, 2, SELL, 5, 100)
    rest(book, 2, SELL, 5, 101)
    before = snapshot(book)
    too_big = book.submit(1, BUY, 11, 101, tif="FOK")
    assert (too_big.status, too_big.reason) == (Status.REJECTED, Reason.FOK_NOT_FILLABLE)
    assert_untouched(book, before)  # own order not cancelled by a rejected FOK
    out = book.submit(1, BUY, 10, 101, tif="FOK")
    assert trades(out) == [(other, out.order_id, 100, 5), (3, out.order_id, 101, 5)]
    assert out.cancelled == (Cancel(own, 5, Reason.SELF_TRADE),)
    assert out.status is Status.FILLED


def test_fok_cancel_both_stops_at_own_order_like_cancel_newest():
    book = OrderBook(stp="cancel-both")
    rest(book, 2, SELL, 5, 100)
    own = rest(book, 1, SELL, 5, 100)
    rest(book, 2, SELL, 5, 101)
    rejected = book.submit(1, BUY, 10, 101, tif="FOK")
    assert (rejected.status, rejected.reason) == (Status.REJECTED, Reason.FOK_NOT_FILLABLE)
    assert book.order(own).is_open and rejected.cancelled == ()
    filled = book.submit(1, BUY, 5, 101, tif="FOK")
    assert filled.status is Status.FILLED and filled.cancelled == ()
    assert book.order(own).is_open  # never reached, so never cancelled


# --- post-only ---------------------------------------------------------------------------


def test_post_only_rests_when_passive():
    book = OrderBook()
    rest(book, 2, SELL, 5, 101)
    oid = rest(book, 1, BUY, 5, 100, post_only=True)
    assert book.order(oid).post_only
    assert book.best_bid() == (100, 5)


@pytest.mark.parametrize(
    ("resting_side", "side", "price"),
    [(SELL, BUY, 100), (SELL, BUY, 101), (BUY, SELL, 100), (BUY, SELL, 99)],
    ids=["buy-at-ask", "buy-through-ask", "sell-at-bid", "sell-through-bid"],
)
def test_post_only_that_would_take_is_rejected_on_both_sides(resting_side, side, price):
    book = OrderBook()
    rest(book, 2, resting_side, 5, 100)
    before = snapshot(book)
    out = book.submit(1, side, 5, price, post_only=True)
    assert out == Outcome(2, Status.REJECTED, Reason.POST_ONLY_WOULD_CROSS)
    assert_untouched(book, before)


# --- stop and stop-limit orders ----------------------------------------------------------


def test_stop_waits_pending_outside_the_book_until_triggered():
    book = OrderBook()
    print_trade(book, 100)  # ids 1, 2
    out = book.submit(1, BUY, 5, None, stop_price=101)
    assert out == Outcome(3, Status.ACCEPTED, Reason.NONE)
    state = book.order(3)
    assert state.stop_pending and state.stop_price == 101 and state.is_open
    assert book.depth() == ([], [])
    assert book.open_orders() == [3]


def test_stop_without_any_trade_yet_stays_pending():
    book = OrderBook()
    rest(book, 2, SELL, 5, 100)
    out = book.submit(1, SELL, 5, None, stop_price=10_000)  # would hold at any last price
    assert out.status is Status.ACCEPTED and book.order(out.order_id).stop_pending


def test_buy_stop_triggers_when_last_price_reaches_stop_and_not_before():
    book = OrderBook()
    stop = book.submit(1, BUY, 3, None, stop_price=100).order_id
    rest(book, 2, SELL, 10, 102)
    print_trade(book, 99)
    assert book.order(stop).stop_pending
    rest(book, 9, SELL, 1, 100)
    out = book.submit(8, BUY, 1, 100)  # last = 100 = stop: buy stops trigger on last >= stop
    assert trades(out) == [(5, 6, 100, 1), (2, stop, 102, 3)]
    assert book.order(stop).status is Status.FILLED
    assert book.last_price == 102


def test_sell_stop_triggers_when_last_price_falls_to_stop_and_not_before():
    book = OrderBook()
    stop = book.submit(1, SELL, 3, None, stop_price=100).order_id
    rest(book, 2, BUY, 10, 98)
    print_trade(book, 101)
    assert book.order(stop).stop_pending
    rest(book, 9, SELL, 1, 100)
    out = book.submit(8, BUY, 1, 100)  # last = 100 = stop: sell stops trigger on last <= stop
    assert trades(out) == [(5, 6, 100, 1), (2, stop, 98, 3)]
    assert book.order(stop).status is Status.FILLED


def test_triggered_stop_limit_gets_new_time_priority_behind_orders_already_at_its_price():
    book = OrderBook()
    stop = book.submit(1, BUY, 5, 99, stop_price=100).order_id
    early = rest(book, 2, BUY, 5, 99)
    late = rest(book, 3, BUY, 5, 99)  # submitted after the stop, still ahead of it
    print_trade(book, 100)
    state = book.order(stop)
    assert not state.stop_pending and state.status is Status.ACCEPTED
    assert book.queue(BUY, 99) == [early, late, stop]
    assert book.best_bid() == (99, 15)


def test_triggered_stop_limit_takes_up_to_its_limit_then_rests():
    book = OrderBook()
    stop = book.submit(1, BUY, 8, 101, stop_price=100).order_id
    rest(book, 2, SELL, 5, 101)
    rest(book, 2, SELL, 5, 102)
    rest(book, 9, SELL, 1, 100)
    out = book.submit(8, BUY, 1, 100)
    assert trades(out) == [(4, 5, 100, 1), (2, stop, 101, 5)]
    state = book.order(stop)
    assert (state.status, state.open_qty, state.filled_qty) == (Status.PARTIALLY_FILLED, 3, 5)
    assert book.best_bid() == (101, 3)


def test_stop_cascade_one_triggered_stop_triggers_the_next():
    book = OrderBook()
    first = book.submit(1, BUY, 5, None, stop_price=100).order_id
    second = book.submit(3, BUY, 5, None, stop_price=101).order_id
    rest(book, 2, SELL, 5, 101)
    rest(book, 2, SELL, 5, 102)
    rest(book, 9, SELL, 1, 100)
    out = book.submit(8, BUY, 1, 100)  # last 100 -> first trades at 101 -> second triggers
    assert trades(out) == [(5, 6, 100, 1), (3, first, 101, 5), (4, second, 102, 5)]
    assert book.last_price == 102
    assert book.open_orders() == []


def test_stops_triggering_together_enter_lowest_id_first():
    book = OrderBook()
    low_id = book.submit(1, BUY, 5, None, stop_price=100).order_id  # lower stop price too
    high_id = book.submit(3, BUY, 5, None, stop_price=99).order_id
    rest(book, 2, SELL, 5, 101)
    rest(book, 2, SELL, 5, 102)
    rest(book, 9, SELL, 1, 100)
    out = book.submit(8, BUY, 1, 100)
    assert trades(out)[1:] == [(3, low_id, 101, 5), (4, high_id, 102, 5)]


def test_stop_whose_condition_already_holds_enters_at_once():
    book = OrderBook()
    print_trade(book, 100)
    rest(book, 2, SELL, 5, 101)
    out = book.submit(1, BUY, 5, None, stop_price=99)
    assert trades(out) == [(3, 4, 101, 5)]
    assert out.status is Status.FILLED and not book.order(4).stop_pending


def test_triggered_stop_that_ends_cancelled_is_reported_in_the_triggering_outcome():
    book = OrderBook()
    stop = book.submit(1, BUY, 10, None, stop_price=100).order_id
    rest(book, 2, SELL, 3, 101)
    rest(book, 9, SELL, 1, 100)
    out = book.submit(8, BUY, 1, 100)
    assert (out.order_id, out.status, out.filled_qty) == (4, Status.FILLED, 1)
    assert trades(out) == [(3, 4, 100, 1), (2, stop, 101, 3)]
    assert out.cancelled == (Cancel(stop, 7, Reason.UNFILLED_REMAINDER),)
    state = book.order(stop)
    assert (state.status, state.reason, state.filled_qty) == (
        Status.CANCELLED,
        Reason.UNFILLED_REMAINDER,
        3,
    )


def test_cancel_of_pending_stop_removes_it_before_it_can_trigger():
    book = OrderBook()
    stop = book.submit(1, BUY, 5, None, stop_price=100).order_id
    assert book.cancel(stop) == Outcome(stop, Status.CANCELLED, Reason.NONE)
    assert book.order(stop).reason is Reason.CANCELLED_BY_OWNER
    rest(book, 2, SELL, 10, 100)
    out = book.submit(8, BUY, 1, 100)
    assert trades(out) == [(2, 3, 100, 1)]  # the stop does not take the other 9
    assert book.best_ask() == (100, 9)


def test_modify_of_pending_stop_is_rejected_not_modifiable():
    book = OrderBook()
    stop = book.submit(1, BUY, 5, 101, stop_price=100).order_id
    for kwargs in ({"qty": 3}, {"price": 102}, {"qty": 10, "price": 99}):
        out = book.modify(stop, **kwargs)
        assert out == Outcome(stop, Status.REJECTED, Reason.NOT_MODIFIABLE)
    state = book.order(stop)
    assert (state.open_qty, state.price, state.stop_pending) == (5, 101, True)


def test_triggered_stop_cancelled_by_self_trade_prevention_is_reported():
    book = OrderBook(stp="cancel-newest")
    stop = book.submit(1, BUY, 5, None, stop_price=100).order_id
    own = rest(book, 1, SELL, 5, 101)
    rest(book, 9, SELL, 1, 100)
    out = book.submit(8, BUY, 1, 100)
    assert trades(out) == [(3, 4, 100, 1)]
    assert out.cancelled == (Cancel(stop, 5, Reason.SELF_TRADE),)
    assert book.order(own).is_open


def test_triggered_stop_limit_iceberg_rests_showing_its_display_quantity():
    book = OrderBook()
    stop = book.submit(1, BUY, 20, 99, stop_price=100, display_qty=4).order_id
    print_trade(book, 100)
    state = book.order(stop)
    assert (state.visible_qty, state.open_qty, state.stop_pending) == (4, 20, False)
    assert book.best_bid() == (99, 4)


def test_stop_is_triggered_by_a_trade_from_a_modify():
    book = OrderBook()
    stop = book.submit(1, BUY, 2, None, stop_price=100).order_id
    rest(book, 2, SELL, 1, 100)
    rest(book, 2, SELL, 5, 101)
    bid = rest(book, 3, BUY, 1, 90)
    out = book.modify(bid, price=100)
    assert trades(out) == [(2, bid, 100, 1), (3, stop, 101, 2)]
    assert book.order(stop).status is Status.FILLED


def test_many_stops_and_levels_grow_the_book_from_tiny_capacity():
    book = OrderBook(capacity=2)
    for price in range(101, 401):
        rest(book, 2, SELL, 1, price)
    stops = [book.submit(1, BUY, 5, None, stop_price=100).order_id for _ in range(50)]
    rest(book, 9, SELL, 1, 100)
    out = book.submit(8, BUY, 1, 100)
    assert len(out.fills) == 1 + 250
    assert [f.price for f in out.fills] == list(range(100, 351))
    assert [f.taker_order_id for f in out.fills[1:]] == [s for s in stops for _ in range(5)]
    assert book.best_ask() == (351, 1) and len(book.depth(1000)[1]) == 50


# --- icebergs ----------------------------------------------------------------------------


def test_iceberg_shows_only_its_display_quantity():
    book = OrderBook()
    oid = rest(book, 2, SELL, 30, 100, display_qty=5)
    rest(book, 3, SELL, 4, 100)
    assert book.depth() == ([], [(100, 9)])
    state = book.order(oid)
    assert (state.visible_qty, state.open_qty) == (5, 30)


def test_iceberg_refill_goes_to_the_back_of_its_queue():
    book = OrderBook()
    iceberg = rest(book, 2, SELL, 12, 100, display_qty=5)
    plain = rest(book, 3, SELL, 5, 100)
    first = book.submit(1, BUY, 5, 100)
    assert trades(first) == [(iceberg, 3, 100, 5)]
    assert book.queue(SELL, 100) == [plain, iceberg]
    assert book.best_ask() == (100, 10)
    # One taker across both: plain first, then the refilled slice, then the last short slice.
    second = book.submit(1, BUY, 12, 100)
    assert trades(second) == [(plain, 4, 100, 5), (iceberg, 4, 100, 5), (iceberg, 4, 100, 2)]
    assert book.order(iceberg).status is Status.FILLED


def test_iceberg_refills_are_separate_fills_within_one_taker():
    book = OrderBook()
    iceberg = rest(book, 2, SELL, 12, 100, display_qty=5)
    out = book.submit(1, BUY, 12, 100)
    assert trades(out) == [(iceberg, 2, 100, 5), (iceberg, 2, 100, 5), (iceberg, 2, 100, 2)]


def test_incoming_iceberg_takes_with_its_whole_quantity_then_shows_display():
    book = OrderBook()
    ask_ladder(book)
    out = book.submit(1, BUY, 30, 101, display_qty=5)
    assert trades(out) == [(1, 4, 100, 5), (2, 4, 101, 5)]
    assert out.status is Status.PARTIALLY_FILLED
    assert book.best_bid() == (101, 5)
    state = book.order(4)
    assert (state.visible_qty, state.open_qty) == (5, 20)


# --- rejections --------------------------------------------------------------------------

BAD_SUBMISSIONS = [
    # (book kwargs, submit kwargs, reason)
    ({}, {"qty": 0}, Reason.BAD_QUANTITY),
    ({}, {"qty": -5}, Reason.BAD_QUANTITY),
    ({}, {"qty": 1.5}, Reason.BAD_QUANTITY),
    ({}, {"qty": 5.0}, Reason.BAD_QUANTITY),
    ({}, {"qty": "5"}, Reason.BAD_QUANTITY),
    ({}, {"qty": True}, Reason.BAD_QUANTITY),
    ({"lot": 5}, {"qty": 7}, Reason.BAD_QUANTITY),
    ({}, {"qty": 2**53 + 1}, Reason.BAD_QUANTITY),
    ({}, {"qty": 2**70}, Reason.BAD_QUANTITY),
    ({}, {"price": 0}, Reason.BAD_PRICE),
    ({}, {"price": -100}, Reason.BAD_PRICE),
    ({"tick": 5}, {"price": 102}, Reason.BAD_PRICE),
    ({}, {"price": 100.0}, Reason.BAD_PRICE),
    ({}, {"price": 100.5}, Reason.BAD_PRICE),
    ({}, {"price": 2**53 + 1}, Reason.BAD_PRICE),
    ({}, {"price": 0, "tif": "IOC"}, Reason.BAD_PRICE),
    ({"tick": 5}, {"price": 102, "tif": "FOK"}, Reason.BAD_PRICE),
    ({}, {"side": "up"}, Reason.BAD_SIDE),
    ({}, {"side": 0}, Reason.BAD_SIDE),
    ({}, {"side": 2}, Reason.BAD_SIDE),
    ({}, {"side": True}, Reason.BAD_SIDE),
    ({}, {"side": None}, Reason.BAD_SIDE),
    ({}, {"tif": "DAY"}, Reason.BAD_ORDER_TYPE),
    ({}, {"tif": None}, Reason.BAD_ORDER_TYPE),
    ({}, {"tif": "IOC", "post_only": True}, Reason.BAD_ORDER_TYPE),
    ({}, {"tif": "FOK", "post_only": True}, Reason.BAD_ORDER_TYPE),
    ({}, {"price": None, "post_only": True}, Reason.BAD_ORDER_TYPE),
    ({}, {"stop_price": 90, "post_only": True}, Reason.BAD_ORDER_TYPE),
    ({}, {"tif": "IOC", "stop_price": 90}, Reason.BAD_ORDER_TYPE),
    ({}, {"tif": "FOK", "stop_price": 90}, Reason.BAD_ORDER_TYPE),
    ({}, {"display_qty": 0}, Reason.BAD_DISPLAY_QUANTITY),
    ({}, {"display_qty": -1}, Reason.BAD_DISPLAY_QUANTITY),
    ({}, {"display_qty": 2.5}, Reason.BAD_DISPLAY_QUANTITY),
    ({"lot": 5}, {"qty": 10, "display_qty": 3}, Reason.BAD_DISPLAY_QUANTITY),
    ({}, {"price": None, "display_qty": 2}, Reason.BAD_DISPLAY_QUANTITY),
    ({}, {"tif": "IOC", "display_qty": 2}, Reason.BAD_DISPLAY_QUANTITY),
    ({}, {"stop_price": 0}, Reason.BAD_STOP_PRICE),
    ({}, {"stop_price": -90}, Reason.BAD_STOP_PRICE),
    ({"tick": 5}, {"stop_price": 92}, Reason.BAD_STOP_PRICE),
    ({}, {"stop_price": 90.0}, Reason.BAD_STOP_PRICE),
    ({}, {"stop_price": 2**53 + 1}, Reason.BAD_STOP_PRICE),
]


@pytest.mark.parametrize(
    ("book_kwargs", "bad", "reason"),
    BAD_SUBMISSIONS,
    ids=[f"{r.name}-{k}" for _, k, r in BAD_SUBMISSIONS],
)
def test_bad_submission_is_rejected_with_its_reason_and_consumes_an_id(book_kwargs, bad, reason):
    book = OrderBook(**book_kwargs)
    rest(book, 2, SELL, 10, 200)
    kwargs = {"owner": 1, "side": BUY, "qty": 10, "price": 100, **bad}
    out = book.submit(**kwargs)
    assert (out.order_id, out.status, out.reason) == (2, Status.REJECTED, reason)
    assert not out.ok and out.fills == () and out.filled_qty == 0
    assert book.order(2).status is Status.REJECTED and book.order(2).reason is reason
    assert book.depth() == ([], [(200, 10)])  # nothing was added
    assert book.submit(1, BUY, 10, 100).order_id == 3


def test_ids_count_every_submission_in_order_rejected_ones_included():
    book = OrderBook()
    outs = [
        book.submit(1, BUY, 5, 100),
        book.submit(1, "up", 5, 100),
        book.submit(1, SELL, 0, 101),
        book.submit(1, SELL, 5, 101, tif="DAY"),
        book.submit(1, SELL, 5, None),
        book.submit(2, SELL, 5, 101),
    ]
    assert [o.order_id for o in outs] == [1, 2, 3, 4, 5, 6]
    assert book.next_order_id == 7
    assert [o.ok for o in outs] == [True, False, False, False, True, True]


@pytest.mark.parametrize("rejected_kind", ["never-issued", "zero", "negative", "huge"])
def test_cancel_and_modify_of_unissued_id_is_unknown_order(rejected_kind):
    oid = {"never-issued": 2, "zero": 0, "negative": -1, "huge": 2**62}[rejected_kind]
    book = OrderBook()
    rest(book, 1, BUY, 5, 100)
    assert book.cancel(oid) == Outcome(oid, Status.REJECTED, Reason.UNKNOWN_ORDER)
    assert book.modify(oid, qty=1) == Outcome(oid, Status.REJECTED, Reason.UNKNOWN_ORDER)
    assert book.next_order_id == 2


@pytest.mark.parametrize("oid", ["1", 1.0, None, True, [1]])
def test_cancel_and_modify_with_non_integer_id_is_unknown_order(oid):
    book = OrderBook()
    rest(book, 1, BUY, 5, 100)
    for out in (book.cancel(oid), book.modify(oid, qty=1)):
        assert (out.status, out.reason) == (Status.REJECTED, Reason.UNKNOWN_ORDER)
    assert book.order(1).is_open and book.order(1).open_qty == 5


def test_cancel_and_modify_of_filled_cancelled_or_rejected_order_is_unknown_order():
    book = OrderBook()
    filled = rest(book, 1, BUY, 5, 100)
    book.submit(2, SELL, 5, 100)
    cancelled = rest(book, 1, BUY, 5, 99)
    assert book.cancel(cancelled).status is Status.CANCELLED
    rejected = book.submit(1, BUY, 0, 99).order_id
    for oid in (filled, cancelled, rejected):
        assert book.cancel(oid) == Outcome(oid, Status.REJECTED, Reason.UNKNOWN_ORDER)
        assert book.modify(oid, qty=1) == Outcome(oid, Status.REJECTED, Reason.UNKNOWN_ORDER)
    assert book.cancel(cancelled).reason is Reason.UNKNOWN_ORDER  # cancelling twice


@pytest.mark.parametrize(
    ("book_kwargs", "change", "reason"),
    [
        ({}, {"qty": 0}, Reason.BAD_QUANTITY),
        ({}, {"qty": -1}, Reason.BAD_QUANTITY),
        ({}, {"qty": 2.5}, Reason.BAD_QUANTITY),
        ({"lot": 5}, {"qty": 7}, Reason.BAD_QUANTITY),
        ({}, {"price": 0}, Reason.BAD_PRICE),
        ({}, {"price": -1}, Reason.BAD_PRICE),
        ({}, {"price": 99.0}, Reason.BAD_PRICE),
        ({"tick": 5}, {"price": 97}, Reason.BAD_PRICE),
    ],
)
def test_bad_modify_is_rejected_and_order_keeps_its_terms_and_place(book_kwargs, change, reason):
    book = OrderBook(**book_kwargs)
    first = rest(book, 1, BUY, 10, 100)
    rest(book, 2, BUY, 10, 100)
    out = book.modify(first, **change)
    assert out == Outcome(first, Status.REJECTED, reason)
    assert book.queue(BUY, 100) == [first, 2]
    assert (book.order(first).open_qty, book.order(first).price) == (10, 100)


def test_halt_rejects_new_orders_and_modifies_but_cancels_still_work():
    book = OrderBook()
    resting = rest(book, 1, BUY, 5, 100)
    other = rest(book, 1, BUY, 5, 99)
    book.halt()
    assert book.halted
    assert book.submit(2, SELL, 5, 100) == Outcome(3, Status.REJECTED, Reason.HALTED)
    assert book.submit(2, SELL, 5, None).reason is Reason.HALTED
    assert book.modify(resting, qty=1) == Outcome(resting, Status.REJECTED, Reason.HALTED)
    assert book.modify(resting, price=101).reason is Reason.HALTED
    assert book.order(resting).open_qty == 5
    assert book.cancel(other) == Outcome(other, Status.CANCELLED, Reason.NONE)
    assert book.last_price is None
    book.resume()
    assert not book.halted
    out = book.submit(2, SELL, 5, 100)
    assert (out.order_id, trades(out)) == (5, [(resting, 5, 100, 5)])


def test_halt_checks_come_after_validation():
    """A malformed order is rejected for what is wrong with it, not for the halt."""
    book = OrderBook()
    book.halt()
    assert book.submit(1, BUY, 0, 100).reason is Reason.BAD_QUANTITY


def test_bad_requests_never_raise():
    book = OrderBook(tick=5, lot=5)
    rest(book, 2, BUY, 5, 100)  # the weird orders are buys: none can trade
    weird = [object(), "x", -(2**80), 2**80, 2**63, 1e300, float("nan"), None, b"5"]
    for value in weird:
        fields = ["qty", "price", "display_qty", "stop_price", "tif", "owner"]
        for kwargs in ({field: value} for field in fields):
            args = {"owner": 1, "side": BUY, "qty": 5, "price": 95, **kwargs}
            assert isinstance(book.submit(**args), Outcome)
        assert book.cancel(value).status is Status.REJECTED
        assert isinstance(book.modify(1, qty=value), Outcome)
        assert isinstance(book.modify(1, price=value), Outcome)
    assert book.best_bid() == (100, 5) and book.best_ask() is None


@pytest.mark.parametrize("side", [["buy"], {"side": "buy"}])
def test_unhashable_side_is_rejected_not_raised(side):
    book = OrderBook()
    out = book.submit(1, side, 5, 100)
    assert (out.status, out.reason) == (Status.REJECTED, Reason.BAD_SIDE)


@pytest.mark.parametrize("owner", [2**63, -(2**63) - 1, 2**80, None, 1.7, "x"])
def test_an_owner_that_is_not_an_int64_is_rejected(owner):
    book = OrderBook()
    out = book.submit(owner, BUY, 5, 100)
    assert (out.order_id, out.status, out.reason) == (1, Status.REJECTED, Reason.BAD_OWNER)
    assert book.best_bid() is None


@pytest.mark.parametrize("side", [1.0, -1.0, 2, 0, "up", 2**63, 2**80])
def test_only_integer_or_named_sides_are_sides(side):
    out = OrderBook().submit(1, side, 5, 100)
    assert (out.status, out.reason) == (Status.REJECTED, Reason.BAD_SIDE)


@pytest.mark.parametrize("side", [" buy", "B", "bUy", np.int64(1), Side.BUY])
def test_side_spellings_the_facade_accepts(side):
    assert OrderBook().submit(1, side, 5, 100).status is Status.ACCEPTED


@pytest.mark.parametrize("flag", ["no", 2, 0.5, None])
def test_post_only_must_be_a_flag(flag):
    out = OrderBook().submit(1, BUY, 5, 100, post_only=flag)
    assert (out.status, out.reason) == (Status.REJECTED, Reason.BAD_ORDER_TYPE)


def test_submit_many_refuses_float_fields_and_values_that_would_wrap():
    floats = np.zeros(
        1, [(f, "f8") for f in ("action", "side", "type", "price", "qty", "owner", "ref")]
    )
    with pytest.raises(ValueError, match="field 'action' must be integers, got float64"):
        OrderBook().submit_many(floats)
    wide = np.zeros(
        1, [(f, "i8") for f in ("action", "side", "type", "price", "qty", "owner", "ref")]
    )
    wide["side"] = 257
    with pytest.raises(ValueError, match="field 'side' has values outside int8"):
        OrderBook().submit_many(wide)


BOOK_REASONS = [
    Reason.BAD_QUANTITY,
    Reason.BAD_PRICE,
    Reason.UNKNOWN_ORDER,
    Reason.POST_ONLY_WOULD_CROSS,
    Reason.FOK_NOT_FILLABLE,
    Reason.HALTED,
    Reason.SELF_TRADE,
    Reason.UNFILLED_REMAINDER,
    Reason.BAD_SIDE,
    Reason.BAD_ORDER_TYPE,
    Reason.BAD_DISPLAY_QUANTITY,
    Reason.BAD_STOP_PRICE,
    Reason.NOT_MODIFIABLE,
    Reason.CANCELLED_BY_OWNER,
]


@pytest.mark.parametrize("reason", BOOK_REASONS, ids=lambda r: r.name)
def test_every_book_reason_has_a_message(reason):
    message = reason.message
    assert isinstance(message, str) and len(message.split()) >= 3
    assert message == message.strip()


def test_reason_messages_are_distinct_and_none_has_none():
    messages = [r.message for r in Reason if r is not Reason.NONE]
    assert all(messages) and len(set(messages)) == len(messages)
    assert Reason.NONE.message == ""


# --- self-trade prevention ---------------------------------------------------------------


def _stp_book(mode: str) -> OrderBook:
    """Asks: other 3@100 (id 1), own 5@100 (id 2), other 4@101 (id 3); own = owner 1."""
    book = OrderBook(stp=mode)
    rest(book, 2, SELL, 3, 100)
    rest(book, 1, SELL, 5, 100)
    rest(book, 2, SELL, 4, 101)
    return book


def test_stp_cancel_newest_cancels_the_incoming_remainder_after_partial_fill():
    book = _stp_book("cancel-newest")
    out = book.submit(1, BUY, 10, 101)
    assert trades(out) == [(1, 4, 100, 3)]
    assert (out.status, out.reason, out.filled_qty) == (Status.CANCELLED, Reason.SELF_TRADE, 3)
    assert out.cancelled == ()  # the incoming order reports through its own outcome
    assert book.queue(SELL, 100) == [2] and book.order(2).open_qty == 5
    assert book.depth() == ([], [(100, 5), (101, 4)])


def test_stp_cancel_oldest_cancels_the_resting_order_and_matching_goes_on():
    book = _stp_book("cancel-oldest")
    out = book.submit(1, BUY, 10, 101)
    assert trades(out) == [(1, 4, 100, 3), (3, 4, 101, 4)]
    assert out.cancelled == (Cancel(2, 5, Reason.SELF_TRADE),)
    assert (out.status, out.reason, out.filled_qty) == (Status.PARTIALLY_FILLED, Reason.NONE, 7)
    assert book.depth() == ([(101, 3)], [])
    assert book.order(2).status is Status.CANCELLED
    assert book.order(2).reason is Reason.SELF_TRADE


def test_stp_cancel_both_cancels_resting_and_incoming():
    book = _stp_book("cancel-both")
    out = book.submit(1, BUY, 10, 101)
    assert trades(out) == [(1, 4, 100, 3)]
    assert out.cancelled == (Cancel(2, 5, Reason.SELF_TRADE),)
    assert (out.status, out.reason, out.filled_qty) == (Status.CANCELLED, Reason.SELF_TRADE, 3)
    assert book.depth() == ([], [(101, 4)])


def test_stp_cancel_oldest_reports_an_icebergs_whole_remaining_quantity():
    book = OrderBook(stp="cancel-oldest")
    rest(book, 1, SELL, 20, 100, display_qty=5)
    out = book.submit(1, BUY, 5, 100)
    assert out.cancelled == (Cancel(1, 20, Reason.SELF_TRADE),)
    assert book.best_ask() is None and book.best_bid() == (100, 5)


def test_stp_does_not_apply_when_own_order_is_never_reached():
    book = _stp_book("cancel-both")
    out = book.submit(1, BUY, 3, 101)
    assert trades(out) == [(1, 4, 100, 3)] and out.status is Status.FILLED
    assert out.cancelled == () and book.order(2).is_open


def test_stp_mode_accepts_enum_and_spellings():
    assert OrderBook().stp is SelfTradePrevention.CANCEL_NEWEST
    assert OrderBook(stp="Cancel-Oldest").stp is SelfTradePrevention.CANCEL_OLDEST
    assert OrderBook(stp="cancel_both").stp is SelfTradePrevention.CANCEL_BOTH
    assert OrderBook(stp=SelfTradePrevention.CANCEL_BOTH).stp is SelfTradePrevention.CANCEL_BOTH


@pytest.mark.parametrize("mode", ["cancel-all", "newest", "", None, 0])
def test_invalid_stp_mode_raises_value_error_naming_the_valid_modes(mode):
    with pytest.raises(ValueError, match="self-trade prevention") as info:
        OrderBook(stp=mode)
    for valid in ("'cancel-newest'", "'cancel-oldest'", "'cancel-both'"):
        assert valid in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"), [("tick", 0), ("lot", -1), ("capacity", 0), ("tick", 1.5), ("lot", "5")]
)
def test_invalid_book_parameters_raise_value_error_naming_them(name, value):
    with pytest.raises(ValueError, match=f"OrderBook {name} must be a positive integer"):
        OrderBook(**{name: value})


# --- modify ------------------------------------------------------------------------------


def _three_bids() -> OrderBook:
    """Bids at 100: ids 1, 2, 3 with 10 each (owners 1, 2, 3)."""
    book = OrderBook()
    for owner in (1, 2, 3):
        rest(book, owner, BUY, 10, 100)
    return book


def test_modify_reducing_quantity_keeps_queue_position():
    book = _three_bids()
    out = book.modify(1, qty=4)
    assert (out.status, out.reason, out.fills) == (Status.ACCEPTED, Reason.NONE, ())
    assert book.queue(BUY, 100) == [1, 2, 3]
    assert book.best_bid() == (100, 24)
    taken = book.submit(9, SELL, 4, 100)
    assert trades(taken) == [(1, 4, 100, 4)]


def test_modify_increasing_quantity_loses_queue_position():
    book = _three_bids()
    book.modify(1, qty=11)
    assert book.queue(BUY, 100) == [2, 3, 1]
    assert book.best_bid() == (100, 31)


def test_modify_quantity_of_partially_filled_order_sets_the_remaining_quantity():
    book = _three_bids()
    book.submit(9, SELL, 4, 100)  # order 1 has 6 left
    out = book.modify(1, qty=2)
    assert (out.status, out.filled_qty) == (Status.PARTIALLY_FILLED, 4)
    assert book.queue(BUY, 100) == [1, 2, 3]
    assert (book.order(1).open_qty, book.order(1).filled_qty) == (2, 4)


def test_modify_price_change_loses_queue_position_even_when_moved_back():
    book = _three_bids()
    book.modify(1, price=99)
    assert book.queue(BUY, 100) == [2, 3] and book.queue(BUY, 99) == [1]
    book.modify(1, price=100)
    assert book.queue(BUY, 100) == [2, 3, 1]


def test_modify_to_a_crossing_price_trades_at_once_at_the_resting_price():
    book = OrderBook()
    bid = rest(book, 1, BUY, 10, 99)
    ask = rest(book, 2, SELL, 4, 101)
    out = book.modify(bid, price=103)
    assert trades(out) == [(ask, bid, 101, 4)]
    assert (out.order_id, out.status, out.filled_qty) == (bid, Status.PARTIALLY_FILLED, 4)
    assert book.best_bid() == (103, 6) and book.best_ask() is None
    assert book.last_price == 101


def test_modify_of_post_only_that_would_cross_is_rejected_and_keeps_its_place():
    book = OrderBook()
    first = rest(book, 1, BUY, 5, 99, post_only=True)
    second = rest(book, 2, BUY, 5, 99)
    rest(book, 3, SELL, 5, 101)
    out = book.modify(first, price=101)
    assert out == Outcome(first, Status.REJECTED, Reason.POST_ONLY_WOULD_CROSS)
    assert book.queue(BUY, 99) == [first, second]
    assert book.order(first).price == 99
    assert book.best_ask() == (101, 5)
    # a passive move of the same order is fine
    assert book.modify(first, price=100).status is Status.ACCEPTED


def test_modify_quantity_of_iceberg_reduces_hidden_reserve_first():
    book = OrderBook()
    iceberg = rest(book, 1, SELL, 30, 100, display_qty=5)
    behind = rest(book, 2, SELL, 5, 100)
    book.modify(iceberg, qty=12)
    state = book.order(iceberg)
    assert (state.visible_qty, state.open_qty) == (5, 12)
    assert book.queue(SELL, 100) == [iceberg, behind]
    book.modify(iceberg, qty=3)  # below the display: the visible part shrinks too
    state = book.order(iceberg)
    assert (state.visible_qty, state.open_qty) == (3, 3)
    assert book.best_ask() == (100, 8)
    assert book.queue(SELL, 100) == [iceberg, behind]


def test_modify_increase_of_iceberg_keeps_it_an_iceberg_at_the_back():
    book = OrderBook()
    iceberg = rest(book, 1, SELL, 10, 100, display_qty=5)
    behind = rest(book, 2, SELL, 5, 100)
    book.modify(iceberg, qty=20)
    state = book.order(iceberg)
    assert (state.visible_qty, state.open_qty) == (5, 20)
    assert book.queue(SELL, 100) == [behind, iceberg]


def test_modify_that_self_trades_follows_the_stp_mode():
    book = OrderBook(stp="cancel-newest")
    own_ask = rest(book, 1, SELL, 5, 101)
    bid = rest(book, 1, BUY, 5, 99)
    out = book.modify(bid, price=101)
    assert (out.status, out.reason, out.fills) == (Status.CANCELLED, Reason.SELF_TRADE, ())
    assert book.order(own_ask).is_open and not book.order(bid).is_open


# --- submit_many -------------------------------------------------------------------------


def _submit_one_at_a_time(book: OrderBook, msgs: np.ndarray):
    """Send a batch through submit/cancel; return (fills, outcome rows) as plain tuples."""
    tifs = {0: "GTC", 1: "GTC", 2: "IOC", 3: "FOK"}
    fills, rows = [], []
    for m in msgs.tolist():
        m = dict(zip(msgs.dtype.names, m, strict=True))
        if m["action"] == 1:
            out = book.cancel(m["ref"])
        else:
            out = book.submit(
                m["owner"],
                m["side"],
                m["qty"],
                None if m["type"] == 1 or m["price"] == 0 else m["price"],
                tif=tifs[m["type"]],
                post_only=bool(m.get("post_only", 0)),
                stop_price=m.get("stop_price") or None,
                display_qty=m.get("display_qty") or None,
            )
        fills += [tuple(f) for f in out.fills]
        rows.append((out.order_id, int(out.status), int(out.reason), out.filled_qty))
    return fills, rows


def _batch_rows(fills: np.ndarray, outcomes: np.ndarray):
    """The arrays submit_many returns, as the same plain tuples."""
    return [tuple(f) for f in fills.tolist()], [tuple(o) for o in outcomes.tolist()]


def _rich_flow(n: int, seed: int) -> np.ndarray:
    """Every order type, stops, icebergs, post-only, cancels and a few bad messages."""
    rng = np.random.default_rng(seed)
    msgs = np.zeros(n, BATCH_DTYPE)
    msgs["action"] = rng.random(n) < 0.2
    msgs["side"] = rng.choice([1, -1], n)
    msgs["type"] = rng.choice([0, 0, 0, 1, 2, 3], n)
    msgs["price"] = rng.integers(95, 106, n)
    msgs["qty"] = rng.integers(1, 13, n)
    msgs["owner"] = rng.integers(1, 4, n)
    msgs["ref"] = rng.integers(0, n // 2, n)
    limit_or_market = msgs["type"] <= 1
    msgs["stop_price"] = np.where(limit_or_market & (rng.random(n) < 0.15), msgs["price"], 0)
    is_limit = msgs["type"] == 0
    msgs["display_qty"] = np.where(is_limit & (rng.random(n) < 0.15), rng.integers(1, 4, n), 0)
    msgs["post_only"] = is_limit & (msgs["stop_price"] == 0) & (rng.random(n) < 0.15)
    msgs["qty"][rng.random(n) < 0.02] = 0  # a few rejections
    return msgs


def test_submit_many_equals_one_at_a_time_on_benchmark_random_flow():
    msgs = random_flow(20_000, seed=3)
    batch_fills, batch_outcomes = OrderBook().submit_many(msgs, outcomes=True)
    book = OrderBook()
    want_fills, want_rows = _submit_one_at_a_time(book, msgs)
    got_fills, got_rows = _batch_rows(batch_fills, batch_outcomes)
    assert len(got_fills) > 1_000  # the flow really trades
    assert got_fills == want_fills
    assert got_rows == want_rows


@pytest.mark.parametrize("seed", [1, 2])
def test_submit_many_equals_one_at_a_time_with_stops_icebergs_and_all_types(seed):
    msgs = _rich_flow(3_000, seed)
    batch_book = OrderBook(stp="cancel-oldest")
    got = _batch_rows(*batch_book.submit_many(msgs, outcomes=True))
    book = OrderBook(stp="cancel-oldest")
    want = _submit_one_at_a_time(book, msgs)
    assert got == want
    assert batch_book.depth(1000) == book.depth(1000)
    assert batch_book.open_orders() == book.open_orders()
    statuses = {row[1] for row in got[1]}
    assert statuses == {int(s) for s in Status}


def test_the_book_refuses_to_grow_past_its_order_id_limit():
    # Ids link queues as int32; two billion orders are out of reach, so start just below.
    book = OrderBook()
    book.state[3][book_kernels.M_NEXT_ID] = book_kernels.MAX_ORDERS - 1
    with pytest.raises(OverflowError, match="holds at most 2,147,483,646 order ids"):
        book.submit(1, BUY, 5, 100)
    with pytest.raises(OverflowError, match="holds at most 2,147,483,646 order ids"):
        book.make_room()


def test_an_order_books_orders_never_grow_past_its_id_limit(monkeypatch):
    # Two billion orders are out of a test's reach: lower the limit instead. The kernels check
    # for room against the array's length alone, so a longer array would let ids pass it.
    monkeypatch.setattr(book_kernels, "MAX_ORDERS", 1500)
    book = OrderBook(capacity=1024)
    for _ in range(1400):
        book.make_room()
        book.state[3][book_kernels.M_NEXT_ID] += 1
    assert len(book.state[0]) == 1500


def test_submit_many_grows_from_tiny_capacity():
    msgs = random_flow(5_000, seed=7)
    small = OrderBook(capacity=2)
    big = OrderBook(capacity=10_000)
    got = _batch_rows(*small.submit_many(msgs, outcomes=True))
    want = _batch_rows(*big.submit_many(msgs, outcomes=True))
    assert got == want
    assert small.depth(1000) == big.depth(1000)
    assert small.next_order_id == big.next_order_id


def test_submit_many_grows_from_tiny_capacity_with_many_fills_in_one_message():
    book = OrderBook(capacity=2)
    msgs = np.zeros(1_001, BATCH_DTYPE)
    msgs["side"] = -1
    msgs["price"] = np.arange(1_001) + 100
    msgs["qty"] = 1
    msgs["owner"] = 2
    msgs[-1] = (0, 1, 1, 0, 1_000, 1, 0, 0, 0, 0)  # market buy sweeping all 1,000 asks
    fills, outcomes = book.submit_many(msgs, outcomes=True)
    assert len(fills) == 1_000
    assert fills["price"].tolist() == list(range(100, 1_100))
    assert (fills["taker_order_id"] == 1_001).all()
    assert tuple(outcomes[-1].tolist()) == (1_001, Status.FILLED, Reason.NONE, 1_000)


@pytest.mark.parametrize("missing", ["action", "side", "type", "price", "qty", "owner", "ref"])
def test_submit_many_without_a_required_field_raises_naming_it(missing):
    fields = [(name, BATCH_DTYPE[name]) for name in BATCH_DTYPE.names if name != missing]
    with pytest.raises(ValueError, match=rf"lacks field\(s\) {missing}"):
        OrderBook().submit_many(np.zeros(3, fields))


def test_submit_many_accepts_a_plain_dtype_with_only_the_required_fields():
    fields = [("action", "i8"), ("side", "i8"), ("type", "i8")]
    fields += [("price", "i8"), ("qty", "i8"), ("owner", "i8"), ("ref", "i8")]
    msgs = np.zeros(3, fields)
    msgs[0] = (0, -1, 0, 100, 5, 2, 0)
    msgs[1] = (0, 1, 0, 100, 3, 1, 0)
    msgs[2] = (1, 0, 0, 0, 0, 0, 1)
    fills, outcomes = OrderBook().submit_many(msgs, outcomes=True)
    assert [tuple(f) for f in fills.tolist()] == [(1, 2, 2, 1, 100, 3)]
    assert [tuple(o) for o in outcomes.tolist()] == [
        (1, Status.ACCEPTED, Reason.NONE, 0),
        (2, Status.FILLED, Reason.NONE, 3),
        (1, Status.CANCELLED, Reason.NONE, 3),
    ]


def test_submit_many_unknown_action_code_is_rejected_as_bad_order_type():
    book = OrderBook()
    msgs = np.zeros(2, BATCH_DTYPE)
    msgs[0] = (7, 1, 0, 100, 5, 1, 0, 0, 0, 0)
    msgs[1] = (0, 1, 0, 100, 5, 1, 0, 0, 0, 0)
    fills, outcomes = book.submit_many(msgs, outcomes=True)
    assert len(fills) == 0
    assert (outcomes[0]["status"], outcomes[0]["reason"]) == (
        Status.REJECTED,
        Reason.BAD_ORDER_TYPE,
    )
    assert outcomes[1]["status"] == Status.ACCEPTED
    assert book.depth() == ([(100, 5)], [])


def test_submit_many_returns_typed_arrays_and_one_outcome_row_per_message():
    book = OrderBook()
    msgs = np.zeros(4, BATCH_DTYPE)
    msgs[0] = (0, -1, 0, 100, 5, 2, 0, 0, 0, 0)  # rests
    msgs[1] = (0, 1, 2, 100, 8, 1, 0, 0, 0, 0)  # IOC takes 5, rest cancelled
    msgs[2] = (1, 0, 0, 0, 0, 0, 1, 0, 0, 0)  # cancel of the filled order
    msgs[3] = (0, 1, 0, 0, 5, 1, 0, 0, 0, 0)  # limit with price 0
    fills = book.submit_many(msgs)
    assert fills.dtype == FILL_DTYPE and len(fills) == 1
    book = OrderBook()
    fills, outcomes = book.submit_many(msgs, outcomes=True)
    assert outcomes.dtype == OUTCOME_DTYPE and len(outcomes) == len(msgs)
    assert [tuple(o) for o in outcomes.tolist()] == [
        (1, Status.ACCEPTED, Reason.NONE, 0),
        (2, Status.CANCELLED, Reason.UNFILLED_REMAINDER, 5),
        (1, Status.REJECTED, Reason.UNKNOWN_ORDER, 0),
        (3, Status.REJECTED, Reason.BAD_PRICE, 0),
    ]


# --- market data views -------------------------------------------------------------------


def test_empty_book_views():
    book = OrderBook()
    assert book.best_bid() is None and book.best_ask() is None
    assert book.depth() == ([], [])
    assert book.last_price is None
    assert book.open_orders() == []
    assert book.queue(BUY, 100) == []
    assert book.next_order_id == 1


def test_depth_is_best_first_and_aggregates_visible_quantity_per_level():
    book = OrderBook()
    for price, qty in ((99, 3), (100, 5), (97, 1), (99, 4)):
        rest(book, 1, BUY, qty, price)
    for price, qty in ((103, 2), (101, 6), (101, 1), (102, 7)):
        rest(book, 2, SELL, qty, price)
    rest(book, 2, SELL, 20, 104, display_qty=2)
    bids, asks = book.depth()
    assert bids == [(100, 5), (99, 7), (97, 1)]
    assert asks == [(101, 7), (102, 7), (103, 2), (104, 2)]
    assert book.depth(2) == ([(100, 5), (99, 7)], [(101, 7), (102, 7)])
    assert book.best_bid() == (100, 5) and book.best_ask() == (101, 7)


def test_last_price_is_the_price_of_the_last_fill():
    book = OrderBook()
    ask_ladder(book)
    book.submit(1, BUY, 7, None)
    assert book.last_price == 101
    rest(book, 3, BUY, 1, 50)
    book.submit(2, SELL, 1, None)
    assert book.last_price == 50


def test_open_orders_lists_resting_and_pending_stops_in_id_order():
    book = OrderBook()
    rest(book, 1, BUY, 5, 99)  # 1 open
    rest(book, 1, BUY, 5, 98)  # 2 cancelled below
    rest(book, 2, SELL, 5, 101)  # 3 partially filled below
    book.submit(1, BUY, 0, 99)  # 4 rejected
    book.submit(1, BUY, 5, None, stop_price=200)  # 5 pending stop
    book.submit(4, BUY, 2, 101)  # 6 filled
    book.cancel(2)
    assert book.open_orders() == [1, 3, 5]
    assert book.order(3).status is Status.PARTIALLY_FILLED


@pytest.mark.parametrize("oid", [0, -1, 2, 10**6, "1", 1.5, None])
def test_order_raises_key_error_for_ids_never_issued(oid):
    book = OrderBook()
    rest(book, 1, BUY, 5, 100)
    with pytest.raises(KeyError, match="never issued"):
        book.order(oid)


def test_order_record_of_rejected_order_is_kept():
    book = OrderBook()
    book.submit(1, "up", 5, 100)
    state = book.order(1)
    assert (state.status, state.reason, state.side, state.open_qty) == (
        Status.REJECTED,
        Reason.BAD_SIDE,
        None,
        0,
    )


def test_outcome_fills_name_both_sides_of_each_trade():
    book = OrderBook()
    rest(book, 11, SELL, 5, 100)
    out = book.submit(22, BUY, 3, 101)
    (fill,) = out.fills
    assert isinstance(fill, Fill)
    assert fill == Fill(
        maker_order_id=1, taker_order_id=2, maker_owner=11, taker_owner=22, price=100, qty=3
    )
    assert out.ok and out.order_id == 2 and out.filled_qty == 3
    assert book.order(1).filled_qty == 3 and book.order(1).open_qty == 2


def test_cancel_reports_the_quantity_already_filled():
    book = OrderBook()
    rest(book, 1, BUY, 10, 100)
    book.submit(2, SELL, 4, 100)
    out = book.cancel(1)
    assert out == Outcome(1, Status.CANCELLED, Reason.NONE, (), 4, ())
    assert book.depth() == ([], [])
    assert book.order(1).reason is Reason.CANCELLED_BY_OWNER


def test_side_spellings_are_equivalent():
    book = OrderBook()
    for side in ("buy", "BUY", "Buy", Side.BUY, 1):
        assert book.submit(1, side, 1, 100).status is Status.ACCEPTED
    for side in ("sell", "SELL", "Sell", Side.SELL, -1):
        assert book.submit(2, side, 1, 200).status is Status.ACCEPTED
    assert book.depth() == ([(100, 5)], [(200, 5)])


def test_top_is_level_one_of_both_sides():
    book = OrderBook()
    assert book.top() == (None, 0, None, 0)
    book.submit(1, "buy", 5, 99)
    book.submit(1, "buy", 3, 99)
    assert book.top() == (99, 8, None, 0)
    book.submit(2, "sell", 4, 101, display_qty=1)
    assert book.top() == (99, 8, 101, 1)


def test_queue_refuses_a_side_it_cannot_read():
    with pytest.raises(ValueError, match="side must be 'buy' or 'sell'"):
        OrderBook().queue("up", 100)
