"""The Strategy API in simulation: a strategy trades only through its context."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from sim.engine.access import MarketAccess
from sim.engine.kernel import Simulation
from sim.engine.latency import FixedLatency
from sim.engine.participant import Participant
from sim.market.orders import Reason, Status
from sim.pricing import Bond
from sim.scenario.model import load_scenario
from sim.strategy.api import TRADES_KEPT, Strategy, StrategyParticipant
from sim.strategy.forecasts import MIN_HISTORY
from tests.helpers.scenarios import small_scenario
from tests.helpers.strategies import RestAndModify


class BuyTheBid:
    """Every minute, bid one tick under the mid for 5 units, up to 50 units held."""

    def __init__(self):
        self.events = []

    def on_start(self, ctx):
        self.events.append("start")
        ctx.set_timer(60 * 10**9)

    def on_timer(self, ctx):
        quote = ctx.quote("EXCH", "ABM")
        if quote.bid is not None and ctx.position("ABM") < 50:
            ctx.submit("EXCH", "ABM", "buy", 5, quote.bid + 1)

    def on_order(self, ctx, request, response):
        self.events.append(("order", response.status.name))

    def on_fill(self, ctx, fill, side):
        self.events.append(("fill", side, fill.qty))

    def on_stop(self, ctx):
        self.events.append("stop")


def test_a_strategy_runs_through_its_context(tmp_path):
    sim = Simulation(load_scenario(small_scenario(tmp_path)), seed=4)
    strategy = BuyTheBid()
    assert isinstance(strategy, Strategy)
    agent = StrategyParticipant(
        MarketAccess(sim),
        np.random.default_rng(0),
        FixedLatency(10_000),
        strategy,
        [("EXCH", "ABM")],
    )
    sim.open_account(agent, cash=10**9)
    result = sim.run(out=tmp_path / "out")
    assert strategy.events[0] == "start" and strategy.events[-1] == "stop"
    orders = [e for e in strategy.events if e[0] == "order"]
    fills = [e for e in strategy.events if e[0] == "fill"]
    assert len(orders) >= 10  # one a minute until 50 units are held or bid for
    assert fills and all(side == 1 for _, side, _ in fills)
    assert sim.ledger.account(agent.account).position("ABM") == sum(q for *_, q in fills)
    row = result.agents.filter(result.agents["agent"] == agent.account)
    assert row["kind"].item() == "strategy" and row["fills"].item() == len(fills)


class Watcher(Participant):
    kind = "watcher"

    def __init__(self, market):
        super().__init__(market, np.random.default_rng(1), FixedLatency(5_000))
        self.books, self.trades = [], []

    def on_start(self):
        for channel in ("l2", "trades"):
            self.subscribe("EXCH", "ABM", channel)

    def on_book(self, venue, symbol, bids, asks):
        self.books.append((self.now, bids, asks))

    def on_trade(self, trade):
        self.trades.append((self.now, trade))


def test_depth_snapshots_and_trades_arrive_after_latency(tmp_path):
    sim = Simulation(load_scenario(small_scenario(tmp_path)), seed=6)
    watcher = Watcher(MarketAccess(sim))
    sim.open_account(watcher)
    result = sim.run(out=tmp_path / "out")
    assert len(watcher.trades) == result.trades.height > 0
    assert all(now == trade.time + 5_000 for now, trade in watcher.trades)
    times = sorted(result.book["time"].unique().to_list())
    # Every snapshot reaches it 5 us later, the final close's too: a run delivers what is
    # still on its way before it ends.
    assert [now for now, _, _ in watcher.books] == [t + 5_000 for t in times]
    assert all(bids and bids[0][0] < asks[0][0] for _, bids, asks in watcher.books if asks)


def test_unknown_channel_is_refused(tmp_path):
    sim = Simulation(load_scenario(small_scenario(tmp_path)), seed=6)
    watcher = Watcher(MarketAccess(sim))
    with pytest.raises(ValueError, match="unknown market-data channel 'l3'"):
        watcher.subscribe("EXCH", "ABM", "l3")


class RefusesEverything:
    def __init__(self):
        self.answers = []

    def on_start(self, ctx):
        ctx.set_timer(600 * 10**9)

    def on_timer(self, ctx):
        ctx.refuse("EXCH", "ABM", "buy", 5, 9_990, "GTC", Reason.KILL_SWITCH)

    def on_order(self, ctx, request, response):
        self.answers.append((request, response.status, response.reason))


def test_a_refused_order_is_recorded_and_answered(tmp_path):
    sim = Simulation(load_scenario(small_scenario(tmp_path)), seed=4)
    strategy = RefusesEverything()
    agent = StrategyParticipant(
        MarketAccess(sim),
        np.random.default_rng(0),
        FixedLatency(10_000),
        strategy,
        [("EXCH", "ABM")],
    )
    sim.open_account(agent, cash=10**6)
    result = sim.run(out=tmp_path / "out")
    rows = result.orders.filter(result.orders["agent"] == agent.account)
    assert rows.height == len(strategy.answers) == 6  # minutes 10, 20, ..., 60 of the session
    assert set(rows["reason"]) == {"kill_switch"} and set(rows["status"]) == {"rejected"}
    assert rows["price"].to_list() == [9_990] * 6
    assert all(status is Status.REJECTED for _, status, _ in strategy.answers)


class LastSecond:
    """Sends a new order and a cancel a microsecond before the last close, then keeps a log."""

    def __init__(self):
        self.log = []

    def on_start(self, ctx):
        ctx.set_timer(3600 * 10**9 - 1_000)  # the small scenario's session is one hour

    def on_timer(self, ctx):
        if not self.log:
            self.log.append("timer")
            ctx.submit("EXCH", "ABM", "buy", 5, 9_990)
            ctx.cancel("EXCH", "ABM", 123)

    def on_order(self, ctx, request, response):
        self.log.append((request[0], response.status, response.reason, ctx.now))

    def on_stop(self, ctx):
        self.log.append("stop")


def test_requests_too_late_for_the_close_are_answered_and_on_stop_comes_last(tmp_path):
    sim = Simulation(load_scenario(small_scenario(tmp_path)), seed=4)
    strategy = LastSecond()
    agent = StrategyParticipant(
        MarketAccess(sim),
        np.random.default_rng(0),
        FixedLatency(10_000),
        strategy,
        [("EXCH", "ABM")],
    )
    sim.open_account(agent, cash=10**6)
    result = sim.run(out=tmp_path / "out")
    close = sim.calendar.end_ns
    answered_at = close - 1_000 + 10_000  # sent a microsecond before, answered 10 us later
    assert strategy.log == [
        "timer",
        ("new", Status.REJECTED, Reason.MARKET_CLOSED, answered_at),
        ("cancel", Status.REJECTED, Reason.MARKET_CLOSED, answered_at),
        "stop",
    ]
    rows = result.orders.filter(result.orders["agent"] == agent.account)
    assert rows.select("order_id", "type", "status", "reason").rows() == [
        (0, "limit", "rejected", "market_closed"),
        (123, "cancel", "rejected", "market_closed"),
    ]


def test_a_strategy_sees_instrument_data_and_modifies_its_orders(tmp_path):
    sim = Simulation(load_scenario(small_scenario(tmp_path)), seed=4)
    strategy = RestAndModify([(20, None), (None, 3), (0, None)])
    agent = StrategyParticipant(
        MarketAccess(sim),
        np.random.default_rng(0),
        FixedLatency(10_000),
        strategy,
        [("EXCH", "ABM")],
    )
    sim.open_account(agent, cash=10**9)
    result = sim.run(out=tmp_path / "out")
    assert strategy.instrument is sim.instruments["ABM"]
    assert (strategy.instrument.tick_value, strategy.instrument.lot_size) == (1, 1)
    oid, price = strategy.order_id, strategy.price
    requests = [request for request, _ in strategy.answers]
    assert requests == [
        ("new", "EXCH", "ABM", "buy", 5, price, "GTC"),
        ("modify", "EXCH", "ABM", oid, 20, None),
        ("modify", "EXCH", "ABM", oid, None, price + 3),
        ("modify", "EXCH", "ABM", oid, 0, None),  # not a quantity: the venue refuses it
    ]
    statuses = [(r.order_id, r.status, r.reason) for _, r in strategy.answers]
    assert statuses[1:3] == [(oid, Status.ACCEPTED, Reason.NONE)] * 2
    assert statuses[3] == (oid, Status.REJECTED, Reason.BAD_QUANTITY)
    [(_, order)] = agent.open_orders()
    assert (order.order_id, order.qty, order.limit) == (oid, 20, price + 3)
    rows = result.orders.filter(result.orders["agent"] == agent.account)
    assert rows["type"].to_list() == ["limit", "modify", "modify", "modify"]
    assert rows["status"].to_list()[1:] == ["accepted", "accepted", "rejected"]


class Looker:
    """Every 10 minutes, looks at everything its context shows, and logs once a day."""

    def __init__(self):
        self.seen = []

    def on_start(self, ctx):
        ctx.set_timer(600 * 10**9)

    def on_timer(self, ctx):
        book, trades = ctx.book("EXCH", "ABM"), ctx.trades("EXCH", "ABM")
        self.seen.append((ctx.now, ctx.day, book, trades, ctx.positions(), ctx.cash()))
        if len(self.seen) == 1:
            ctx.log("first look", day=ctx.day, size=ctx.params["size"])
            ctx.submit("EXCH", "ABM", "buy", ctx.params["size"], None, "IOC")


def test_a_strategy_sees_depth_trades_its_account_the_clock_and_its_parameters(tmp_path):
    sim = Simulation(load_scenario(small_scenario(tmp_path, days=2)), seed=4)
    strategy = Looker()
    agent = StrategyParticipant(
        MarketAccess(sim),
        np.random.default_rng(0),
        FixedLatency(10_000),
        strategy,
        [("EXCH", "ABM")],
        params={"size": 3},
    )
    sim.open_account(agent, cash=10**9, units={"ABM": 7})
    result = sim.run(out=tmp_path / "out")
    with pytest.raises(TypeError):
        agent.params["size"] = 4  # read-only
    snapshots = sorted(result.book["time"].unique().to_list())
    trades = result.trades.sort("time")
    for now, day, book, seen, *_ in strategy.seen:
        assert day == sim.calendar.day_index(now)
        # The last snapshot and the trades that had reached it 10 us after they happened.
        before = [t for t in snapshots if t + 10_000 <= now]
        assert (book and book.time) == (before[-1] + 10_000 if before else None)
        heard = trades.filter(pl.col("time") + 10_000 <= now).tail(TRADES_KEPT)
        assert [(t.time, t.price, t.qty) for t in seen] == list(
            zip(heard["time"], heard["price"], heard["qty"], strict=True)
        )
    bought = int(trades.filter(pl.col("taker_agent") == agent.account)["qty"].sum())
    assert 0 < bought <= 3
    assert strategy.seen[-1][4] == {"ABM": 7 + bought}
    assert strategy.seen[-1][5] == agent.cash_position() < 10**9
    log = result.strategy_log
    assert log.select("agent", "message").rows() == [(agent.account, "first look")]
    assert json.loads(log["details"][0]) == {"day": 0, "size": 3}


def test_a_run_where_no_strategy_logged_has_an_empty_log(tmp_path):
    result = Simulation(load_scenario(small_scenario(tmp_path)), seed=4).run(out=tmp_path / "o")
    assert result.strategy_log.is_empty() and "strategy_log.parquet" not in result.manifest["files"]


BOND_SCENARIO = """
[run]
name = "two_bonds"
seed = 2

