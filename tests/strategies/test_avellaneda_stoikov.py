"""The Avellaneda–Stoikov rule against hand-worked numbers, the paper's market model against
the paper's own simulation tables and against closed forms of the model, and the bondlab
strategy: its quotes by hand in a context driven by hand, and in a reduced baseline run."""

from __future__ import annotations

import functools
import math
import re
from collections import Counter

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim.market.instrument import Instrument
from sim.market.messages import OpenOrder, Quote, Response
from sim.market.orders import Reason, Side, Status
from sim.strategy.api import Valuation
from sim.strategy.loading import StrategyError, strategy_params
from strategies.avellaneda_stoikov import (
    PAPER_TABLES,
    AvellanedaStoikov,
    AvellanedaStoikovParams,
    average_spread,
    inventory_quotes,
    on_tick_grid,
    optimal_spread,
    price_band,
    reservation_price,
    simulate_paper_model,
    symmetric_quotes,
    terminal_spread,
)

PAPER_PATHS = 1000
SEED = 2008
GAMMAS = (0.1, 0.01, 1.0)  # the paper's Tables 1-3

FIGURES = ("profit_mean", "profit_sd", "inventory_mean", "inventory_sd")  # as in SimulationSummary
# Half the last digit the paper prints: profits and sds to 0.1, the mean final q to 0.01.
ROUNDING = {"profit_mean": 0.05, "profit_sd": 0.05, "inventory_mean": 0.005, "inventory_sd": 0.05}


def params(gamma: float = 0.1, **changes) -> AvellanedaStoikovParams:
    return AvellanedaStoikovParams(gamma=gamma, **changes)


@functools.cache
def paper_run(gamma: float, strategy: str):
    return simulate_paper_model(params(gamma), strategy, PAPER_PATHS, SEED)


# --- The rule, by hand -------------------------------------------------------------------------


def test_terminal_spread_by_hand():
    # (2 / gamma) ln(1 + gamma / k) with k = 1.5: 20 ln(16/15), 200 ln(151/150), 2 ln(5/3).
    assert terminal_spread(params(0.1)) == pytest.approx(1.2907704, abs=1e-7)
    assert terminal_spread(params(0.01)) == pytest.approx(1.3289085, abs=1e-7)
    assert terminal_spread(params(1.0)) == pytest.approx(1.0216512, abs=1e-7)


def _mean_inventory_spread(p: AvellanedaStoikovParams) -> float:
    """The inventory strategy's quoted spread, ask - bid, at varied mids and inventories,
    averaged over [0, T] (it is linear in t, so the mean over an even grid with both ends is
    the exact time average)."""
    spreads = []
    for i, t in enumerate(np.linspace(0.0, p.T, 1001)):
        bid, ask = inventory_quotes(100.0 + i % 7, i % 5 - 2, t, p)
        spreads.append(ask - bid)
    return float(np.mean(spreads))


@pytest.mark.parametrize("gamma", GAMMAS)
def test_inventory_strategys_average_spread_is_the_papers_spread_column(gamma):
    # The spread does not depend on the path (nor on q), so there is no sampling error here,
    # only the paper's rounding to 0.01. The mean over the 200 steps quoted (t = 0 to T - dt)
    # would be gamma sigma^2 dt / 2 wider: 3.03 for gamma = 1, against the paper's 3.02.
    spread = PAPER_TABLES[gamma, "inventory"].spread
    assert PAPER_TABLES[gamma, "symmetric"].spread == spread
    assert abs(_mean_inventory_spread(params(gamma)) - spread) <= 0.005


@pytest.mark.parametrize("gamma", GAMMAS)
def test_symmetric_strategy_quotes_the_inventory_strategys_average_spread(gamma):
    p = params(gamma)
    mean = _mean_inventory_spread(p)
    bid, ask = symmetric_quotes(np.array([90.0, 100.0]), p)
    np.testing.assert_allclose(ask - bid, mean, rtol=1e-12)
    np.testing.assert_allclose((bid + ask) / 2, [90.0, 100.0], rtol=1e-12)
    assert average_spread(p) == pytest.approx(mean, rel=1e-12)


