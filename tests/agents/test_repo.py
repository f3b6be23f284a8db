"""Repo lending: margin-call arithmetic by hand, calls met and unmet, thresholds to the paisa,
stress, conservation."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from agents import arbitrage, repo
from agents.common import grade
from agents.repo import (
    RepoParams,
    haircut_bp,
    max_loan,
    required_value,
    shortfall,
    units_to_sell,
)
from sim.engine.access import MarketAccess
from sim.engine.kernel import Simulation
from sim.engine.latency import FixedLatency
from sim.engine.participant import Participant
from sim.scenario.model import ScenarioError, scenario_from_dict
from sim.scenario.registry import agent_kinds, register

for kind in (arbitrage.KIND, repo.KIND):
    if kind.name not in agent_kinds():
        register(kind)

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "repo_arb_demo.toml"
UNIT = 100_000  # paise per unit at 100.00: 10,000 ticks x 10 paise


# --- the arithmetic by hand ---------------------------------------------------------------------


def test_margin_call_arithmetic_by_hand():
    # 100 units marked at 98.00 (98,000 paise each) against a loan of 90,000 rupees at a 10%
    # haircut: required 9,000,000 / 0.9 = 10,000,000 paise, value 9,800,000, call 200,000.
    loan, value, haircut = 9_000_000, 100 * 98_000, 1_000
    assert required_value(loan, haircut) == 10_000_000
    assert shortfall(loan, value, haircut) == 200_000
    assert max_loan(10_000_000, haircut) == 9_000_000
    # A sale of q units repays q x 98,000 and frees q x 98,000 x 0.9 of requirement... the call
    # is cured when 0.1 x 98,000 x q >= 0.9 x 200,000, so q = ceil(18.37) = 19 units.
    assert units_to_sell(200_000, haircut, 98_000, 100) == 19
    for q, cured in ((18, False), (19, True)):
        after = shortfall(loan - q * 98_000, (100 - q) * 98_000, haircut)
        assert (after == 0) is cured
    assert units_to_sell(200_000, haircut, 98_000, 10) == 10  # at most what is pledged
    assert units_to_sell(200_000, 0, 98_000, 100) == 100  # no haircut: a sale cannot cure


def test_no_call_when_collateral_suffices():
    assert shortfall(9_000_000, 10_000_000, 1_000) == 0
    assert shortfall(9_000_000, 12_000_000, 1_000) == 0
    assert units_to_sell(0, 1_000, 98_000, 100) == 0
    # Whole paise: the requirement rounds up, the loan a value supports rounds down.
    assert required_value(1, 3_333) == 2 and max_loan(1, 3_333) == 0


def test_haircut_grades_and_stress_scaling():
    assert [grade(r) for r in ("AAA", "AA+", "AA-", "A+", "BBB-", "BIG", None)] == [
        "AAA", "AA", "AA", "A", "BBB", "BIG", "BIG"
    ]  # fmt: skip
    assert haircut_bp(0.10, 0.0, 2.0, 0.9) == 1_000
    assert haircut_bp(0.10, 0.5, 2.0, 0.9) == 1_500
    assert haircut_bp(0.10, 1.0, 2.0, 0.9) == 2_000
    assert haircut_bp(0.40, 1.0, 3.0, 0.9) == 9_000  # capped


def test_params_validation():
    with pytest.raises(ValidationError, match="needs exactly the grades"):
        RepoParams(haircuts={"AAA": 0.02})
    full = {"AAA": 0.02, "AA": 0.05, "A": 0.1, "BBB": 0.2, "BIG": 1.0}
    with pytest.raises(ValidationError, match=r"haircut of BIG must be in \[0, 1\)"):
        RepoParams(haircuts=full)
    with pytest.raises(ValidationError, match="max_haircut"):
        RepoParams(max_haircut=0.3)
    with pytest.raises(ValidationError, match="haircut_multiplier_in_stress"):
        RepoParams(haircut_multiplier_in_stress=0.5)
    with pytest.raises(ValidationError, match="term_days"):
        RepoParams(term_days=0)
    with pytest.raises(ScenarioError, match=r"repo\.haircuts: .*needs exactly the grades"):
        scenario_from_dict({**small_doc(), "repo": {"haircuts": {"AAA": 0.1}}}, "s.toml")


# --- one lender, one borrower, one bond ---------------------------------------------------------


def small_doc(
    days: int = 1, shocks: tuple = (), unit_face_value: int = 1000, **repo_params
) -> dict:
    return {
        "run": {"name": "repo", "seed": 2},
        "calendar": {"start": date(2024, 1, 2), "days": days, "open": "09:30", "close": "10:30"},
        "instruments": [
            {
                "symbol": "BOND",
                "unit_face_value": unit_face_value,
                "reference_price": "100.00",
                "rating": "A",
            }
        ],
        "venues": [
            {
                "name": "X",
                "settlement_lag_days": 0,
                "fees": {"taker_bps": 0, "tiers": dict.fromkeys(("bronze", "gold"), 0)},
            }
        ],
        "fundamentals": {"kind": "mean_reverting"},
        "shocks": list(shocks),
        "repo": {
            "count": 1,
            "lenders": 1,
            "cash_rupees": 0,
            "units": 100,
            "lender_cash_rupees": 1_000_000,
            "invest_fraction": 0,
            **repo_params,
        },
    }


def small_sim(**kwargs):
    sim = Simulation(scenario_from_dict(small_doc(**kwargs)))
    lender, borrower = sim.populations["repo"]
    return sim, lender, borrower


def value_at(sim, ticks: int) -> None:
    """Pin the bond's published valuation at `ticks` (it has no coupon terms, so no accrued
    interest): a unit of collateral is then worth `ticks` times the tick value, or the best bid
    where that is lower."""
    tick_value = sim.instruments["BOND"].tick_value
    sim.unit_value = lambda symbol: ticks * tick_value
    sim.published_fair_value = lambda symbol: float(ticks)


def open_repo(sim, lender, borrower):
    """A repo of the borrower's 100 units at 100.00 and 10%: a loan of 90,000 rupees."""
    value_at(sim, 10_000)
    return lender.desk.open_repo(borrower, 100, day=0)


