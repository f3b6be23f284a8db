"""Metrics against independent computations: hand-built quotes, scipy and plain numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from sim.analytics import stylized_facts
from sim.analytics.lobster import read_lobster_quotes
from sim.analytics.market_quality import kyle_lambda, spread_and_depth
from sim.analytics.stylized import autocorrelation, minute_mid_return_segments
from sim.records.recorder import Recorder

LOBSTER = Path(__file__).resolve().parents[3] / "shared" / "data" / "lobster"
DAY0 = 1_704_187_800_000_000_000  # 2024-01-02 09:30 as ns (naive wall time)
MINUTE = 60 * 10**9


def quotes(rows):
    rec = Recorder()
    for time, bid, bid_qty, ask, ask_qty in rows:
        rec.quote(time, "EXCH", "ABM", bid, bid_qty, ask, ask_qty)
    return rec.frames()["quotes"]


def test_spread_and_depth_by_hand():
    q = quotes([(DAY0, 98, 5, 102, 7), (DAY0 + 10, 99, 1, 101, 1), (DAY0 + 40, None, 0, 103, 2)])
    got = spread_and_depth(q)
    assert got["quote_count"] == 3
    assert got["spread_ticks_mean"] == 3.0  # (4 + 2) / 2: one-sided quotes have no spread
    assert got["spread_ticks_median"] == 3.0
    # 4 ticks stood 10 ns and 2 ticks stood 30 ns: (40 + 60) / 40.
    assert got["spread_ticks_time_weighted"] == pytest.approx(2.5)
    assert got["spread_bps_mean"] == pytest.approx((4 / 100 + 2 / 100) / 2 * 1e4)
    assert got["depth_best_mean"] == pytest.approx((12 + 2 + 2) / 3)


def test_kyle_lambda_recovers_a_planted_slope():
    rng = np.random.default_rng(0)
    rec = Recorder()
    mid = 10_000.0
    for minute in range(300):
        flow = int(rng.integers(-50, 51))
        if flow:
            side = 1 if flow > 0 else -1
            rec.trade(
                DAY0 + minute * MINUTE + 1, "EXCH", "ABM", 10_000, abs(flow), 1, 2, 3, 4, side
            )
        mid += 0.2 * flow + rng.normal(0, 1.0)
        bid = round(mid) - 1
        rec.quote(DAY0 + minute * MINUTE + 2, "EXCH", "ABM", bid, 10, bid + 2, 10)
    frames = rec.frames()
    got = kyle_lambda(frames["quotes"], frames["trades"], "ABM", "EXCH")
    assert got["kyle_lambda"] == pytest.approx(0.2, abs=0.02)
    assert got["kyle_lambda_r2"] > 0.8


def test_stylized_facts_match_scipy_and_numpy():
    rng = np.random.default_rng(1)
    sample = rng.standard_t(df=5, size=2_000) * 1e-3
    facts = stylized_facts(sample)
    assert facts["n"] == 2_000
    assert facts["excess_kurtosis"] == pytest.approx(stats.kurtosis(sample, fisher=True))
    centred = sample - sample.mean()
    for lag in (1, 2, 7):
        direct = np.dot(centred[:-lag], centred[lag:]) / np.dot(centred, centred)
        assert facts["acf_returns"][str(lag)] == pytest.approx(direct)
    absolute = np.abs(sample) - np.abs(sample).mean()
    direct_abs = np.dot(absolute[:-3], absolute[3:]) / np.dot(absolute, absolute)
    assert facts["acf_abs_returns"]["3"] == pytest.approx(direct_abs)


def test_autocorrelation_never_pairs_returns_across_segments():
    day1, day2 = np.array([1.0, -1.0, 1.0]), np.array([5.0, -5.0])
    acf = autocorrelation([day1, day2], lags=2)
    pooled = np.concatenate([day1, day2])
    c1, c2 = day1 - pooled.mean(), day2 - pooled.mean()
    denominator = np.dot(c1, c1) + np.dot(c2, c2)
    assert acf["1"] == pytest.approx(
        (np.dot(c1[:-1], c1[1:]) + np.dot(c2[:-1], c2[1:])) / denominator
    )
    assert acf["2"] == pytest.approx(np.dot(c1[:-2], c1[2:]) / denominator)


def test_minute_returns_stay_within_a_day():
    rows = [(DAY0 + k * MINUTE, 100 + k, 1, 102 + k, 1) for k in range(5)]
    next_day = DAY0 + 86_400 * 10**9
    rows += [(next_day + k * MINUTE, 200 + k, 1, 202 + k, 1) for k in range(4)]
    segments = minute_mid_return_segments(quotes(rows), "ABM")
    assert [len(s) for s in segments] == [4, 3]  # no return across the night
    assert segments[0][0] == pytest.approx(np.log(102 / 101))


@pytest.mark.skipif(not LOBSTER.exists(), reason="LOBSTER sample days are not on this machine")
def test_lobster_quotes_follow_the_sample_files():
    message = next(LOBSTER.glob("AMZN_*_message_1.csv"))
    q = read_lobster_quotes(message)
    with open(message) as handle:
        lines = sum(1 for _ in handle)
    assert q.height == lines
    two_sided = q.drop_nulls(["bid", "ask"])
    assert (two_sided["bid"] < two_sided["ask"]).all()
    assert q["time"].is_sorted()
    assert q.schema["bid"] == pl.Int64
