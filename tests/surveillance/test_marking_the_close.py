"""Marking the close on hand-made records: an owner's aggressive buying in the session's last
minutes that lifts the closing price, out of step with its own trading, is found with its
orders and trades; without any one of those parts it is not."""

from __future__ import annotations

import pytest

from tests.surveillance.tape import MIN, S, Tape, agents, at, surveilled

MARKER = 8
AGENTS = agents((MARKER, "close_marker"))


def closing_buys(
    tape: Tape, *, hour: int = 15, minute: int = 25, orders: int = 4, qty: int = 60,
    step: int = 4,
) -> tuple[list[int], list[int]]:  # fmt: skip
    """The marker takes `qty` units a minute apart from `hour:minute`, each `step` ticks
    higher than the last, from 10,004: (order ids, trade ids)."""
    ids, trades = [], []
    for i in range(orders):
        order, trade = tape.take(at(hour, minute + i), MARKER, 1, qty, 10_004 + i * step,
                                 resting_agent=103)  # fmt: skip
        ids.append(order)
        trades.append(trade)
    return ids, trades


def marked() -> tuple[Tape, list[int], list[int]]:
    tape = Tape()
    tape.background()  # the session closes at 15:30, the mid at 100.00 (10,000 ticks)
    return tape, *closing_buys(tape)


def test_closing_buys_that_lift_the_close_are_marking():
    tape, orders, trades = marked()
    alerts = surveilled(tape, "marking_the_close", AGENTS)
    assert alerts.height == 1
    alert = alerts.row(0, named=True)
    assert alert["agent"] == MARKER and alert["venue"] == "NSE"
    assert alert["order_ids"] == orders and alert["trade_ids"] == trades
    assert alert["start"] == at(15, 25) and alert["end"] == at(15, 28)
    # The close (10,016) is 16 bp above the mid before the window (10,000); it made all but
    # the 10 units a background buyer took in the window.
    assert alert["score"] == pytest.approx(16.0 * 240 / 250)
    assert "bought 240 units in 4 aggressive orders" in alert["evidence"]
    assert "(+16.0 bp)" in alert["evidence"]


def test_a_close_brought_back_is_not_marked():
    tape, *_ = marked()
    seller = tape.new(at(15, 29), 104, -1, 10, 10_000, type="ioc", tif="IOC", status="filled")
    resting = tape.new(at(15, 28, 30), 102, 1, 10, 10_000)
    tape.trade(at(15, 29), maker=(102, resting), taker=(104, seller), aggressor=-1,
               price=10_000, qty=10)  # fmt: skip
    assert surveilled(tape, "marking_the_close", AGENTS).is_empty()


def test_the_same_buying_all_day_is_its_own_pace_not_marking():
    tape = Tape()
    tape.background()
    # The closing pattern, and the same every ten minutes before it since the open.
    for start in range(at(15, 25), at(9, 15) - 1, -10 * MIN):
        minutes = (start - at(0, 0)) // MIN
        closing_buys(tape, hour=minutes // 60, minute=minutes % 60)
    # Its 60-unit orders are now the book's median order: size alone would not flag it.
    found = surveilled(tape, "marking_the_close", AGENTS, close_min_size_multiple=1)
    assert found.is_empty()
    anything_but_pace = surveilled(
        tape, "marking_the_close", AGENTS, close_min_size_multiple=1, close_min_concentration=0.5
    )
    assert anything_but_pace.height == 1  # its pace in the window is its pace all day


@pytest.mark.parametrize(
    "change",
    [{"orders": 2, "qty": 120, "step": 12}, {"qty": 5}, {"minute": 10}],
    ids=["two-orders", "small", "before-the-window"],
)
def test_too_few_orders_too_little_or_too_early_is_not_marking(change):
    tape = Tape()
    tape.background()
    closing_buys(tape, **change)
    # Someone else's last trade keeps the close up at 100.16, whenever the marker bought.
    tape.take(at(15, 29), 104, 1, 10, 10_016, resting_agent=102)
    assert surveilled(tape, "marking_the_close", AGENTS).is_empty()


def test_a_minor_part_of_the_closing_buying_is_not_marking():
    tape, *_ = marked()
    tape.take(at(15, 29) - 5 * S, 104, 1, 400, 10_016, resting_agent=102)  # bought far more
    assert surveilled(tape, "marking_the_close", AGENTS).is_empty()
