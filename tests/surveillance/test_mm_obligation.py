"""Market makers' obligation breaches on hand-made records: the maker's own quotes rebuilt from
its orders and fills, a period with a side missing, a spread too wide or a side too small for
longer than the minimum is a breach of its tier's obligations; a quote taken and restored at
the next requote is not. Obligations come from the run's resolved scenario."""

from __future__ import annotations

import polars as pl
import pytest

from sim.analytics.surveillance import SurveillanceParams, with_obligations
from sim.analytics.surveillance.activity import prepare
from sim.analytics.surveillance.mm_obligation import compliance_by_tier
from tests.surveillance.tape import CLOSE, OPEN, S, Tape, agents, at, surveilled

MAKER = 2
SCENARIO = {
    "market_maker": {"tier": "gold", "max_spread_ticks": 20, "min_size": 50, "quote_size": 50},
    "value": {"count": 4},
}
AGENTS = with_obligations(agents((MAKER, "market_maker")), SCENARIO)
SESSION_MINUTES = (CLOSE - OPEN) / 60e9


def quoting() -> tuple[Tape, int, int]:
    """The maker quotes 99.95 / 100.05, 50 units a side, from 09:15:05: (tape, bid, ask)."""
    tape = Tape()
    tape.background()
    bid = tape.new(OPEN + 5 * S, MAKER, 1, 50, 9_995)
    ask = tape.new(OPEN + 5 * S, MAKER, -1, 50, 10_005)
    return tape, bid, ask


def taken(tape: Tape, ask: int, time: int, qty: int) -> None:
    """Someone buys `qty` of the maker's ask."""
    buyer = tape.new(time, 103, 1, qty, 10_005, type="ioc", tif="IOC", status="filled")
    tape.trade(time, maker=(MAKER, ask), taker=(103, buyer), aggressor=1, price=10_005, qty=qty)


def test_a_maker_that_keeps_its_quotes_has_no_breach():
    tape, *_ = quoting()
    assert surveilled(tape, "mm_obligation", AGENTS).is_empty()


def test_half_an_hour_without_an_ask_is_a_breach():
    tape, bid, ask = quoting()
    tape.cancel(at(11, 0), MAKER, ask)
    tape.new(at(11, 30), MAKER, -1, 50, 10_005)
    alerts = surveilled(tape, "mm_obligation", AGENTS)
    assert alerts.height == 1
    alert = alerts.row(0, named=True)
    assert (alert["agent"], alert["venue"], alert["instrument"]) == (MAKER, "NSE", "BOND")
    assert alert["start"] == at(11, 0) and alert["end"] == at(11, 30)
    assert alert["order_ids"] == [bid]  # the quote it kept
    assert alert["score"] == pytest.approx(30 / SESSION_MINUTES)
    assert alert["evidence"].startswith("tier gold (spread at most 20 ticks, at least 50 units")
    assert "a side missing 30.0 min" in alert["evidence"]


def test_twenty_minutes_of_a_spread_too_wide_is_a_breach():
    tape, bid, ask = quoting()
    tape.modify(at(12, 0), MAKER, ask, 50, 10_030)
    tape.modify(at(12, 20), MAKER, ask, 50, 10_005)
    alerts = surveilled(tape, "mm_obligation", AGENTS)
    assert alerts.select("start", "end").rows() == [(at(12, 0), at(12, 20))]
    assert alerts["order_ids"].to_list() == [[bid, ask]]
    assert "spread too wide 20.0 min (widest 35 ticks)" in alerts["evidence"][0]


def test_a_side_filled_down_below_the_minimum_is_a_breach_until_restored():
    tape, _, ask = quoting()
    taken(tape, ask, at(13, 0), 30)  # 20 units left
    tape.modify(at(13, 10), MAKER, ask, 50, 10_005)
    alerts = surveilled(tape, "mm_obligation", AGENTS)
    assert alerts.select("start", "end").rows() == [(at(13, 0), at(13, 10))]
    assert "too small 10.0 min (smallest 20 units)" in alerts["evidence"][0]


def test_a_quote_taken_and_restored_at_the_next_requote_is_not_a_breach():
    tape, _, ask = quoting()
    taken(tape, ask, at(13, 0), 50)
    tape.new(at(13, 0, 30), MAKER, -1, 50, 10_005)
    assert surveilled(tape, "mm_obligation", AGENTS).is_empty()
    found = surveilled(tape, "mm_obligation", AGENTS, obligation_min_breach_seconds=10)
    assert found.select("start", "end").rows() == [(at(13, 0), at(13, 0, 30))]


def test_only_makers_with_obligations_are_checked():
    tape = Tape()
    tape.background()  # value investors' orders come and go: they owe no quotes
    assert surveilled(tape, "mm_obligation", AGENTS).is_empty()
    tape, _, ask = quoting()
    tape.cancel(at(11, 0), MAKER, ask)
    assert surveilled(tape, "mm_obligation", agents((MAKER, "market_maker"))).is_empty()


def test_obligations_are_read_from_the_scenario_by_population():
    table = agents((MAKER, "market_maker"), (3, "wide"))
    table = table.with_columns(
        kind=pl.when(pl.col("agent") == 3).then(pl.lit("market_maker")).otherwise("kind")
    )
    scenario = {**SCENARIO, "wide": {"tier": None, "max_spread_ticks": 60, "min_size": 10}}
    read = with_obligations(table, scenario).filter(pl.col("kind") == "market_maker")
    assert read.select("agent", "tier", "max_spread_ticks", "min_size").rows() == [
        (MAKER, "gold", 20, 50),
        (3, "none", 60, 10),
    ]
    others = with_obligations(table, scenario).filter(pl.col("kind") != "market_maker")
    assert others["max_spread_ticks"].null_count() == others.height


def test_compliance_sums_the_breaches_per_tier():
    tape, _, ask = quoting()
    tape.cancel(at(11, 0), MAKER, ask)
    tape.new(at(11, 30), MAKER, -1, 50, 10_005)
    activity = prepare(*tape.frames(), AGENTS)
    table = compliance_by_tier(activity, SurveillanceParams())
    assert table.rows(named=True) == [{
        "tier": "gold", "makers": 1, "books": 1,
        "session_hours": pytest.approx(SESSION_MINUTES / 60), "breach_periods": 1,
        "breach_hours": pytest.approx(0.5), "breach_share": pytest.approx(30 / SESSION_MINUTES),
    }]  # fmt: skip