def test_spread_and_reservation_price_by_hand():
    p = params(0.1)  # sigma^2 = 4, T = 1
    # t = 0: 0.1 x 4 x 1 + 20 ln(16/15) = 0.4 + 1.2907704.
    assert optimal_spread(0.0, p) == pytest.approx(1.6907704, abs=1e-7)
    # 3 long at t = 0.25: r = 100 - 3 x 0.1 x 4 x 0.75 = 99.1; spread 0.3 + 1.2907704.
    assert reservation_price(100.0, 3, 0.25, p) == pytest.approx(99.1, abs=1e-12)
    bid, ask = inventory_quotes(100.0, 3, 0.25, p)
    assert bid == pytest.approx(98.3046148, abs=1e-7)
    assert ask == pytest.approx(99.8953852, abs=1e-7)
    # 2 short, gamma = 0.5, t = 0.5: r = 100 + 2 x 0.5 x 4 x 0.5 = 102.
    assert reservation_price(100.0, -2, 0.5, params(0.5)) == pytest.approx(102.0, abs=1e-12)


def test_symmetric_quotes_centre_the_average_spread_on_the_mid():
    # 0.1 x 4 x 1 / 2 + 20 ln(16/15) = 1.4907704, half of it either side of the mid
    bid, ask = symmetric_quotes(100.0, params(0.1))
    assert bid == pytest.approx(100 - 0.7453852, abs=1e-7)
    assert ask == pytest.approx(100 + 0.7453852, abs=1e-7)


def test_quotes_work_on_arrays_of_paths():
    bid, ask = inventory_quotes(np.array([100.0, 100.0]), np.array([0, 3]), 0.25, params(0.1))
    np.testing.assert_allclose(bid, [100 - 0.7953852, 98.3046148], atol=1e-7)
    np.testing.assert_allclose(ask, [100 + 0.7953852, 99.8953852], atol=1e-7)


# --- The rule's limits and invariants ------------------------------------------------------------

gammas = st.floats(1e-3, 5.0)
sigmas = st.floats(1e-2, 10.0)
ks = st.floats(1e-2, 10.0)
times = st.floats(0.0, 1.0)
mids = st.floats(1.0, 1e4)


@given(mid=mids, t=times, gamma=gammas, sigma=sigmas)
def test_a_flat_dealer_values_the_asset_at_the_mid(mid, t, gamma, sigma):
    assert reservation_price(mid, 0, t, params(gamma, sigma=sigma)) == mid


@given(gamma=gammas, sigma=sigmas, k=ks, early=times, late=times)
def test_spread_narrows_over_time_to_the_terminal_spread(gamma, sigma, k, early, late):
    p = params(gamma, sigma=sigma, k=k)
    early, late = sorted((early, late))
    limit = 2 / gamma * math.log(1 + gamma / k)
    assert optimal_spread(1.0, p) == pytest.approx(limit, rel=1e-12)
    assert optimal_spread(early, p) >= optimal_spread(late, p) >= optimal_spread(1.0, p)


def test_spread_tends_to_the_terminal_spread_by_hand():
    # gamma sigma^2 (T - t) = 0.4 h at t = T - h, for gamma = 0.1, sigma = 2
    for h in (0.1, 0.01, 0.001, 0.0):
        assert optimal_spread(1.0 - h, params(0.1)) == pytest.approx(1.2907704 + 0.4 * h, abs=1e-7)


@given(mid=mids, low=st.integers(-50, 50), more=st.integers(1, 50), t=st.floats(0.0, 0.99),
       gamma=gammas, sigma=sigmas, k=ks)  # fmt: skip
def test_more_inventory_shades_both_quotes_down_by_the_same_amount(mid, low, more, t, gamma,
                                                                    sigma, k):  # fmt: skip
    p = params(gamma, sigma=sigma, k=k)
    bid, ask = inventory_quotes(mid, low, t, p)
    bid_long, ask_long = inventory_quotes(mid, low + more, t, p)
    assert bid_long < bid and ask_long < ask
    # the spread does not depend on the inventory, only the centre moves
    assert ask_long - bid_long == pytest.approx(ask - bid, rel=1e-9, abs=1e-9)


