"""Statistical arbitrage on the spread curve: its model and rule on hand-worked numbers, the
market spread against QuantLib's yields, the orders it sends through a context driven by hand,
and a run in the baseline."""

from __future__ import annotations

import math

import pytest

from sim.strategy.api import Component, Valuation
from strategies.stat_arb import (
    CurvePoint,
    StatArb,
    curve_point,
    curve_residuals,
    target_positions,
    z_score,
)
from tests.helpers.desk import (
    Desk,
    bad_params_error,
    check_run,
    quote,
    run_in_baseline,
)


def bond_valuation(
    symbol, clean, accrued, spread_bp, risk_free_clean, rating_bp, rating_effect
) -> Valuation:
    rating = Component("rating_spread", rating_bp, rating_effect)
    adjustment = Component("credit_adjustment", spread_bp - rating_bp, 0.0)
    return Valuation(
        symbol, 0, clean, accrued, None, spread_bp, risk_free_clean, (rating, adjustment), None
    )


# --- the model --------------------------------------------------------------------------------


def test_the_duration_and_the_market_spread_of_a_bond():
    # Risk-free dirty 102; the 100 bp rating spread takes 4 off it: D = 4 / (100 * 1%) = 4
    # around the middle price of 100. With 30 bp more of credit adjustment the bond is worth
    # 96 clean, 98 dirty; at a mid of 95.02 the market prices it 0.98 / (4 * 98) = 25 bp wider.
    value = bond_valuation("B", 96.0, 2.0, 130.0, 100.0, 100.0, -4.0)
    assert curve_point(value, 95.02) == pytest.approx(CurvePoint(4.0, 155.0))
    assert curve_point(value, 96.0) == pytest.approx(CurvePoint(4.0, 130.0))  # at fair value


def test_a_bond_without_a_spread_based_valuation_is_left_out():
    no_spread = Valuation("X", 0, 99.0, 0.0, None, None, None, (), None)
    assert curve_point(no_spread, 99.0) is None
    unrated = bond_valuation("G", 99.0, 0.0, 0.0, 99.0, 0.0, 0.0)
    assert curve_point(unrated, 99.0) is None


@pytest.mark.parametrize("gap", [-0.6, -0.2, 0.3, 1.0])
def test_the_market_spread_is_quantlibs_yield_at_the_mid_to_first_order(gap):
    """A 7-year 8% semi-annual bond priced at flat yields: risk-free 7%, plus a 150 bp rating
    spread. At a mid `gap` under the fair clean price the market spread moves from 150 bp by
    QuantLib's yield at that price less 8.5%, to within 2% for gaps up to a point of price
    (about 20 bp): the duration is measured between 7% and 8.5%, not at 8.5%."""
    import QuantLib as ql

    settle = ql.Date(15, 3, 2024)
    ql.Settings.instance().evaluationDate = settle
    schedule = ql.Schedule(
        ql.Date(1, 1, 2024), ql.Date(1, 1, 2031), ql.Period(ql.Semiannual), ql.NullCalendar(),
        ql.Unadjusted, ql.Unadjusted, ql.DateGeneration.Backward, False,
    )  # fmt: skip
    day_count = ql.Thirty360(ql.Thirty360.BondBasis)
    bond = ql.FixedRateBond(0, 100.0, schedule, [0.08], day_count)

    def clean_at(yield_):
        return ql.BondFunctions.cleanPrice(
            bond, yield_, day_count, ql.Compounded, ql.Semiannual, settle
        )

    accrued = bond.accruedAmount(settle)
    risk_free, fair = clean_at(0.07), clean_at(0.085)
    value = bond_valuation("B", fair, accrued, 150.0, risk_free, 150.0, fair - risk_free)
    mid = fair - gap
    market_yield = ql.BondFunctions.bondYield(
        bond, ql.BondPrice(mid, ql.BondPrice.Clean), day_count, ql.Compounded, ql.Semiannual,
        settle, 1e-12, 100, 0.08,
    )  # fmt: skip
    point = curve_point(value, mid)
    assert point.spread_bp - 150 == pytest.approx((market_yield - 0.085) * 1e4, rel=0.02)
    modified = ql.BondFunctions.duration(
        bond, 0.0775, day_count, ql.Compounded, ql.Semiannual, ql.Duration.Modified, settle
    )
    assert point.duration == pytest.approx(modified, rel=2e-3)  # at the middle yield


