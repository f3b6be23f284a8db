"""A strategy through a recorded run's market data (`sim.strategy.replay`): it decides as it
did in the run when its decisions rest on market data alone, and its orders fill on paper
against the recorded touch."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from sim.engine.access import MarketAccess
from sim.engine.kernel import Simulation
from sim.engine.latency import FixedLatency
from sim.scenario.model import load_scenario
from sim.strategy.api import StrategyParticipant
from sim.strategy.replay import ReplayContext, replay
from tests.helpers.scenarios import small_scenario

LATENCY = 3 * 10**9  # long enough that quotes change within one


class Signals:
    """Every two minutes, buys one unit at the ask when the ask is under the evaluated price;
    notes every quote and logs what it saw."""

    def __init__(self):
        self.made = []

    def on_start(self, ctx):
        ctx.set_timer(120 * 10**9)

    def on_quote(self, ctx, venue, symbol, quote):
        self.made.append(("quote", ctx.now, quote.bid, quote.ask))

    def on_timer(self, ctx):
        for venue, symbol in ctx.markets:
            quote, value = ctx.quote(venue, symbol), ctx.valuation(symbol)
            fair = value.clean / float(ctx.instrument(symbol).tick_size)
            book, heard = ctx.book(venue, symbol), ctx.trades(venue, symbol)
            seen = (ctx.now, ctx.day, quote.ask, round(fair, 6), book and book.bids[:2], len(heard))
            self.made.append(("timer", *seen))
            if quote.ask is not None and quote.ask < fair:
                why = {"ask": quote.ask, "fair": round(fair, 6)}
                ctx.submit(venue, symbol, "buy", 1, quote.ask, "IOC", decision=why)
                self.made.append(("buy", ctx.now, quote.ask))
        ctx.log("looked", day=ctx.day)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rec")
    sim = Simulation(load_scenario(small_scenario(folder, days=2)), seed=5)
    strategy = Signals()
    agent = StrategyParticipant(
        MarketAccess(sim), np.random.default_rng(0), FixedLatency(LATENCY), strategy,
        [("EXCH", "ABM")],
    )  # fmt: skip
    sim.open_account(agent, cash=10**9)
    return strategy, sim.run(out=folder / "out"), agent.account


def test_a_strategy_decides_in_replay_as_it_did_in_the_run(recorded):
    in_run, result, account = recorded
    again = Signals()
    replayed = replay(again, result.path, [("EXCH", "ABM")], latency_ns=LATENCY)
    assert any(m[0] == "buy" for m in in_run.made) and any(m[0] == "quote" for m in in_run.made)
    # The same quotes at the same times, the same looks and the same orders: the run's agents
    # traded against its orders, which moved the market only after these decisions.
    first_fill = result.trades.filter(pl.col("taker_agent") == account)["time"].min()
    before = [m for m in in_run.made if m[1] < first_fill]
    assert again.made[: len(before)] == before and len(before) > 10
    log = result.strategy_log.filter(pl.col("time") < first_fill)
    assert [(t, m, d) for t, m, d in replayed.log[: log.height]] == log.select(
        "time", "message", "details"
    ).rows()


def test_paper_orders_fill_against_the_recorded_touch(recorded):
    _, result, _ = recorded
    again = Signals()
    replayed = replay(again, result, [("EXCH", "ABM")], latency_ns=LATENCY, cash_rupees=1e5)
    buys = [m for m in again.made if m[0] == "buy"]
    fills = replayed.fills
    assert 0 < fills.height <= len(buys) and (fills["qty"] == 1).all()
    quotes = result.quotes.sort("time")
    for row in fills.rows(named=True):
        # At the ask in force when the order reached the venue, one latency after it was sent.
        top = quotes.filter(pl.col("time") <= row["time"]).tail(1)
        assert row["price"] == top["ask"].item() and row["time"] - LATENCY in [b[1] for b in buys]
    # Cash paid: clean price (a tick is a paisa a unit here), no accrual, the taker fee of 1 bp.
    fees = fills["fee"].sum()
    assert fees == sum(int(p * 1 / 10_000) for p in fills["price"])
    final = replayed.equity.tail(1).row(0, named=True)
    assert final["cash"] == 10_000_000 - fills["price"].sum() - fees
    assert final["positions_value"] > 0 and replayed.equity.height == 2
    assert len(replayed.decisions) == len(buys)  # each order with its reasons


def test_replay_knows_which_days_a_bond_traded(recorded):
    _, result, _ = recorded
    context = ReplayContext(result, object(), None, None, 0, 1e5, None)
    assert [context.trades_on("ABM", day) for day in (0, 1)] == [True, True]
    assert context.markets == (("EXCH", "ABM"),)