# --- The paper's market model: accounting and closed forms ---------------------------------------


@pytest.mark.parametrize(
    ("strategy", "profit"),
    [
        # both quotes filled every step, so q stays 0 and each step earns the spread:
        # 200 x (0.2 + 20 ln(16/15)) for the symmetric strategy, and for the inventory strategy
        # sum over t = 0, 0.005, ..., 0.995 of 0.4 (1 - t) + 20 ln(16/15) = 40.2 + 258.154085
        # (its steps start at t = 0 and stop short of T: 0.2 more than its mean over [0, T]).
        ("symmetric", 298.154085),
        ("inventory", 298.354085),
    ],
)
def test_quotes_always_filled_earn_the_spread_each_step(strategy, profit):
    run = simulate_paper_model(params(0.1, A=1e9), strategy, n_paths=3, seed=1)
    np.testing.assert_array_equal(run.final_inventory, 0)
    np.testing.assert_allclose(run.profit, profit, atol=1e-6)


def test_symmetric_strategy_matches_the_models_closed_form():
    # The symmetric quotes sit delta = (0.2 + 20 ln(16/15)) / 2 from the mid at t, and each is
    # filled with probability p = A exp(-k delta) dt before the mid moves. Measured before the
    # move, a fill does not depend on the move, which makes this simpler than the form for
    # fills measured after it: a lift is worth ask - S_T, whose mean is delta (the mid is a
    # martingale), so each side earns p delta a step, and the inventory's steps are independent
    # with mean 0 and variance 2 p (1 - p) (two independent fills of probability p).
    steps, delta = 200, (0.2 + 20 * math.log(16 / 15)) / 2
    p = 140 * math.exp(-1.5 * delta) * 0.005
    mean = 2 * steps * p * delta
    variance = 2 * steps * p * (1 - p)
    assert mean == pytest.approx(68.23, abs=0.01)
    n = 20_000
    run = simulate_paper_model(params(0.1), "symmetric", n, SEED)
    profit_se = run.summary.profit_sd / math.sqrt(n)
    assert abs(run.summary.profit_mean - mean) < 3 * profit_se
    assert abs(run.summary.inventory_mean) < 3 * math.sqrt(variance / n)
    # the sd of a normal sample's sd is about sd / sqrt(2n); q_T is close to normal
    assert abs(run.summary.inventory_sd - math.sqrt(variance)) < 3 * math.sqrt(variance / (2 * n))


def test_same_seed_same_paths_and_seeds_differ():
    first = simulate_paper_model(params(0.1), "inventory", 50, seed=7)
    again = simulate_paper_model(params(0.1), "inventory", 50, seed=7)
    other = simulate_paper_model(params(0.1), "inventory", 50, seed=8)
    np.testing.assert_array_equal(first.profit, again.profit)
    np.testing.assert_array_equal(first.final_inventory, again.final_inventory)
    assert not np.array_equal(first.profit, other.profit)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="strategy must be one of"):
        simulate_paper_model(params(), "naive", 10, 0)
    with pytest.raises(ValueError, match="not a whole number of steps"):
        simulate_paper_model(params(dt=0.003), "inventory", 10, 0)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        params(0.0)


# --- The paper's tables --------------------------------------------------------------------------


def _kurtosis(x: np.ndarray) -> float:
    centred = x - x.mean()
    return float(np.mean(centred**4) / np.mean(centred**2) ** 2)


