"""The simulation kernel end to end on a small scenario: determinism, conservation, order
accounting, trading time and the results folder."""

from __future__ import annotations

import gc
import weakref

import polars as pl
import pytest
from pydantic import BaseModel, ConfigDict

from sim.engine.collector import RunCollection
from sim.engine.kernel import Simulation, run
from sim.errors import ConfigurationError
from sim.market.orders import Status
from sim.scenario import ScenarioError
from sim.scenario.model import load_scenario
from sim.scenario.registry import AgentKind, register, unregister
from tests.helpers.scenarios import small_scenario

DATA_FILES = ("orders", "trades", "quotes", "book", "agents", "fair_values", "instruments")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return load_scenario(small_scenario(tmp_path_factory.mktemp("scn")))


@pytest.fixture(scope="module")
def finished(scenario, tmp_path_factory):
    """A Simulation that has run, and its Result."""
    sim = Simulation(scenario, seed=3)
    result = sim.run(out=tmp_path_factory.mktemp("out"))
    return sim, result


def test_same_seed_gives_identical_files_and_another_seed_differs(scenario, tmp_path):
    first = run(scenario, seed=11, out=tmp_path / "a").manifest["files"]
    second = run(scenario, seed=11, out=tmp_path / "b").manifest["files"]
    assert first == second
    assert {f"{name}.parquet" for name in DATA_FILES} <= set(first)
    other = run(scenario, seed=12, out=tmp_path / "c").manifest["files"]
    assert other["trades.parquet"] != first["trades.parquet"]


def test_the_ledger_conserves_and_its_verdict_is_recorded(finished):
    sim, result = finished
    report = sim.ledger.check()
    assert report.ok, report.problems
    assert result.manifest["ledger"]["ok"] is True
    assert result.metrics["ledger"]["conserved"] is True


def test_every_order_is_accounted_for(finished):
    sim, result = finished
    book = sim.venues["EXCH"].book("ABM")
    statuses = [book.order(i).status for i in range(1, book.next_order_id)]
    counts = {s: statuses.count(s) for s in Status}
    assert sum(counts.values()) == book.next_order_id - 1
    assert counts[Status.FILLED] > 0 and counts[Status.CANCELLED] > 0
    new_orders = result.orders.filter(~pl.col("type").is_in(["cancel", "modify"]))
    reached_book = new_orders.filter(pl.col("order_id") > 0)
    # Every new order that passed the gateway got a book id; ids are unique and dense.
    assert reached_book["order_id"].n_unique() == book.next_order_id - 1
    # Each fill involves two agents' fills.
    assert result.agents["fills"].sum() == 2 * result.trades.height


def test_trades_and_quotes_are_consistent(finished):
    _, result = finished
    trades, quotes = result.trades, result.quotes
    assert trades.height > 50
    assert (trades["qty"] > 0).all()
    two_sided = quotes.drop_nulls(["bid", "ask"])
    assert (two_sided["bid"] < two_sided["ask"]).all()
    assert trades["time"].is_sorted() and quotes["time"].is_sorted()


def test_every_account_is_recorded_at_every_close_as_the_run_values_it(finished):
    sim, result = finished
    closes = [sim.calendar.session(day)[1] for day in range(len(sim.calendar.trading_days))]
    accounts = result.accounts
    assert sorted(accounts["time"].unique()) == closes
    assert accounts.height == len(closes) * result.agents.height
    # At the last close each account holds what agents.parquet values it at: nothing trades
    # after it, and settling moves money and units from pending to settled only.
    last = accounts.filter(pl.col("time") == closes[-1]).join(
        result.agents.select("agent", "cash", "positions_value"), on="agent", suffix="_end"
    )
    assert last.height == result.agents.height
    assert last["cash"].to_list() == last["cash_end"].to_list()
    assert last["positions_value"].to_list() == last["positions_value_end"].to_list()
    assert last["positions_value"].sum() > 0


