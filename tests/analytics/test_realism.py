"""The realism targets of benchmarks/RESULTS.md in a reduced form: the shipped baseline, smaller
(5 days of three hours, 10 bonds, 200 retail investors), over two seeds. The full measurement
(20 days, seeds 1-5) is `make bench`; these bounds guard what it found against regressions, with
room for the smaller runs' noise."""

from __future__ import annotations

import polars as pl
import pytest

import sim
from sim.analytics import realism
from sim.engine.kernel import Simulation
from sim.scenario import library

REDUCED = ["calendar.days=5", 'calendar.close="12:15"', "universe.count=10", "retail.count=200"]
BAND_BP = 500  # the baseline's venues refuse orders more than 5% from the evaluated price


@pytest.fixture(scope="module", params=[1, 2], ids=["seed1", "seed2"])
def result(request):
    scenario = sim.load_scenario(library.locate("baseline"), REDUCED)
    return sim.run(scenario, seed=request.param, out=None)


def test_trades_stay_near_the_evaluated_price(result):
    gaps = realism.fair_value_gaps(result)
    assert len(gaps) > 1_000
    # Reduced runs: median about 7 bp, 99th percentile 29-36, largest 45-47 (the targets: 20,
    # 200 and the band).
    assert gaps.median() <= 15
    assert gaps.quantile(0.99) <= 100
    assert gaps.max() <= BAND_BP / 5


def test_quoted_spreads_are_a_bond_markets_and_widen_down_the_ratings(result):
    spreads = realism.quoted_spreads(result)
    assert 5 <= spreads["AAA"] <= 50 and 5 <= spreads["AA"] <= 50
    assert spreads["AAA"] < spreads["A"] < spreads["BBB"]


def test_venues_agree_and_arbitrage_earns_little(result):
    assert realism.cross_venue_gaps(result).median() <= 4  # ticks; reduced runs 2.5-3, target 2
    assert realism.arbitrage_edge(result) <= 20  # bp of the value traded


def test_retail_investors_pay_to_trade(result):
    retail = realism.retail_outcomes(result)
    # Against the evaluated price before fees, most investors who trade lose.
    traded = retail.filter(pl.col("fills") > 0)
    assert traded.select((pl.col("trading_pnl") < 0).mean()).item() > 0.5


@pytest.mark.parametrize("makers", [1, 4])
def test_momentum_does_not_carry_rmsc04_away_from_its_fundamental(makers):
    """The population grid's worst corner: 24 momentum traders against 10 value investors.
    Makers that followed the mid alone let this day end 16% (one maker) and 82% (four) away
    from the fundamental; the worst corner now ends about 2% away."""
    overrides = ["value.count=10", "retail.count=100", "momentum.count=24"]
    scenario = sim.load_scenario(
        library.locate("rmsc04"), [*overrides, f"market_maker.count={makers}"]
    )
    simulation = Simulation(scenario)
    trades = simulation.run(out=None).trades
    assert len(trades) > 300
    value = [simulation.fundamental.value("ABM", t) for t in trades["time"]]
    gaps = (trades["price"] / 100 / pl.Series(value) - 1).abs()
    assert gaps[-1] <= 0.05 and gaps.max() <= 0.05


def test_liquidity_follows_credit_quality(result):
    trades = realism.trades_by_grade(result)  # trades per bond
    assert trades["AAA"] > trades["AA"] > trades["A"] > trades["BBB"]
