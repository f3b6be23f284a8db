"""Market-quality metrics of a tiny recorded run, against numbers worked out by hand.

The run is written straight into a `Recorder`: a handful of quotes, trades and book snapshots
whose every number is chosen here, so that each metric can be worked out on paper (the
arithmetic is in the comments). A second run goes through the router and a real venue, to check
that the trades frame names the resting order's side as the maker.

GS30: tick 0.01 on 1,000 rupees of face, so one tick is 10 paise a unit and 10_000 ticks is par
(a unit worth 1,000 rupees). GS40: tick 0.05 on 100 rupees of face, 5 paise a tick a unit.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from types import SimpleNamespace

import pytest

from sim.analytics import compute_metrics
from sim.analytics.market_quality import market_quality, turnover
from sim.engine.clock import Clock
from sim.engine.latency import FixedLatency
from sim.engine.market_data import MarketData
from sim.engine.participant import Participant
from sim.engine.routing import Router
from sim.market.fees import FeeSchedule
from sim.market.instrument import Instrument
from sim.market.ledger import Ledger
from sim.market.venue import Venue
from sim.records.recorder import Recorder
from sim.records.summary import RunRecord, agents_frame, instruments_frame, metrics

DAY0 = 1_704_168_000 * 10**9  # 2024-01-02 04:00 UTC (09:30 IST), in ns
SECOND = 10**9
MINUTE = 60 * SECOND
INSTRUMENTS = {
    "GS30": Instrument("GS30", "0.01", 1, 1000),
    "GS40": Instrument("GS40", "0.05", 1, 100),
}


def tiny_run() -> tuple[RunRecord, dict]:
    """Two venues, two bonds: every event of the run, and the run's record."""
    rec = Recorder()
    # NSE GS30 quotes (bid qty, ask qty): spreads 20, 10, 20, 20, 20 ticks; mids 10_000,
    # 10_000, 10_010, 10_000, 10_020; they stand 30 s, 30 s, 90 s, 45 s and (the last of the
    # day) no known time.
    for time, bid, bid_qty, ask, ask_qty in [
        (DAY0, 9_990, 10, 10_010, 20),
        (DAY0 + 30 * SECOND, 9_995, 5, 10_005, 5),
        (DAY0 + MINUTE, 10_000, 8, 10_020, 4),
        (DAY0 + 2 * MINUTE + 30 * SECOND, 9_990, 6, 10_010, 6),
        (DAY0 + 3 * MINUTE + 15 * SECOND, 10_010, 2, 10_030, 3),
    ]:
        rec.quote(time, "NSE", "GS30", bid, bid_qty, ask, ask_qty)
    rec.quote(DAY0 + 10 * SECOND, "BSE", "GS30", 9_980, 1, 10_020, 1)
    trade = dict(instrument="GS30", maker_client=0, taker_client=0)
    # A buyer takes 3 at 100.05 (minute 0), a seller hits 5 at 99.90 (minute 2).
    rec.trade(
        **trade, time=DAY0 + 45 * SECOND, venue="NSE", price=10_005, qty=3, aggressor_side=1,
        maker_order_id=11, taker_order_id=12, maker_agent=101, taker_agent=202,
    )  # fmt: skip
    rec.trade(
        **trade, time=DAY0 + 2 * MINUTE + 10 * SECOND, venue="NSE", price=9_990, qty=5,
        aggressor_side=-1, maker_order_id=13, taker_order_id=14, maker_agent=202,
        taker_agent=303,
    )  # fmt: skip
    rec.trade(
        **trade, time=DAY0 + 20 * SECOND, venue="BSE", price=10_000, qty=1, aggressor_side=1,
        maker_order_id=21, taker_order_id=22, maker_agent=101, taker_agent=303,
    )  # fmt: skip
    rec.trade(
        time=DAY0 + 50 * SECOND, venue="NSE", instrument="GS40", price=2_000, qty=4,
        aggressor_side=1, maker_order_id=31, taker_order_id=32, maker_agent=303, taker_agent=101,
    )  # fmt: skip
    # NSE GS30 snapshots: six bid levels, then seven ask levels; the sixth and seventh levels
    # (50, 5 and 100 units) are beyond the top five.
    rec.book(
        DAY0 + MINUTE, "NSE", "GS30",
        [(10_000, 8), (9_995, 4), (9_990, 7), (9_985, 1), (9_980, 2), (9_975, 50)],
        [(10_020, 4), (10_025, 3), (10_030, 6)],
    )  # fmt: skip
    rec.book(
        DAY0 + 2 * MINUTE, "NSE", "GS30",
        [(9_990, 6)],
        [(10_010, 6), (10_015, 1), (10_020, 2), (10_025, 3), (10_030, 4), (10_035, 5),
         (10_040, 100)],
    )  # fmt: skip
    run = RunRecord(
        run_id="tiny",
        scenario=SimpleNamespace(instruments=()),  # no terms: null columns
        seed=0,
        trading_days=1,
        venues=2,
        instruments=INSTRUMENTS,
        reference_prices={"GS30": 10_000, "GS40": 2_000},
        agents=[
            {"account": 101, "kind": "market_maker", "pnl": 150},
            {"account": 202, "kind": "market_maker", "pnl": -50},
            {"account": 303, "kind": "retail", "pnl": 10},
        ],
        population_metrics={},
        events={"requests": 9},
        ledger=SimpleNamespace(ok=True, unsettled_trades=0),
    )
    return run, rec.frames()


