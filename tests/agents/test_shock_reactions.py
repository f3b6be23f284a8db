"""The shocks agents react to, one kind at a time, on minimal scenarios built in code: a liquidity
withdrawal's spread multiplier (market makers), investors staying away (retail and value
investors), a redemption wave (SIP investors) and repo haircut stress (the repo desk). Each
changes what it should, by hand-worked numbers, and nothing else: the level agents read is
their kind's alone, and a run's records before the shock's day are those of the same run
without it."""

from __future__ import annotations

import copy
import datetime as dt
import math
import tomllib

import numpy as np
import polars as pl
import pytest

from agents import sip
from sim.engine.access import MarketAccess
from sim.engine.kernel import Simulation
from sim.market.messages import Quote
from sim.scenario.model import scenario_from_dict
from sim.scenario.registry import agent_kinds, register
from sim.scenario.shocks import (
    LiquidityWithdrawalShock,
    PanicShock,
    ParticipationShock,
    RedemptionWaveShock,
    RepoHaircutShock,
)
from sim.units import NS_PER_SECOND
from tests.agents.test_repo import open_repo, small_doc, small_sim
from tests.helpers.scenarios import SMALL_SCENARIO

if "sip" not in agent_kinds():
    register(sip.KIND)


def panic(day: int, intensity: float) -> dict:
    return {"kind": "panic", "day": day, "intensity": intensity}


def withdrawal(day: int, fraction: float, spread_multiplier: float, **path) -> dict:
    shock = {"kind": "liquidity_withdrawal", "day": day, "fraction": fraction}
    return {**shock, "spread_multiplier": spread_multiplier, **path}


def participation(day: int, drop: float) -> dict:
    return {"kind": "participation", "day": day, "drop": drop}


def redemption_wave(day: int, hazard_multiplier: float, **path) -> dict:
    return {"kind": "redemption_wave", "day": day, "hazard_multiplier": hazard_multiplier, **path}


def repo_haircut(day: int, add_pct: dict, **path) -> dict:
    return {"kind": "repo_haircut", "day": day, "add_pct": add_pct, **path}


def ramp(days: int) -> dict:
    return {"path": {"kind": "ramp", "days": days}}


# --- the level agents read: their kind's own ----------------------------------------------------


def test_each_kind_reads_only_its_own_shocks_sized_as_asked_the_largest_if_several():
    shocks = (
        panic(1, 0.5),
        withdrawal(1, 0.2, 5.0),  # step: fraction 0.2 and 4 spreads added from day 1
        withdrawal(1, 0.6, 2.0, **ramp(2)),  # fraction 0.3 on day 2, 0.6 from day 3
        redemption_wave(2, 4.0),
        repo_haircut(1, {"A": 20, "BBB": 50}),
        participation(3, 0.75),
    )
    access = MarketAccess(Simulation(scenario_from_dict(small_doc(days=4, shocks=shocks))))

    def levels(kind, size=None):
        return [access.shock_level(kind, day, size) for day in range(4)]

    assert levels(PanicShock) == [0.0, 0.5, 0.5, 0.5]
    assert levels(LiquidityWithdrawalShock) == pytest.approx([0.0, 0.2, 0.3, 0.6])
    added = levels(LiquidityWithdrawalShock, lambda shock: shock.spread_multiplier - 1.0)
    assert added == [0.0, 4.0, 4.0, 4.0]
    assert levels(RedemptionWaveShock) == [0.0, 0.0, 3.0, 3.0]
    assert levels(ParticipationShock) == [0.0, 0.0, 0.0, 0.75]
    assert levels(RepoHaircutShock, lambda shock: shock.add_pct.get("A", 0.0)) == [0, 20, 20, 20]
    assert levels(RepoHaircutShock, lambda shock: shock.add_pct.get("AA", 0.0)) == [0.0] * 4


# --- market makers: the spread multiplier -------------------------------------------------------

