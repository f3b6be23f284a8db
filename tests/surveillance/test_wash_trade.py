"""Wash trades on hand-made records: one beneficial owner on both sides of a trade, across client
codes, is found with its orders and trades; two investors of an omnibus account trading with
each other, or two accounts, are not."""

from __future__ import annotations

import polars as pl
import pytest

from tests.surveillance.tape import Tape, agents, at, surveilled

WASHER, OMNIBUS = 9, 1
AGENTS = agents((WASHER, "wash_trader"), (OMNIBUS, "retail", 200))


def crossed(
    agent: int, resting_client: int, crossing_client: int, *, against: int | None = None
) -> tuple[Tape, list[int], list[int]]:
    """`agent` rests a sell under one client code and crosses it with a buy under another
    (or `against` takes it, another account), twice: (tape, order ids, trade ids)."""
    tape = Tape()
    tape.background()
    orders, trades = [], []
    for minute in (3, 40):
        time = at(10, minute)
        resting = tape.new(time, agent, -1, 30, 10_001, client=resting_client)
        taker_agent = agent if against is None else against
        taker = tape.new(time + 500_000_000, taker_agent, 1, 30, 10_001, type="ioc", tif="IOC",
                         status="filled", client=crossing_client)  # fmt: skip
        trade = tape.trade(time + 500_000_000, maker=(agent, resting), taker=(taker_agent, taker),
                           aggressor=1, price=10_001, qty=30, maker_client=resting_client,
                           taker_client=crossing_client)  # fmt: skip
        orders += [resting, taker]
        trades.append(trade)
    return tape, orders, trades


def test_one_account_on_both_sides_under_two_client_codes_is_a_wash():
    tape, orders, trades = crossed(WASHER, 1, 2)
    alerts = surveilled(tape, "wash_trade", AGENTS)
    assert alerts.height == 1  # one owner, one book, one day
    alert = alerts.row(0, named=True)
    assert alert["agent"] == WASHER and alert["client"] == "1, 2"
    assert alert["order_ids"] == sorted(orders) and alert["trade_ids"] == trades
    assert alert["start"] == at(10, 3, 0.5) and alert["end"] == at(10, 40, 0.5)
    assert alert["score"] == pytest.approx(60 / tape_units(tape))  # its share of the volume
    assert alert["evidence"].startswith("2 trades, 60 units between client codes 1 and 2")


def tape_units(tape: Tape) -> int:
    return sum(trade["qty"] for trade in tape.trades)


def test_an_omnibus_accounts_two_investors_trading_is_not_a_wash():
    tape, *_ = crossed(OMNIBUS, 4, 5)
    assert surveilled(tape, "wash_trade", AGENTS).is_empty()


def test_one_investor_of_an_omnibus_account_on_both_sides_is():
    tape, _, trades = crossed(OMNIBUS, 4, 4)
    alerts = surveilled(tape, "wash_trade", AGENTS)
    assert alerts.select("agent", "client").rows() == [(OMNIBUS, "4")]
    assert alerts["trade_ids"].to_list() == [trades]


def test_two_accounts_are_two_owners():
    tape, *_ = crossed(WASHER, 1, 2, against=102)
    assert surveilled(tape, "wash_trade", AGENTS).is_empty()


def test_an_account_is_omnibus_only_when_agents_say_it_holds_investors():
    tape, *_ = crossed(OMNIBUS, 4, 5)
    as_one_owner = AGENTS.with_columns(investors=pl.lit(None, pl.Int64))
    assert surveilled(tape, "wash_trade", as_one_owner).height == 1