def test_opening_moves_cash_and_collateral():
    sim, lender, borrower = small_sim()
    r = open_repo(sim, lender, borrower)
    assert (r.units, r.loan, r.haircut) == (100, 9_000_000, 1_000)
    assert borrower.free_cash() == 9_000_000 and borrower.position("BOND") == 0
    assert lender.position("BOND") == 100
    assert lender.free_cash() == 100_000_000 - 9_000_000
    assert sim.ledger.check().ok


def test_no_margin_call_when_the_mark_holds():
    sim, lender, borrower = small_sim()
    r = open_repo(sim, lender, borrower)
    lender.review(r, 0)
    value_at(sim, 10_200)  # up: still no call
    lender.review(r, 0)
    assert lender.desk.totals["margin_calls"] == 0 and r.cash_margin == 0


def test_call_met_with_cash():
    sim, lender, borrower = small_sim()
    r = open_repo(sim, lender, borrower)
    value_at(sim, 9_800)
    lender.review(r, 0)
    totals = lender.desk.totals
    assert (totals["margin_calls"], totals["margin_call_paise"]) == (1, 200_000)
    assert r.cash_margin == 200_000 and borrower.free_cash() == 8_800_000
    assert shortfall(r.loan, r.value(98_000), r.haircut) == 0
    assert sim.ledger.check().ok


def test_call_met_with_units_when_cash_runs_out():
    sim, lender, borrower = small_sim()
    r = open_repo(sim, lender, borrower)
    sim.ledger.withdraw(borrower.account, 9_000_000 - 50_000)  # spent: 50,000 paise left
    sim.ledger.issue_units(borrower.account, "BOND", 10)
    value_at(sim, 9_800)
    lender.review(r, 0)
    # 50,000 in cash, then ceil(150,000 / 98,000) = 2 units for the rest.
    assert (r.cash_margin, r.units) == (50_000, 102)
    assert lender.desk.totals["calls_met_units"] == 2 and lender.desk.totals["calls_unmet"] == 0
    assert lender.position("BOND") == 102 and borrower.position("BOND") == 8


