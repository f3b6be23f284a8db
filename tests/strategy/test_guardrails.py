"""Guardrails around any strategy: limits and kill switch by hand on a fake context, and a
guarded strategy in a real run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.engine.access import MarketAccess
from sim.engine.kernel import Simulation
from sim.engine.latency import FixedLatency
from sim.market.messages import OpenOrder, Quote, Response, Trade
from sim.market.orders import Reason, Side, Status
from sim.scenario.model import load_scenario
from sim.strategy.api import StrategyParticipant
from sim.strategy.guardrails import GuardedContext, Guardrails, value_at_risk
from sim.strategy.routing import VenueView, route
from tests.helpers.scenarios import small_scenario
from tests.helpers.strategies import FakeContext, RestAndModify

SECOND = 10**9
Z99 = 2.3263478740408408  # the standard normal's 99% quantile


def guard_for(ctx, **limits) -> Guardrails:
    settings = {"max_position": 100, "var_limit_rupees": 1e9, "max_drawdown_rupees": 1e9}
    guard = Guardrails(object(), {"ABM": "EXCH"}, var_horizon_seconds=1000.0,
                       min_var_returns=4, **{**settings, **limits})  # fmt: skip
    guard.on_start(ctx)
    return guard


def step(guard, ctx, mid: int, seconds: int = 10) -> None:
    """Advance the clock and show the guard a two-tick-wide book around `mid`."""
    ctx.now += seconds * SECOND
    ctx.book = Quote(ctx.now, mid - 1, 100, mid + 1, 100)
    guard.on_timer(ctx)


def fill(aggressor: int, qty: int, price: int, taker_fee: int = 0) -> Trade:
    """A trade of `qty` at `price` (one paisa a tick) whose taker bought (+1) or sold (-1)."""
    return Trade(0, "EXCH", "ABM", price, qty, 1, 2, 10, 20, Side(aggressor), qty * price, 0,
                 taker_fee, 0)  # fmt: skip


# --- guardrails on a fake context --------------------------------------------------------------


class Answers:
    """A strategy that keeps every answer it hears."""

    def __init__(self) -> None:
        self.answers = []

    def on_order(self, ctx, request, response):
        self.answers.append((tuple(request), response.status, response.reason))


def test_a_refusal_is_not_taken_for_the_answer_to_an_identical_order_in_flight():
    class AnsweringContext(FakeContext):
        # As StrategyParticipant.refuse does: the refusal is answered at once, through the guard.
        def refuse(self, venue, symbol, side, qty, price, tif, reason):
            request = ("new", venue, symbol, side, qty, price, tif)
            guard.on_order(self, request, Response(symbol, 0, Status.REJECTED, reason))

    ctx = AnsweringContext(position=1000)
    strategy = Answers()
    guard = Guardrails(strategy, {"ABM": "EXCH"}, max_position=100, var_limit_rupees=1e9,
                       max_drawdown_rupees=1e9, var_horizon_seconds=1000.0,
                       min_var_returns=1)  # fmt: skip
    guard.on_start(ctx)
    step(guard, ctx, 10_000)
    step(guard, ctx, 10_002)
    guarded = GuardedContext(guard, ctx)
    guarded.submit("EXCH", "ABM", "buy", 20, 10_003, "IOC")  # passes: in flight
    guard.tripped_at = ctx.now  # the kill switch trips while it is on its way
    guarded.submit("EXCH", "ABM", "buy", 20, 10_003, "IOC")  # the same order, refused
    request = ("new", "EXCH", "ABM", "buy", 20, 10_003, "IOC")
    assert strategy.answers == [(request, Status.REJECTED, Reason.KILL_SWITCH)]
    # The first order is still in flight: its units still count against the limits.
    assert [sent.request for sent in guard._in_flight] == [request]


def test_a_routed_orders_children_go_through_the_guardrails():
    class RoutingContext(FakeContext):
        def plan_route(self, symbol, side, qty, limit=None, policy="cheapest"):
            views = [VenueView("EXCH", ((10_001, 30),)), VenueView("BSE", ((10_002, 100),))]
            return route(side, qty, views, tick_value=1, limit=limit, policy=policy)

    ctx = RoutingContext(position=1000)
    guard = guard_for(ctx)
    for mid in (10_000, 10_010, 10_000, 10_010, 10_000):
        step(guard, ctx, mid)
    ctx.positions["ABM"] = 1060  # 60 units over the starting holding
    plan = GuardedContext(guard, ctx).route("ABM", "buy", 50)
    assert [(c.venue, c.qty) for c in plan.children] == [("EXCH", 30), ("BSE", 20)]
    # 60 + 30 is within the limit of 100; the second child's 20 on top of it is not.
    assert [r[1:5] for r in ctx.submitted] == [("EXCH", "ABM", "buy", 30)]
    assert guard.refused == {"position": 1}


def test_position_limit_refuses_only_the_breaching_order():
    ctx = FakeContext(position=1000)
    guard = guard_for(ctx)
    for mid in (10_000, 10_010, 10_000, 10_010, 10_000):
        step(guard, ctx, mid)
    guarded = GuardedContext(guard, ctx)
    ctx.positions["ABM"] = 1090  # 90 units over the starting holding
    guarded.submit("EXCH", "ABM", "buy", 20, 10_001, "IOC")  # 110 > 100
    guarded.submit("EXCH", "ABM", "sell", 50, 9_999, "IOC")  # reduces: always allowed
    guarded.submit("EXCH", "ABM", "buy", 10, 10_001, "IOC")  # exactly 100
    guarded.submit("EXCH", "ABM", "buy", 1, 10_001, "IOC")  # 100 + the 10 in flight + 1
    assert [r[3:5] for r in ctx.submitted] == [("sell", 50), ("buy", 10)]
    assert guard.refused == {"position": 2}
    assert ctx.refusals == [
        ("buy", 20, Reason.GUARDRAIL_POSITION),
        ("buy", 1, Reason.GUARDRAIL_POSITION),
    ]
    guard.on_order(ctx, ctx.submitted[1], None)  # the buy's answer: it is no longer in flight
    ctx.orders = [("EXCH", OpenOrder("ABM", 7, 1, Side.BUY, 10_000, 5, 0, 0))]
    guarded.submit("EXCH", "ABM", "buy", 6, 10_001, "IOC")  # 90 + 5 resting + 6 > 100
    guarded.submit("EXCH", "ABM", "buy", 5, 10_001, "IOC")
    assert [r[3:5] for r in ctx.submitted[2:]] == [("buy", 5)]
    assert guard.refused == {"position": 3}


def test_parametric_var_by_hand():
    # r^2/dt = 1e-7 per second; over 1,000 s the sd is 1%; 100 units at 10,000 ticks of one
    # paisa are 10,000 rupees: VaR = 2.3263 * 0.01 * 10,000.
    returns, seconds = [0.001, -0.001, 0.001, -0.001], [10, 10, 10, 10]
    expected = Z99 * 0.01 * 10_000
    assert value_at_risk(100, 10_000, 1, returns, seconds, 1000) == pytest.approx(expected)
    assert value_at_risk(-100, 10_000, 1, returns, seconds, 1000) == pytest.approx(expected)


def test_historical_var_by_hand():
    # P&L of 10,000 rupees long: -300, -100, 0, 100, 200; the 10% quantile interpolates
    # 0.4 of the way from -300 to -100. Short, the tails swap: -200 + 0.4 * 100.
    returns, seconds = [-0.03, -0.01, 0.0, 0.01, 0.02], [1] * 5
    var = value_at_risk(100, 10_000, 1, returns, seconds, 1, "historical", 0.9)
    assert var == pytest.approx(220.0)
    var = value_at_risk(-100, 10_000, 1, returns, seconds, 1, "historical", 0.9)
    assert var == pytest.approx(160.0)


def test_guard_var_limit_from_observed_mids():
    ctx = FakeContext(position=1000)
    guard = guard_for(ctx, max_position=10_000, var_limit_rupees=300.0)
    guarded = GuardedContext(guard, ctx)
    guarded.submit("EXCH", "ABM", "buy", 10, 10_001)  # no returns yet: unknown risk
    assert guard.refused == {"var": 1} and not ctx.submitted
    mids = [10_000, 10_010, 10_000, 10_010, 10_000]
    for mid in mids:
        step(guard, ctx, mid)
    returns = np.diff(mids) / mids[:-1]
    per_unit = Z99 * math.sqrt(np.mean(returns**2 / 10) * 1000) * 10_000 / 100  # rupees
    assert guard.var({"ABM": 1}) == pytest.approx(per_unit)
    limit_units = int(300.0 / per_unit)
    guarded.submit("EXCH", "ABM", "buy", limit_units + 1, 10_001)
    guarded.submit("EXCH", "ABM", "buy", limit_units, 10_001)
    assert [r[4] for r in ctx.submitted] == [limit_units]
    assert guard.refused == {"var": 2}


def test_kill_switch_trips_cancels_flattens_and_blocks():
    ctx = FakeContext(position=1000)
    guard = guard_for(ctx, max_drawdown_rupees=50.0)
    for _ in range(5):
        step(guard, ctx, 10_000)
    guard.on_fill(ctx, fill(+1, 100, 10_000), +1)  # bought 100 at the mid: equity 0
    ctx.positions["ABM"] = 1100
    ctx.orders = [("EXCH", OpenOrder("ABM", 7, 1, Side.BUY, 9_990, 5, 0, 0))]
    ctx.book = Quote(ctx.now, 9_959, 100, 9_961, 100)  # mid 9,960: 40 rupees down
    guard.on_quote(ctx, "EXCH", "ABM", ctx.book)
    assert guard.tripped_at is None and guard.max_drawdown == pytest.approx(40.0)
    ctx.now += SECOND
    ctx.book = Quote(ctx.now, 9_948, 100, 9_950, 100)  # mid 9,949: 51 rupees down
    guard.on_quote(ctx, "EXCH", "ABM", ctx.book)
    assert guard.tripped_at == ctx.now and guard.max_drawdown == pytest.approx(51.0)
    assert ctx.cancelled == [7]
    assert ctx.submitted == [("new", "EXCH", "ABM", "sell", 100, 9_948, "IOC")]  # flatten
    GuardedContext(guard, ctx).submit("EXCH", "ABM", "sell", 10, 9_948, "IOC")
    assert guard.refused == {"kill_switch": 1} and len(ctx.submitted) == 1
    step(guard, ctx, 9_949)  # the flattening order still in flight: no second one
    assert len(ctx.submitted) == 1 and ctx.cancelled == [7]
    guard.on_order(ctx, ctx.submitted[0], None)
    ctx.positions["ABM"] = 1040  # 60 of the 100 sold; the rest goes at the next timer
    step(guard, ctx, 9_949)
    assert ctx.submitted[-1] == ("new", "EXCH", "ABM", "sell", 40, 9_948, "IOC")


def test_drawdown_counts_fees_and_the_fills_own_side():
    ctx = FakeContext()
    guard = guard_for(ctx)
    step(guard, ctx, 10_000)
    guard.on_fill(ctx, fill(+1, 10, 10_000, taker_fee=30), +1)  # we took: we pay the taker fee
    guard.on_fill(ctx, fill(+1, 10, 10_002, taker_fee=30), -1)  # we sold as maker: no fee
    assert guard.equity() == pytest.approx(-30 + 20)  # paise: fee, then 2 ticks on 10 units


def test_a_modify_that_adds_units_is_checked_like_a_new_order():
    ctx = FakeContext(position=1000)
    guard = guard_for(ctx)
    for mid in (10_000, 10_010, 10_000, 10_010, 10_000):
        step(guard, ctx, mid)
    guarded = GuardedContext(guard, ctx)
    ctx.positions["ABM"] = 1090  # 90 units over the starting holding
    ctx.orders = [
        ("EXCH", OpenOrder("ABM", 7, 1, Side.BUY, 9_990, 5, 0, 0)),  # worst case 95
        ("EXCH", OpenOrder("ABM", 8, 1, Side.SELL, 10_020, 5, 0, 0)),
    ]
    guarded.modify("EXCH", "ABM", 7, qty=11)  # adds 6: 101 > 100
    guarded.modify("EXCH", "ABM", 7, qty=2, price=9_995)  # reduces (and reprices): goes
    guarded.modify("EXCH", "ABM", 7, price=9_999)  # only the price: goes
    guarded.modify("EXCH", "ABM", 8, qty=60)  # adds 55 to a sell: reduces exposure, goes
    guarded.modify("EXCH", "ABM", 7, qty=10)  # adds 5: exactly 100
    guarded.submit("EXCH", "ABM", "buy", 1, 10_001, "IOC")  # 90 + 5 + the 5 in flight + 1
    guarded.modify("EXCH", "ABM", 7, qty=6)  # 90 + 5 + 5 in flight + 1
    assert ctx.modified == [
        ("modify", "EXCH", "ABM", 7, 2, 9_995),
        ("modify", "EXCH", "ABM", 7, None, 9_999),
        ("modify", "EXCH", "ABM", 8, 60, None),
        ("modify", "EXCH", "ABM", 7, 10, None),
    ]
    assert ctx.refused_modifies == [
        (7, 11, None, Reason.GUARDRAIL_POSITION),
        (7, 6, None, Reason.GUARDRAIL_POSITION),
    ]
    assert ctx.refusals == [("buy", 1, Reason.GUARDRAIL_POSITION)]
    assert guard.refused == {"position": 3}
    # Its answer arrives and the book shows 10 resting: the same worst case, now from the book.
    guard.on_order(ctx, ctx.modified[-1], None)
    ctx.orders[0] = ("EXCH", OpenOrder("ABM", 7, 1, Side.BUY, 9_990, 10, 0, 0))
    guarded.submit("EXCH", "ABM", "buy", 1, 10_001, "IOC")
    guarded.modify("EXCH", "ABM", 7, qty=9)
    assert guard.refused == {"position": 4} and ctx.modified[-1][3:5] == (7, 9)


def test_a_modify_that_adds_units_needs_a_known_var():
    ctx = FakeContext(position=1000)
    guard = guard_for(ctx, max_position=10_000, var_limit_rupees=300.0)
    guarded = GuardedContext(guard, ctx)
    ctx.orders = [("EXCH", OpenOrder("ABM", 7, 1, Side.BUY, 9_990, 5, 0, 0))]
    guarded.modify("EXCH", "ABM", 7, qty=6)  # no returns yet: unknown risk
    guarded.modify("EXCH", "ABM", 7, qty=4)
    assert ctx.refused_modifies == [(7, 6, None, Reason.GUARDRAIL_VAR)]
    assert [m[4] for m in ctx.modified] == [4] and guard.refused == {"var": 1}


def test_after_the_trip_a_modify_goes_only_if_it_only_reduces():
    ctx = FakeContext(position=1000)
    guard = guard_for(ctx, max_drawdown_rupees=50.0)
    for _ in range(5):
        step(guard, ctx, 10_000)
    guard.on_fill(ctx, fill(+1, 100, 10_000), +1)
    ctx.positions["ABM"] = 1100
    ctx.orders = [("EXCH", OpenOrder("ABM", 7, 1, Side.SELL, 10_050, 50, 0, 0))]
    ctx.book = Quote(ctx.now, 9_948, 100, 9_950, 100)  # 51 rupees down: trips
    guard.on_quote(ctx, "EXCH", "ABM", ctx.book)
    assert guard.tripped_at is not None and ctx.cancelled == [7]  # its cancel is on its way
    guarded = GuardedContext(guard, ctx)
    guarded.modify("EXCH", "ABM", 7, qty=20)  # a pure reduction: goes
    guarded.modify("EXCH", "ABM", 7, qty=20, price=10_050)  # the same price: still pure
    guarded.modify("EXCH", "ABM", 7, price=10_040)
    guarded.modify("EXCH", "ABM", 7, qty=10, price=10_040)
    guarded.modify("EXCH", "ABM", 7, qty=60)
    guarded.modify("EXCH", "ABM", 99, qty=1)  # an order it cannot see: not known to reduce
    assert [m[3:] for m in ctx.modified] == [(7, 20, None), (7, 20, 10_050)]
    assert [r[:3] for r in ctx.refused_modifies] == [
        (7, None, 10_040),
        (7, 10, 10_040),
        (7, 60, None),
        (99, 1, None),
    ]
    assert {r[3] for r in ctx.refused_modifies} == {Reason.KILL_SWITCH}
    assert guard.refused == {"kill_switch": 4}


# --- a guarded strategy in a real run ---------------------------------------------------------


class RoundTrips:
    """Every minute: cross the spread, alternately buying and selling 20 units, and rest a
    far bid. It pays the spread each time, so its drawdown only grows."""

    def __init__(self) -> None:
        self.side = "buy"

    def on_start(self, ctx):
        ctx.set_timer(60 * SECOND)

    def on_timer(self, ctx):
        quote = ctx.quote("EXCH", "ABM")
        if quote.bid is not None and quote.ask is not None:
            price = quote.ask if self.side == "buy" else quote.bid
            ctx.submit("EXCH", "ABM", self.side, 20, price, "IOC")
            ctx.submit("EXCH", "ABM", "buy", 5, quote.bid - 20)
            self.side = "sell" if self.side == "buy" else "buy"


def test_any_strategy_guarded_in_a_run_is_stopped_by_the_kill_switch(tmp_path):
    sim = Simulation(load_scenario(small_scenario(tmp_path)), seed=3)
    guard = Guardrails(RoundTrips(), {"ABM": "EXCH"}, max_position=1000,
                       var_limit_rupees=1e9, max_drawdown_rupees=1.0,
                       var_horizon_seconds=3600, min_var_returns=2)  # fmt: skip
    agent = StrategyParticipant(
        MarketAccess(sim), np.random.default_rng(0), FixedLatency(10_000), guard, [("EXCH", "ABM")]
    )
    sim.open_account(agent, cash=10**9, units={"ABM": 500})
    result = sim.run(out=tmp_path / "out")
    assert result.metrics["ledger"]["conserved"]
    assert guard.tripped_at is not None and guard.max_drawdown > 1.0
    assert guard.refused["kill_switch"] > 0
    assert sim.ledger.account(agent.account).position("ABM") == 500  # flattened
    assert not agent.open_orders()
    orders = result.orders.filter(result.orders["agent"] == agent.account)
    late = orders.filter(orders["time"] > guard.tripped_at)
    refused = late.filter(late["reason"] == "kill_switch")
    # Orders reach the venue after its latency (about 70 us here): one sent just before the
    # trip may land just after it. Everything that lands later is winding down.
    sent = late.filter(late["reason"] != "kill_switch")
    landed_later = sent.filter(sent["time"] > guard.tripped_at + 1_000_000)
    assert set(landed_later["type"]) <= {"cancel", "ioc"}  # winding down only
    assert sent.filter(sent["type"].is_in(["cancel", "ioc"])).height  # and it did wind down
    # Every refusal is in the order log, rejected with the guardrail's reason.
    assert refused.height == guard.refused["kill_switch"]
    assert set(refused["status"]) == {"rejected"} and set(refused["order_id"]) == {0}


def test_guarded_modifies_in_a_run_refused_for_position_and_reduced(tmp_path):
    sim = Simulation(load_scenario(small_scenario(tmp_path)), seed=4)
    # Rest a buy of 5, then: to 20 (adds 15: over 10, refused), to 2 (reduces: goes), to 8
    # (adds 6: a worst case of 8, within the limit: goes).
    strategy = RestAndModify([(20, None), (2, None), (8, None)])
    guard = Guardrails(strategy, {"ABM": "EXCH"}, max_position=10, var_limit_rupees=1e9,
                       max_drawdown_rupees=1e9, var_horizon_seconds=3600,
                       min_var_returns=2)  # fmt: skip
    agent = StrategyParticipant(
        MarketAccess(sim), np.random.default_rng(0), FixedLatency(10_000), guard, [("EXCH", "ABM")]
    )
    sim.open_account(agent, cash=10**9, units={"ABM": 500})
    result = sim.run(out=tmp_path / "out")
    assert guard.markets["ABM"].tick_value == 1  # from the context's instrument data
    oid = strategy.order_id
    modifies = [
        (r, a.order_id, a.status, a.reason) for r, a in strategy.answers if r[0] == "modify"
    ]
    assert modifies == [
        (("modify", "EXCH", "ABM", oid, 20, None), oid, Status.REJECTED, Reason.GUARDRAIL_POSITION),
        (("modify", "EXCH", "ABM", oid, 2, None), oid, Status.ACCEPTED, Reason.NONE),
        (("modify", "EXCH", "ABM", oid, 8, None), oid, Status.ACCEPTED, Reason.NONE),
    ]
    assert guard.refused["position"] == 1 and not guard._in_flight  # every answer came back
    [(_, order)] = agent.open_orders()
    assert (order.order_id, order.qty) == (oid, 8)
    rows = result.orders.filter(
        (result.orders["agent"] == agent.account) & (result.orders["type"] == "modify")
    )
    # The refused modify is recorded with its guardrail, like a refused new order.
    assert rows.select("order_id", "qty", "status", "reason").rows() == [
        (oid, 20, "rejected", "guardrail_position"),
        (oid, 2, "accepted", "none"),
        (oid, 8, "accepted", "none"),
    ]