def test_trading_time_skips_the_night(tmp_path):
    sim = Simulation(load_scenario(small_scenario(tmp_path, days=2)), seed=1)
    cal = sim.calendar
    (open0, close0), (open1, _) = cal.session(0), cal.session(1)
    assert sim.trading_time(open0 + 5) == open0 + 5
    assert sim.trading_time(close0 + 7) == open1 + 7
    assert sim.trading_time(open0 - 100) == open0


def test_settlement_lag_leaves_the_last_days_trades_pending(tmp_path):
    scn = load_scenario(small_scenario(tmp_path, days=1, lag=1))
    sim = Simulation(scn, seed=2)
    result = sim.run(out=tmp_path / "out")
    assert result.metrics["ledger"]["conserved"] is True
    assert result.metrics["ledger"]["unsettled_trades"] == result.trades.height > 0


def test_the_ledger_journal_accounts_for_every_rupee_and_unit_from_outside(finished):
    sim, result = finished
    transfers = result.transfers
    report = sim.ledger.check()
    deposits = transfers.filter(pl.col("kind") == "deposit")["cash"].sum()
    withdrawals = transfers.filter(pl.col("kind") == "withdrawal")["cash"].sum()
    assert deposits - withdrawals == report.cash_expected > 0
    issued = (
        transfers.filter(pl.col("kind") == "issue").group_by("instrument").agg(pl.col("qty").sum())
    )
    assert dict(issued.iter_rows()) == report.units_expected


def test_two_populations_of_one_kind_run_and_report_apart(tmp_path):
    text = small_scenario(tmp_path).read_text()
    extra = "\n[wide_makers]\nkind = 'market_maker'\ncount = 2\nquote_size = 5\nunits = 500\n"
    path = tmp_path / "two_makers.toml"
    path.write_text(text + extra)
    result = run(load_scenario(path), seed=2, out=tmp_path / "out")
    makers = result.agents.filter(pl.col("kind") == "market_maker")
    counts = dict(makers.group_by("population").len().iter_rows())
    assert counts == {"market_maker": 1, "wide_makers": 2}
    assert result.agents.filter(pl.col("kind") == "retail")["population"].unique().to_list() == [
        "retail"
    ]
    # Each population keeps its own metric group: the second does not overwrite the first.
    wide = result.metrics["market_makers/wide_makers"]
    assert len(result.metrics["market_makers"]) == 1 and len(wide) == 2
    ids = makers.filter(pl.col("population") == "wide_makers")["agent"].to_list()
    assert set(wide) == {f"maker_{i}_presence" for i in ids}


def test_the_published_valuation_is_the_opens_and_is_re_marked_after_a_shock(tmp_path):
    shock = '\n[[shocks]]\nkind = "fundamental_jump"\nday = 0\nat = "10:00"\nsize_pct = -5\n'
    # A panic moves no value: nothing is re-marked for it.
    shock += '\n[[shocks]]\nkind = "panic"\nday = 0\nat = "10:15"\nintensity = 0.5\n'
    path = small_scenario(tmp_path)
    path.write_text(path.read_text().replace("\n[retail]", shock + "\n[retail]", 1))
    sim = Simulation(load_scenario(path), seed=4)
    sim._schedule_sessions(None)
    open_ns, _ = sim.calendar.session(0)
    sim.clock.run(until=open_ns + 20 * 60 * 10**9)  # 09:50, before the shock
    at_open = sim.fundamental.value("ABM", open_ns) / 0.01
    assert sim.published_fair_value("ABM") == pytest.approx(at_open, rel=1e-12)
    # The fundamental has moved since the open; the published mark has not followed it.
    assert sim.information.fundamental_ticks("ABM", sim.now) != pytest.approx(at_open, rel=1e-9)
    sim.clock.run(until=open_ns + 31 * 60 * 10**9)  # 10:01, after the shock
    shocked_at = open_ns + 30 * 60 * 10**9
    after = sim.fundamental.value("ABM", shocked_at) / 0.01
    assert sim.published_fair_value("ABM") == pytest.approx(after, rel=1e-12)
    assert after < 0.97 * at_open
    sim.clock.run(until=open_ns + 50 * 60 * 10**9)  # 10:20, after the panic
    rows = sim.recorder.take_frames()["fair_values"]
    assert rows["time"].to_list() == [open_ns, shocked_at]