@pytest.mark.parametrize(
    ("gamma", "strategy", "figure"),
    [(gamma, strategy, figure) for gamma, strategy in PAPER_TABLES for figure in FIGURES],
)
def test_paper_table_reproduced_within_sampling_error(gamma, strategy, figure):
    """Our 1,000 paths against the paper's 1,000: the difference of two independent estimates,
    whose standard error combines both. A mean's is sd / sqrt(n). A standard deviation's is
    sd sqrt((kurtosis - 1) / (4n)) (the delta method on the sample variance, whose variance is
    sd^4 (kurtosis - 1) / n): sd / sqrt(2n) for normal data, but the symmetric strategy's
    profit has kurtosis 4 to 5.5 (q S_T mixes the spread income with price risk), which makes
    it up to 1.5 times wider. Kurtosis is taken from our paths. Tolerance: 3 standard errors,
    plus the paper's rounding (half its last digit: 0.05, or 0.005 for the mean final q)."""
    run, row = paper_run(gamma, strategy), PAPER_TABLES[gamma, strategy]
    quantity = figure.split("_")[0]  # profit or inventory
    sample = run.profit if quantity == "profit" else run.final_inventory.astype(float)
    paper_sd, our_sd = getattr(row, f"{quantity}_sd"), getattr(run.summary, f"{quantity}_sd")
    se = math.sqrt(paper_sd**2 / PAPER_PATHS + our_sd**2 / PAPER_PATHS)
    if figure.endswith("_sd"):
        se *= math.sqrt((_kurtosis(sample) - 1) / 4)
    ours, paper = getattr(run.summary, figure), getattr(row, figure)
    assert abs(ours - paper) < 3 * se + ROUNDING[figure], (ours, paper, se)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_inventory_strategy_has_less_variance_than_symmetric(gamma):
    # The paper's claim: smaller spread of final inventory and of profit, for every gamma.
    inventory, symmetric = paper_run(gamma, "inventory"), paper_run(gamma, "symmetric")
    assert inventory.summary.inventory_sd < symmetric.summary.inventory_sd
    assert inventory.summary.profit_sd < symmetric.summary.profit_sd


# --- The bondlab strategy: its quotes by hand, in a context driven by hand -----------------------

SESSION_NS = 22_500 * 10**9  # 375 minutes, open at 0
MID_SESSION = SESSION_NS // 2


class MakerContext:
    """The Context for one bond (tick 0.01, lot 1, 1,000 rupees a unit) on one venue, with
    the venue's part played by `answer`: it accepts every request sent since."""

    def __init__(self, held: int = 200, fair: float = 100.0, days: int = 1) -> None:
        self.now = MID_SESSION
        self.day = 0
        self.days = days
        self.markets = (("NSE", "B"), ("BSE", "B"))
        self.fair = fair
        self.mid_quote = Quote(0, None, 0, None, 0)
        self.held = held
        self.cash = 10**12
        self.orders: dict[int, OpenOrder] = {}
        self.sent: list[tuple] = []
        self.unanswered: list[tuple] = []
        self.logged: list[dict] = []
        self.timer = None
        self.next_id = 100

    def session(self, day):
        if not 0 <= day < self.days:
            raise ValueError(f"day_index must be in 0..{self.days - 1}, got {day}")
        return day * 10**14, day * 10**14 + SESSION_NS

    def instrument(self, symbol):
        return Instrument(symbol, "0.01", 1, 1000)

    def valuation(self, symbol):
        return Valuation(symbol, self.now, self.fair, 1.5, None, None, None, (), None)

    def quote(self, venue, symbol):
        return self.mid_quote

    def position(self, symbol):
        return self.held

    def free_cash(self):
        return self.cash

    def open_orders(self, venue=None):
        return [("NSE", o) for o in self.orders.values()]

    def set_timer(self, interval_ns):
        self.timer = interval_ns

    def log(self, message, **fields):
        self.logged.append({"message": message, **fields})

    def submit(self, venue, symbol, side, qty, price=None, tif="GTC", **options):
        self._send(("new", venue, symbol, side, qty, price, tif))

    def modify(self, venue, symbol, order_id, qty=None, price=None):
        self._send(("modify", venue, symbol, order_id, qty, price))

    def cancel(self, venue, symbol, order_id):
        self._send(("cancel", venue, symbol, order_id))

    def _send(self, request):
        self.sent.append(request)
        self.unanswered.append(request)

    def answer(self, maker, reason=Reason.NONE):
        """The venue takes every request sent since (or refuses each with `reason`)."""
        for request in self.unanswered:
            order_id = 0
            if reason is not Reason.NONE:
                status = Status.REJECTED
            elif request[0] == "new":
                _, _, symbol, side, qty, price, _ = request
                order_id = self.next_id = self.next_id + 1
                self.orders[order_id] = OpenOrder(symbol, order_id, 1, Side(side), price, qty, 0, 0)
                status = Status.ACCEPTED
            elif request[0] == "modify":
                _, _, _, order_id, qty, price = request
                order = self.orders[order_id]
                self.orders[order_id] = order._replace(
                    qty=order.qty if qty is None else qty,
                    limit=order.limit if price is None else price,
                )
                status = Status.ACCEPTED
            else:
                order_id = request[3]
                del self.orders[order_id]
                status = Status.CANCELLED
            maker.on_order(self, request, Response(request[2], order_id, status, reason))
        self.unanswered = []

    def resting(self):
        return sorted((int(o.side), o.limit, o.qty) for o in self.orders.values())


