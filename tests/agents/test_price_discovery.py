"""Decision rules behind rmsc04's price discovery: the value investor's moving-value estimate,
its informed taking and its band around the estimate, the maker's post-only quotes and the
momentum trader's funding check; each against a closed form or a hand computation. The last
test (slow) checks rmsc04's stylized facts as the benchmark computes them."""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor

import pytest

from agents.value import variance_gain
from sim.engine.kernel import Simulation
from sim.market.messages import Quote
from sim.scenario.model import load_scenario
from tests.helpers.scenarios import small_scenario


@pytest.fixture
def sim(tmp_path):
    return Simulation(load_scenario(small_scenario(tmp_path)), seed=5)


def _with(agent, **changes):
    agent.params = agent.params.model_copy(update=changes)
    return agent


# --- value: the estimate of a moving value --------------------------------------------------


def test_variance_gain_closed_form():
    assert variance_gain(0.0, 175.0) == 175.0
    # Sum over i < n of (1 - kappa)^(2i), for whole seconds.
    kappa, n = 0.01, 50
    assert variance_gain(kappa, n) == pytest.approx(sum((1 - kappa) ** (2 * i) for i in range(n)))
    # A slow reversion gains almost the elapsed time; it saturates at 1 / (1 - (1 - kappa)^2).
    assert variance_gain(1.67e-7, 175.0) == pytest.approx(175.0, rel=1e-4)
    assert variance_gain(0.5, 1e6) == pytest.approx(1 / (1 - 0.25))


def _observe(investor, sim, values, gap_seconds):
    """Estimates after observing each value in turn, `gap_seconds` apart."""
    estimates = []
    for value in values:
        sim.fundamental.value = lambda symbol, t, v=value: v / 100  # ticks -> per 100 face
        if "ABM" in investor._estimates:  # as if the last observation was gap_seconds ago
            mean, var, _ = investor._estimates["ABM"]
            investor._estimates["ABM"] = (mean, var, investor.now - int(gap_seconds * 1e9))
        estimates.append(investor.estimate("ABM"))
    return estimates


def test_value_estimate_reaches_the_kalman_steady_state(sim):
    # Noise variance R = 10, process variance per gap Q = 0.158^2 * 175 (kappa 0): the
    # posterior variance P solves P = (P + Q) R / (P + Q + R).
    investor = _with(
        sim.populations["value"][0],
        observation_noise=math.sqrt(10),
        value_vol_ticks=0.158,
        kappa_per_second=0.0,
    )
    _observe(investor, sim, [10_000] * 200, 175)
    q, r = 0.158**2 * 175, 10.0
    steady = (-q + math.sqrt(q * q + 4 * q * r)) / 2
    assert investor._estimates["ABM"][1] == pytest.approx(steady, rel=1e-6)


def test_value_estimate_follows_a_moving_value_only_with_value_vol(sim):
    # A day at 10,000 then a move to 10,020: with the value's volatility in the prior the
    # estimate catches up in a few observations; without it, it is the running mean.
    follows, stuck = (
        _with(
            sim.populations["value"][i],
            observation_noise=1.0,
            value_vol_ticks=vol,
            kappa_per_second=0.0,
        )
        for i, vol in ((0, 0.158), (1, 0.0))
    )
    path = [10_000] * 100 + [10_020] * 5
    assert _observe(follows, sim, path, 175)[-1] == pytest.approx(10_020, abs=2)
    assert _observe(stuck, sim, path, 175)[-1] < 10_002


# --- value: informed taking and the band around the estimate --------------------------------


def _decide(investor, value, quote):
    investor.estimate = lambda symbol: value
    investor.quote = lambda venue, symbol: quote
    return investor.decide()


def test_value_takes_up_to_its_estimate_less_the_edge(sim):
    investor = _with(sim.populations["value"][0], aggressive_share=0.0, take_edge_ticks=3)
    quote = Quote(0, 10_000, 50, 10_002, 50)
    # Estimate 10,007.6: the ask is 5.6 ticks below it, so it bids up to 10,004 (7.6 - 3).
    _, _, side, _, price = _decide(investor, 10_007.6, quote)
    assert (side, price) == (1, 10_004)
    # A seller likewise offers down to the estimate plus the edge.
    _, _, side, _, price = _decide(investor, 9_994.2, quote)
    assert (side, price) == (-1, 9_998)
    # Within the edge it rests on its own side (at most depth_spread_ticks behind).
    _, _, side, _, price = _decide(investor, 10_004.5, quote)
    assert side == 1 and 10_000 - investor.params.depth_spread_ticks <= price <= 10_000