class Bidder(Participant):
    """Rests one bid at the first open."""

    kind = "bidder"

    def __init__(self, market, qty: int, price: int) -> None:
        super().__init__(market, np.random.default_rng(0), FixedLatency(0))
        self.qty, self.price = qty, price

    def on_start(self) -> None:
        self.submit("X", "BOND", 1, self.qty, self.price)


def test_unmet_call_forces_a_sale_into_the_book(tmp_path):
    sim, lender, borrower = small_sim()
    r = open_repo(sim, lender, borrower)
    sim.ledger.withdraw(borrower.account, 9_000_000)  # the borrower has nothing left
    bidder = Bidder(MarketAccess(sim), 100, 9_800)
    sim.open_account(bidder, cash=10**9)
    value_at(sim, 9_800)
    result = sim.run(out=tmp_path, run_id="forced")
    # The hand computation above: 19 units sold at 98.00 cure the 200,000-paise call.
    assert lender.forced_sale_units == 19 and bidder.position("BOND") == 19
    assert (r.units, r.loan) == (81, 9_000_000 - 19 * 98_000)
    assert shortfall(r.loan, r.value(98_000), r.haircut) == 0
    assert lender.position("BOND") == 81
    metrics = result.metrics["repo"]
    assert metrics["calls_unmet"] == 1 and metrics["forced_sale_units"] == 19
    assert metrics["forced_sale_paise"] == 19 * 98_000 and metrics["repos_open"] == 1
    assert result.metrics["ledger"]["conserved"]


def test_haircut_rises_in_stress():
    panic = {"kind": "panic", "day": 1, "intensity": 1.0}
    sim, lender, borrower = small_sim(days=2, shocks=(panic,))
    assert lender.desk.haircut("BOND", 0) == 1_000
    assert lender.desk.haircut("BOND", 1) == 2_000  # A: 10% doubled at full panic
    r = open_repo(sim, lender, borrower)
    lender.review(r, 1)  # the same mark, a stressed haircut: 9,000,000 / 0.8 - 10,000,000
    assert lender.desk.totals["margin_call_paise"] == 1_250_000
    sim, lender, _ = small_sim(days=2, shocks=(panic,), haircut_multiplier_in_stress=20.0)
    assert lender.desk.haircut("BOND", 1) == 9_000  # capped at max_haircut


def test_maturity_repays_or_rolls():
    sim, lender, borrower = small_sim(days=2, term_days=1, rolls=False)
    r = open_repo(sim, lender, borrower)
    lender.review(r, 1)
    assert lender.desk.repos == [] and lender.desk.totals["repos_closed"] == 1
    assert borrower.position("BOND") == 100 and borrower.free_cash() == 0
    assert lender.free_cash() == 100_000_000 and lender.position("BOND") == 0
    sim, lender, borrower = small_sim(days=3, term_days=1)
    r = open_repo(sim, lender, borrower)
    lender.review(r, 1)
    assert r.maturity_day == 2 and lender.desk.totals["repos_rolled"] == 1


def test_unpaid_maturity_sells_collateral_and_returns_the_rest(tmp_path):
    # max_repos=0: the borrower does not pledge again what it gets back.
    sim, lender, borrower = small_sim(days=3, term_days=1, rolls=False, max_repos=0)
    r = open_repo(sim, lender, borrower)
    sim.ledger.withdraw(borrower.account, 9_000_000)
    bidder = Bidder(MarketAccess(sim), 100, 10_000)
    sim.open_account(bidder, cash=10**9)
    result = sim.run(out=tmp_path, run_id="due")
    # Day 1: due and unpaid, so 9,000,000 / 100,000 = 90 units are sold at 100.00, which
    # repays the loan; day 2: the repo closes and the 10 units left go back to the borrower.
    assert r.due and (r.units, r.loan) == (10, 0)
    assert lender.desk.repos == [] and borrower.position("BOND") == 10
    assert lender.position("BOND") == 0 and lender.free_cash() == 100_000_000
    metrics = result.metrics["repo"]
    assert metrics["forced_sale_units"] == 90 and metrics["default_loss_paise"] == 0
    assert result.metrics["ledger"]["conserved"]


