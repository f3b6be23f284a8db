"""Momentum: the moving-average crossover on hand-worked numbers, the orders it sends through a
context driven by hand, and a run in the baseline."""

from __future__ import annotations

import pytest

from strategies.momentum import DOWN, FLAT, UP, Momentum, moving_averages, target_position, trend
from tests.helpers.desk import (
    Desk,
    bad_params_error,
    check_run,
    quote,
    run_in_baseline,
    valuation,
)


def test_the_fast_and_slow_averages_are_of_the_latest_mids():
    mids = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]
    assert moving_averages(mids, fast=2, slow=4) == (14.5, 13.5)
    assert moving_averages(mids, fast=1, slow=6) == (15.0, 12.5)


@pytest.mark.parametrize(
    ("fast", "slow", "band_bp", "expected"),
    [
        (10_010.0, 10_000.0, 5.0, UP),  # 10 bp above: past the 5 bp band
        (10_005.0, 10_000.0, 5.0, FLAT),  # exactly on the band
        (10_004.0, 10_000.0, 5.0, FLAT),
        (9_994.0, 10_000.0, 5.0, DOWN),
        (9_995.0, 10_000.0, 5.0, FLAT),
        (10_000.5, 10_000.0, 0.0, UP),  # no band: any cross
        (10_000.0, 10_000.0, 0.0, FLAT),
    ],
)
def test_the_trend_is_the_crossover_past_the_band(fast, slow, band_bp, expected):
    assert trend(fast, slow, band_bp) == expected


def test_long_on_an_up_trend_flat_on_a_down_trend_else_unchanged():
    assert target_position(UP, 30, 100) == 100
    assert target_position(DOWN, 30, 100) == 0
    assert target_position(FLAT, 30, 100) == 30


def test_it_buys_once_the_trend_is_up_and_sells_once_it_turns_down():
    desk = Desk({("NSE", "B"): quote(9_990, 10_010), ("BSE", "B"): quote(9_995, 10_012)}, {})
    desk.valuations["B"] = valuation("B", 100.0)
    strategy = Momentum(Momentum.Params(fast=2, slow=3, band_bp=2, max_position=50))
    strategy.on_start(desk)
    assert desk.timer == 300 * 10**9

    def sample(bid_nse, ask_nse, bid_bse, ask_bse):
        desk.quotes = {("NSE", "B"): quote(bid_nse, ask_nse), ("BSE", "B"): quote(bid_bse, ask_bse)}
        strategy.on_timer(desk)

    strategy.on_timer(desk)  # mid 10,002.5 (the best bid 9,995 and ask 10,010)
    sample(10_000, 10_020, 9_990, 10_025)  # mid 10,010
    assert desk.sent == []  # three samples are needed
    sample(10_030, 10_050, 10_020, 10_045)  # mid 10,037.5
    # fast 10,023.75 against slow 10,016.67: 7.1 bp up, past the 2 bp band: buy at the best ask
    assert desk.sent == [("new", "BSE", "B", "buy", 50, 10_045, "IOC")]
    ((message, fields),) = desk.lines
    assert message == "buy B"
    assert (fields["fast_ma"], fields["slow_ma"]) == (10_023.75, 10_016.67)
    desk.answer(strategy)
    desk.positions["B"] = 50
    sample(9_980, 10_000, 9_985, 10_005)  # mid 9,992.5: fast 10,015 vs slow 10,013.3, flat
    assert len(desk.sent) == 1
    sample(9_940, 9_960, 9_945, 9_965)  # mid 9,952.5: fast 9,972.5 vs slow 9,994.2, down
    assert desk.sent[1:] == [("new", "BSE", "B", "sell", 50, 9_945, "IOC")]


def test_it_trades_in_the_baseline_within_its_cash_and_units():
    # Short averages (two and six samples two minutes apart) so that a two-day run trends.
    result, agent = run_in_baseline(
        "strategies.momentum:Momentum",
        "{ fast = 2, slow = 6, interval_seconds = 120 }",
        "strategy.cash_rupees=200_000",
    )
    check_run(result, agent)


def test_bad_parameters_are_one_line_naming_the_field():
    message = bad_params_error("strategies.momentum:Momentum", "{ fast = 6, slow = 6 }")
    assert "\n" not in message
    assert message.endswith("Momentum params: fast (6) must be smaller than slow (6)")
    message = bad_params_error("strategies.momentum:Momentum", "{ band_bp = -1 }")
    assert message.endswith("Momentum params: band_bp: Input should be greater than or equal to 0")