# Every statistic `market_quality` gives, per instrument and venue, worked out by hand.
NSE_GS30 = {
    "quote_count": 5,
    "spread_ticks_mean": 18.0,  # (20 + 10 + 20 + 20 + 20) / 5
    "spread_ticks_median": 20.0,
    # (20 * 30 + 10 * 30 + 20 * 90 + 20 * 45) / (30 + 30 + 90 + 45) = 3600 / 195
    "spread_ticks_time_weighted": 3600 / 195,
    # spread / mid in bp: 20, 10, 20 / 10_010 * 1e4 = 19.98, 20, 20 / 10_020 * 1e4 = 19.96
    "spread_bps_mean": (20 + 10 + 200_000 / 10_010 + 20 + 200_000 / 10_020) / 5,
    "spread_bps_median": 200_000 / 10_010,  # 10 < 19.96 < 19.98 < 20 = 20
    "depth_best_mean": 69 / 5,  # (10 + 20) + (5 + 5) + (8 + 4) + (6 + 6) + (2 + 3) = 69
    # (8 + 4 + 7 + 1 + 2 + 4 + 3 + 6 = 35) and (6 + 6 + 1 + 2 + 3 + 4 = 22): 57 / 2
    "depth_top5_mean": 28.5,
    # Mids in force at the ends of minutes 0..3: 10_000, 10_010, 10_000, 10_020.
    "volatility_1min": statistics.stdev(
        [math.log(10_010 / 10_000), math.log(10_000 / 10_010), math.log(10_020 / 10_000)]
    ),
    "returns_1min_n": 3,
    "trade_count": 2,
    "turnover_qty": 8,
    "turnover_notional_ticks": 79_965,  # 10_005 * 3 + 9_990 * 5 = 30_015 + 49_950
    # 3 units at 100.05 per 100 of 1,000 face = 3 * 1,000.50, and 5 * 999.00 rupees
    "turnover_notional_rupees": 3_001.5 + 4_995.0,
    # Minutes 1, 2, 3: mid changes y = 10, -10, 20 ticks; signed volume x = 0, -5, 0 (the
    # minute-0 buy has no change of its own). Deviations: x 5/3, -10/3, 5/3; y 10/3, -50/3,
    # 40/3. cov = (50 + 500 + 200) / 27 = 250/9, var x = 150/27 = 50/9, var y = 4200/27 =
    # 1400/9: slope 5 ticks a unit, R^2 = (250/9)^2 / (50/9 * 1400/9) = 62_500 / 70_000.
    "kyle_lambda": 5.0,
    "kyle_lambda_r2": 25 / 28,
    "kyle_lambda_n": 3,
}
BSE_GS30 = {
    "quote_count": 1,
    "spread_ticks_mean": 40.0,
    "spread_ticks_median": 40.0,
    "spread_ticks_time_weighted": None,  # its only quote is the day's last: no known duration
    "spread_bps_mean": 40.0,  # 40 / 10_000 * 1e4
    "spread_bps_median": 40.0,
    "depth_best_mean": 2.0,
    "depth_top5_mean": None,  # no snapshots
    "volatility_1min": None,  # one minute: no return
    "returns_1min_n": 0,
    "trade_count": 1,
    "turnover_qty": 1,
    "turnover_notional_ticks": 10_000,
    "turnover_notional_rupees": 1_000.0,  # one unit at par
    "kyle_lambda": None,
    "kyle_lambda_r2": None,
    "kyle_lambda_n": 0,
}
NSE_GS40 = {  # traded, never quoted
    **{key: None for key in NSE_GS30},
    "quote_count": 0,
    "returns_1min_n": 0,
    "trade_count": 1,
    "turnover_qty": 4,
    "turnover_notional_ticks": 8_000,  # 2_000 * 4
    # 2_000 ticks of 0.05 = 100.00 per 100 face: 4 units of 100 rupees face are 400 rupees.
    "turnover_notional_rupees": 400.0,
    "kyle_lambda_n": 0,
}
HAND = {"GS30": {"BSE": BSE_GS30, "NSE": NSE_GS30}, "GS40": {"NSE": NSE_GS40}}