def maker(ctx: MakerContext, held: int | None = None, **params) -> AvellanedaStoikov:
    """A maker started in `ctx` (holding what `ctx` holds), then holding `held`, with the
    hand-worked parameters (and `params`): gamma 1, k 10, sigma 0.5 per sqrt(trading day) for
    now (its window not yet filled)."""
    params = {"gamma": 1.0, "k": 10.0, "initial_sigma": 0.5, **params}
    strategy = AvellanedaStoikov(AvellanedaStoikov.Params(**params))
    strategy.on_start(ctx)
    if held is not None:
        ctx.held = held
    return strategy


# Mid-session, T - t = 1/2: the spread is gamma sigma^2 (T - t) + (2 / gamma) ln(1 + gamma / k)
# = 0.125 + 2 ln 1.1 = 0.3156204 per 100 face, 31.56 ticks; each quote 15.78 ticks from r.
# Flat, r = 100.00: bid 99.842190 and ask 100.157810, rounded outward to 9984 and 10016.
# Two quotes (20 units) long, r = 100 - 2 x 1 x 0.25 x 0.5 = 99.75, 25 ticks lower: 9959, 9991.


def test_flat_it_quotes_symmetrically_around_fair_value():
    ctx = MakerContext()
    strategy = maker(ctx)
    strategy.on_timer(ctx)
    assert ctx.sent == [
        ("new", "NSE", "B", Side.BUY, 10, 9984, "GTC"),  # the first venue listing the bond
        ("new", "NSE", "B", Side.SELL, 10, 10016, "GTC"),
    ]
    decision = strategy.decisions["B"]
    assert decision.reservation == pytest.approx(10_000)
    assert decision.spread == pytest.approx(31.56204, abs=1e-5)
    assert ctx.timer == 60 * 10**9


def test_long_inventory_shades_both_quotes_down_by_q_gamma_sigma2_time_left():
    ctx = MakerContext()
    strategy = maker(ctx, held=220)
    strategy.on_timer(ctx)
    assert [r[5] for r in ctx.sent] == [9984 - 25, 10016 - 25]
    assert strategy.decisions["B"].inventory == 2.0
    assert strategy.decisions["B"].reservation == pytest.approx(9975)


def test_short_inventory_shades_both_quotes_up():
    ctx = MakerContext()
    strategy = maker(ctx, held=170)  # three quotes short: 3 x 0.125 = 0.375, 37.5 ticks up
    strategy.on_timer(ctx)
    # r = 100.375: bid 100.217190 and ask 100.532810
    assert [r[5] for r in ctx.sent] == [10021, 10054]


def test_horizon_run_counts_the_trading_days_left():
    # Three days, at the middle of the first: T - t = 2.5 and the spread 0.625 + 0.1906204,
    # each quote 0.4078102 from the fair value; of the second, T - t = 1.5: 0.2828102.
    ctx = MakerContext(days=3)
    strategy = maker(ctx, horizon="run")
    strategy.on_timer(ctx)
    assert strategy.sessions == 3
    assert [r[5] for r in ctx.sent] == [9959, 10041]
    ctx.answer(strategy)
    ctx.day, ctx.now = 1, ctx.session(1)[0] + MID_SESSION
    strategy.on_timer(ctx)
    assert [r[5] for r in ctx.sent[2:]] == [9971, 10029]