# One maker, a bond at 100.00 (10,000 ticks) and a 20 bp minimum width: 20 ticks around the
# mid, well above the Avellaneda-Stoikov spread at the defaults (0.1 x 0.04 x 300 + 20 ln(4/3)
# = 6.95 ticks), so the quotes are exactly mid -/+ 10 ticks until a shock widens them. Every
# two-sided quote meets the obligations, so the mean quoted spread covers them all.
MAKER = """
min_spread_bp = {AAA = 20, AA = 20, A = 20, BBB = 20, BIG = 20}
max_spread_ticks = 1000
min_size = 20
"""
BOOK = Quote(0, 9_995, 100, 10_005, 100)  # what the maker sees: a mid of 10,000


def small_run_doc(days: int, shocks: tuple = (), populations: str = "") -> dict:
    """The small scenario (one unrated bond, one venue, T+1) with the maker above."""
    doc = tomllib.loads(SMALL_SCENARIO.format(days=days, lag=1) + MAKER + populations)
    return {**doc, "shocks": list(shocks)}


def maker_in(*shocks: dict, days: int = 6):
    sim = Simulation(scenario_from_dict(small_run_doc(days, shocks)), seed=5)
    (maker,) = sim.populations["market_maker"]
    maker.quote = lambda venue, symbol: BOOK
    return maker


def quotes_on(maker, day: int) -> tuple[int, int]:
    maker.on_session_open(day)
    return maker.quotes("EXCH", "ABM")


def test_makers_widen_their_spread_along_the_withdrawals_path():
    # Multiplier 3 ramped over 4 days from day 1: 1 + 2 x (d - 1) / 4 on day d.
    maker = maker_in(withdrawal(1, 0.0, 3.0, **ramp(4)))
    assert quotes_on(maker, 0) == (9_990, 10_010)  # before the shock: the calm 20 ticks
    assert quotes_on(maker, 1) == (9_990, 10_010)  # the ramp starts from nothing
    assert quotes_on(maker, 2) == (9_985, 10_015)  # x 1.5: 30 ticks
    assert quotes_on(maker, 3) == (9_980, 10_020)  # x 2: the half-spread doubled
    assert quotes_on(maker, 5) == (9_970, 10_030)  # x 3 at full size
    maker.withdrawn = True  # one that withdrew but still quotes widens by both
    assert maker.quotes("EXCH", "ABM") == (9_910, 10_090)  # 20 x stress_widen 3 x 3


def test_makers_lean_their_quotes_below_value_along_the_withdrawals_path():
    # A 50 bp lean ramped over 4 days from day 1: 50 x (d - 1) / 4 bp of the 10,000-tick
    # centre on day d, both quotes moved down together, the 20-tick spread kept.
    shock = withdrawal(1, 0.0, 1.0, **ramp(4))
    maker = maker_in({**shock, "lean_bp": 50.0})
    assert quotes_on(maker, 0) == (9_990, 10_010)
    assert quotes_on(maker, 1) == (9_990, 10_010)
    assert quotes_on(maker, 3) == (9_965, 9_985)  # 25 bp: 25 ticks down
    assert quotes_on(maker, 5) == (9_940, 9_960)  # 50 bp at full size


def test_at_multiplier_one_a_withdrawal_leaves_the_quotes_alone():
    calm = maker_in()
    shocked = maker_in({"kind": "liquidity_withdrawal", "day": 1, "fraction": 0.5})
    for day in range(3):
        assert quotes_on(shocked, day) == quotes_on(calm, day) == (9_990, 10_010)


def test_a_shock_at_a_time_counts_from_then_not_from_the_open():
    doc = small_run_doc(2, ({**panic(1, 0.5), "at": "10:00"},))
    sim = Simulation(scenario_from_dict(doc))
    (retail,) = sim.populations["retail"]
    strikes = sim.calendar.at(1, dt.time(10, 0))
    seen = []
    for t in (sim.calendar.session(1)[0], strikes - 1, strikes + 1):
        sim.call_at(t, lambda: seen.append((sim.shock_level(PanicShock, 1), retail.panic)))
    sim.run(out=None)
    assert seen == [(0.0, 0.0), (0.0, 0.0), (0.5, 0.5)]