# --- thresholds, to the paisa -------------------------------------------------------------------

HAIRCUTS = {"AAA": 0.02, "AA": 0.05, "A": 0.10, "BBB": 0.20, "BIG": 0.40}


def paisa_sim(haircut: float = 0.10, **kwargs):
    """The bond (rated A) on a face of 100 rupees: a tick of 0.01 is worth one paisa a unit, so
    one pledged unit marked at M ticks is worth exactly M paise."""
    return small_sim(unit_face_value=100, haircuts={**HAIRCUTS, "A": haircut}, **kwargs)


# By hand, for one unit opened at a mark of M paise at haircut h:
#   loan     = floor(M x (1 - h))             the most the collateral supports, whole paise
#   required = ceil(loan / (1 - h))           the collateral value that loan needs
# A mark of `required` is exactly enough (no call); one paisa less is a call of one paisa.
THRESHOLDS = [
    # h, M, loan, required
    (0.10, 10_000, 9_000, 10_000),  # 9,000 / 0.9 = 10,000 exactly
    (0.10, 10_002, 9_001, 10_002),  # floor(9,001.8) = 9,001; 9,001 / 0.9 = 10,001.11 -> 10,002
    (0.15, 10_001, 8_500, 10_000),  # floor(8,500.85) = 8,500; 8,500 / 0.85 = 10,000 exactly
    (0.20, 10_003, 8_002, 10_003),  # floor(8,002.4) = 8,002; 8,002 / 0.8 = 10,002.5 -> 10,003
]


@pytest.mark.parametrize(("haircut", "mark", "loan", "required"), THRESHOLDS)
def test_margin_call_fires_one_paisa_short_and_not_before(haircut, mark, loan, required):
    sim, lender, borrower = paisa_sim(haircut)
    value_at(sim, mark)
    r = lender.desk.open_repo(borrower, 1, day=0)
    assert (r.units, r.loan, r.haircut) == (1, loan, round(haircut * 10_000))
    totals = lender.desk.totals
    value_at(sim, required)  # worth exactly what the loan needs
    lender.review(r, 0)
    assert (totals["margin_calls"], lender.margin_calls, r.cash_margin) == (0, 0, 0)
    value_at(sim, required - 1)  # one paisa short
    cash = borrower.free_cash()
    lender.review(r, 0)
    assert (totals["margin_calls"], totals["margin_call_paise"], lender.margin_calls) == (1, 1, 1)
    assert (r.cash_margin, borrower.free_cash(), r.units) == (1, cash - 1, 1)  # met in cash
    lender.review(r, 0)  # the paisa posted makes it exactly enough again
    assert totals["margin_calls"] == 1
    assert sim.ledger.check().ok


def test_one_paisa_call_without_cash_pledges_a_unit():
    sim, lender, borrower = paisa_sim()
    value_at(sim, 10_000)
    r = lender.desk.open_repo(borrower, 1, day=0)
    sim.ledger.withdraw(borrower.account, 9_000)  # spent the loan: no cash left
    value_at(sim, 9_999)
    lender.review(r, 0)
    # a call of 1 paisa; ceil(1 / 9,999) = 1 more unit of the 99 free ones is pledged
    totals = lender.desk.totals
    assert (totals["margin_call_paise"], totals["calls_met_units"], totals["calls_unmet"]) == (
        1, 1, 0,
    )  # fmt: skip
    assert (r.units, r.cash_margin, borrower.position("BOND")) == (2, 0, 98)


@pytest.mark.parametrize(("mark", "sold"), [(10_000, 0), (9_999, 1)])
def test_unmet_one_paisa_call_forces_a_sale(tmp_path, mark, sold):
    # The borrower's only unit is pledged and its cash spent: a call it cannot meet. At 99.99 the
    # call is 1 paisa and curing it needs ceil(0.9 x 1 / (0.1 x 9,999)) = 1 unit sold; at 100.00
    # nothing is called and nothing sold.
    sim, lender, borrower = paisa_sim(units=1)
    value_at(sim, 10_000)
    r = lender.desk.open_repo(borrower, 1, day=0)
    sim.ledger.withdraw(borrower.account, 9_000)
    bidder = Bidder(MarketAccess(sim), 1, 9_999)
    sim.open_account(bidder, cash=10**9)
    value_at(sim, mark)
    result = sim.run(out=tmp_path, run_id="paisa")
    metrics = result.metrics["repo"]
    assert (metrics["margin_call_paise"], metrics["calls_unmet"]) == (sold, sold)
    assert (metrics["forced_sale_units"], lender.forced_sale_units) == (sold, sold)
    assert bidder.position("BOND") == sold and r.units == 1 - sold
    assert result.metrics["ledger"]["conserved"]


