"""The entry point: the alert table's schema (which the regulator's report reads), detectors
chosen by name, validated thresholds, a deterministic order whatever the order of the input
rows, and `surveil_result` over anything shaped like a `sim.Result`."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl
import pytest
from pydantic import ValidationError

from sim.analytics.surveillance import (
    ALERT_COLUMNS,
    DETECTOR_NAMES,
    DETECTORS,
    SurveillanceParams,
    surveil,
    surveil_result,
)
from sim.records.recorder import empty_frame
from tests.surveillance.tape import S, Tape, agents, at

PLANTED = agents((7, "spoofer"), (9, "wash_trader"))


def two_patterns() -> Tape:
    """A spoofing episode at 11:00 (two sells shown, two buys) and a wash trade at 10:00 over
    the honest background."""
    tape = Tape()
    tape.background()
    shown = [tape.new(at(11, 0), 7, -1, 500, price) for price in (10_010, 10_011)]
    tape.take(at(11, 0, 1), 7, 1, 20, 10_002, resting_agent=101)
    tape.take(at(11, 0, 2), 7, 1, 20, 10_003, resting_agent=102)
    for order_id in shown:
        tape.cancel(at(11, 0, 3), 7, order_id)
    resting = tape.new(at(10, 0), 9, -1, 30, 10_001, client=1)
    taker = tape.new(at(10, 0, 1), 9, 1, 30, 10_001, type="ioc", tif="IOC", status="filled",
                     client=2)  # fmt: skip
    tape.trade(at(10, 0, 1), maker=(9, resting), taker=(9, taker), aggressor=1, price=10_001,
               qty=30, maker_client=1, taker_client=2)  # fmt: skip
    return tape


def test_the_alert_columns_are_the_reports():
    assert ALERT_COLUMNS == ("detector", "agent", "client", "venue", "instrument", "start",
                             "end", "score", "order_ids", "trade_ids", "evidence")  # fmt: skip
    assert set(DETECTORS) == set(DETECTOR_NAMES) == {
        "spoofing", "layering", "wash_trade", "marking_the_close", "quote_stuffing",
        "momentum_ignition", "mm_obligation",
    }  # fmt: skip


def test_a_run_without_records_has_no_alerts_and_the_same_columns():
    frames = [empty_frame(name) for name in ("orders", "trades", "quotes")]
    alerts = surveil(*frames, agents())
    assert alerts.is_empty()
    assert alerts.schema == pl.Schema({
        "detector": pl.String, "agent": pl.Int64, "client": pl.String, "venue": pl.String,
        "instrument": pl.String, "start": pl.Int64, "end": pl.Int64, "score": pl.Float64,
        "order_ids": pl.List(pl.Int64), "trade_ids": pl.List(pl.Int64), "evidence": pl.String,
    })  # fmt: skip


def test_alerts_are_sorted_by_start_and_do_not_depend_on_the_rows_order():
    orders, trades, quotes = two_patterns().frames()
    alerts = surveil(orders, trades, quotes, PLANTED)
    assert alerts["detector"].to_list() == ["wash_trade", "spoofing"]  # 10:00, then 11:00
    assert [len(ids) for ids in alerts["trade_ids"]] == [1, 2]
    reversed_rows = surveil(orders.reverse(), trades.reverse(), quotes.reverse(), PLANTED)
    assert reversed_rows.equals(alerts)
    shuffled = surveil(
        orders.sample(fraction=1.0, shuffle=True, seed=3),
        trades.sample(fraction=1.0, shuffle=True, seed=4),
        quotes.sample(fraction=1.0, shuffle=True, seed=5),
        PLANTED,
    )
    assert shuffled.equals(alerts)


def test_only_the_detectors_asked_for_run():
    orders, trades, quotes = two_patterns().frames()
    only = SurveillanceParams(detectors=("wash_trade",))
    assert surveil(orders, trades, quotes, PLANTED, params=only)["detector"].to_list() == [
        "wash_trade"
    ]


def test_instruments_give_evidence_its_prices():
    orders, trades, quotes = two_patterns().frames()
    instruments = pl.DataFrame({"symbol": ["BOND"], "tick_size": ["0.01"]})
    alerts = surveil(orders, trades, quotes, PLANTED, instruments=instruments)
    assert (
        "at 100.10-100.11 placed from"
        in alerts.filter(pl.col("detector") == "spoofing")["evidence"][0]
    )
    assert "10010 ticks" in surveil(orders, trades, quotes, PLANTED)["evidence"][1]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"detectors": ("spoofing", "front_running")}, "detectors"),
        ({"spoof_size_multiple": 0}, "spoof_size_multiple"),
        ({"close_min_share": 1.5}, "close_min_share"),
        ({"stuffing_threshold": 3}, "stuffing_threshold"),
    ],
)
def test_thresholds_are_validated(values, field):
    with pytest.raises(ValidationError, match=field):
        SurveillanceParams(**values)


def test_surveil_result_takes_anything_shaped_like_a_result():
    orders, trades, quotes = two_patterns().frames()
    result = SimpleNamespace(
        orders=orders, trades=trades, quotes=quotes, agents=PLANTED, instruments=None,
        manifest={"scenario": {}},
    )  # fmt: skip
    assert surveil_result(result).equals(surveil(orders, trades, quotes, PLANTED))


def test_time_is_nanoseconds_in_and_out():
    orders, trades, quotes = two_patterns().frames()
    alerts = surveil(orders, trades, quotes, PLANTED)
    assert alerts.filter(pl.col("detector") == "spoofing")["end"][0] == at(11, 0) + 3 * S