# --- retail and value investors: participation ---------------------------------------------------


@pytest.mark.parametrize("kind", ["retail", "value"])
def test_investors_staying_away_stretch_the_gaps_between_arrivals(kind):
    doc = small_run_doc(3, (participation(1, 0.5), participation(2, 0.75)))
    sim = Simulation(scenario_from_dict(doc))
    agent = sim.populations[kind][0]
    gaps = []
    agent.wake_in = gaps.append
    for day in range(3):
        agent.on_session_open(day)
        draws = copy.deepcopy(agent.draws)
        agent._schedule_next()
        mean = agent._mean_gap if kind == "retail" else agent.params.arrival_interval_seconds
        calm = draws.exponential(mean) * NS_PER_SECOND
        assert gaps[-1] == int(calm / (1.0, 0.5, 0.25)[day]), day


# --- SIP investors: the redemption wave ---------------------------------------------------------


def test_a_redemption_wave_multiplies_the_exit_hazard_along_its_path():
    # h = 2 exits a year; a panic of 0.5 from day 1 at stress multiplier 5 (x 3.5), and a wave
    # of multiplier 5 ramped over 4 days from day 1 (x 1 + 4 (d - 1) / 4 on day d). Hazard
    # multiples on days 0..5: 1, 3.5 x 1, 3.5 x 2, 3.5 x 3, 3.5 x 4, 3.5 x 5.
    multiples = [1.0, 3.5, 7.0, 10.5, 14.0, 17.5]
    doc = small_doc(days=6, shocks=(panic(1, 0.5), redemption_wave(1, 5.0, **ramp(4))))
    doc["sip"] = {"investors": 20_000, "exit_hazard_per_year": 2.0, "stress_multiplier": 5.0}
    sim = Simulation(scenario_from_dict(doc))
    (cohort,) = sim.populations["sip"]
    fair = np.full(len(cohort.bonds), 10_000.0)
    # Day 3: 2 x 10.5 / 252 = 1/12 of an exit per investor, a chance of 1 - e^(-1/12).
    chances = [-math.expm1(-2.0 * m / 252) for m in multiples]
    assert chances[3] == pytest.approx(0.0799555854, abs=1e-10)
    for day, chance in enumerate(chances):
        # The cohort draws one uniform per investor a day: the same draws, at the chance worked
        # out by hand, pick exactly the investors who leave.
        draws = copy.deepcopy(cohort.agent_rng).random(len(cohort.units))
        expected = np.flatnonzero((draws < chance) & cohort.active)
        cohort.draw_exits(day, fair)
        assert np.array_equal(np.flatnonzero(cohort.exit_day == day), expected), day
        assert len(expected) > 0


# --- the repo desk: haircut stress --------------------------------------------------------------


def haircuts(shocks: tuple, days: int = 4) -> list[int]:
    """The desk's haircut (bp) on the A-rated bond (10% calm, x 2 at panic 1) each day."""
    _, lender, _ = small_sim(days=days, shocks=shocks)
    return [lender.desk.haircut("BOND", day) for day in range(days)]


def test_haircuts_of_the_named_grades_rise_along_the_path():
    # +20 points ramped over 2 days from day 1: +10 on day 2, +20 from day 3.
    assert haircuts((repo_haircut(1, {"A": 20}, **ramp(2)),)) == [1_000, 1_000, 2_000, 3_000]
    # With a panic of 0.5 from day 2: 10% x 1.5 + the points added.
    both = (repo_haircut(1, {"A": 20}, **ramp(2)), panic(2, 0.5))
    assert haircuts(both) == [1_000, 1_000, 2_500, 3_500]