def test_the_mid_moves_the_centre_by_its_weight():
    # s = 0.8 x 100.00 + 0.2 x 101.00 = 100.20: the flat quotes 20 ticks higher
    ctx = MakerContext()
    ctx.mid_quote = Quote(0, 10_090, 5, 10_110, 5)
    strategy = maker(ctx, fair_value_weight=0.8)
    strategy.on_timer(ctx)
    assert [r[5] for r in ctx.sent] == [10004, 10036]


@pytest.mark.parametrize(
    ("start", "held", "sides"),
    [
        (200, 220, [(-1, 9991)]),  # 20 long: a fill of the bid would make it 30
        (200, 210, [(1, 9971), (-1, 10004)]),  # 10 long: one reaches the limit (r = 99.875)
        (200, 180, [(1, 10009)]),  # 20 short: the bid alone (r = 100.25)
        (5, 5, [(1, 9984)]),  # flat, but without the units for a sell
    ],
)
def test_the_inventory_limit_removes_the_side_that_would_breach_it(start, held, sides):
    ctx = MakerContext(held=start)
    strategy = maker(ctx, held=held, max_inventory_lots=20)  # lots of one unit
    strategy.on_timer(ctx)
    assert [(int(r[3]), r[5]) for r in ctx.sent] == sides


def test_quotes_outside_the_band_are_clipped_or_dropped():
    # A band of 0.1% around 10000 ticks allows 9990..10010.
    flat = MakerContext()
    maker(flat, band_pct=0.1).on_timer(flat)
    assert flat.sent == []  # 9984 and 10016: both outside
    long = MakerContext()
    maker(long, held=220, band_pct=0.1).on_timer(long)
    assert [(int(r[3]), r[5]) for r in long.sent] == [(-1, 9991)]  # the bid 9959 outside
    short = MakerContext()
    maker(short, held=160, band_pct=0.1).on_timer(short)  # r = 100.50: bid 10034, ask 10066
    assert [(int(r[3]), r[5]) for r in short.sent] == [(1, 10010)]  # down to the band's top


def test_a_bid_it_cannot_pay_for_is_not_sent():
    # 10 units at 99.84 and 1.50 accrued per 100 face of 1,000 rupees: 10 x 101,340 paise.
    ctx = MakerContext()
    ctx.cash = 1_013_399
    strategy = maker(ctx)
    strategy.on_timer(ctx)
    assert [int(r[3]) for r in ctx.sent] == [-1]
    assert strategy.decisions["B"].bid_cost == 1_013_400


def test_it_requotes_its_two_orders_by_modify_and_waits_for_answers():
    ctx = MakerContext()
    strategy = maker(ctx)
    strategy.on_timer(ctx)
    ctx.fair = 100.10
    strategy.on_timer(ctx)  # its orders are not answered yet: nothing more goes
    assert len(ctx.sent) == 2
    ctx.answer(strategy)
    (bid_id, _), (ask_id, _) = sorted(ctx.orders.items())
    strategy.on_timer(ctx)
    assert ctx.sent[2:] == [
        ("modify", "NSE", "B", bid_id, None, 9994),
        ("modify", "NSE", "B", ask_id, None, 10026),
    ]
    ctx.answer(strategy)
    strategy.on_timer(ctx)  # nothing changed: nothing to send
    assert len(ctx.sent) == 4
    ctx.orders[ask_id] = ctx.orders[ask_id]._replace(qty=4)  # 6 of the ask were lifted
    ctx.held = 194  # 0.6 quotes short: r = 100.175, bid 100.017190 and ask 100.332810
    strategy.on_timer(ctx)
    assert ctx.sent[4:] == [
        ("modify", "NSE", "B", bid_id, None, 10001),
        ("modify", "NSE", "B", ask_id, 10, 10034),  # topped up to a whole quote
    ]
    ctx.answer(strategy)
    # 995 long, 99.5 quotes: a bid would breach the limit of 1,000 units, and r = 100.10 -
    # 12.4375 puts the ask at 8783, under the band (5% of 10010 ticks: 9510..10510)
    # (under its resting bid, so the ask waits for the bid's cancel to be answered)
    ctx.held = 1195
    strategy.on_timer(ctx)
    assert ctx.sent[6:] == [("cancel", "NSE", "B", bid_id)]
    ctx.answer(strategy)
    strategy.on_timer(ctx)
    assert ctx.sent[7:] == [("modify", "NSE", "B", ask_id, None, 9510)]
    ctx.answer(strategy)
    assert ctx.resting() == [(-1, 9510, 10)]


