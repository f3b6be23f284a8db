"""Arbitrageurs: the cross-venue and fair-value rules by hand, then in a simulation."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from agents import arbitrage, repo
from agents.arbitrage import (
    ArbitrageParams,
    Arbitrageur,
    cross_venue_opportunity,
    fair_value_opportunity,
)
from sim.engine.access import MarketAccess
from sim.engine.kernel import Simulation
from sim.engine.latency import FixedLatency
from sim.engine.participant import Participant
from sim.market.messages import Quote
from sim.scenario.model import scenario_from_dict
from sim.scenario.registry import agent_kinds, register

for kind in (arbitrage.KIND, repo.KIND):
    if kind.name not in agent_kinds():
        register(kind)

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "repo_arb_demo.toml"

RATES = {"A": 100, "B": 150}  # taker fees in millionths: 1 bp and 1.5 bp


# --- the rules on hand-built quotes -----------------------------------------------------------


def test_cross_profitable_after_fees():
    # Bid 100.10 on A over ask 99.90 on B: 20 ticks gross; fees 10010e-4 + 9990 x 1.5e-4
    # = 1.001 + 1.4985 = 2.4995 ticks, so 17.5 ticks net, above a 1-tick minimum.
    quotes = {"A": Quote(0, 10_010, 40, 10_020, 10), "B": Quote(0, 9_980, 10, 9_990, 70)}
    opportunity = cross_venue_opportunity(quotes, RATES, min_edge_ticks=1)
    assert opportunity.kind == "cross"
    assert opportunity.orders == (
        arbitrage.Order("B", 1, 40, 9_990),
        arbitrage.Order("A", -1, 40, 10_010),
    )
    assert opportunity.reference == 10_000


def test_cross_not_profitable_after_fees():
    # 3 ticks gross, 2.5 ticks of fees, and 1 tick of minimum edge: no trade.
    quotes = {"A": Quote(0, 10_003, 40, 10_020, 10), "B": Quote(0, 9_980, 10, 10_000, 70)}
    assert cross_venue_opportunity(quotes, RATES, min_edge_ticks=1) is None
    # Without the minimum edge the same cross is worth 0.5 tick net, and is taken.
    assert cross_venue_opportunity(quotes, RATES, min_edge_ticks=0) is not None


def test_cross_needs_two_venues_and_both_sides():
    crossed = {"A": Quote(0, 10_010, 5, 9_990, 5)}  # one venue cannot cross itself here
    assert cross_venue_opportunity(crossed, RATES, 0) is None
    one_sided = {"A": Quote(0, 10_010, 5, None, 0), "B": Quote(0, 9_900, 5, None, 0)}
    assert cross_venue_opportunity(one_sided, RATES, 0) is None


def test_cross_picks_the_widest_pair():
    quotes = {
        "A": Quote(0, 10_010, 5, 10_030, 5),
        "B": Quote(0, 9_970, 5, 9_990, 5),
        "C": Quote(0, 9_960, 5, 9_980, 5),
    }
    opportunity = cross_venue_opportunity(quotes, {**RATES, "C": 100}, 1)
    assert [(o.venue, o.price) for o in opportunity.orders] == [("C", 9_980), ("A", 10_010)]


def test_fair_value_rule():
    fundamental = 10_000.0
    # Ask 99.50 costs 9950 x 1.0001 = 9950.995 ticks, 49 below: buy at 30 ticks' threshold.
    cheap = Quote(0, 9_940, 5, 9_950, 8)
    assert fair_value_opportunity("A", cheap, fundamental, 100, 30).orders == (
        arbitrage.Order("A", 1, 8, 9_950),
    )
    rich = Quote(0, 10_040, 6, 10_050, 8)
    assert fair_value_opportunity("A", rich, fundamental, 100, 30).orders == (
        arbitrage.Order("A", -1, 6, 10_040),
    )
    # 30.5 ticks below before the fee, 29.5 after it: inside the threshold.
    assert fair_value_opportunity("A", Quote(0, None, 0, 9_969, 5), 9_999.5, 100, 30) is None
    assert fair_value_opportunity("A", Quote(0, 9_990, 5, 10_010, 5), fundamental, 0, 30) is None


def test_params_validation():
    with pytest.raises(ValueError, match="fv_threshold_ticks"):
        ArbitrageParams(fv_threshold_ticks=0)
    with pytest.raises(ValueError, match="max_order_qty"):
        ArbitrageParams(max_order_qty=0)
    with pytest.raises(ValueError, match="min_edge_tick"):
        ArbitrageParams(min_edge_tick=2)  # misspelt


# --- in a simulation: two venues, one bond, resting quotes from a helper ------------------------


class Quoter(Participant):
    """Rests the given (venue, side, qty, price) orders at the first open."""

    kind = "quoter"

    def __init__(self, market, orders) -> None:
        super().__init__(market, np.random.default_rng(0), FixedLatency(0))
        self.orders = orders

    def on_start(self) -> None:
        for venue, side, qty, price in self.orders:
            self.submit(venue, "BOND", side, qty, price)


def two_venue_sim(orders, **arbitrage_params) -> Simulation:
    venue = {"settlement_lag_days": 0, "latency": {"base_us": 50, "jitter_us": 0}}
    scenario = scenario_from_dict(
        {
            "run": {"name": "arb", "seed": 3},
            "calendar": {"start": date(2024, 1, 2), "days": 1, "open": "09:30", "close": "09:40"},
            "instruments": [
                {"symbol": "BOND", "unit_face_value": 1000, "reference_price": "100.00"}
            ],
            "venues": [
                {"name": "A", **venue, "fees": {"taker_bps": 1}},
                {"name": "B", **venue, "fees": {"taker_bps": 1.5}},
            ],
            "fundamentals": {"kind": "mean_reverting", "sigma_s": 0.0},
            "arbitrage": {"count": 1, "units": 100, **arbitrage_params},
        }
    )
    sim = Simulation(scenario)
    quoter = Quoter(MarketAccess(sim), orders)
    sim.open_account(quoter, cash=10**10, units={"BOND": 1_000})
    return sim


def run(sim, tmp_path):
    return sim.run(out=tmp_path, run_id="arb")


def test_takes_a_profitable_cross_on_both_venues(tmp_path):
    sim = two_venue_sim([("A", 1, 50, 10_010), ("B", -1, 80, 9_990)], fair_value=False)
    result = run(sim, tmp_path)
    (arb,) = sim.populations["arbitrage"]
    assert (arb.seen["cross"], arb.taken["cross"]) == (1, 1)
    # Bought 50 at 99.90 on B and sold 50 at 100.10 on A: 20 ticks x 50 x 10 paise, less
    # taker fees of 749 (4,995,000 x 1.5 bp) and 500 (5,005,000 x 1 bp) paise.
    assert arb.edge["cross"] == 10_000 - 749 - 500
    assert arb.inventory == {"BOND": 100}
    assert sim.ledger.account(arb.account).position("BOND") == 100
    metrics = result.metrics["arbitrage"]
    assert metrics["realised_edge_paise"] == 8_751
    assert metrics["opportunities_taken"] == 1 and metrics["units_traded"] == 100
    assert result.metrics["ledger"]["conserved"]


def test_ignores_a_cross_that_fees_eat(tmp_path):
    sim = two_venue_sim([("A", 1, 50, 10_002), ("B", -1, 80, 10_000)], fair_value=False)
    result = run(sim, tmp_path)
    (arb,) = sim.populations["arbitrage"]
    assert arb.seen["cross"] == 0 and arb.fills == 0
    assert result.metrics["arbitrage"]["opportunities_seen"] == 0


def test_never_sells_short(tmp_path):
    sim = two_venue_sim([("A", 1, 50, 10_010), ("B", -1, 80, 9_990)], units=0, fair_value=False)
    run(sim, tmp_path)
    (arb,) = sim.populations["arbitrage"]
    assert (arb.seen["cross"], arb.taken["cross"], arb.fills) == (1, 0, 0)


def test_buys_below_the_fundamental(tmp_path):
    sim = two_venue_sim([("A", -1, 30, 9_950)], cross_venue=False, fv_threshold_ticks=30)
    run(sim, tmp_path)
    (arb,) = sim.populations["arbitrage"]
    assert arb.taken["fair_value"] == 1
    # 50 ticks under a flat 100.00 on 30 units, less the 1 bp fee on 2,985,000 paise.
    assert arb.edge["fair_value"] == 50 * 30 * 10 - 298
    assert arb.inventory == {"BOND": 130}


def test_the_faster_arbitrageur_captures_the_cross(tmp_path):
    sim = two_venue_sim([("A", 1, 50, 10_010), ("B", -1, 50, 9_990)], fair_value=False)
    params = ArbitrageParams(units=100, latency_us=5_000, fair_value=False)
    slow = Arbitrageur(MarketAccess(sim), params, np.random.default_rng(1))
    sim.open_account(slow, cash=10**9, units={"BOND": 100})
    run(sim, tmp_path)
    (fast,) = sim.populations["arbitrage"]
    assert fast.taken["cross"] == 1 and fast.edge["cross"] > 0
    # The slow one saw the same cross and fired, but the liquidity was gone on arrival.
    assert slow.taken["cross"] == 1 and slow.fills == 0 and slow.edge["cross"] == 0


def test_trades_when_venues_diverge_in_the_demo_scenario(tmp_path):
    doc = tomllib.loads(DEMO.read_text())
    del doc["shocks"]  # a calm day: divergence comes from the two books' own flow
    scenario = scenario_from_dict(
        doc, str(DEMO), overrides=["calendar.days=1", "retail.count=200", "repo.count=0"]
    )
    result = Simulation(scenario).run(out=tmp_path, run_id="demo")
    metrics = result.metrics["arbitrage"]
    assert metrics["cross_taken"] > 0 and metrics["cross_realised_edge_paise"] > 0
    assert metrics["opportunities_taken"] <= metrics["opportunities_seen"]
    row = result.agents.filter(result.agents["kind"] == "arbitrage")
    assert row["arb_units_traded"][0] == metrics["units_traded"] > 0
    assert result.metrics["ledger"]["conserved"]