def test_haircut_stress_leaves_other_grades_alone_is_capped_and_takes_the_largest():
    assert haircuts((repo_haircut(1, {"AAA": 30, "BBB": 50}),)) == [1_000] * 4
    assert haircuts((repo_haircut(1, {"A": 85}),)) == [1_000, 9_000, 9_000, 9_000]  # max 90%
    several = (repo_haircut(1, {"A": 20}), repo_haircut(2, {"A": 30, "BIG": 60}))
    assert haircuts(several) == [1_000, 3_000, 4_000, 4_000]


def test_the_days_haircut_sets_the_margin_call_to_the_paisa():
    shocks = (repo_haircut(1, {"A": 20}, **ramp(2)), panic(2, 0.5))
    sim, lender, borrower = small_sim(days=3, shocks=shocks)
    repo = open_repo(sim, lender, borrower)  # 100 units at 1,000 rupees, 90,000 lent at 10%
    lender.review(repo, 1)  # the ramp starts from nothing: 10% still, no call
    assert (repo.haircut, lender.desk.totals["margin_calls"]) == (1_000, 0)
    lender.review(repo, 2)
    # At 25%: 9,000,000 / 0.75 = 12,000,000 paise required against 10,000,000 of collateral.
    assert repo.haircut == 2_500
    assert lender.desk.totals["margin_call_paise"] == 2_000_000
    assert repo.cash_margin == 2_000_000 and borrower.free_cash() == 7_000_000


# --- a run: nothing changes before the shock's day ---------------------------------------------

POPULATIONS = """
[sip]
investors = 2000
exit_hazard_per_year = 20
sip_interval_days = 1

[repo]
count = 3
lenders = 1
units = 100
"""
SHOCKS = {
    "liquidity_withdrawal": withdrawal(1, 0.0, 2.0),
    "participation": participation(1, 0.8),
    "redemption_wave": redemption_wave(1, 10.0),
    "repo_haircut": repo_haircut(1, {"BIG": 30}),  # ABM is unrated: BIG, 40% calm
}
TABLES = ("orders", "trades", "quotes", "book", "transfers", "fair_values")


def run(*shocks: dict):
    sim = Simulation(scenario_from_dict(small_run_doc(2, shocks, POPULATIONS)), seed=3)
    return sim, sim.run(out=None)


@pytest.fixture(scope="module")
def calm_run():
    return run()


def metric(result, kind: str, column: str) -> float:
    return result.agents.filter(pl.col("kind") == kind)[column].sum()


# Two 1-hour days with a maker, SIP investors and a repo desk: the least that shows each kind's
# day against an otherwise identical run (under half a second a run).
@pytest.mark.parametrize("kind", sorted(SHOCKS))
def test_a_run_is_unchanged_before_the_shocks_day_and_moves_on_it(kind, calm_run):
    calm_sim, calm = calm_run
    sim, shocked = run(SHOCKS[kind])
    runs = (calm, shocked)
    day_one = sim.calendar.session(1)[0]
    for table in TABLES:
        before, again = (r.frame(table).filter(pl.col("time") < day_one) for r in (calm, shocked))
        assert before.height > 0, table
        assert again.equals(before), table
    if kind == "liquidity_withdrawal":  # every quote of day 1 twice as wide as it would be
        spread = metric(shocked, "market_maker", "mean_quoted_spread_ticks")
        assert spread / metric(calm, "market_maker", "mean_quoted_spread_ticks") > 1.3
    elif kind == "participation":  # a fifth of the retail arrivals on day 1
        ids = calm.agents.filter(pl.col("kind") == "retail")["agent"].implode()
        day_1 = (pl.col("time") >= day_one) & pl.col("agent").is_in(ids)
        sent = [r.orders.filter(day_1).height for r in runs]
        assert sent[1] < 0.5 * sent[0]
    elif kind == "redemption_wave":  # 10 times the hazard on day 1
        exits = [
            int((c.exit_day == 1).sum()) for s in (calm_sim, sim) for c in s.populations["sip"]
        ]
        assert exits[1] > 5 * exits[0] > 0
    else:
        calls = [r.metrics["repo"]["margin_call_paise"] for r in (calm, shocked)]
        assert calls[1] > calls[0]
