"""Momentum ignition on hand-made records: a burst of an owner's aggressive buys that lifts the
price, then its sale into the rise, is found with the burst's and the reversal's orders and
trades; a burst without the move or the reversal is not."""

from __future__ import annotations

import pytest

from tests.surveillance.tape import S, Tape, agents, at, surveilled

IGNITER = 6
AGENTS = agents((IGNITER, "momentum"))


def ignited(
    *, gap: float = 10.0, step: int = 10, reversal_after: float | None = 70.0,
    reversal_qty: int = 40,
) -> tuple[Tape, list[int], list[int]]:  # fmt: skip
    """Three 20-unit buys from 12:00:00, `gap` seconds apart, each `step` ticks above the last
    from 10,004; then a sale of `reversal_qty` units `reversal_after` seconds after the last
    buy (None: no sale): (tape, order ids, trade ids)."""
    tape = Tape()
    tape.background()  # the last trade before noon is at 100.02 or 99.98
    orders, trades = [], []
    for i in range(3):
        order, trade = tape.take(at(12, 0) + int(i * gap * S), IGNITER, 1, 20, 10_004 + i * step,
                                 resting_agent=103)  # fmt: skip
        orders.append(order)
        trades.append(trade)
    if reversal_after is not None:
        time = at(12, 0) + int((2 * gap + reversal_after) * S)
        order, trade = tape.take(time, IGNITER, -1, reversal_qty, 10_020, resting_agent=102)
        orders.append(order)
        trades.append(trade)
    return tape, orders, trades


def test_a_burst_that_lifts_the_price_then_a_sale_into_it_is_ignition():
    tape, orders, trades = ignited()
    alerts = surveilled(tape, "momentum_ignition", AGENTS)
    assert alerts.height == 1
    alert = alerts.row(0, named=True)
    assert alert["agent"] == IGNITER
    assert alert["order_ids"] == sorted(orders) and alert["trade_ids"] == sorted(trades)
    assert alert["start"] == at(12, 0) and alert["end"] == at(12, 1, 30)
    before_noon = [t for t in tape.trades if t["time"] < at(12, 0)]
    last_before = max(before_noon, key=lambda t: t["time"])["price"]
    move = (10_024 - last_before) / last_before * 1e4
    assert alert["score"] == pytest.approx(move * 40 / 60)
    assert alert["evidence"].startswith("bought 60 units in 3 aggressive orders")
    assert "then sold 40 units within 70.0 s" in alert["evidence"]


@pytest.mark.parametrize(
    "change",
    [
        {"reversal_after": None},
        {"reversal_after": 400.0},  # beyond five minutes
        {"reversal_qty": 20},  # a third of the burst reversed
        {"gap": 45.0},  # not one burst
        {"step": 0},  # the price barely moved
    ],
    ids=["no-reversal", "late-reversal", "small-reversal", "spread-out", "no-move"],
)
def test_without_a_burst_a_move_or_a_reversal_there_is_no_ignition(change):
    tape, *_ = ignited(**change)
    assert surveilled(tape, "momentum_ignition", AGENTS).is_empty()


def test_a_burst_that_rode_a_busier_market_is_not_ignition():
    # Others bought 200 units in the book during the burst: its 60 units did not move it.
    tape, *_ = ignited()
    for i in range(4):
        tape.take(at(12, 0, 5 + 4 * i), 104, 1, 50, 10_006 + 4 * i, resting_agent=102)
    assert surveilled(tape, "momentum_ignition", AGENTS).is_empty()
    # with the threshold lowered to its share, 60 of 260 units, it is
    assert surveilled(tape, "momentum_ignition", AGENTS, ignition_min_volume_share=0.23).height == 1