@pytest.mark.parametrize(("withdrawn", "repaid"), [(0, True), (1, False)])
def test_maturity_repays_only_with_the_whole_loan_in_cash(withdrawn, repaid):
    # The borrower holds exactly the 9,000,000-paise loan it was lent; one paisa less and it
    # cannot repay, so the repo is due and its collateral is to be sold.
    sim, lender, borrower = small_sim(days=2, term_days=1, rolls=False)
    r = open_repo(sim, lender, borrower)
    if withdrawn:
        sim.ledger.withdraw(borrower.account, withdrawn)
    assert borrower.free_cash() == 9_000_000 - withdrawn
    lender.review(r, 1)
    assert (r not in lender.desk.repos, lender.desk.totals["repos_closed"]) == (repaid, repaid)
    assert r.due is not repaid


def test_forced_sale_is_sized_to_the_exact_cure():
    # 100 units at 90,000 paise (90.00 on a face of 1,000), a 10% haircut. A loan of 8,109,000
    # needs 8,109,000 / 0.9 = 9,010,000: a call of 10,000, cured by q units when
    # 0.1 x 90,000 x q >= 0.9 x 10,000, i.e. exactly q = 1. After it the loan is 8,019,000,
    # needing 8,910,000 = 99 x 90,000: nothing left to call.
    assert shortfall(8_109_000, 9_000_000, 1_000) == 10_000
    assert units_to_sell(10_000, 1_000, 90_000, 100) == 1
    assert shortfall(8_109_000 - 90_000, 99 * 90_000, 1_000) == 0
    # One paisa more of loan needs ceil(9,010,001.11) = 9,010,002: a call of 10,002, and
    # q >= 0.9 x 10,002 / 9,000 = 1.0002, so 2 units; after one sale, ceil(8,910,001.11) =
    # 8,910,002 is still 2 paise above 8,910,000.
    assert shortfall(8_109_001, 9_000_000, 1_000) == 10_002
    assert units_to_sell(10_002, 1_000, 90_000, 100) == 2
    assert shortfall(8_109_001 - 90_000, 99 * 90_000, 1_000) == 2
    assert shortfall(8_109_001 - 2 * 90_000, 98 * 90_000, 1_000) == 0


# --- a short stressed run -----------------------------------------------------------------------


def test_conservation_and_custody_after_a_stressed_run(tmp_path):
    doc = tomllib.loads(DEMO.read_text())
    for shock in doc["shocks"]:
        shock["day"] = 1
    overrides = ["calendar.days=2", "retail.count=200", "arbitrage.count=0"]
    sim = Simulation(scenario_from_dict(doc, str(DEMO), overrides=overrides))
    result = sim.run(out=tmp_path, run_id="stress")
    assert result.metrics["ledger"]["conserved"] and sim.ledger.check().ok
    agents = sim.populations["repo"]
    desk = agents[0].desk
    metrics = result.metrics["repo"]
    assert metrics["repos_open"] == len(desk.repos) > 0
    assert metrics["margin_calls"] > 0
    for lender in desk.lenders:
        for symbol in sim.instruments:
            held = sum(r.units for r in desk.repos if r.lender is lender and r.symbol == symbol)
            assert lender.position(symbol) == held
    rows = result.agents.filter(result.agents["kind"].str.starts_with("repo"))
    assert rows.height == len(agents)
    assert rows["repo_loans_paise"].sum() == 2 * metrics["loans_open_paise"]
    # Lender and borrower claims cancel: the repos only move value between them.
    assert rows["repo_claim_paise"].sum() == 0