def assert_by_hand(got: dict, hand: dict = HAND) -> None:
    """`got` has every statistic of `hand`, no more and no less, each equal to it: counts
    exactly (and as ints), other numbers to 12 significant digits, missing ones as None."""
    assert {i: sorted(venues) for i, venues in got.items()} == {
        i: sorted(venues) for i, venues in hand.items()
    }
    for instrument, venues in hand.items():
        for venue, want in venues.items():
            stats = got[instrument][venue]
            assert sorted(stats) == sorted(want), (instrument, venue)
            for key, value in want.items():
                where = (instrument, venue, key, stats[key])
                if value is None or type(value) is int:
                    assert stats[key] == value and type(stats[key]) is type(value), where
                else:
                    assert stats[key] == pytest.approx(value, rel=1e-12), where


def test_market_quality_of_a_tiny_run_by_hand():
    run, frames = tiny_run()
    assert_by_hand(
        market_quality(frames["quotes"], frames["trades"], frames["book"], instruments_frame(run))
    )


def test_turnover_in_rupees_needs_the_instruments_and_is_none_without():
    _, frames = tiny_run()
    got = market_quality(frames["quotes"], frames["trades"], frames["book"])
    assert got["GS30"]["NSE"]["turnover_notional_rupees"] is None
    assert got["GS30"]["NSE"]["turnover_notional_ticks"] == 79_965


def test_turnover_in_rupees_needs_both_the_tick_size_and_the_face_value():
    _, frames = tiny_run()
    for tick_size, face in [(0.01, None), (None, 1000.0)]:
        got = turnover(frames["trades"], tick_size, face)
        assert got["turnover_notional_rupees"] is None
        assert got["turnover_notional_ticks"] == 97_965  # 79_965 + 10_000 + 8_000


def test_run_metrics_of_a_tiny_run_by_hand():
    run, frames = tiny_run()
    out = metrics(run, frames, agents_frame(run), instruments_frame(run))
    assert_by_hand(out["market_quality"])
    # Paise per tick a unit: GS30 10, GS40 5. Notional: NSE GS30 79_965 * 10 = 799_650,
    # BSE GS30 10_000 * 10 = 100_000, GS40 8_000 * 5 = 40_000; 939_650 paise in all.
    assert out["summary"] == {
        "trading_days": 1,
        "instruments": 2,
        "venues": 2,
        "agents": 3,
        "requests": 9,
        "trades": 4,
        "traded_units": 13,  # 3 + 5 + 1 + 4
        "traded_notional_rupees": 9_396.5,
    }
    assert out["pnl_by_kind"] == {
        "market_maker": {"count": 2, "pnl_sum": 100, "pnl_mean": 50.0, "pnl_median": 50.0},
        "retail": {"count": 1, "pnl_sum": 10, "pnl_mean": 10.0, "pnl_median": 10.0},
    }
    # Stylized facts only where there are quotes; three NSE returns are too few for kurtosis.
    facts = out["stylized_facts"]
    assert sorted(facts) == ["GS30"] and sorted(facts["GS30"]) == ["BSE", "NSE"]
    assert (facts["GS30"]["NSE"]["n"], facts["GS30"]["BSE"]["n"]) == (3, 0)
    assert facts["GS30"]["NSE"]["excess_kurtosis"] is None


def test_compute_metrics_adds_rupees_only_with_the_instruments():
    run, frames = tiny_run()
    bare = compute_metrics(frames, agents_frame(run))
    full = compute_metrics(frames, agents_frame(run), instruments_frame(run))
    assert bare["market_quality"]["GS40"]["NSE"]["turnover_notional_rupees"] is None
    assert full["market_quality"]["GS40"]["NSE"]["turnover_notional_rupees"] == 400.0


def test_the_trades_frame_names_each_field():
    rec = Recorder()
    rec.trade(
        time=DAY0, venue="NSE", instrument="GS30", price=10_005, qty=3, maker_order_id=11,
        taker_order_id=12, maker_agent=101, taker_agent=202, aggressor_side=-1, maker_client=7,
        taker_client=8, accrued=2_191, maker_fee=-2, taker_fee=30,
    )  # fmt: skip
    trades = rec.frames()["trades"]
    assert trades.cast({"venue": str, "instrument": str}).row(0, named=True) == {
        "trade_id": 1,
        "time": DAY0,
        "venue": "NSE",
        "instrument": "GS30",
        "price": 10_005,
        "qty": 3,
        "maker_order_id": 11,
        "taker_order_id": 12,
        "maker_agent": 101,
        "taker_agent": 202,
        "aggressor_side": -1,
        "maker_client": 7,
        "taker_client": 8,
        "accrued": 2_191,
        "maker_fee": -2,
        "taker_fee": 30,
    }