def test_value_without_an_edge_prices_as_before(sim):
    investor = _with(sim.populations["value"][0], aggressive_share=0.0)
    for _ in range(20):
        _, _, side, _, price = _decide(investor, 10_050.0, Quote(0, 10_000, 50, 10_002, 50))
        assert side == 1 and 10_000 - investor.params.depth_spread_ticks <= price <= 10_000


def test_value_band_undercuts_a_quote_far_from_the_estimate(sim):
    # The bid is 40 ticks below the estimate: the buy rests 6 ticks below the estimate, not
    # at the bid; with no band it joins the bid (or rests behind it).
    quote = Quote(0, 9_960, 50, 10_004, 50)
    banded = _with(sim.populations["value"][0], aggressive_share=0.0, band_ticks=6)
    assert _decide(banded, 10_000.5, quote)[2:5:2] == (1, 9_994)
    free = _with(sim.populations["value"][1], aggressive_share=0.0)
    assert _decide(free, 10_000.5, quote)[4] <= 9_960
    # The band never pulls an order further away than the quote would put it.
    near = Quote(0, 9_998, 50, 10_004, 50)
    for _ in range(20):
        assert 9_996 <= _decide(banded, 10_002.5, near)[4] <= 9_998
    # With no taking edge, an estimate far above the ask does not make the band cross it: the
    # passive buy stops a tick under the ask (and a sell a tick over the bid).
    assert _decide(banded, 10_030.0, quote)[2:5:2] == (1, 10_003)
    assert _decide(banded, 9_930.0, quote)[2:5:2] == (-1, 9_961)


# --- market maker: post-only quotes ---------------------------------------------------------


def test_post_only_maker_never_crosses_the_quote(sim):
    maker = sim.populations["market_maker"][0]
    maker.quote = lambda venue, symbol: Quote(0, 9_995, 100, 10_005, 100)
    maker._sigma2[("EXCH", "ABM")] = 0.1  # far too long: a big downward skew
    sim.ledger.issue_units(maker.account, "ABM", 30 * maker.params.quote_size)
    maker._last_mid.clear()
    bid, ask = maker.quotes("EXCH", "ABM")
    assert ask < 9_995  # the skewed ask would sell into the bid
    _with(maker, post_only=True)
    maker._sigma2[("EXCH", "ABM")] = 0.1
    maker._last_mid.clear()
    post_bid, post_ask = maker.quotes("EXCH", "ABM")
    assert post_ask == 9_996 and post_bid == bid  # stops at the touch; the bid was below it


# --- momentum: funding ----------------------------------------------------------------------


def test_momentum_sends_no_buy_it_cannot_fund(sim):
    trader = sim.populations["momentum"][0]
    sent, asked = [], []
    trader.submit = lambda *args, **kw: sent.append(args)
    for mid in [100, 101, 102, 103, 104, 105]:  # a buy signal
        trader.observe(mid)
    trader.quote = lambda venue, symbol: Quote(0, 10_000, 50, 10_001, 50)
    trader.affordable = lambda *args: asked.append(args) or 0
    trader.on_wake()
    assert sent == []
    assert asked == [("EXCH", "ABM", 10_001, trader.free_cash())]  # the ask, all its free cash
    trader.affordable = lambda *args: 3
    trader.on_wake()
    assert [(side, qty) for _, _, side, qty, *_ in sent] == [(1, 3)]


# --- rmsc04's stylized facts ----------------------------------------------------------------


def _rmsc04_segments(seed):
    import tempfile
    from pathlib import Path

    import sim as bondlab
    from sim.analytics.stylized import minute_mid_return_segments

    path = Path(__file__).resolve().parents[2] / "scenarios" / "rmsc04.toml"
    with tempfile.TemporaryDirectory() as out:
        result = bondlab.run(bondlab.load_scenario(path), seed=seed, out=out)
        return minute_mid_return_segments(result.quotes, "ABM")


@pytest.mark.slow
def test_rmsc04_stylized_facts_over_ten_seeds():
    from sim.analytics.stylized import stylized_facts

    with ProcessPoolExecutor(2) as pool:
        segments = [
            s for seed_segments in pool.map(_rmsc04_segments, range(1, 11)) for s in seed_segments
        ]
    facts = stylized_facts(segments)
    assert facts["excess_kurtosis"] >= 3
    assert abs(facts["acf_returns"]["1"]) <= 0.1
    assert all(v > 0 for v in facts["acf_abs_returns"].values())