def test_a_run_collects_garbage_at_closes_and_leaves_the_collector_as_it_was(scenario, tmp_path):
    full_passes = []

    def count(phase, info):
        if phase == "start" and info["generation"] == 2:
            full_passes.append(gc.isenabled())

    frozen = gc.get_freeze_count()
    gc.callbacks.append(count)
    try:
        run(scenario, seed=1, out=tmp_path)
    finally:
        gc.callbacks.remove(count)
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    # The close's collection ran while automatic collection was off for the run.
    assert False in full_passes
    gc.disable()  # a host that turned the collector off keeps it off
    try:
        run(scenario, seed=2, out=tmp_path)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_request_for_an_instrument_the_venue_does_not_list_is_refused_and_the_run_goes_on(
    scenario, tmp_path
):
    sim = Simulation(scenario, seed=1)
    agent = next(a for a in sim.model.agents if a.kind != "retail")
    venue = next(iter(sim.venues))
    open_ns = sim.calendar.session(0)[0]
    sim.call_at(open_ns + 10**9, agent.submit, venue, "NOT-LISTED", 1, 5, 100)
    sim.call_at(open_ns + 10**9, agent.cancel, venue, "NOT-LISTED", 1)
    result = sim.run(out=tmp_path)
    refused = result.orders.filter(pl.col("instrument") == "NOT-LISTED")
    assert refused["reason"].to_list() == ["unknown_instrument"] * 2


def test_a_run_without_out_writes_nothing_and_holds_what_the_files_would(
    scenario, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    in_memory = run(scenario, seed=5, out=None)
    assert in_memory.path is None and list(tmp_path.iterdir()) == []
    on_disk = run(scenario, seed=5, out=tmp_path / "runs")
    assert in_memory.metrics == on_disk.metrics
    for name in (*DATA_FILES, "curve", "transfers"):
        assert in_memory.frame(name).equals(on_disk.frame(name)), name
    saved = in_memory.save(tmp_path / "saved")
    assert saved.manifest["files"] == on_disk.manifest["files"]
    with pytest.raises(KeyError, match="in memory"):
        in_memory.frame("no_such_frame")


def test_a_finished_simulation_can_be_freed(scenario):
    # mesa 3.3 keeps every model in a class-level table (mesa #3179); the run lets go of it.
    sim = Simulation(scenario, seed=1)
    sim.run(out=None)
    ref = weakref.ref(sim)
    del sim
    gc.collect()
    assert ref() is None


def test_the_collectors_policy_is_reset_after_a_run(scenario):
    sim = Simulation(scenario, seed=1)
    sim.run(out=None)
    assert sim._collection is None
    assert gc.isenabled()
    with RunCollection() as collection:
        assert collection.collect_at_close and not gc.isenabled()
    assert not collection.collect_at_close and gc.isenabled()


def _failing_kind(error: Exception) -> AgentKind:
    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

    def build(market, params, seeds):
        raise error

    return AgentKind("test_failing", Params, build)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConfigurationError("bonds: unknown instruments ['X']"), ScenarioError),
        (KeyError("a bug in the builder"), KeyError),
        (ValueError("a bug that happens to be a ValueError"), ValueError),
    ],
)
def test_a_builders_clash_is_the_scenarios_error_and_its_bug_is_a_bug(tmp_path, error, expected):
    register(_failing_kind(error))
    try:
        path = small_scenario(tmp_path)
        path.write_text(path.read_text() + "\n[test_failing]\n")
        with pytest.raises(expected) as raised:
            Simulation(load_scenario(path))
    finally:
        unregister("test_failing")
    if expected is ScenarioError:
        assert raised.value.problems == (f"{path}: test_failing: {error}",)
    else:
        assert raised.value is error


def test_an_endowment_the_ledger_cannot_hold_is_the_scenarios_error(tmp_path):
    path = small_scenario(tmp_path)
    with pytest.raises(ScenarioError) as raised:
        Simulation(load_scenario(path, ["value.cash_rupees=1e18"]))
    (problem,) = raised.value.problems
    assert problem.startswith(f"{path}: value: value endowment: ")