def test_the_residuals_from_the_least_squares_line():
    # Through (1, 10), (2, 14), (3, 15) the line is 8 + 2.5 D: 10.5, 13, 15.5.
    assert curve_residuals([1, 2, 3], [10, 14, 15]) == pytest.approx([-0.5, 1.0, -0.5])
    assert curve_residuals([2, 4, 6, 8], [50, 60, 70, 80]) == pytest.approx([0, 0, 0, 0])


def test_the_z_score_against_the_previous_residuals():
    # Mean 2.5, sample sd sqrt(5/3) = 1.29099: 5 lies 1.93649 of them above.
    assert z_score([1.0, 2.0, 3.0, 4.0], 5.0) == pytest.approx(2.5 / math.sqrt(5 / 3))
    assert z_score([1.0, 2.0, 3.0, 4.0], 1.0) == pytest.approx(-1.5 / math.sqrt(5 / 3))
    assert z_score([0.1, 0.1, 0.1], 5.0) is None  # no spread: no z


# --- the rule ---------------------------------------------------------------------------------

HELD = {"A": 0, "B": 50, "C": 100, "D": 30}


def test_it_buys_the_cheap_bond_and_exits_those_whose_cheapness_is_gone():
    scores = {"A": 2.5, "B": 1.0, "C": -0.8, "D": 0.2}
    # A over 2: buy to the limit; B between the levels: hold; C and D under 0.5: sell.
    expected = {"A": 100, "B": 50, "C": 0, "D": 0}
    assert target_positions(scores, HELD, entry_z=2.0, exit_z=0.5, limit=100) == expected


def test_buying_a_cheap_bond_switches_out_of_the_richest_holding():
    scores = {"A": 2.5, "B": 1.0, "C": -0.8, "D": 0.2}
    # With exit_z = -1 none is exited, but C (z -0.8) is rich against A (2.5) by more than
    # the entry level: A is bought with C sold.
    expected = {"A": 100, "B": 50, "C": 0, "D": 30}
    assert target_positions(scores, HELD, entry_z=2.0, exit_z=-1.0, limit=100) == expected
    # The richest holding, C at 0.6, is less than 2 below A: no switch.
    scores.update(C=0.6, D=0.7)
    expected = {"A": 100, "B": 50, "C": 100, "D": 30}
    assert target_positions(scores, HELD, entry_z=2.0, exit_z=-1.0, limit=100) == expected


def test_without_a_signal_it_holds():
    scores = {"A": 1.9, "B": 0.5, "C": 0.0}
    held = {"A": 10, "B": 20, "C": 30}
    assert target_positions(scores, held, entry_z=2.0, exit_z=-1.0, limit=100) == held


# --- the orders it sends ----------------------------------------------------------------------


def three_bonds() -> dict[str, Valuation]:
    """Durations 2, 4 and 6 (a 100 bp rating spread takes d off a risk-free dirty price of
    100 + d / 2), fair at 99, 98 and 97 with no accrued interest, all at a 100 bp spread."""
    return {
        symbol: bond_valuation(symbol, 100 - d / 2, 0.0, 100.0, 100 + d / 2, 100.0, -float(d))
        for symbol, d in (("A", 2), ("B", 4), ("C", 6))
    }


def quotes_around(moves: dict[str, int]) -> dict:
    """Ten ticks wide around each bond's fair value, moved by `moves` ticks."""
    fair = {"A": 9_900, "B": 9_800, "C": 9_700}
    return {
        ("NSE", s): quote(f + moves.get(s, 0) - 5, f + moves.get(s, 0) + 5) for s, f in fair.items()
    }


