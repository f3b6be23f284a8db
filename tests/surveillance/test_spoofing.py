"""Spoofing and layering on hand-made records: large or layered resting orders cancelled soon
while their owner trades the other way are found, with their own order ids and the opposite
trades; each condition taken away leaves no alert."""

from __future__ import annotations

import pytest

from tests.surveillance.tape import S, Tape, agents, at, surveilled

SPOOFER = 7
AGENTS = agents((SPOOFER, "value"))


def shown_then_traded(
    *, sizes=(500,), prices=(10_010,), trade_side=1, cancel_after=3.0, traded=True
) -> tuple[Tape, list[int], int | None]:
    """Agent 7 shows sells of `sizes` at `prices` at 11:00:10, buys 20 units a second later
    (unless not `traded`) and cancels the sells `cancel_after` seconds after showing them:
    (the tape, the shown orders' ids, the trade's id)."""
    tape = Tape()
    tape.background()
    start = at(11, 0, 10)
    shown = [tape.new(start, SPOOFER, -1, qty, px) for qty, px in zip(sizes, prices, strict=True)]
    trade = None
    if traded:
        _, trade = tape.take(start + S, SPOOFER, trade_side, 20, 10_002, resting_agent=101)
    for order_id in shown:
        tape.cancel(start + int(cancel_after * S), SPOOFER, order_id)
    return tape, shown, trade


def test_a_large_order_cancelled_while_its_owner_buys_is_spoofing():
    tape, shown, trade = shown_then_traded()
    alerts = surveilled(tape, "spoofing", AGENTS)
    assert alerts.height == 1
    alert = alerts.row(0, named=True)
    assert alert["agent"] == SPOOFER and alert["instrument"] == "BOND"
    assert alert["order_ids"] == shown
    assert alert["trade_ids"] == [trade]
    assert alert["start"] == at(11, 0, 10) and alert["end"] == at(11, 0, 13)
    assert alert["score"] == pytest.approx(50.0)  # 500 units against a median order of 10
    assert "sell 500 units" in alert["evidence"] and "bought 20 units" in alert["evidence"]


@pytest.mark.parametrize(
    "change",
    [
        {"traded": False},  # no trade the other way
        {"trade_side": -1},  # it sold: the same side as the show
        {"cancel_after": 45.0},  # left resting longer than 30 s
        {"sizes": (50,)},  # 5x the median order: not large
    ],
    ids=["no-trade", "same-side", "slow-cancel", "small"],
)
def test_take_one_condition_away_and_it_is_not_spoofing(change):
    tape, *_ = shown_then_traded(**change)
    assert surveilled(tape, "spoofing", AGENTS).is_empty()


def test_an_order_that_filled_is_not_spoofing():
    tape, shown, _ = shown_then_traded()
    # Someone bought 100 of the 500 before the cancel: 20% filled, over the 10% allowed.
    buyer = tape.new(at(11, 0, 11), 102, 1, 100, 10_010, type="ioc", tif="IOC", status="filled")
    tape.trade(at(11, 0, 11), maker=(SPOOFER, shown[0]), taker=(102, buyer), aggressor=1,
               price=10_010, qty=100)  # fmt: skip
    assert surveilled(tape, "spoofing", AGENTS).is_empty()


def test_orders_shown_together_are_one_episode():
    tape, shown, _ = shown_then_traded(sizes=(500, 500), prices=(10_010, 10_011))
    alerts = surveilled(tape, "spoofing", AGENTS)
    assert alerts["order_ids"].to_list() == [shown]
    assert alerts["score"].to_list() == [pytest.approx(100.0)]


LAYERS = {"sizes": (30, 30, 30), "prices": (10_006, 10_007, 10_008)}


def test_three_levels_cancelled_while_the_owner_buys_are_layering():
    tape, shown, trade = shown_then_traded(**LAYERS)
    alerts = surveilled(tape, "layering", AGENTS)
    assert alerts.height == 1
    alert = alerts.row(0, named=True)
    assert alert["detector"] == "layering" and alert["agent"] == SPOOFER
    assert alert["order_ids"] == shown and alert["trade_ids"] == [trade]
    assert alert["evidence"].startswith("3 sell levels at 10006 ticks-10008 ticks, 90 units")
    # Each layer is small (3x the median order): layering, not spoofing.
    assert surveilled(tape, "spoofing", AGENTS).is_empty()


@pytest.mark.parametrize(
    "change",
    [
        {"sizes": (30, 30), "prices": (10_006, 10_007)},  # two levels
        {"sizes": (30, 30, 30), "prices": (10_006, 10_006, 10_006)},  # one price
        {**LAYERS, "traded": False},
        {**LAYERS, "trade_side": -1},
    ],
    ids=["two-levels", "one-price", "no-trade", "same-side"],
)
def test_without_levels_or_an_opposite_trade_there_is_no_layering(change):
    tape, *_ = shown_then_traded(**change)
    assert surveilled(tape, "layering", AGENTS).is_empty()


def test_layers_placed_far_apart_are_not_one_set():
    tape = Tape()
    tape.background()
    start = at(12, 0)
    for i, price in enumerate((10_006, 10_007, 10_008)):  # a minute apart, each cancelled soon
        order_id = tape.new(start + i * 60 * S, SPOOFER, -1, 30, price)
        tape.cancel(start + i * 60 * S + 2 * S, SPOOFER, order_id)
    tape.take(start + 61 * S, SPOOFER, 1, 20, 10_002, resting_agent=101)
    assert surveilled(tape, "layering", AGENTS).is_empty()


def test_a_replayed_markets_flow_has_no_owner_to_flag():
    # A replay day's recorded exchange flow is many anonymous owners under one account.
    tape, *_ = shown_then_traded()
    assert surveilled(tape, "spoofing", agents((SPOOFER, "replay"))).is_empty()
