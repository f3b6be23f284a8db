"""Decision rules of the agent library, each against a closed form or a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agents.common import GRADES, MarketPicker
from agents.market_maker import MarketMakerParams, optimal_spread, reservation_price
from agents.momentum import MomentumParams, MomentumTrader
from agents.retail import RetailParams
from agents.value import ValueParams
from sim.engine.access import MarketAccess
from sim.engine.kernel import Simulation
from sim.market.messages import Quote
from sim.scenario.model import load_scenario
from tests.helpers.scenarios import small_scenario


@pytest.fixture
def sim(tmp_path):
    return Simulation(load_scenario(small_scenario(tmp_path)), seed=5)


def population(sim, kind):
    return sim.populations[kind]


# --- Avellaneda–Stoikov --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mid", "q", "gamma", "sigma2", "horizon", "k"),
    [
        (10_000, 0, 0.1, 0.04, 300, 1.5),
        (10_000, 3, 0.1, 0.04, 300, 1.5),
        (9_950.5, -2, 0.01, 2.0, 60, 0.3),
    ],
)
def test_avellaneda_stoikov_closed_form(mid, q, gamma, sigma2, horizon, k):
    # Avellaneda & Stoikov (2008), eqs. (29) and (30).
    assert reservation_price(mid, q, gamma, sigma2, horizon) == pytest.approx(
        mid - q * gamma * sigma2 * horizon, abs=1e-12
    )
    expected = gamma * sigma2 * horizon + 2 / gamma * math.log(1 + gamma / k)
    assert optimal_spread(gamma, sigma2, horizon, k) == pytest.approx(expected, rel=1e-15)


def test_as_numbers_by_hand():
    # q=2 clips long, gamma=0.1/tick, sigma^2=0.5 tick^2/s, 100 s: r = mid - 10; the spread
    # is 0.1*0.5*100 + 20*ln(1 + 0.1/0.5) = 5 + 3.6464 = 8.6464 ticks.
    assert reservation_price(1000.0, 2, 0.1, 0.5, 100) == pytest.approx(990.0)
    assert optimal_spread(0.1, 0.5, 100, 0.5) == pytest.approx(8.646431, abs=1e-6)


def test_maker_skews_quotes_against_inventory(sim):
    maker = population(sim, "market_maker")[0]
    quote = Quote(0, 9_995, 100, 10_005, 100)
    maker.quote = lambda venue, symbol: quote
    flat_bid, flat_ask = maker.quotes("EXCH", "ABM")
    sim.ledger.issue_units(maker.account, "ABM", 20 * maker.params.quote_size)  # 20 clips long
    long_bid, long_ask = maker.quotes("EXCH", "ABM")
    assert long_bid < flat_bid and long_ask < flat_ask
    assert flat_bid < 10_000 < flat_ask


def test_maker_stops_buying_at_its_inventory_limit(sim):
    maker = population(sim, "market_maker")[0]
    maker.quote = lambda venue, symbol: Quote(0, 9_995, 100, 10_005, 100)
    sim.ledger.issue_units(maker.account, "ABM", maker.params.max_inventory)
    bid, ask = maker.quotes("EXCH", "ABM")
    assert bid is None and ask is not None


def test_maker_widens_in_stress(sim):
    maker = population(sim, "market_maker")[0]
    maker.quote = lambda venue, symbol: Quote(0, 9_995, 100, 10_005, 100)
    calm_bid, calm_ask = maker.quotes("EXCH", "ABM")
    maker.withdrawn = True
    stressed_bid, stressed_ask = maker.quotes("EXCH", "ABM")
    assert stressed_ask - stressed_bid > calm_ask - calm_bid


def test_maker_params_are_validated():
    with pytest.raises(ValidationError, match="gamma"):
        MarketMakerParams(gamma=0)


# --- momentum ------------------------------------------------------------------------------


def test_momentum_crossover(sim):
    trader = population(sim, "momentum")[0]
    assert trader.signal() == 0  # not enough history
    for mid in [100, 101, 102, 103, 104, 105]:
        trader.observe(mid)
    assert trader.signal() == 1  # short average above long
    for mid in [104, 102, 100, 98, 96, 94]:
        trader.observe(mid)
    assert trader.signal() == -1


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.integers(2, 12).flatmap(lambda long: st.tuples(st.integers(1, long - 1), st.just(long))),
    st.lists(st.integers(1, 2 * 10**6), min_size=1, max_size=200),
)
def test_momentum_running_windows_match_plain_averages(sim, windows, half_ticks):
    """The running sums give the signal that averaging the windows afresh gives (a reference
    restated here), at every step, for mids in half ticks as quotes produce them. (Each example
    adds one trader to the fixture's model; it never runs, so the others are unaffected.)"""
    short_window, long_window = windows  # short windows: mids drop out of both often
    params = MomentumParams(short_window=short_window, long_window=long_window)
    trader = MomentumTrader(MarketAccess(sim), params, np.random.default_rng(0))
    seen = []
    for h in half_ticks:
        trader.observe(h / 2)
        seen.append(h / 2)
        long = seen[-long_window:]
        expected = 0
        if len(long) == long_window:
            short_mean = sum(long[-short_window:]) / short_window
            long_mean = sum(long) / long_window
            expected = (short_mean > long_mean) - (short_mean < long_mean)
        assert trader.signal() == expected


def test_momentum_windows_are_validated():
    with pytest.raises(ValidationError, match="short_window must be smaller"):
        MomentumParams(short_window=5, long_window=5)


# --- value ---------------------------------------------------------------------------------


def test_value_estimate_follows_noise_free_observations(sim):
    investor = population(sim, "value")[0]
    object.__setattr__(investor.params, "observation_noise", 0.0)
    sim.fundamental.value = lambda symbol, t: 101.37  # per 100 face: 10,137 ticks
    assert investor.estimate("ABM") == pytest.approx(10_137)


def test_value_estimate_converges_to_the_true_value_through_noise(sim):
    investor = population(sim, "value")[0]
    sim.fundamental.value = lambda symbol, t: 102.00
    estimates = [investor.estimate("ABM") for _ in range(400)]
    # 400 observations with sd 20 ticks: the estimate's sd is about 1 tick.
    assert abs(estimates[-1] - 10_200) < 5
    assert abs(estimates[0] - 10_200) > abs(estimates[-1] - 10_200) - 1


# --- retail --------------------------------------------------------------------------------


def test_panic_raises_selling_and_aggression(sim):
    investor = population(sim, "retail")[0]
    calm = investor.sell_probability(), investor.market_probability()
    assert calm == (0.5, investor.params.market_order_share)
    investor.panic = 1.0
    assert investor.sell_probability() == investor.params.panic_sell_share
    assert investor.market_probability() == 1.0
    investor.panic = 0.5
    assert 0.5 < investor.sell_probability() < investor.params.panic_sell_share


def test_retail_never_sells_what_it_does_not_own(sim):
    investor = population(sim, "retail")[0]
    sent = []
    investor.submit = lambda *args, **kw: sent.append(args)
    investor.panic = 1.0
    investor.units[:] = 0  # no investor owns any
    for _ in range(50):
        investor.trade()
    assert all(side > 0 for _, _, side, *_ in sent)


def test_every_agent_draws_from_its_own_generator(sim):
    generators = [a.agent_rng for a in sim.model.agents]
    assert len({id(g) for g in generators}) == len(generators)
    firsts = [g.bit_generator.state["state"]["state"] for g in generators]
    assert len(set(firsts)) == len(firsts)
    assert isinstance(generators[0], np.random.Generator)


def test_maker_does_not_send_quotes_outside_the_price_band(sim):
    maker = population(sim, "market_maker")[0]
    maker.quote = lambda venue, symbol: Quote(0, 9_995, 100, 10_005, 100)
    bid, ask = maker.quotes("EXCH", "ABM")
    maker.price_limits = lambda venue, symbol: (bid, ask - 1)
    assert maker.quotes("EXCH", "ABM") == (bid, None)


@pytest.mark.parametrize("params", [RetailParams, ValueParams, MomentumParams])
def test_order_sizes_must_run_from_min_to_max(params):
    with pytest.raises(ValidationError, match=r"min_qty \(9\) must not exceed max_qty \(3\)"):
        params(min_qty=9, max_qty=3)
    assert params(min_qty=3, max_qty=3).max_qty == 3  # one size is a range too


class _Ratings:
    """The one thing `MarketPicker.refresh` asks of the market: each bond's rating."""

    def __init__(self, ratings: dict[str, str | None]) -> None:
        self.ratings = ratings

    def rating(self, symbol: str, day: int) -> str | None:
        return self.ratings[symbol]


def test_equal_grade_weights_draw_as_the_generator_does():
    markets = (("NSE", "A1"), ("NSE", "B1"), ("BSE", "A1"))
    picker = MarketPicker(dict.fromkeys(GRADES, 0.5))
    picker.refresh(_Ratings({}), markets, 0)  # ratings never asked: nothing to weigh
    rng, same = np.random.default_rng(3), np.random.default_rng(3)
    assert [picker.pick(rng) for _ in range(50)] == [int(same.integers(3)) for _ in range(50)]


def test_markets_are_picked_in_proportion_to_their_grades_weights():
    weights = {"AAA": 1.0, "AA": 0.5, "A": 0.25, "BBB": 0.0, "BIG": 0.25}
    ratings = {"T": "AAA", "D": "AA+", "S": "A-", "J": "BBB", "U": None}
    markets = tuple(("NSE", s) for s in ratings)
    picker = MarketPicker(weights)
    picker.refresh(_Ratings(ratings), markets, 0)
    rng = np.random.default_rng(0)
    counts = np.bincount([picker.pick(rng) for _ in range(40_000)], minlength=5)
    # 1 : 0.5 : 0.25 : 0 : 0.25 (unrated counts as BIG) of 2.0, each within 4 sd
    assert counts.tolist() == pytest.approx([20_000, 10_000, 5_000, 0, 5_000], abs=400)
    picker.refresh(_Ratings({"T": "AAA", "X": "D"}), (("NSE", "T"), ("NSE", "X")), 1)
    counts = np.bincount([picker.pick(rng) for _ in range(10_000)], minlength=2)
    assert counts.tolist() == pytest.approx([8_000, 2_000], abs=200)  # a default weighs as BIG
    picker.refresh(_Ratings({"J": "BBB"}), (("NSE", "J"),), 1)
    assert picker.pick(rng) is None  # only a grade it never buys is left
    picker.refresh(_Ratings({}), (), 2)
    assert picker.pick(rng) is None


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"AAA": 1.0}, "needs exactly the grades"),
        (
            {**dict.fromkeys(GRADES, 1.0), "AA": -0.1},
            r"grade_weights of AA must be in \[0, 1e\+06\]",
        ),
        (dict.fromkeys(GRADES, 0.0), "grade_weights needs a positive weight"),
    ],
)
def test_grade_weights_are_checked(weights, message):
    for params in (RetailParams, ValueParams):
        with pytest.raises(ValidationError, match=message):
            params(grade_weights=weights)