def test_it_buys_the_bond_that_cheapens_and_sells_its_rich_holding_first():
    desk = Desk(quotes_around({}), three_bonds())
    strategy = StatArb(StatArb.Params(window=3, max_position=100))
    strategy.on_start(desk)
    desk.positions["A"] = 50  # bought before
    for moves in ({}, {"A": 1}, {"C": -1}):  # three quiet looks: the residuals' history
        desk.quotes = quotes_around(moves)
        strategy.on_timer(desk)
    assert desk.sent == []
    # B falls a point: its spread widens 1 / (4 * 98) = 25.5 bp, and 17.0 bp of it (2/3, the
    # middle of three points) is left off the fitted line, the other two bonds 8.5 bp under.
    desk.quotes = quotes_around({"B": -100})
    strategy.on_timer(desk)
    assert desk.sent == [
        ("new", "NSE", "A", "sell", 50, 9_895, "IOC"),
        ("new", "NSE", "B", "buy", 100, 9_705, "IOC"),
    ]
    (sold, a), (bought, b) = desk.lines
    assert (sold, bought) == ("sell A", "buy B")
    assert b["spread_bp"] == pytest.approx(125.51) and b["residual_bp"] == pytest.approx(17.01)
    assert a["residual_bp"] == pytest.approx(-8.5) and b["z"] > 2 > a["z"]


def test_it_needs_three_bonds_quoted_for_a_curve():
    desk = Desk(quotes_around({}), three_bonds())
    strategy = StatArb(StatArb.Params(window=2))
    strategy.on_start(desk)
    desk.quotes[("NSE", "C")] = quote(None, 9_705)
    for _ in range(4):
        strategy.on_timer(desk)
    assert desk.sent == [] and not any(strategy.residuals.values())


# --- in a run ---------------------------------------------------------------------------------


def test_it_trades_in_the_baseline_within_its_cash_and_units():
    # A short window (ten looks two minutes apart) so that a two-day run has z-scores.
    result, agent = run_in_baseline(
        "strategies.stat_arb:StatArb",
        "{ window = 10, interval_seconds = 120 }",
        "strategy.cash_rupees=200_000",
    )
    check_run(result, agent)


def test_bonds_are_grouped_by_issuer_or_rating_from_their_terms():
    desk = Desk({("NSE", s): quote(9_900, 9_910) for s in "ABC"}, {})
    desk.terms_of = {"A": {"issuer": "X", "rating": "AA"}, "B": {"issuer": "X", "rating": "A"},
                     "C": {"issuer": "Y", "rating": "AA"}}  # fmt: skip
    groups = {}
    for by in ("markets", "issuer", "rating"):
        strategy = StatArb(StatArb.Params(group_by=by))
        strategy.on_start(desk)
        groups[by] = strategy.group_of
    assert groups["markets"] == dict.fromkeys("ABC")
    assert groups["issuer"] == {"A": "X", "B": "X", "C": "Y"}
    assert groups["rating"] == {"A": "AA", "B": "A", "C": "AA"}


def test_it_trades_one_curve_per_rating_in_the_baseline():
    result, agent = run_in_baseline(
        "strategies.stat_arb:StatArb",
        '{ window = 10, interval_seconds = 120, group_by = "rating" }',
        "strategy.cash_rupees=200_000",
    )
    check_run(result, agent)


def test_bad_parameters_are_one_line_naming_the_field():
    message = bad_params_error("strategies.stat_arb:StatArb", "{ window = 1 }")
    assert "\n" not in message
    assert message.endswith("StatArb params: window: Input should be greater than or equal to 2")
    message = bad_params_error("strategies.stat_arb:StatArb", "{ entry_z = 1, exit_z = 1 }")
    assert "exit_z (1.0) must be smaller than entry_z (1.0)" in message