# --- a tiny run through the router ---------------------------------------------------------


class Desk:
    """An account that sends orders and listens to nothing (the router tells listeners by
    whether their class overrides `Participant`'s hooks)."""

    on_response = Participant.on_response
    on_fill = Participant.on_fill

    def __init__(self, account: int) -> None:
        self.account = account
        self.draws = None  # a fixed latency draws nothing
        self.latency = FixedLatency(0)
        self.fills = 0
        self.fees_paid = 0


def test_recorded_trades_name_the_resting_order_as_the_maker():
    ledger = Ledger()
    venue = Venue("NSE", ledger, fees=FeeSchedule(maker_bps=0, taker_bps=1))
    venue.list_instrument(INSTRUMENTS["GS30"], 10_000)
    maker, taker, bidder = desks = [Desk(101), Desk(202), Desk(303)]
    for desk in desks:
        ledger.open_account(desk.account, cash=10**10, units={"GS30": 100})
        venue.register(desk.account)
    clock, recorder = Clock(initial_time=DAY0), Recorder()
    router = Router(
        clock=clock,
        trading_time=lambda t: t,
        end_ns=DAY0 + MINUTE,
        venues={"NSE": venue},
        venue_latency={"NSE": FixedLatency(0)},
        recorder=recorder,
        market_data=MarketData(),
        agents=lambda: desks,
        events=Counter(),
    )
    requests = [  # (desk, side, qty, price, client), a second apart
        (maker, "sell", 5, 10_005, 7),  # rests: order 1
        (taker, "buy", 3, 10_010, 8),  # order 2 lifts 3 of order 1 at its price, 10_005
        (bidder, "buy", 4, 9_990, 0),  # rests: order 3
        (taker, "sell", 4, 9_980, 8),  # order 4 hits order 3 at 9_990
    ]
    for k, (desk, side, qty, price, client) in enumerate(requests):
        args = (side, qty, price, "GTC")
        clock.call_at(DAY0 + k * SECOND, router.send, desk, "new", "NSE", "GS30", args,
                      {"client": client})  # fmt: skip
    clock.run()
    frames = recorder.frames()
    trades = frames["trades"].cast({"venue": str, "instrument": str})
    assert trades.drop("time", "venue", "instrument").rows(named=True) == [
        {
            "price": 10_005, "qty": 3, "maker_order_id": 1, "taker_order_id": 2,
            "maker_agent": 101, "taker_agent": 202, "aggressor_side": 1, "maker_client": 7,
            "taker_client": 8, "accrued": 0, "trade_id": 1, "maker_fee": 0, "taker_fee": 30,
        },
        {
            "price": 9_990, "qty": 4, "maker_order_id": 3, "taker_order_id": 4,
            "maker_agent": 303, "taker_agent": 202, "aggressor_side": -1, "maker_client": 0,
            "taker_client": 8, "accrued": 0, "trade_id": 2, "maker_fee": 0, "taker_fee": 39,
        },
    ]  # fmt: skip
    assert trades["time"].to_list() == [DAY0 + SECOND, DAY0 + 3 * SECOND]
    # The orders frame agrees: each maker order is its maker's, each taker order its taker's.
    owner = dict(frames["orders"].select("order_id", "agent").iter_rows())
    for row in trades.iter_rows(named=True):
        assert owner[row["maker_order_id"]] == row["maker_agent"]
        assert owner[row["taker_order_id"]] == row["taker_agent"]
    # The taker pays 1 bp, truncated: 3 * 10_005 * 10 = 300_150 paise -> 30.015 -> 30, and
    # 4 * 9_990 * 10 = 399_600 -> 39.96 -> 39. Makers pay nothing.
    assert [(d.fills, d.fees_paid) for d in desks] == [(1, 0), (2, 69), (1, 0)]
    got = market_quality(frames["quotes"], frames["trades"], frames["book"])["GS30"]["NSE"]
    # 3 * 10_005 + 4 * 9_990 = 30_015 + 39_960
    assert (got["trade_count"], got["turnover_qty"], got["turnover_notional_ticks"]) == (
        2,
        7,
        69_975,
    )
    # Buyer-initiated +3, seller-initiated -4, both in minute 0: no minute-to-minute change.
    assert got["kyle_lambda_n"] == 0