def test_a_quote_that_would_meet_its_own_other_quote_waits_for_it_to_move():
    ctx = MakerContext()
    strategy = maker(ctx)
    strategy.on_timer(ctx)
    ctx.answer(strategy)
    (bid_id, _), (ask_id, _) = sorted(ctx.orders.items())
    ctx.fair = 100.40  # the new bid, 10024, is above its resting ask, 10016
    strategy.on_timer(ctx)
    assert ctx.sent[2:] == [("modify", "NSE", "B", ask_id, None, 10056)]
    ctx.answer(strategy)
    strategy.on_timer(ctx)
    assert ctx.sent[3:] == [("modify", "NSE", "B", bid_id, None, 10024)]


def test_a_partly_filled_quote_is_topped_up():
    # sigma 0.01: 0.6 quotes short move r by 0.00003, far less than a tick
    ctx = MakerContext()
    strategy = maker(ctx, initial_sigma=0.01)
    strategy.on_timer(ctx)
    ctx.answer(strategy)
    ask_id = max(ctx.orders)
    ctx.orders[ask_id] = ctx.orders[ask_id]._replace(qty=4)
    ctx.held = 194
    strategy.on_timer(ctx)
    assert ctx.sent[2:] == [("modify", "NSE", "B", ask_id, 10, None)]


def test_a_delisted_bond_is_no_longer_quoted():
    ctx = MakerContext()
    strategy = maker(ctx)
    strategy.on_timer(ctx)
    ctx.answer(strategy, Reason.DELISTED)
    strategy.on_timer(ctx)
    assert len(ctx.sent) == 2


def test_sigma_is_estimated_from_the_changes_of_fair_value_per_sqrt_trading_day():
    # Five timers a session (75 minutes each): the window holds a session's changes after the
    # sixth timer; changes of 0.30 give 0.09 x 5 = 0.45 a day, sigma = sqrt(0.45).
    ctx = MakerContext()
    strategy = maker(ctx, requote_seconds=4500, sigma_window=8)
    sigmas = []
    for fair in (100.0, 100.3, 100.0, 100.3, 100.0, 100.3, 100.0):
        ctx.fair = fair
        strategy.on_timer(ctx)
        ctx.answer(strategy)
        sigmas.append(strategy.decisions["B"].sigma)
    assert sigmas[:5] == [0.5] * 5
    assert sigmas[5:] == pytest.approx([math.sqrt(0.45)] * 2)


def test_sigma_of_a_still_price_is_its_floor():
    ctx = MakerContext()
    strategy = maker(ctx, requote_seconds=4500, min_sigma=0.05)
    for _ in range(6):
        strategy.on_timer(ctx)
        ctx.answer(strategy)
    assert strategy.decisions["B"].sigma == 0.05


def test_decisions_are_logged_once_per_bond_every_n_requotes():
    ctx = MakerContext()
    strategy = maker(ctx, log_every=2)
    for _ in range(5):
        strategy.on_timer(ctx)
        ctx.answer(strategy)
    assert len(ctx.logged) == 3  # requotes 1, 3 and 5
    first = ctx.logged[0]
    assert first == {
        "message": "requote",
        "symbol": "B",
        "s": 10000.0,
        "r": 10000.0,
        "spread": 31.56,
        "q": 0.0,
        "sigma": 0.5,
        "bid": 9984,
        "ask": 10016,
    }


