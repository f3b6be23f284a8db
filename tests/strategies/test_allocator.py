"""The allocator: its estimates and its orders on hand-worked numbers (the orders through a
context driven by hand, routed by the real router), and runs in the baseline that keep seed
003's limits."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.errors import BondlabError
from sim.market.instrument import Instrument
from sim.scenario import ScenarioError
from sim.strategy.api import Valuation
from sim.strategy.routing import VenueView, route
from strategies import portfolio
from strategies.allocator import (
    Allocator,
    OrderTicket,
    covariance_estimate,
    daily_returns,
    expected_return,
    holdings,
    invested_share,
    orders_to_weights,
    shrunk_covariance,
)
from tests.helpers.scenarios import SMALL_SCENARIO

# --- the estimates ------------------------------------------------------------------------------

# Two bonds over four days, with daily returns (+1%, -1%, +3%) and (+2%, 0%, +1%).
PRICES = [[100.0, 50.0], [101.0, 51.0], [99.99, 51.0], [102.9897, 51.51]]


def test_daily_returns_are_simple_returns_between_days():
    np.testing.assert_allclose(
        daily_returns(PRICES), [[0.01, 0.02], [-0.01, 0.0], [0.03, 0.01]], atol=1e-12
    )


def test_the_sample_covariance_is_shrunk_towards_its_diagonal():
    # Means 1% and 1%; deviations (0, -2%, +2%) and (+1%, -1%, 0): over n - 1 = 2 days the
    # variances are 8e-4 / 2 and 2e-4 / 2, the covariance 2e-4 / 2.
    returns = daily_returns(PRICES)
    np.testing.assert_allclose(
        shrunk_covariance(returns, 0.0), [[4e-4, 1e-4], [1e-4, 1e-4]], atol=1e-15
    )
    # A quarter of the way to the diagonal: the variances stay, the covariance loses a quarter.
    np.testing.assert_allclose(
        shrunk_covariance(returns, 0.25), [[4e-4, 0.75e-4], [0.75e-4, 1e-4]], atol=1e-15
    )
    np.testing.assert_allclose(shrunk_covariance(returns, 1.0), np.diag([4e-4, 1e-4]), atol=1e-15)


def test_the_covariance_estimate_is_annual_and_the_prior_until_there_is_enough_history():
    kwargs = {"shrinkage": 0.25, "prior_volatility": 0.03}
    # Three returns, as many as needed: 252 x the shrunk daily covariance.
    np.testing.assert_allclose(
        covariance_estimate(PRICES, min_returns=3, **kwargs),
        [[0.1008, 0.0189], [0.0189, 0.0252]],
        atol=1e-12,
    )
    # One return short: 3% a year on the diagonal (0.0009), nothing off it.
    np.testing.assert_allclose(
        covariance_estimate(PRICES, min_returns=4, **kwargs), np.diag([0.0009, 0.0009]), atol=0
    )


def test_a_bond_whose_price_never_moved_takes_the_prior_variance():
    prices = [[100.0, 97.0], [101.0, 97.0], [99.99, 97.0], [102.9897, 97.0]]
    cov = covariance_estimate(prices, shrinkage=0.5, prior_volatility=0.03, min_returns=3)
    np.testing.assert_allclose(cov, [[0.1008, 0.0], [0.0, 0.0009]], atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(2, 6).flatmap(
        lambda n: st.lists(
            st.lists(st.floats(50, 150), min_size=n, max_size=n), min_size=3, max_size=30
        )
    ),
    st.floats(0.01, 1.0),
)
def test_the_estimate_keeps_each_variance_and_is_positive_definite(prices, shrinkage):
    cov = covariance_estimate(prices, shrinkage=shrinkage, prior_volatility=0.03, min_returns=2)
    variances = np.var(daily_returns(prices), axis=0, ddof=1) * 252
    moved = variances > 0
    np.testing.assert_allclose(np.diag(cov)[moved], variances[moved], rtol=1e-9)
    np.testing.assert_allclose(np.diag(cov)[~moved], 0.0009, rtol=1e-12)
    assert np.allclose(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() > 0


def test_expected_return_is_the_yield_plus_the_pull_to_the_evaluated_price():
    assert expected_return(0.08, 100.5, 100.0, None) == 0.08
    assert expected_return(0.08, 100.5, None, 63) == 0.08  # no two-sided market
    # Half a percent below the evaluated price, closed over a quarter of a year: 2% a year.
    assert expected_return(0.08, 100.5, 100.0, 63) == pytest.approx(0.10, abs=1e-12)
    assert expected_return(0.08, 99.5, 100.0, 63) == pytest.approx(0.06, abs=1e-12)  # rich
    assert expected_return(None, 100.5, 100.0, 63) is None  # in default: no yield


def test_the_bonds_take_what_the_caps_can_hold_and_the_rest_stays_in_cash():
    twenty = [sector for sector in "ABCDE" for _ in range(4)]
    assert invested_share(twenty, 0.10, 0.25, 0.20) == pytest.approx(0.80)
    # Three bonds of one sector and two of another: 0.25 + 2 x 0.10.
    assert invested_share(list("AAABB"), 0.10, 0.25, 0.20) == pytest.approx(0.45)
    assert invested_share(list("AAABB"), 0.10, None, 0.20) == pytest.approx(0.50)
    assert invested_share(list("AAABB"), None, None, 0.20) == pytest.approx(0.80)


# --- from weights to orders -------------------------------------------------------------------

# The trading days of the runs the desk plays: Monday 1 to Friday 5 January 2024.
WEEK = tuple(date(2024, 1, d) for d in range(1, 6))

# One venue without fees; a tick is 0.01 per 100 face, 10 paise on a unit of 1,000 rupees face.
# A: 100.00 clean, no accrual: 100,000 paise a unit. B: 50.00 and 0.50 accrued, lots of 5:
# 50,500 paise. C: as A.
BONDS = {"A": (100.0, 0.0, 1), "B": (50.0, 0.5, 5), "C": (100.0, 0.0, 1)}


class Desk:
    """The Context of one allocator, by hand: one venue, NSE, routed by the real router. Each
    bond has 1,000 units offered at its evaluated price and bid for 10 ticks under it, unless
    `bids` or `asks` give its levels."""

    def __init__(self, cash, free_cash, held=None, bids=None, asks=None, free_units=None):
        self.cash_paise, self.free_paise = cash, free_cash
        self.held = dict(held or {})
        self.settled = self.held | dict(free_units or {})
        self.stopped: set[str] = set()  # bonds that no longer trade
        self.levels = {}
        for symbol, (clean, _, _) in BONDS.items():
            ticks = round(clean * 100)
            self.levels[("buy", symbol)] = (asks or {}).get(symbol, ((ticks, 1000),))
            self.levels[("sell", symbol)] = (bids or {}).get(symbol, ((ticks - 10, 1000),))
        self.routed: list[tuple[str, str, int]] = []
        self.lines: list[tuple[str, dict]] = []
        self.timer = None
        self.day = 0

    markets = tuple(("NSE", symbol) for symbol in BONDS)

    def instrument(self, symbol):
        return Instrument(symbol, "0.01", BONDS[symbol][2], 1000)

    def valuation(self, symbol):
        clean, accrued, _ = BONDS[symbol]
        return Valuation(symbol, 0, clean, accrued, 0.08, None, None, (), None)

    def terms(self, symbol):
        sector = f"sector {symbol}" if symbol != "C" else None
        return {"issuer": symbol, "sector": sector}

    def trades_on(self, symbol, day=None):
        return symbol not in self.stopped

    def position(self, symbol):
        return self.held.get(symbol, 0)

    def free_units(self, symbol):
        return self.settled.get(symbol, 0)

    def positions(self):
        return {s: q for s, q in self.held.items() if q}

    def cash(self):
        return self.cash_paise

    def free_cash(self):
        return self.free_paise

    def plan_route(self, symbol, side, qty, limit=None, policy="cheapest"):
        instrument = self.instrument(symbol)
        venue = VenueView("NSE", self.levels[(side, symbol)])
        return route(side, qty, [venue], tick_value=instrument.tick_value, limit=limit,
                     lot_size=instrument.lot_size, policy=policy)  # fmt: skip

    def route(self, symbol, side, qty, limit=None, policy="cheapest", decision=None):
        self.routed.append((symbol, side, qty))
        return self.plan_route(symbol, side, qty, limit, policy)

    trading_days = WEEK

    def session(self, day):
        return 0, 22_500 * 10**9

    def set_timer(self, interval_ns):
        self.timer = interval_ns

    def log(self, message, **fields):
        self.lines.append((message, json.loads(json.dumps(fields))))


def valued(desk):
    return holdings(desk, {symbol: desk.valuation(symbol) for symbol in BONDS})


def orders(desk, weights, cash_reserve=0.2):
    return orders_to_weights(desk, valued(desk), weights, cash_reserve)


def test_holdings_are_valued_at_the_evaluated_dirty_price():
    held = valued(Desk(5_000_000, 5_000_000, {"A": 50, "B": 10}))
    assert held.unit_values == {"A": 100_000, "B": 50_500, "C": 100_000}
    assert held.equity == 5_000_000 + 50 * 100_000 + 10 * 50_500
    assert held.weight("A") == pytest.approx(5_000_000 / 10_505_000)


def test_targets_are_whole_lots_of_the_weight_of_equity_and_never_short():
    # 1,00,000 rupees of cash. A: 0.3 x 1e7 / 100,000 = 30 units. B: 0.25 x 1e7 / 50,500 =
    # 49.5 units, 45 in lots of 5. C: a negative weight is none.
    desk = Desk(10_000_000, 10_000_000)
    assert orders(desk, {"A": 0.3, "B": 0.25, "C": -0.1}) == [
        OrderTicket("A", "buy", 30),
        OrderTicket("B", "buy", 45),
    ]


def test_a_sale_leaves_a_whole_number_of_lots_within_the_weight():
    # 100 of B (5,050,000 paise) and 4,950,000 of cash: 0.25 of 1e7 is 49.5 units of B, and
    # 45 in whole lots: it sells 55, where a sale of 50 would leave 50, over the weight.
    desk = Desk(4_950_000, 4_950_000, {"B": 100})
    assert orders(desk, {"A": 0.0, "B": 0.25, "C": 0.0}) == [OrderTicket("B", "sell", 55)]


def test_buys_keep_the_cash_reserve():
    # The buys above cost 30 x 100,000 + 45 x 50,500 = 5,272,500 paise; half of the 1e7 of
    # equity in reserve leaves 5,000,000: each is cut by 5,000,000 / 5,272,500 = 0.948,
    # A to 28.4 -> 28 and B to 42.7 -> 40 units (whole lots of 5).
    desk = Desk(10_000_000, 10_000_000)
    cut = orders(desk, {"A": 0.3, "B": 0.25, "C": 0.0}, cash_reserve=0.5)
    assert cut == [OrderTicket("A", "buy", 28), OrderTicket("B", "buy", 40)]
    assert 28 * 100_000 + 40 * 50_500 <= 5_000_000


def test_sells_come_first_buys_fit_the_free_cash_and_a_short_weight_sells_the_holding():
    # 50 of A and 20 of C, 50,00,000 paise of cash: equity 12,000,000 paise. A: 0.1 -> 12 units,
    # sell 38 at 99.90. C: a short weight -> none, sell the 20 it holds at 99.90, no more.
    # B: 0.4 -> 95.04 -> 95 units; 60 on offer at 50.00 and more at 50.10, so the router pays
    # up to 50.10: 95 x (50,100 + 500) = 4,807,000 paise. Only 30,00,000 paise are free (the
    # sells' proceeds are not, until they settle): 95 x 3,000,000 / 4,807,000 = 59.3 -> 55.
    asks = {"B": ((5_000, 60), (5_010, 1_000))}
    desk = Desk(5_000_000, 3_000_000, {"A": 50, "C": 20}, asks=asks)
    assert orders(desk, {"A": 0.1, "B": 0.4, "C": -0.1}) == [
        OrderTicket("A", "sell", 38),
        OrderTicket("C", "sell", 20),
        OrderTicket("B", "buy", 55),
    ]


def test_orders_are_for_what_the_visible_depth_fills():
    desk = Desk(
        10_000_000, 10_000_000, {"C": 20}, bids={"C": ((9_990, 7),)}, asks={"A": ((10_000, 12),)}
    )
    assert orders(desk, {"A": 0.3, "B": 0.0, "C": 0.0}) == [
        OrderTicket("C", "sell", 7),
        OrderTicket("A", "buy", 12),
    ]


def test_a_sale_is_of_the_units_it_may_sell_now():
    # 50 of A, 30 of them bought today and not settled: of the 38 to sell, 20 can go now.
    desk = Desk(5_000_000, 5_000_000, {"A": 50}, free_units={"A": 20})
    assert orders(desk, {"A": 0.1, "B": 0.0, "C": 0.0}) == [OrderTicket("A", "sell", 20)]


def test_sectors_come_from_the_bonds_terms_or_the_parameters():
    desk = Desk(10_000_000, 10_000_000)
    allocator = Allocator(Allocator.Params(sectors={"C": "x", "B": "y"}))
    allocator.on_start(desk)
    assert allocator.sectors == {"A": "sector A", "B": "y", "C": "x"}
    with pytest.raises(BondlabError, match="no sector for C; name them in sectors, or set"):
        Allocator().on_start(desk)


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries({s: st.floats(-0.2, 0.6) for s in BONDS}),
    st.fixed_dictionaries({s: st.integers(0, 200) for s in BONDS}),
    st.integers(0, 20_000_000),
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0, 0.9),
)
def test_orders_never_short_and_buys_stay_within_the_free_cash_and_the_reserve(
    weights, held, cash, free_share, settled_share, cash_reserve
):
    settled = {s: int(q * settled_share) for s, q in held.items()}
    desk = Desk(cash, int(cash * free_share), held, free_units=settled)
    book = valued(desk)
    tickets = orders_to_weights(desk, book, weights, cash_reserve)
    sides = [t.side for t in tickets]
    assert sides == sorted(sides, key=lambda side: side == "buy")  # sells first
    spent = received = 0
    for ticket in tickets:
        assert ticket.qty > 0 and ticket.qty % BONDS[ticket.symbol][2] == 0
        plan = desk.plan_route(ticket.symbol, ticket.side, ticket.qty)
        paid = plan.filled * (plan.average_price * 10 + round(BONDS[ticket.symbol][1] * 1000))
        if ticket.side == "sell":
            assert ticket.qty <= settled[ticket.symbol] <= held[ticket.symbol]
            received += paid
        else:
            spent += paid
    assert spent <= max(desk.free_cash(), 0)
    if spent:
        assert cash + received - spent >= cash_reserve * book.equity - 1e-6


# --- a rebalance through the context ----------------------------------------------------------


def test_a_rebalance_weighs_logs_and_routes_sells_first():
    # Risk parity on the prior (equal variances): 0.8 / 3 of the 1e7 of equity in each bond.
    # A: 26.7 -> 26, sell 24 of its 50 at 99.90 (2,397,600 paise). B: 52.8 -> 50 in lots,
    # 2,525,000 paise; C: 26, 2,600,000. The free 5,000,000 paise pay 97.56% of the buys:
    # B 48.8 -> 45, C 25.4 -> 25.
    params = Allocator.Params(method="risk_parity", sectors={"A": "x", "B": "y", "C": "x"})
    allocator = Allocator(params)
    desk = Desk(5_000_000, 5_000_000, {"A": 50})
    allocator.on_start(desk)
    assert desk.timer == 600 * 10**9
    allocator.on_timer(desk)
    assert desk.routed == [("A", "sell", 24), ("B", "buy", 45), ("C", "buy", 25)]
    assert desk.timer == 22_500 * 10**9  # the same time at the next open
    ((message, fields),) = desk.lines
    assert message == "rebalance"
    assert fields["weights"] == pytest.approx(dict.fromkeys("ABC", 0.8 / 3), abs=1e-6)
    assert fields["sector_weights"] == pytest.approx({"x": 1.6 / 3, "y": 0.8 / 3}, abs=1e-6)
    assert fields["cash_weight"] == pytest.approx(0.2, abs=1e-6)
    assert fields["equity_paise"] == 10_000_000
    assert fields["expected_returns_bp"] == dict.fromkeys("ABC", 800.0)
    assert fields["volatility_bp"] == dict.fromkeys("ABC", 300.0)
    assert fields["returns_used"] == 0
    assert fields["orders"] == [["A", "sell", 24], ["B", "buy", 45], ["C", "buy", 25]]


def test_mean_variance_keeps_in_cash_what_the_caps_cannot_hold():
    # Three bonds, each in a sector of its own, capped at 10% each hold 30% of equity: each is
    # at its cap and 70% stays in cash. B: 0.1 x 1e7 / 50,500 = 19.8 -> 15 units in lots of 5.
    allocator = Allocator(Allocator.Params(sectors={s: s.lower() for s in BONDS}))
    desk = Desk(10_000_000, 10_000_000)
    allocator.on_start(desk)
    allocator.on_timer(desk)
    ((_, fields),) = desk.lines
    assert fields["weights"] == pytest.approx(dict.fromkeys("ABC", 0.1), abs=1e-6)
    assert fields["cash_weight"] == pytest.approx(0.7, abs=1e-6)
    assert desk.routed == [("A", "buy", 10), ("B", "buy", 15), ("C", "buy", 10)]


def test_a_solver_that_fails_skips_the_rebalance(monkeypatch):
    # Clarabel stopped after one iteration: a real solve that does not reach an optimum.
    monkeypatch.setitem(portfolio.SOLVER_OPTIONS, "max_iter", 1)
    allocator = Allocator(Allocator.Params(max_weight=0.5, max_sector=None))
    desk = Desk(10_000_000, 10_000_000)
    allocator.on_start(desk)
    allocator.on_timer(desk)
    ((message, fields),) = desk.lines
    assert message == "rebalance skipped"
    assert "user_limit" in fields["reason"]
    assert desk.routed == []


def test_a_bond_that_no_longer_trades_is_held_for_its_redemption():
    # On day 1 A no longer trades (its trades would settle as it matures): neither weighed nor
    # sold, its 50 units count at the valuation last seen, for equity of 1.5e7 paise. B and C take
    # 0.4 each: B 118.8 -> 115 units (11,807,500 paise with C's 60), cut to the 7e6 the reserve
    # leaves: B 68.2 -> 65, C 35.6 -> 35.
    params = Allocator.Params(method="risk_parity", rebalance_days=1, max_sector=None)
    allocator = Allocator(params)
    desk = Desk(10_000_000, 10_000_000, {"A": 50})
    allocator.on_start(desk)
    allocator.on_timer(desk)
    desk.day = 1
    desk.stopped.add("A")
    desk.routed.clear()
    allocator.on_timer(desk)
    (_, fields) = desk.lines[-1]
    assert set(fields["expected_returns_bp"]) == {"B", "C"}
    assert fields["weights"] == pytest.approx({"B": 0.4, "C": 0.4}, abs=1e-6)
    assert fields["equity_paise"] == 15_000_000
    assert desk.routed == [("B", "buy", 65), ("C", "buy", 35)]
    assert list(allocator.prices[-1]) == ["B", "C"]


def test_only_the_first_timer_of_a_day_samples_and_rebalances_every_few_days():
    allocator = Allocator(Allocator.Params(method="risk_parity", rebalance_days=2, max_sector=None))
    desk = Desk(10_000_000, 10_000_000)
    allocator.on_start(desk)
    for day in (0, 0, 1, 2, 3, 4):
        desk.day = day
        allocator.on_timer(desk)
    assert len(allocator.prices) == 5
    assert [message for message, _ in desk.lines] == ["rebalance"] * 3


# --- in a run -----------------------------------------------------------------------------------

# A reduced baseline: fewer investors and slower market makers keep a run to a few seconds.
# 10 lakh rupees are what the books' depth can invest in one or two rebalances.
REDUCED = [
    "retail.count=100",
    "ai.count=0",
    "sip.investors=200",
    "value.count=10",
    "momentum.count=0",
    "repo.count=0",
    "market_maker.requote_seconds=600",
    'strategy.ref="strategies.allocator:Allocator"',
    "strategy.cash_rupees=1000000",
]


def run_allocator(days: int, params: str) -> sim.Result:
    overrides = [f"calendar.days={days}", f"strategy.params={params}", *REDUCED]
    return sim.run(sim.load_scenario("baseline", overrides), seed=1, out=None)


def rebalances(result) -> list[dict]:
    log = result.strategy_log.filter(pl.col("message") == "rebalance")
    return [{"time": t, **json.loads(d)} for t, d in log.select("time", "details").iter_rows()]


def holdings_at_closes(result) -> pl.DataFrame:
    """The allocator's units of each bond at each close, valued at the valuation published
    last (clean and accrued, each to the paisa a unit), with its cash and equity then."""
    agent = result.agents.filter(pl.col("kind") == "strategy")["agent"].item()
    bought = pl.when(pl.col("taker_agent") == agent).then(1).otherwise(-1)
    trades = result.trades.filter(
        (pl.col("taker_agent") == agent) | (pl.col("maker_agent") == agent)
    )
    trades = trades.select(
        "time",
        pl.col("instrument").cast(pl.String),
        (bought * pl.col("aggressor_side").cast(pl.Int64) * pl.col("qty")).alias("units"),
    )
    terms = result.frame("instruments").select(
        pl.col("symbol").alias("instrument"), "sector", "unit_face_value"
    )
    values = result.frame("fair_values").with_columns(pl.col("instrument").cast(pl.String))
    accounts = result.accounts.filter(pl.col("agent") == agent)
    rows = []
    for close, cash, positions_value in accounts.select(
        "time", "cash", "positions_value"
    ).iter_rows():
        units = (
            trades.filter(pl.col("time") <= close).group_by("instrument").agg(pl.col("units").sum())
        )
        last = (
            values.filter(pl.col("time") <= close)
            .group_by("instrument")
            .agg(pl.col("fair_clean_price").last(), pl.col("accrued").last())
        )
        held = units.join(last, on="instrument").join(terms, on="instrument")
        unit_value = (pl.col("fair_clean_price") * pl.col("unit_face_value")).round(0) + (
            pl.col("accrued") * pl.col("unit_face_value")
        ).round(0)
        held = held.select("instrument", "sector", "units", unit_value.alias("unit_value"))
        held = held.with_columns(value=pl.col("units") * pl.col("unit_value"))
        assert held["value"].sum() == positions_value  # the trades account for the positions
        rows.append(held.with_columns(close=pl.lit(close), cash=pl.lit(cash),
                                      equity=pl.lit(cash + positions_value)))  # fmt: skip
    return pl.concat(rows)


@pytest.fixture(scope="module")
def mean_variance_run():
    return run_allocator(6, '{ method = "mean_variance", rebalance_days = 2 }')


def test_the_weights_it_chooses_keep_seed_003s_limits(mean_variance_run):
    logged = rebalances(mean_variance_run)
    assert len(logged) == 3  # days 0, 2 and 4
    sectors = dict(mean_variance_run.frame("instruments").select("symbol", "sector").iter_rows())
    for figures in logged:
        weights = figures["weights"]
        assert max(weights.values()) <= 0.10 + 1e-6
        by_sector = {}
        for symbol, weight in weights.items():
            by_sector[sectors[symbol]] = by_sector.get(sectors[symbol], 0.0) + weight
        assert max(by_sector.values()) <= 0.25 + 1e-6
        assert figures["cash_weight"] == pytest.approx(0.20, abs=1e-6)


def test_the_portfolio_it_holds_after_each_rebalance_keeps_seed_003s_limits(mean_variance_run):
    held = holdings_at_closes(mean_variance_run)
    closes = sorted(set(held["close"]))
    for figures in rebalances(mean_variance_run):
        close = min(c for c in closes if c > figures["time"])  # that day's close
        day = held.filter(pl.col("close") == close)
        equity, lot = day["equity"][0], day["unit_value"].max()  # lots are of one unit
        assert day["value"].max() <= 0.10 * equity + lot  # within a lot's rounding
        sectors = day.group_by("sector").agg(pl.col("value").sum(), pl.len())
        assert (sectors["value"] <= 0.25 * equity + sectors["len"] * lot).all()
        assert day["cash"][0] >= 0.20 * equity - lot
    # and it did invest: nearly 80% after the last one
    last = held.filter(pl.col("close") == closes[-1])
    assert last["value"].sum() > 0.75 * last["equity"][0]


def test_risk_parity_on_the_prior_holds_every_bond_equally():
    result = run_allocator(2, '{ method = "risk_parity" }')
    (figures,) = rebalances(result)
    assert figures["returns_used"] == 0  # too early for a sample: equal variances
    assert len(figures["weights"]) == 20
    assert figures["weights"] == pytest.approx(dict.fromkeys(figures["weights"], 0.04), abs=1e-6)
    held = holdings_at_closes(result)
    held = held.filter(pl.col("close") == held["close"].min())
    assert held.height == 20
    assert (held["value"] <= 0.04 * held["equity"] + held["unit_value"]).all()


def test_black_litterman_moves_the_implied_returns_halfway_to_a_view():
    # Equal variances σ² = 0.0009 and equal market weights: implied returns λσ²/20 = 1.8 bp
    # each. A view that NBFC2-2030-A out-earns PSU1-2030-A by 300 bp, with Ω = P τΣ P', moves
    # them by ±300/4 bp: τσ²(e_l - e_s) (4τσ²)^-1 x 300 bp.
    view = '{ long = "NBFC2-2030-A", short = "PSU1-2030-A", spread_bp = 300 }'
    result = run_allocator(2, f'{{ method = "black_litterman", views = [{view}] }}')
    (figures,) = rebalances(result)
    implied, posterior = figures["implied_returns_bp"], figures["posterior_returns_bp"]
    assert implied == pytest.approx(dict.fromkeys(implied, 1.8), abs=0.01)
    assert posterior["NBFC2-2030-A"] == pytest.approx(1.8 + 75, abs=0.01)
    assert posterior["PSU1-2030-A"] == pytest.approx(1.8 - 75, abs=0.01)
    assert posterior["INFRA1-2030-A"] == pytest.approx(1.8, abs=0.01)
    assert figures["weights"]["NBFC2-2030-A"] == pytest.approx(0.10, abs=1e-6)  # at its cap
    assert figures["weights"].get("PSU1-2030-A", 0.0) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ('{ method = "momentum" }', "method: Input should be 'mean_variance', 'risk_parity'"),
        ("{ cost_bps = -5 }", "cost_bps: Input should be greater than or equal to 0"),
        ('{ method = "risk_parity", cost_bps = 5 }', "params: cost_bps applies to mean_varia"),
        ('{ views = [{ long = "A", spread_bp = 5 }] }', "views.0: a view is {long, short,"),
        (
            '{ method = "black_litterman", views = [{ long = "A", short = "A", spread_bp = 5 }] }',
            "views.0: long and short must be two bonds (both 'A')",
        ),
        ('{ views = [{ bond = "A", return_bp = 5 }] }', "params: views and market_weights apply"),
        ('{ method = "black_litterman", market_weights = { A = -1 } }', "must not be negative"),
        ("{ min_history_days = 30, history_days = 30 }", "must be fewer than the history_days"),
    ],
)
def test_bad_parameters_are_one_line_naming_the_field(params, message):
    overrides = ["calendar.days=1", f"strategy.params={params}", *REDUCED]
    with pytest.raises(ScenarioError) as raised:
        sim.run(sim.load_scenario("baseline", overrides), seed=1, out=None)
    assert "strategy: Allocator params: " in str(raised.value)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{}", "Allocator params: sectors: no sector for ABM; name them in sectors, or set"),
        (
            '{ max_sector = 0.5, sectors = { ABM = "x", XYZ = "y" } }',
            "Allocator params: sectors.XYZ: 'XYZ' is not a bond of its markets",
        ),
    ],
)
def test_parameters_that_do_not_fit_its_markets_are_one_line(tmp_path, params, message):
    path = tmp_path / "small.toml"
    table = f'\n[strategy]\nref = "strategies.allocator:Allocator"\nparams = {params}\n'
    path.write_text(SMALL_SCENARIO.format(days=1, lag=0) + table)
    with pytest.raises(BondlabError, match=message):
        sim.run(sim.load_scenario(path), seed=1, out=None)