[calendar]
start = 2024-01-01
days = 2
open = "09:15"
close = "10:15"

[[instruments]]
symbol = "A-2028"
issuer = "Issuer B"
sector = "NBFC"
rating = "A"
coupon = 0.09
issue = 2023-03-01
maturity = 2028-03-01
frequency = 2
day_count = "ACT/365F"
reference_price = "100.00"

[[venues]]
name = "NSE"
settlement_lag_days = 1

[[venues]]
name = "BSE"
settlement_lag_days = 1

[fundamentals]
kind = "bond"

[retail]
count = 60
arrivals_per_day = 20
cash_rupees = 200_000
units = 20

[market_maker]
count = 1
quote_size = 20
units = 500
cash_rupees = 5_000_000
requote_seconds = 60
"""


BOTH_VENUES = [("NSE", "A-2028"), ("BSE", "A-2028")]


def run_on_two_bonds(tmp_path, strategy, markets=BOTH_VENUES, days=2, units=None):
    """Run `strategy` on BOND_SCENARIO (seed 2) over `days`; its participant and the result."""
    path = tmp_path / "two_bonds.toml"
    path.write_text(BOND_SCENARIO.replace("days = 2", f"days = {days}"))
    sim = Simulation(load_scenario(path), seed=2)
    agent = StrategyParticipant(
        MarketAccess(sim), np.random.default_rng(0), FixedLatency(10_000), strategy, markets
    )
    sim.open_account(agent, cash=10**9, units=units)
    return agent, sim.run(out=None)


class Valuer:
    def __init__(self):
        self.valuations, self.plain = [], []

    def on_start(self, ctx):
        ctx.set_timer(900 * 10**9)

    def on_timer(self, ctx):
        self.valuations.append(ctx.valuation("A-2028", liquidity=True))
        self.plain.append(ctx.valuation("A-2028"))


def test_a_bonds_valuation_breaks_down_into_curve_credit_and_the_liquidity_it_sees(tmp_path):
    strategy = Valuer()
    _, result = run_on_two_bonds(tmp_path, strategy)
    published = result.fair_values.filter(pl.col("instrument") == "A-2028")
    assert len(strategy.valuations) >= 6
    for v in strategy.valuations:
        row = published.filter(pl.col("time") <= v.time).tail(1)
        assert (v.clean, v.ytm, v.spread_bp) == pytest.approx(
            (row["fair_clean_price"].item(), row["fair_yield"].item(), row["spread_bp"].item())
        )
        rating, credit = v.components[:2]
        assert (rating.name, credit.name) == ("rating_spread", "credit_adjustment")
        assert rating.spread_bp + credit.spread_bp == pytest.approx(v.spread_bp)
        assert v.risk_free_clean + rating.price_effect + credit.price_effect == pytest.approx(
            v.clean, abs=1e-9
        )
        assert v.risk_free_clean > v.clean  # an A-rated bond's spread costs price
        if v.liquidity is None:
            assert len(v.components) == 2 and v.liquidity_adjusted_clean == v.clean
            continue
        # The default premium: half the quoted spread, a depth term, a staleness term.
        liq = v.liquidity
        premium = (
            0.5 * liq.bid_ask_bp
            + 25.0 * 1e6 / (1e6 + liq.depth_rupees)
            + 20.0 * (1 - math.exp(-liq.days_since_trade / 10.0))
        )
        assert v.components[2].spread_bp == pytest.approx(min(premium, 200.0))
        assert v.components[2].price_effect < 0
        assert v.liquidity_adjusted_clean == pytest.approx(v.clean + v.components[2].price_effect)
    assert any(v.liquidity is not None for v in strategy.valuations)
    # Not asked for, the liquidity premium is left out: the rest is the same.
    for plain, full in zip(strategy.plain, strategy.valuations, strict=True):
        assert plain.liquidity is None and plain.components == full.components[:2]


class Explains:
    """At its first timer: an order with its reasons, one the venue refuses, and a routed buy."""

    def __init__(self):
        self.plan = None

    def on_start(self, ctx):
        ctx.set_timer(600 * 10**9)

    def on_timer(self, ctx):
        if self.plan is not None:
            return
        q = ctx.quote("NSE", "A-2028")
        why = {"prediction": 1.5, "threshold": 1.0, "contributions": {"spread": 0.9}}
        ctx.submit("NSE", "A-2028", "buy", 2, q.bid, "GTC", decision=why)
        ctx.submit("NSE", "A-2028", "buy", 0, q.bid, "GTC", decision={"why": "refused"})
        self.plan = ctx.route("A-2028", "buy", 30, decision={"why": "routed"})


def test_decisions_and_routed_children_are_recorded_with_their_orders(tmp_path):
    strategy = Explains()
    agent, result = run_on_two_bonds(tmp_path, strategy)
    decisions = result.decisions.with_columns(pl.col("venue", "instrument").cast(pl.String))
    orders = (
        result.orders.filter(pl.col("agent") == agent.account)
        .with_columns(pl.col("venue", "instrument").cast(pl.String))
        .unique(["venue", "instrument", "order_id"], keep="first", maintain_order=True)
    )
    plan = strategy.plan
    assert plan.children and sum(c.qty for c in plan.children) + plan.unplaced == 30
    assert decisions.height == 2 + len(plan.children)
    first, refused, *children = decisions.rows(named=True)
    assert json.loads(first["details"])["contributions"] == {"spread": 0.9}
    assert refused["order_id"] == 0 and json.loads(refused["details"]) == {"why": "refused"}
    accepted = decisions.filter(pl.col("order_id") > 0)
    joined = accepted.join(orders, on=["venue", "instrument", "order_id"], suffix="_order")
    assert joined.height == 1 + len(plan.children)  # every accepted order, by its venue's id
    routed = [json.loads(row["details"]) for row in children]
    assert all(r["why"] == "routed" and r["route"] == plan.to_row() for r in routed)
    assert [(row["venue"], row["qty"]) for row in joined.rows(named=True)[1:]] == [
        (c.venue, c.qty) for c in plan.children
    ]


def valuation_yield(clean: float) -> float:
    bond = Bond(issue=date(2023, 3, 1), maturity=date(2028, 3, 1), coupon=0.09, frequency=2,
                day_count="ACT/365F")  # fmt: skip
    return bond.yield_from_price(clean, date(2024, 2, 2))


class Forecaster:
    def __init__(self):
        self.seen = []

    def on_start(self, ctx):
        ctx.set_timer(3000 * 10**9)  # once a session, after its open

    def on_timer(self, ctx):
        self.seen.append((ctx.day, ctx.forecast("A-2028")))


def test_a_bonds_forecast_comes_from_the_closes_the_strategy_saw(tmp_path):
    strategy = Forecaster()
    agent, _ = run_on_two_bonds(tmp_path, strategy, days=24)
    closes = agent._closes["A-2028"]
    assert len(closes) == 24
    for day, seen in strategy.seen:
        assert (seen is None) == (day < MIN_HISTORY)  # day d has seen d closes
    day, last = strategy.seen[-1]
    assert last.clean_price == pytest.approx(closes[day - 1][2])  # yesterday's close
    assert last.low <= last.high and last.horizon_days == 7
    assert last.bias + sum(last.drivers.values()) == pytest.approx(last.price - last.clean_price)
    # Each close: the mid, its yield (above the evaluated price's when the mid is below it),
    # the curve and the rating spread.
    _, _, clean, ytm, level, _, rating_bp, _, fair = closes[-1]
    assert 0 < level < 0.2 and rating_bp > 0
    assert (ytm - valuation_yield(fair)) * (fair - clean) > 0


class Reader:
    def on_start(self, ctx):
        self.read = (ctx.terms("A-2028"), ctx.price_limits("NSE", "A-2028"),
                     ctx.free_units("A-2028"), ctx.trading_days,
                     ctx.trades_on("A-2028"), ctx.trades_on("A-2028", 1))  # fmt: skip


def test_a_strategy_reads_terms_bands_free_units_and_the_calendar(tmp_path):
    strategy = Reader()
    run_on_two_bonds(tmp_path, strategy, [("NSE", "A-2028")], units={"A-2028": 12})
    terms, band, free, days, *trades_on = strategy.read
    assert (terms["issuer"], terms["sector"], terms["rating"]) == ("Issuer B", "NBFC", "A")
    assert (terms["coupon"], terms["maturity"]) == (0.09, date(2028, 3, 1))
    assert band is None  # the scenario gives its venues no price band
    assert free == 12 and days == (date(2024, 1, 1), date(2024, 1, 2))
    assert trades_on == [True, True]  # it matures in 2028
