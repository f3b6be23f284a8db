"""Mean reversion on the fair-value gap: its rule on hand-worked numbers, the orders it sends
through a context driven by hand (`tests.helpers.desk`), and a run in the baseline."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.execution import order_qty
from strategies.mean_reversion import Gap, MeanReversion, fair_value_gap, target_position
from tests.helpers.desk import (
    Desk,
    bad_params_error,
    check_run,
    quote,
    run_in_baseline,
    valuation,
)

# --- the rule ---------------------------------------------------------------------------------


def test_the_gap_and_the_edges_in_bp_of_fair_value():
    # Fair 10,000 ticks, quoted 9,980 / 9,990: mid 9,985 is 15 bp cheap; buying at the ask
    # gains 10 bp, selling at the bid loses 20.
    assert fair_value_gap(10_000, 9_980, 9_990) == pytest.approx(Gap(15.0, 10.0, -20.0))
    # Fair 8,000, quoted 8,012 / 8,020: the bid is 15 bp rich.
    assert fair_value_gap(8_000, 8_012, 8_020) == pytest.approx(Gap(-20.0, -25.0, 15.0))


@pytest.mark.parametrize(
    ("gap", "held", "expected"),
    [
        (Gap(12.0, 6.0, -18.0), 30, 100),  # 6 bp to buy at the ask: enter, up to the limit
        (Gap(11.0, 5.0, -17.0), 30, 30),  # exactly 5: not more than the threshold
        (Gap(-14.0, -20.0, 8.0), 70, 0),  # 8 bp to sell at the bid: rich, sell it all
        (Gap(3.0, -2.0, -8.0), 70, 70),  # still 3 bp cheap at the mid: wait
        (Gap(0.5, -4.5, -5.5), 70, 0),  # the gap has closed under 1 bp: exit
        (Gap(-2.0, -7.0, -3.0), 0, 0),  # nothing held, nothing to do
    ],
)
def test_the_target_holding(gap, held, expected):
    assert target_position(gap, held, entry_bp=5.0, exit_bp=1.0, limit=100) == expected


@pytest.mark.parametrize(
    ("target", "held", "free_units", "affordable", "lot", "expected"),
    [
        (100, 30, 0, 1_000, 20, 60),  # 70 to go: three lots of 20
        (100, 30, 0, 50, 20, 40),  # cash for 50: two lots
        (100, 30, 0, 19, 20, 0),  # not a lot's worth of cash
        (0, 75, 1_000, 0, 20, -60),  # 75 to sell: three lots
        (0, 75, 55, 0, 20, -40),  # 55 free (the rest unsettled): two lots
        (40, 40, 40, 40, 20, 0),
    ],
)
def test_an_order_is_whole_lots_within_cash_and_free_units(
    target, held, free_units, affordable, lot, expected
):
    assert order_qty(target, held, free_units, affordable, lot) == expected


@given(
    target=st.integers(0, 500),
    held=st.integers(0, 500),
    free_units=st.integers(0, 500),
    affordable=st.integers(0, 500),
    lot=st.integers(1, 50),
)
def test_an_order_never_passes_the_target_the_cash_or_the_free_units(
    target, held, free_units, affordable, lot
):
    qty = order_qty(target, held, free_units, affordable, lot)
    assert qty % lot == 0
    if qty > 0:
        assert held + qty <= target and qty <= affordable
    elif qty < 0:
        assert held + qty >= target and -qty <= free_units
    # Only a lot short of the target (or the cash or free units that limit it) is left undone.
    room = min(target - held, affordable) if target > held else min(held - target, free_units)
    assert room - abs(qty) < lot


# --- the orders it sends ----------------------------------------------------------------------


def desk_for_bond_b(bid_nse, ask_nse, bid_bse, ask_bse, **account) -> Desk:
    quotes = {("NSE", "B"): quote(bid_nse, ask_nse), ("BSE", "B"): quote(bid_bse, ask_bse)}
    return Desk(quotes, {"B": valuation("B", 100.0, accrued=1.5)}, **account)


def started(desk: Desk, **params) -> MeanReversion:
    strategy = MeanReversion(MeanReversion.Params(**params))
    strategy.on_start(desk)
    assert desk.timer == 300 * 10**9
    return strategy


def test_it_buys_a_cheap_bond_at_the_lowest_ask_for_the_lots_its_cash_pays_for():
    # Fair 10,000 ticks; BSE's ask of 9,990 is the lower: 10 bp under fair value.
    desk = desk_for_bond_b(9_980, 9_992, 9_975, 9_990, lot=5)
    # A unit costs 9,990 ticks at 10 paise plus 15 rupees accrued: 1,01,400 paise. The cash
    # less its 0.1% for fees, 37,96,200 paise, pays for 37 units: 35 in lots of 5.
    desk.cash = 3_800_000
    strategy = started(desk, entry_bp=5, max_position=100)
    strategy.on_timer(desk)
    assert desk.sent == [("new", "BSE", "B", "buy", 35, 9_990, "IOC")]
    ((message, fields),) = desk.lines
    assert message == "buy B"
    assert fields["gap_bp"] == pytest.approx(15) and fields["buy_edge_bp"] == pytest.approx(10)
    assert (fields["qty"], fields["price"], fields["held"], fields["target"]) == (35, 9_990, 0, 100)


def test_buys_on_their_way_hold_their_cost_back_from_the_next():
    quotes = {("NSE", "B"): quote(9_980, 9_990), ("NSE", "C"): quote(9_980, 9_990)}
    desk = Desk(quotes, {s: valuation(s, 100.0) for s in "BC"})
    # A unit costs 99,900 paise: the cash less 0.1%, 1,49,85,000 paise, pays for 150 units.
    desk.cash = 15_000_000
    strategy = started(desk)
    strategy.on_timer(desk)  # both 10 bp cheap: 100 of B, and what is left, 50, of C
    assert desk.sent == [
        ("new", "NSE", "B", "buy", 100, 9_990, "IOC"),
        ("new", "NSE", "C", "buy", 50, 9_990, "IOC"),
    ]


def test_it_sends_one_order_per_bond_until_the_venue_answers():
    desk = desk_for_bond_b(9_980, 9_992, 9_975, 9_990)
    strategy = started(desk)
    strategy.on_timer(desk)
    strategy.on_timer(desk)  # no answer yet
    assert len(desk.sent) == 1
    desk.answer(strategy)  # filled: it holds 100 now
    desk.positions["B"] = 100
    desk.quotes = {("NSE", "B"): quote(10_000, 10_002), ("BSE", "B"): quote(9_998, 10_003)}
    strategy.on_timer(desk)  # the mid is 1 bp over fair value: the gap has closed, exit
    assert desk.sent[1:] == [("new", "NSE", "B", "sell", 100, 10_000, "IOC")]


def test_it_sells_what_it_bought_when_rich_as_far_as_its_units_are_free():
    desk = desk_for_bond_b(10_006, 10_012, 10_008, 10_015)
    strategy = started(desk)
    desk.positions["B"] = 100  # bought 100, of which 60 have settled
    desk.free["B"] = 60
    strategy.on_timer(desk)  # the BSE bid is 8 bp over fair value: rich, sell there
    assert desk.sent == [("new", "BSE", "B", "sell", 60, 10_008, "IOC")]
    assert desk.lines[0][1]["sell_edge_bp"] == pytest.approx(8)


def test_it_never_sells_its_starting_units():
    desk = desk_for_bond_b(10_006, 10_012, 10_008, 10_015, positions={"B": 40})
    strategy = started(desk)
    strategy.on_timer(desk)  # rich, but all it holds it started with
    assert desk.sent == []
    desk.positions["B"] = 70  # bought 30 since
    strategy.on_timer(desk)
    assert desk.sent == [("new", "BSE", "B", "sell", 30, 10_008, "IOC")]


def test_a_one_sided_market_is_left_alone():
    desk = desk_for_bond_b(None, 9_900, None, 9_901)
    strategy = started(desk)
    strategy.on_timer(desk)
    assert desk.sent == [] and desk.lines == []


# --- in a run ---------------------------------------------------------------------------------


def test_it_trades_in_the_baseline_within_its_cash_and_units():
    # Cash for about two bonds' limits, so that the budget binds; T+1 settlement, so that
    # units bought on the first day are not free to sell until the second.
    result, agent = run_in_baseline(
        "strategies.mean_reversion:MeanReversion",
        "{ entry_bp = 2, exit_bp = 1 }",
        "strategy.cash_rupees=200_000",
    )
    check_run(result, agent)


def test_bad_parameters_are_one_line_naming_the_field():
    message = bad_params_error("strategies.mean_reversion:MeanReversion", "{ entry_bp = -1 }")
    assert "\n" not in message
    assert message.endswith(
        "strategy: MeanReversion params: entry_bp: Input should be greater than 0"
    )
    message = bad_params_error(
        "strategies.mean_reversion:MeanReversion", "{ entry_bp = 2, exit_bp = 3 }"
    )
    assert "exit_bp (3.0) must not exceed entry_bp (2.0)" in message