@given(
    bid=st.floats(1.0, 1e5),
    width=st.floats(1e-9, 1e3),
    low=st.integers(1, 10**5),
    band_width=st.integers(0, 10**3),
    banded=st.booleans(),
)
def test_ticks_never_cross_stay_in_the_band_and_round_outward(bid, width, low, band_width,
                                                             banded):  # fmt: skip
    ask = bid + width
    band = (low, low + band_width) if banded else None
    bid_ticks, ask_ticks = on_tick_grid(bid, ask, band)
    if bid_ticks is not None:
        assert bid_ticks <= bid + 1e-6  # outward, or clipped further in
    if ask_ticks is not None:
        assert ask_ticks >= ask - 1e-6
    if bid_ticks is not None and ask_ticks is not None:
        assert ask_ticks - bid_ticks >= 1
    if band is not None:
        for quote in (bid_ticks, ask_ticks):
            assert quote is None or band[0] <= quote <= band[1]
    else:
        assert bid_ticks is not None and ask_ticks is not None


def test_a_venues_band_edges_round_inwards():
    assert price_band(10_000, 5) == (9500, 10500)
    assert price_band(9_999, 5) == (9500, 10498)  # 9499.05 and 10498.95


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"gamma": 0}, "AvellanedaStoikov params: gamma: Input should be greater than 0"),
        ({"horizon": "week"}, "horizon: Input should be 'session' or 'run'"),
        ({"quote_lots": 20, "max_inventory_lots": 10}, "quote_lots (20) exceeds max_inventory"),
        ({"gama": 1}, "gama: Extra inputs are not permitted"),
    ],
)
def test_bad_parameters_are_named_in_one_line(params, message):
    with pytest.raises(StrategyError, match=re.escape(message)) as error:
        strategy_params(AvellanedaStoikov, params)
    assert "\n" not in str(error.value)


# --- The bondlab strategy in the baseline, reduced ----------------------------------------------

RESTING_SEEN: list[int] = []  # the most orders it rested on one side of a bond, each timer


class CountingMaker(AvellanedaStoikov):
    """The strategy, noting how many orders it rests on each side of a bond at every timer."""

    def on_timer(self, ctx) -> None:
        sides = Counter((o.instrument, o.side) for _, o in ctx.open_orders())
        RESTING_SEEN.append(max(sides.values(), default=0))
        super().on_timer(ctx)


REDUCED_BASELINE = [
    "calendar.days=2",
    "universe.count=5",
    "retail.count=100",
    "value.count=10",
    "sip.investors=300",
    "repo.count=3",
    f'strategy.ref="{__name__}:CountingMaker"',
    "strategy.params={ max_inventory_lots = 10, log_every = 50 }",
    "strategy.units=200",
]


def test_it_makes_a_market_in_the_baseline():
    RESTING_SEEN.clear()
    result = sim.run(sim.load_scenario("baseline", REDUCED_BASELINE), seed=1, out=None)
    (agent,) = result.agents.filter(pl.col("kind") == "strategy")["agent"]
    orders = result.orders.filter(pl.col("agent") == agent)
    posted = orders.filter((pl.col("type") == "limit") & (pl.col("status") != "rejected"))
    assert set(posted["side"]) == {1, -1}
    assert orders.filter(pl.col("type") == "modify").height > posted.height  # requotes modify
    assert orders.filter(pl.col("status") == "rejected").height == 0
    assert RESTING_SEEN and max(RESTING_SEEN) == 1
    trades = result.trades.filter(
        (pl.col("maker_agent") == agent) | (pl.col("taker_agent") == agent)
    )
    bought = pl.when(pl.col("taker_agent") == agent).then(pl.col("aggressor_side"))
    trades = trades.with_columns(
        units=bought.otherwise(-pl.col("aggressor_side")).cast(pl.Int64) * pl.col("qty")
    )
    assert trades.filter(pl.col("units") > 0).height and trades.filter(pl.col("units") < 0).height
    excess = trades.sort("time").select(pl.col("units").cum_sum().over("instrument"))
    assert excess["units"].abs().max() <= 10  # max_inventory_lots of lot 1
    assert result.metrics["ledger"]["conserved"]
    assert result.strategy_log.filter(pl.col("agent") == agent).height > 0
